"""`imagespec import Dockerfile`: the spec that means the same image as an existing
Dockerfile, read with BuildKit's own parser.

What the spec can say is written as spec keys; what it cannot stays in the spec as a
comment with the Dockerfile's line number; what the generated Dockerfile will do
otherwise (non-root user, exec form, merged RUN steps, imagespec's install step) is
reported. Like `init`, the spec is compiled in memory before it is written, and an
existing file is never overwritten.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagespec.adopt.dockerfile_base import image_base
from imagespec.adopt.dockerfile_source import Source, Stage, parse, read_text
from imagespec.adopt.dockerfile_spec import final_copies, needed, stage_parts
from imagespec.adopt.dockerfile_stage import ASSIGNMENT, Config, Report, StageRead, StageReader
from imagespec.adopt.dockerfile_words import PLATFORM_ARGS, Unknown, process_word
from imagespec.adopt.import_fold import copy_through_gathering, fold_gathering_stages
from imagespec.adopt.import_heredoc import HeredocFiles, remove
from imagespec.adopt.import_labels import take_own_labels
from imagespec.adopt.import_ignore import CarriedIgnore, IgnoreComment, carry
from imagespec.adopt.import_render import render
from imagespec.adopt.import_order import settle_copy_order
from imagespec.adopt.import_user import settle_accounts
from imagespec.adopt.init_spec import DEFAULT_VERSION, image_name
from imagespec import reference as grammar
from imagespec.errors import Location, SpecError
from imagespec.spec import files, shell_scan
from imagespec.spec import values as v
from imagespec.spec.catalog import Catalog, builtin_catalog
from imagespec.spec.model import NONROOT_UID
from imagespec.spec.repository import refuse_output_outside, repository_root

SPEC_NAME = "imagespec.yaml"
#: what a few official images run when the Dockerfile names no command (a guess, said so)
BASE_COMMANDS = {"nginx": ["nginx", "-g", "daemon off;"], "httpd": ["httpd-foreground"], "python": ["python3"],
                 "node": ["node"], "redis": ["redis-server"]}
#: the WORKDIR a few official images set, where a stage that sets none runs its steps (a
#: guess by the image's name, said so); any other image: `/` unless it sets one
BASE_WORKDIRS = {"golang": "/go", "php": "/var/www/html", "httpd": "/usr/local/apache2", "tomcat": "/usr/local/tomcat",
                 "wordpress": "/var/www/html", "drupal": "/opt/drupal"}


@dataclass(frozen=True)
class ImportResult:
    path: Path
    text: str
    report: Report


def _global_args(source: Source) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for command in source.global_args:
        for item in command.value:
            name, eq, raw = item.partition("=")
            try:
                found[name] = process_word(raw, {k: x for k, x in found.items() if x is not None}, source.escape) \
                    if eq else None
            except Unknown:
                found[name] = None
    return found


def _spec_names(source: Source) -> list[str]:
    """Each stage's valid spec stage name, unique, by index."""
    names: list[str] = []
    for stage in source.stages:
        wanted = stage.name or f"stage{stage.index}"
        try:
            chosen = v.stage_name(wanted)
        except ValueError:
            chosen = f"stage{stage.index}"
        while chosen in names:
            chosen = f"{chosen}-{stage.index}"
        names.append(chosen)
    return names


def _name_stage(stage: Stage, own: str, earlier: dict[str, str], lines: dict[str, int], report: Report) -> None:
    """Make the stage one that later FROM and COPY --from can name. As in BuildKit, a name
    means the latest stage of that name before the reference: `FROM b AS b` builds on an
    earlier stage b, and the stages after it see the new one (DuplicateStageName)."""
    earlier[str(stage.index)] = own
    if stage.name:
        if stage.name in lines:
            report.differences.append(f"Dockerfile:{stage.line}: a stage named {stage.name} is on line "
                                      f"{lines[stage.name]} too (BuildKit warns DuplicateStageName): the stages "
                                      f"after line {stage.line} that name it mean this one, the spec's {own}")
        earlier[stage.name], lines[stage.name] = own, stage.line


_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def _pinned_args(stage: Stage, known: dict[str, str]) -> list[str]:
    """A FROM that uses an ARG from before the first FROM: the spec's base is that ARG's
    default, written in; a `--build-arg` no longer changes it."""
    used = dict.fromkeys(name for name in _REFERENCE.findall(stage.base) if name in known)
    return [f"Dockerfile:{stage.line}: FROM {stage.base}: the ARG {name}'s default ({known[name]}) is written into "
            f"the base image; `--build-arg {name}=…` no longer changes it" for name in used]


def _read_stage(stage: Stage, source: Source, reads: dict[str, StageRead], own: str, earlier: dict[str, str],
                catalogs: list[Catalog], args: dict[str, str | None], last: bool,
                heredocs: HeredocFiles | None) -> tuple[StageRead, Report]:
    """`earlier`: the stage names and indexes the stage can refer to -> their spec names."""
    report = Report()
    known = {k: x for k, x in args.items() if x is not None}
    try:
        base = process_word(stage.base, known, source.escape)
    except Unknown as exc:
        raise SpecError(f"FROM {stage.base}: {exc}", location=Location(source.file, stage.line, 1),
                        hint="write the image this platform's build uses in the FROM (`platforms:` in the spec then "
                             "builds the others)" if exc.name in PLATFORM_ARGS else
                             "give the ARG it uses a default (ARG NAME=value before the first FROM)") from None
    report.differences += _pinned_args(stage, known)
    parent = reads.get(earlier.get(base.lower(), ""))  # `FROM x AS x` with no earlier stage x: the image x
    if parent is not None:
        read = StageRead(own, stage.line, parent.name, parent.manager, parent.config.copy())
        read.variables = dict(parent.config.env)
        read.arg_sources = {k: s for k, s in parent.arg_sources.items() if k in parent.config.env}  # its ARGs end
        read.directories = set(parent.directories)
    else:
        try:
            runtime = last and not any(command.cmd.upper() == "RUN" for command in stage.instructions)
            from_, _family, manager, guesses, base_user, shell = image_base(base, catalogs, runtime)
        except ValueError as exc:
            raise SpecError(f"FROM {base}: {exc}", location=Location(source.file, stage.line, 1),
                            hint="import the Dockerfile of the image's Linux version" if "Windows" in str(exc)
                            else "name the base image as docker would") from None
        report.guessed += guesses
        read = StageRead(own, stage.line, from_, manager,
                         Config(workdir=BASE_WORKDIRS.get(_last_component(base)), base_user=base_user, base_image=base,
                                base_shell=shell, base_user_known=not guesses or base_user is not None))
    if stage.platform:
        report.differences.append(f"Dockerfile:{stage.line}: FROM --platform={stage.platform} dropped: "
                                  "imagespec builds for the build's platform")
    reader = StageReader(read, dict(earlier), source.file, source.escape, report, args, last, heredocs)
    for command in stage.instructions:
        reader.read(command)
    relative = [step for step in read.steps if step.kind == "run" or not str(step.data.get("dest", "/")).startswith("/")]
    if parent is None and relative and not read.workdir_set:  # steps that run in the base image's WORKDIR
        report.guessed.append(_base_workdir(own, base, read.config.workdir))
    report.expressed.insert(0, (stage.line, "FROM"))
    return read, report


def convert(source: Source, catalogs: list[Catalog], name: str,
            heredocs: HeredocFiles | None = None) -> tuple[dict[str, Any], Report]:
    """`heredocs`: where COPY heredocs become context files (None: they stay comments)."""
    source, folded, folded_stages = fold_gathering_stages(source)
    source, copied, read_through = copy_through_gathering(source)
    args = _global_args(source)
    names = _spec_names(source)
    reads: dict[str, StageRead] = {}
    reports: dict[str, Report] = {}
    earlier: dict[str, str] = {}
    lines: dict[str, int] = {}
    for stage in source.stages:
        last = stage is source.stages[-1]
        own = names[stage.index]
        read, reports[own] = _read_stage(stage, source, reads, own, earlier, catalogs, args, last, heredocs)
        reads[read.name] = read
        _name_stage(stage, own, earlier, lines, reports[own])
    if source.syntax:
        reports[names[0]].differences.append(f"Dockerfile:1: `# syntax={source.syntax}` is not kept: the generated "
                                             "Dockerfile is written for the engine's built-in frontend")
    last_name = names[-1]
    reports[last_name].differences += folded + copied
    settle_accounts(reads, last_name, reports)
    keep = needed(reads, last_name)
    report = Report()
    for stage in source.stages:
        spec_name = names[stage.index]
        if spec_name in keep:
            part = reports[spec_name]
            report.expressed += part.expressed
            report.comments += part.comments
            report.differences += part.differences
            report.guessed += [guess for guess in part.guessed if guess not in report.guessed]  # a base used twice
        else:
            end = stage.instructions[-1].end_line if stage.instructions else stage.line
            report.comments.append((stage.line, f"FROM {stage.base}" + (f" AS {stage.name}" if stage.name else "")
                                    + f" … (lines {stage.line}-{end})",
                                    _left_out(stage.index, folded_stages, read_through, spec_name)))
    data = _layout(reads, keep, last_name, report, name, source.file)
    report.differences.sort(key=_by_line)  # a reviewer reads them beside the Dockerfile, top to bottom
    return data, report


def _left_out(index: int, folded: set[int], read_through: set[int], spec_name: str) -> str:
    """Why a stage of the Dockerfile is no stage of the spec."""
    if index in folded:
        return "its instructions start the last stage's (said above)"
    if index in read_through:
        return "the last stage copies from where it gathered its files (said above)"
    return f"the stage is not part of the image `docker build` makes (--target {spec_name})"


def _by_line(difference: str) -> float:
    """A difference's Dockerfile line; one about the whole file (no line) after them all."""
    line = re.match(r"Dockerfile:([0-9]+):", difference)
    return int(line[1]) if line else math.inf


def _layout(reads: dict[str, StageRead], keep: list[str], last_name: str, report: Report, name: str,
            file: str) -> dict[str, Any]:
    last = reads[last_name]
    split = any(s.kind == "run" for s in last.steps) or bool(last.args or last.cache)
    stages: dict[str, dict[str, Any]] = {}
    features: set[str] = set()
    final = _final(last, reads, report, split, file)
    for stage_name in keep:
        read = reads[stage_name]
        features |= read.features
        if stage_name == last_name and not split:
            continue
        if stage_name == last_name:
            read.steps = [s for s in read.steps if s.kind != "artifact"]
        stages.update(stage_parts(read, report))
        if read.artifacts:
            stages[stage_name]["artifacts"] = list(read.artifacts)
    if any("mode" in c for c in final.get("copy", [])):
        features.add("copy-chmod")
    data: dict[str, object] = {"name": name, "version": DEFAULT_VERSION}
    if "labels" in final:
        final["labels"], fields = take_own_labels(final["labels"], report.differences)
        data.update(fields)
        if not final["labels"]:
            del final["labels"]
    if features:
        data["features"] = sorted(features)
    if stages:
        data["stages"] = stages
    data["final"] = final
    return data


def _final(read: StageRead, reads: dict[str, StageRead], report: Report, split: bool, file: str) -> dict[str, Any]:
    config = read.config
    final: dict[str, object] = {"from": read.name if split else read.from_}
    if not split:
        if read.packages:
            final["packages"] = sorted(read.packages) if not any(read.packages.values()) else dict(read.packages)
        steps = read.steps
    else:
        settle_copy_order(read, report)
        steps = [s for s in read.steps if s.kind == "artifact"]
        if _copied_before_a_run(read):
            report.differences.append("the last stage's COPY --from steps come after its RUN steps (the spec's "
                                      "final stage copies artifacts onto the stage that ran them)")
    user = read.created_user or _user(config, report)
    _owners_by_ids(steps, config.user, user, report)
    copies = final_copies(_with_steps(read, steps), reads)
    if copies:
        final["copy"] = copies
    if user:
        final["user"] = user
    if config.workdir:
        final["workdir"] = config.workdir
    if read.own_env and not split:
        final["env"] = dict(read.own_env)
    for key, value in (("ports", config.ports), ("healthcheck", config.healthcheck),
                       ("stop_signal", config.stop_signal), ("labels", config.labels)):
        if value:
            final[key] = value
    _command(final, config, read, report, file, _image_of(read, reads))
    return final


def _image_of(read: StageRead, reads: dict[str, StageRead]) -> object:
    """The image a stage starts from, through the earlier stages it is built FROM (QA: the
    last stage split for its RUN steps was FROM itself, and nginx's own command was lost)."""
    base, seen = read.from_, {read.name}
    while isinstance(base, str) and base in reads and base not in seen:
        seen.add(base)
        base = reads[base].from_
    return base


def _copied_before_a_run(read: StageRead) -> bool:
    kinds = [step.kind for step in read.steps]
    return "artifact" in kinds and "run" in kinds[kinds.index("artifact"):]


def _with_steps(read: StageRead, steps: list[Any]) -> StageRead:
    clone = StageRead(read.name, read.line, read.from_, read.manager, read.config)
    clone.steps = steps
    clone.artifacts = read.artifacts
    return clone


def _user(config: Config, report: Report) -> dict[str, Any] | None:
    """final.user from the last USER; `config.base_user`: the non-root uid the base image
    runs as, which a spec without a user runs as too (lower's default), as the Dockerfile did."""
    user = config.user
    if user is None:
        if not config.base_user_known:
            report.differences.append(_unknown_base_user(config.base_image))
        elif config.base_user is None:
            report.differences.append("the image runs as the non-root user 65532 (the Dockerfile has no USER: "
                                      "root) (BP8)")
        return None
    line, value = user
    name, _, group = value.partition(":")
    if name in ("root", "0"):
        return {"uid": 0, "root_reason": f"the Dockerfile runs as root (USER {value}, line {line})"}
    if name.isdigit() and int(name) < 2**31 and (not group or group.isdigit() and int(group) < 2**31):
        if not group:
            report.differences.append(f"Dockerfile:{line}: USER {value} names no group: docker runs it with the "
                                      "group of the user's passwd entry, or gid 0 without one; the spec's user runs "
                                      f"with gid {name} (set final.user.gid to keep another)")
        return {"uid": int(name), **({"gid": int(group)} if group else {})}
    if name.isdigit() and int(name) < 2**31:  # QA: `USER 1000:app` lost its uid too
        report.differences.append(f"Dockerfile:{line}: USER {value} names its group by name: the spec's user runs "
                                  f"with gid {name} (set final.user.gid to the group's id)")
        return {"uid": int(name)}
    report.differences.append(f"Dockerfile:{line}: USER {value} becomes imagespec's non-root user 65532 (a spec "
                              "names users by number; set final.user.uid to the user's UID)")
    return None


def _unknown_base_user(base: str) -> str:
    """No USER on a base outside the catalog: it ran as that image's own USER, which only
    the image knows (a `:nonroot` tag suggests one, never proves it): say what is known."""
    check = f"`docker image inspect -f '{{{{.Config.User}}}}' {base}` shows it"
    return (f"the image runs as the non-root user 65532 (BP8); the Dockerfile has no USER, so it ran as {base}'s own "
            f"user, which imagespec does not know ({check}; root if it is empty; an image that runs as another "
            "non-root user: set final.user, or add the image to the catalog with its `user`)")


def _owners_by_ids(steps: list[Any], user: tuple[int, str] | None, final_user: dict[str, Any] | None,
                   report: Report) -> None:
    """A COPY --chown naming the USER by name (`USER node`, `--chown=node:node`) follows it
    to final.user's ids: the spec's user is a number (imagespec's 65532 for a name it
    cannot take), so the name would leave the app's files another's, or fail the build on
    a base without that user."""
    value = user[1] if user else ""
    name, _, group = value.partition(":")
    if not name or name.isdigit() or name in ("root", "0"):
        return
    uid = final_user["uid"] if final_user else NONROOT_UID
    gid = final_user.get("gid", uid) if final_user else NONROOT_UID
    for step in steps:
        owner = step.data.get("owner")
        if not owner:
            continue
        who, colon, whose = owner.partition(":")
        written = (str(uid) if who == name else who) + \
            (colon + (str(gid) if whose in (name, group) and whose else whose))
        if written != owner:
            step.data["owner"] = written
            report.differences.append(f"Dockerfile:{step.line}: COPY --chown={owner} is owner {written}: "
                                      f"final.user's ids, as USER {value} became (a spec's user is a number)")


def _base_workdir(stage: str, base: str, workdir: str | None) -> str:
    """The guess a stage that sets no WORKDIR makes: its steps run in the base image's."""
    if workdir:
        return f"workdir {workdir} for stage {stage}: the Dockerfile sets none, and {base} sets {workdir} (by its name)"
    return (f"workdir / for stage {stage}: the Dockerfile sets none, so its steps run in {base}'s WORKDIR, which is / "
            f"unless the image sets one (check it: docker image inspect -f '{{{{.Config.WorkingDir}}}}' {base})")


def _last_component(base: str) -> str:
    """``docker.io/library/nginx:1.27`` → ``nginx``; "" for what is no reference (``${BASE}``)."""
    try:
        return grammar.parse(base).path.rsplit("/", 1)[-1]
    except grammar.Invalid:
        return ""


def _script(config: Config, report: Report) -> str | None:
    """The `entrypoint` (with `shell: true`) for a start command in shell form whose shell
    syntax needs a shell (`CMD java $JAVA_OPTS -jar app.jar`): imagespec runs it through
    /bin/sh -c 'exec …', so the program is PID 1 (BP2) where `[/bin/sh, -c, …]` keeps the
    shell there (lint IS014). None where the spec keeps the Dockerfile's argv: a base
    without a shell, or a shell-form CMD that is an ENTRYPOINT's arguments."""
    kind = "ENTRYPOINT" if config.entrypoint else "CMD"
    if kind not in config.scripts or not config.base_shell:
        return None
    line, text = config.scripts[kind]
    replaced = "; `docker run IMAGE ARGS` now hands ARGS to it " + \
        ("(the shell form ignored them)" if kind == "ENTRYPOINT" else "instead of replacing it")
    # imagespec writes `exec TEXT "$@"`: a trailing "$@" of the text's own would pass every
    # argument twice, and any other use of the arguments ($0, $1, $*) means something else there
    own_args = re.sub(r'\s*"\$@"\s*$', "", text)
    positional = _POSITIONAL.search(own_args) is not None
    # a list, a pipe or a comment cannot follow `exec` (the values check refuses it), nor can
    # text whose quotes do not close: the shell of its own runs them as the Dockerfile did
    if not _splits(text) or shell_scan.list_operator(text) is not None or positional:
        report.differences.append(
            f"Dockerfile:{line}: {kind} in shell form is `entrypoint` with `shell: true`, run by a shell of its own "
            f"(`/bin/sh -c …`: a list of commands, a pipe or a comment), which stays PID 1 as before unless its last command "
            f"is run with `exec`, so that the program gets SIGTERM (BP2){replaced}")
        return f"/bin/sh -c {shlex.quote(text)}"
    report.differences.append(
        f"Dockerfile:{line}: {kind} in shell form is `entrypoint` with `shell: true`: imagespec runs it through "
        f"/bin/sh -c 'exec …', so the program, not the shell, is PID 1 and gets SIGTERM (BP2){replaced}")
    command = re.sub(r"^\s*exec\s+", "", own_args)  # the shell's exec: imagespec writes its own
    # `exec NODE_ENV=production node …` would run a program named NODE_ENV=production
    return f"env {command}" if ASSIGNMENT.match(command) else command


#: The start command's own use of its arguments: "$@" at its end is what imagespec adds anyway
_POSITIONAL = re.compile(r"\$(?:[@*#0-9]|\{[@*#0-9])")


def _splits(text: str) -> bool:
    """Whether the text's quotes close (what `exec TEXT "$@"` needs)."""
    try:
        shlex.split(text)
    except ValueError:
        return False
    return True


def _command(final: dict[str, Any], config: Config, read: StageRead, report: Report, file: str, image: object) -> None:
    script = _script(config, report)
    if script is not None:
        final["shell"], final["entrypoint"] = True, script
        return
    for kind, (line, _) in config.scripts.items():
        if config.entrypoint if kind == "ENTRYPOINT" else config.cmd:
            report.differences.append(f"Dockerfile:{line}: {kind} in shell form runs through /bin/sh -c, as before: "
                                      "the shell, not the program, is PID 1 (BP2); write it in exec form where it can "
                                      "be")
    if config.entrypoint:
        final["entrypoint"] = config.entrypoint
    if config.cmd:
        final["cmd"] = config.cmd
    if config.entrypoint or config.cmd:
        return
    base = image["image"] if isinstance(image, dict) else image
    repository = _last_component(str(base))
    if repository in BASE_COMMANDS:
        final["cmd"] = BASE_COMMANDS[repository]
        report.guessed.append(f"cmd {BASE_COMMANDS[repository]}: the Dockerfile names no command and runs the "
                              f"{repository} image's own (its entrypoint script, if any, is not run)")
        return
    raise SpecError("the Dockerfile names no CMD or ENTRYPOINT: the image runs its base image's command, which a "
                    "spec must name", location=Location(file, read.line, 1), hint="add CMD [\"program\", \"arg\"] to the Dockerfile's last "
                    "stage (what the base image runs), then import again")


def _own_name(name: str, source: Source) -> tuple[str, str | None]:
    """The spec's name: the folder's, unless an image the Dockerfile builds FROM is that
    name (a `node/` folder's `FROM node:20`), which a spec cannot build FROM (its own
    image): then NAME-app, and the image it clashed with."""
    known = {k: x for k, x in _global_args(source).items() if x is not None}
    own = _repository(name)
    for stage in source.stages:
        try:
            base = process_word(stage.base, known, source.escape)
        except Unknown:
            continue  # FROM refuses it, at its line
        if own is not None and _repository(base) == own:
            return f"{name}-app", base
    return name, None


def _repository(reference: str) -> str | None:
    try:
        return grammar.parse(reference).normalize().name
    except grammar.Invalid:  # scratch, `${BASE}`
        return None


def _with_ignore(data: dict[str, Any], carried: CarriedIgnore | None, report: Report,
                 written: list[str]) -> dict[str, Any]:
    """The ignore file's patterns (and comments) as `ignore:`, after name and version; the
    heredoc files import writes (`written`) let in again where a pattern keeps them out."""
    if carried is None:
        return data
    report.differences += [f"{carried.path}:{line}: not carried into `ignore:` ({why})" for line, why in carried.left]
    if not carried.patterns:
        return data
    kept_out = carried.kept_out(written)
    if kept_out:
        carried.entries.extend([IgnoreComment("# written by imagespec import: the text of a COPY heredoc"),
                                *(f"!{path}" for path in kept_out)])
    report.differences.append(
        f"{carried.path}: its {len(carried.patterns)} patterns are the spec's `ignore:`, after imagespec's own, which "
        "keep .git, .env and other credential files out too (BP15); `imagespec generate` replaces a hand-written "
        "ignore file at the spec's ignore file's path only with --force")
    head: dict[str, Any] = {key: data[key] for key in ("name", "version", "features") if key in data}
    return {**head, "ignore": carried.entries, **{k: x for k, x in data.items() if k not in head}}


def import_dockerfile(dockerfile: Path, output: Path | None = None, config_path: Path | None = None) -> ImportResult:
    """Read, convert, render, check by compiling in memory, then write (never over a file)."""
    from imagespec.compiler import compile_spec
    from imagespec.spec.config import load_config
    from imagespec.spec.read_spec import load_spec_text

    to_stdout = output is not None and str(output) == "-"  # the spec as if beside the Dockerfile
    target = dockerfile.parent / SPEC_NAME if to_stdout or output is None else output
    if not to_stdout and (target.exists() or target.is_symlink()):
        raise SpecError("a file exists here already; import never overwrites", location=Location(str(target), 1, 1),
                        hint="write the spec elsewhere with -o FILE, or remove the file first")
    if not to_stdout and output is not None:
        refuse_output_outside(target, repository_root(files.resolve(dockerfile.parent)), "import")
    text = read_text(dockerfile)
    source = parse(text, str(dockerfile))
    config = load_config(config_path, start=target.parent)
    name, clash = _own_name(image_name(dockerfile.resolve().parent.name), source)
    heredocs = HeredocFiles(dockerfile.resolve().parent, write=not to_stdout)
    data, report = convert(source, [config.catalog, builtin_catalog()], name, heredocs)
    report.guessed[:0] = [f"name {name}: the Dockerfile's folder" + (f", with -app: {clash} is an image it builds FROM"
                                                                     if clash else ""),
                          *([] if data["version"] != DEFAULT_VERSION else  # else its version label's
                            [f"version {DEFAULT_VERSION}: a Dockerfile has no version (it decides the tags, BP14)"])]
    data = _with_ignore(data, carry(dockerfile), report, list(heredocs.texts))
    context = os.path.relpath(dockerfile.resolve().parent, target.resolve().parent)
    if context != ".":
        data = {"name": data.pop("name"), "context": Path(context).as_posix(), **data}
    shown = "imagespec.yaml" if to_stdout else str(target)
    spec_text = render(data, report, str(dockerfile), shown)
    try:
        compile_spec(load_spec_text(spec_text, name=str(target), config=config, folder=target.parent), config)
    except SpecError as error:
        raise _not_compiled(error, target, dockerfile) from None
    if (target.resolve().parent / "Dockerfile") == dockerfile.resolve():  # said now, not written in the spec
        report.differences.append(f"`imagespec generate {target}` writes the generated Dockerfile over {dockerfile}"
                                  " (keep the original in git, or set `dockerfile:` in the spec)")
    if to_stdout:
        return ImportResult(Path("-"), spec_text, report)
    written = heredocs.write_all(str(target))
    try:
        with open(target, "x", encoding="utf-8", newline="\n") as handle:  # "x": never over a file that appeared
            handle.write(spec_text)
    except OSError as exc:
        remove(written)  # a heredoc's file without the spec that copies it is nobody's
        raise SpecError(f"cannot write the spec: {exc.strerror or exc}", location=Location(str(target)),
                        hint="write it into an existing folder (-o FILE)") from None
    return ImportResult(target, spec_text, report)


def _not_compiled(error: SpecError, target: Path, dockerfile: Path) -> SpecError:
    """The spec import would write does not compile: said at the Dockerfile, which the user
    can open, not at a line of the spec that was never written (QA: `FROM scratch` alone
    was `imagespec.yaml:10:9: …`)."""
    where = f" (at {error.location})" if error.location and error.location.file != str(target) else ""
    return SpecError(f"the spec for {target} (not written) does not compile: {error.message}{where}",
                     location=Location(str(dockerfile), 1, 1),
                     hint=(f"{error.hint}; " if error.hint else "") + "nothing was written: change the Dockerfile, "
                          "or write the spec by hand (README \"Spec reference\")")


