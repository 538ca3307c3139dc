"""The stages read from a Dockerfile (adopt/dockerfile_stage.py) laid out as a spec:
which stages the image needs, each stage's keys, the dependency step, and the final
stage (the Dockerfile's last stage: directly, or FROM a stage holding its build steps
when it runs commands, which a spec's final stage cannot)."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from imagespec.adopt.dockerfile_stage import MANIFEST_GLOBS, MANIFESTS, Report, StageRead, Step
from imagespec.spec import values as v


def needed(reads: dict[str, StageRead], last: str) -> list[str]:
    """The stages the last one builds on or copies from, in Dockerfile order (docker
    build skips the others too)."""
    seen: set[str] = set()
    todo = [last]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        read = reads[name]
        if isinstance(read.from_, str) and read.from_ in reads:
            todo.append(read.from_)
        todo += [s.data["from"] for s in read.steps if s.kind == "artifact"]
    return [name for name in reads if name in seen]


def _dependencies(steps: list[Step], report: Report, workdir: str) -> dict[str, Any] | None:
    """A COPY of manifests (or their bind mounts) straight followed by the RUN that
    installs from them, at the start of a part: the spec's `dependencies` (BP4). The
    steps it takes are removed from `steps`."""
    copies = 0
    while copies < len(steps) and steps[copies].kind == "copy" and _manifest_copy(steps[copies], workdir):
        copies += 1
    if copies < len(steps) and steps[copies].kind == "run" and steps[copies].workdir == workdir:
        run = steps[copies]
        files = [s for step in steps[:copies] for s in step.data["sources"]]
        binds = run.data["binds"]
        if binds and not copies and all(_bound_manifest(source, target, run.workdir) for source, target in binds):
            files = [source for source, _ in binds]
            report.differences.append(f"Dockerfile:{run.line}: the manifests bound into this RUN are copied into the "
                                      "stage before it (the spec's dependency step)")
        elif binds:
            return None
        if files:
            for step in steps[:copies]:
                _say_owner_dropped(step, report)
            del steps[:copies + 1]
            return {"copy": files, "run": run.data["command"]}
    return None


def _manifest_copy(step: Step, workdir: str) -> bool:
    into_workdir = step.workdir == workdir and \
        (step.data["absolute"].rstrip("/") or "/") == (step.workdir.rstrip("/") or "/")
    # `--chown=node:node package*.json`, as the official images' guides write it: a spec's
    # copies are root's either way (said), and the files are still the install's manifests
    return into_workdir and all(_manifest(source.removeprefix("./")) for source in step.data["sources"])


def _manifest(source: str) -> bool:
    return "/" not in source and (bool(MANIFESTS.fullmatch(source)) or source in MANIFEST_GLOBS)


def _bound_manifest(source: str, target: str, workdir: str) -> bool:
    return (bool(MANIFESTS.fullmatch(source)) and "/" not in source
            and posixpath.normpath(posixpath.join(workdir, target)) == posixpath.join(workdir, source))


def stage_parts(read: StageRead, report: Report) -> dict[str, dict[str, Any]]:
    """Spec stages from a Dockerfile stage's build steps, in order. A spec stage copies
    its sources, then runs its commands, in one working directory; where the Dockerfile
    runs a command before a COPY (`RUN mkdir /app`, then `ADD . /app`) or changes
    WORKDIR between steps, a new spec stage FROM the previous one keeps the order. The
    last part keeps the stage's name, so later stages and the final copy from it."""
    parts = []
    for i, (workdir, dependencies, steps) in enumerate(_groups(read, report)):
        part: dict[str, object] = {"from": read.from_ if i == 0 else None}
        if i == 0 and read.packages:
            part["packages"] = _packages(read.packages)
        if read.args:  # an ARG is a stage's own: each part declares it again
            part["args"] = dict(read.args)
        if i == 0 and read.own_env:
            part["env"] = dict(read.own_env)
        part["workdir"] = workdir
        if read.cache:
            part["cache"] = list(read.cache)
        if dependencies:
            part["dependencies"] = dependencies
        lists: dict[str, list[object]] = {}  # "copy" and "run", in the order the steps first use them
        for step in steps:
            if step.kind == "copy":
                lists.setdefault("copy", []).extend(_source_copies(step, workdir, report))
            else:
                lists.setdefault("run", []).append(step.data["command"])
        part.update(lists)
        parts.append(part)
    _say_how_runs_change(read.name, [step for step in read.steps if step.kind == "run"], report)
    if read.user_before_steps:
        report.differences.append(f"Dockerfile:{read.user_before_steps}: this RUN ran as the USER set before it; "
                                  "a spec stage runs its commands as root (only the final image has a user)")
    names = [*(_part_name(read.name, i) for i in range(1, len(parts))), read.name]
    for i, part in enumerate(parts[1:], 1):
        part["from"] = names[i - 1]
    return dict(zip(names, parts, strict=True))


def _groups(read: StageRead, report: Report) -> list[tuple[str, dict[str, Any] | None, list[Step]]]:
    """The stage's steps cut into parts: (working directory, dependency step, copies
    then runs)."""
    rest = list(read.steps)
    groups: list[tuple[str, dict[str, Any] | None, list[Step]]] = []
    while rest:
        workdir = rest[0].workdir
        dependencies = _dependencies(rest, report, workdir)
        group: list[Step] = []
        while rest and rest[0].workdir == workdir:
            expanded = _binds_as_copies(rest[0])
            if expanded[0].kind == "copy" and any(step.kind == "run" for step in group):
                break
            if len(expanded) > 1:
                report.differences.append(f"Dockerfile:{rest[0].line}: its bind mounts are copied into the stage "
                                          "before it (a spec stage copies, then runs)")
            group += expanded
            rest.pop(0)
        groups.append((workdir, dependencies, group))
    return groups or [(read.config.workdir or "/", None, [])]


_PIPE = re.compile(r"(?<![|>])\|(?![|&])")


def _say_how_runs_change(stage: str, runs: list[Step], report: Report) -> None:
    if len(runs) > 1:
        lines = ", ".join(str(step.line) for step in runs)
        report.differences.append(f"Dockerfile:{runs[0].line}: stage {stage}: its RUN steps (lines {lines}) may be "
                                  "merged into one RUN, joined with && (each still runs only when the ones before "
                                  "succeeded) (BP11)")
    piped = [step.line for step in runs if _PIPE.search(step.data["command"])]
    if piped:
        report.differences.append(f"Dockerfile:{piped[0]}: stage {stage}: a failing command in a pipe now fails the "
                                  "step (a SHELL with pipefail)")


def _binds_as_copies(step: Step) -> list[Step]:
    """A RUN's bind mounts of the context (other than a dependency step's manifests)
    become copies just before it: the files are there as before, and stay in the layer."""
    binds = step.data.get("binds") if step.kind == "run" else None
    copies = [Step("copy", step.line, step.workdir, {"sources": [source], "dest": target, "owner": None, "mode": None,
                                                      "absolute": target}) for source, target in binds or ()]
    return [*copies, step]


def _say_owner_dropped(step: Step, report: Report) -> None:
    if step.data["owner"] or step.data["mode"]:
        report.differences.append(f"Dockerfile:{step.line}: the copied files are owned by root with their own "
                                  "modes (a stage's source copy takes no --chown/--chmod)")


def _part_name(name: str, number: int) -> str:
    try:
        return v.stage_name(f"{name}-part{number}")
    except ValueError:
        return f"stage-part{number}"


def _packages(packages: dict[str, str | None]) -> list[Any] | dict[str, Any]:
    return sorted(packages) if not any(packages.values()) else dict(sorted(packages.items()))


def _source_copies(step: Step, here: str, report: Report) -> list[Any]:
    data = step.data
    _say_owner_dropped(step, report)
    dest = data["dest"]
    if len(data["sources"]) > 1 and not dest.endswith("/"):
        dest += "/"
    out: list[Any] = []
    for source in data["sources"]:
        if source in (".", "./") and (dest in (".", "./") or dest.rstrip("/") == here.rstrip("/")):
            out.append(".")
        else:
            out.append({"src": source, "dest": v.copy_destination(dest)})
    return out


def final_copies(read: StageRead, reads: dict[str, StageRead]) -> list[dict[str, Any]]:
    """`final.copy`: COPY --from (the source becomes the producer's artifact) and, for a
    final without build steps, its context copies."""
    out = []
    for step in read.steps:
        data = step.data
        for source in data["sources"]:
            item: dict[str, object] = {}
            dest = data["absolute"]
            if len(data["sources"]) > 1 and not dest.endswith("/"):
                dest += "/"
            if step.kind == "artifact":
                producer = reads[data["from"]]
                src = posixpath.normpath("/" + source.lstrip("/"))
                if src not in producer.artifacts:
                    producer.artifacts.append(src)
                item["from"] = data["from"]  # the producer's spec name, already renamed
            else:
                src = source
            item["src"], item["dest"] = src, dest
            if data["owner"]:
                item["owner"] = data["owner"]
            if data["mode"]:
                item["mode"] = data["mode"]
            out.append(item)
    return out
