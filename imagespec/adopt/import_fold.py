"""A stage that only gathers files from other stages (`FROM scratch AS release`,
`COPY --from=build /app /app`): a last stage built FROM it is folded into one stage, as
docker builds it, and a last stage's `COPY --from=release` copies from where it gathered
the files.

Role: a spec's build stages copy from the build context only; its final stage copies
from the other stages. A Dockerfile whose gathering stage is not the last one would lose
its `COPY --from` steps (not expressed in a build stage) and give an image without the
files it gathered (QA: an empty scratch image, exit 0). The last stage starting with
that stage's instructions is the same image: same base, same files, same settings in
the same order. A `COPY --from=release /app /usr/bin/app` of the last stage copies the
same file as `COPY --from=build /out/app /usr/bin/app` when release's own COPY was
`COPY --from=build /out/app /app` (QA: the `binaries` stage of many Go projects; the
build failed at that COPY).

Pure. May import ``imagespec.adopt.dockerfile_source``.
"""

from __future__ import annotations

import posixpath
from dataclasses import replace

import dockerfile

from imagespec.adopt.dockerfile_source import Source, Stage

#: what a gathering stage may hold: no step that runs anything (a RUN's stage is a build
#: stage the final copies from, which a spec says already)
_GATHERING = frozenset({"COPY", "ADD", "ENV", "LABEL", "ENTRYPOINT", "CMD", "USER", "EXPOSE", "WORKDIR", "ARG",
                        "STOPSIGNAL", "HEALTHCHECK", "VOLUME", "SHELL", "MAINTAINER", "ONBUILD"})


def fold_gathering_stages(source: Source) -> tuple[Source, list[str], set[int]]:
    """The source with its last stage folded onto each gathering stage it is built FROM
    (a chain too), a difference line per fold, and the folded stages' indexes."""
    said: list[str] = []
    folded: set[int] = set()
    stages = list(source.stages)
    while True:
        last = stages[-1]
        parent = _stage_named(stages[:-1], last.base)
        if parent is None or not _gathers(parent, stages[:parent.index]):
            break
        folded.add(parent.index)
        stages[-1] = replace(last, base=parent.base, platform=last.platform or parent.platform,
                             instructions=[*parent.instructions, *last.instructions])
        said.append(f"Dockerfile:{last.line}: FROM {last.base}: the last stage starts with the instructions of stage "
                    f"'{parent.name or parent.index}' (lines {parent.line}-{_end(parent)}), FROM {parent.base}, as "
                    "docker builds it: the spec's final stage copies from the other stages itself")
    return (replace(source, stages=stages) if said else source), said, folded


def _stage_named(earlier: list[Stage], base: str) -> Stage | None:
    """The earlier stage `FROM base` names (by `AS` name, case-insensitively, or by number)."""
    wanted = base.lower()
    return next((s for s in reversed(earlier) if s.name == wanted or str(s.index) == wanted), None)


def _gathers(stage: Stage, earlier: list[Stage]) -> bool:
    """Only files and settings, at least one file from another stage (or built FROM
    another stage: a chain of them)."""
    commands = [command.cmd.upper() for command in stage.instructions]
    copies_from = any(c.cmd.upper() in ("COPY", "ADD") and any(f.startswith("--from") for f in c.flags)
                      for c in stage.instructions)
    return (copies_from or _stage_named(earlier, stage.base) is not None) and set(commands) <= _GATHERING


def _end(stage: Stage) -> int:
    return stage.instructions[-1].end_line if stage.instructions else stage.line


def copy_through_gathering(source: Source) -> tuple[Source, list[str], set[int]]:
    """The source with each `COPY --from=G` of its last stage copying from the stages the
    gathering stage G took those files from, a difference line per COPY, and the indexes
    of the stages read through. A COPY whose paths do not map one to one stays."""
    last, earlier = source.stages[-1], source.stages[:-1]
    said: list[str] = []
    through: set[int] = set()
    instructions: list[dockerfile.Command] = []
    for command in last.instructions:
        gathering, copies = _through(command, earlier)
        if gathering is None:
            instructions.append(command)
            continue
        through.add(gathering.index)
        instructions += copies
        taken = ", ".join(f"{c.value[0]} of stage '{_origin(c)}'" for c in copies)
        them = "them" if len(copies) > 1 else "it"
        said.append(f"Dockerfile:{command.start_line}: {command.original}: copies {taken} instead, where stage "
                    f"'{gathering.name or gathering.index}' (line {gathering.line}) gathered {them} from (a spec's "
                    "build stages copy only from the build context)")
    if not said:
        return source, [], set()
    return replace(source, stages=[*earlier, replace(last, instructions=instructions)]), said, through


def _through(command: dockerfile.Command, earlier: list[Stage]) -> tuple[Stage | None, list[dockerfile.Command]]:
    """(the gathering stage, the COPYs from its origins) for a `COPY --from=G SRC… DEST`
    whose every source is a path G's COPYs put there; (None, []) otherwise."""
    origin = _origin(command)
    if command.cmd.upper() != "COPY" or origin is None or len(command.value) < 2 or command.heredocs:
        return None, []
    gathering = _stage_named(earlier, origin)
    if gathering is None or gathering.base.lower() != "scratch":
        return None, []
    gathered = _gathered(gathering)
    if gathered is None:
        return None, []
    *sources, dest = command.value
    others = tuple(f for f in command.flags if not f.lower().startswith("--from="))
    copies = []
    for wanted in sources:
        found = _mapped(wanted, dest, gathered)
        if found is None:
            return None, []
        copies += [command._replace(flags=(f"--from={stage}", *others), value=(src, to),
                                    original=" ".join(("COPY", f"--from={stage}", *others, src, to)))
                   for stage, src, to in found]
    return gathering, copies


def _origin(command: dockerfile.Command) -> str | None:
    values = [f.split("=", 1)[1] for f in command.flags if f.lower().startswith("--from=")]
    return values[0] if len(values) == 1 else None


def _gathered(stage: Stage) -> list[tuple[str, str, str]] | None:
    """(stage, source, absolute destination) of each COPY of a gathering stage; None when
    one is no plain `COPY --from=STAGE SRC /DEST` (a wildcard, an option, several sources,
    a relative destination) or the stage also runs, adds or copies otherwise."""
    found = []
    for command in stage.instructions:
        name = command.cmd.upper()
        if name not in ("COPY", "ADD", "RUN"):
            continue  # settings: nothing of the file system a COPY --from reads
        origin = _origin(command)
        if name != "COPY" or origin is None or len(command.flags) != 1 or len(command.value) != 2:
            return None
        src, dest = command.value
        if not dest.startswith("/") or any(c in src + dest for c in "*?[$"):
            return None
        found.append((origin, src, dest))
    return found or None


def _mapped(wanted: str, dest: str, gathered: list[tuple[str, str, str]]) -> list[tuple[str, str, str]] | None:
    """Where the gathering stage's path `wanted` came from: [(stage, source, dest)]. `/`
    (the whole stage) is every COPY of it, each to its place under `dest`."""
    if any(c in wanted for c in "*?[$"):
        return None
    path = posixpath.normpath("/" + wanted.lstrip("/"))  # normpath keeps a leading `//`
    if path == "/":
        return [(stage, src, dest.rstrip("/") + to if to != "/" else dest) for stage, src, to in gathered]
    for stage, src, to in reversed(gathered):  # the last COPY to a path is what the stage holds there
        into = posixpath.normpath("/" + to.lstrip("/"))
        if to.endswith("/") and path == posixpath.join(into, posixpath.basename(src.rstrip("/"))):
            return [(stage, src, dest)]  # `COPY --from=build /out/app /bin/`: /bin/app
        if not to.endswith("/") and path == into:
            return [(stage, src, dest)]
        if path.startswith(into.rstrip("/") + "/"):  # inside a folder it gathered
            return [(stage, src.rstrip("/") + path[len(into.rstrip("/")):], dest)]
    return None
