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
    gathering stage G took those files from (a chain of them too), a difference line per
    COPY, and the indexes of the stages read through. A COPY whose paths do not map one to
    one stays, said when G is a scratch stage: the spec's G lost its own `COPY --from`, so
    the build fails there if the path came by one of them."""
    last, earlier = source.stages[-1], source.stages[:-1]
    gathering = _gathering_stages(earlier)
    said: list[str] = []
    through: set[int] = set()
    instructions: list[dockerfile.Command] = []
    for command in last.instructions:
        stage, copies = _through(command, earlier, gathering)
        if stage is None or not copies:
            instructions.append(command)
            if stage is not None and stage.base.lower() == "scratch" and _copies_from(stage):
                # a scratch stage makes no file itself: a path it did not take from the context
                # came by one of the COPY --from the spec's stage lost (a RUN stage may make it)
                said.append(f"Dockerfile:{command.start_line}: {command.original}: stage "
                            f"'{stage.name or stage.index}' gathers files with COPY --from (line "
                            f"{_copies_from(stage)}), which a spec's build stage cannot say, and import cannot "
                            "tell which of them this path came from: if it did, the build fails at this COPY; "
                            "copy from the stage that makes the files")
            continue
        through.add(stage.index)
        instructions += copies
        taken = ", ".join(f"{c.value[0]} of stage '{_origin(c)}'" for c in copies)
        them = "them" if len(copies) > 1 else "it"
        said.append(f"Dockerfile:{command.start_line}: {command.original}: copies {taken} instead, where stage "
                    f"'{stage.name or stage.index}' (line {stage.line}) gathered {them} from (a spec's "
                    "build stages copy only from the build context)")
    if not through:
        return source, said, set()
    return replace(source, stages=[*earlier, replace(last, instructions=instructions)]), said, through


#: a gathered file: (the stage it came from, its path there, where the gathering stage put
#: it, the --chmod it was given or "")
_Gathered = tuple[str, str, str, str]
#: options of a COPY that change no file's content or place: a mapped COPY keeps them
_KEPT_FLAGS = ("--chown=", "--chmod=", "--link")


def _gathering_stages(stages: list[Stage]) -> dict[int, list[_Gathered]]:
    """The FROM scratch stages made only of `COPY --from` (and settings), by index, with
    what each gathered; a COPY from an earlier gathering stage is read through it."""
    found: dict[int, list[_Gathered]] = {}
    for stage in stages:
        if stage.base.lower() != "scratch":
            continue
        gathered = _gathered(stage, stages, found)
        if gathered:
            found[stage.index] = gathered
    return found


def _gathered(stage: Stage, stages: list[Stage], known: dict[int, list[_Gathered]]) -> list[_Gathered] | None:
    """What ``stage``'s COPYs put where; None when one is no plain `COPY --from=STAGE SRC
    /DEST` (a wildcard, a variable, an option that changes content, several sources, a
    relative destination) or the stage also runs or adds anything."""
    found: list[_Gathered] = []
    for command in stage.instructions:
        name = command.cmd.upper()
        if name not in ("COPY", "ADD", "RUN"):
            continue  # settings: nothing of the file system a COPY --from reads
        origin = _origin(command)
        flags = [f for f in command.flags if not f.lower().startswith("--from=")]
        chmod = [f.split("=", 1)[1] for f in flags if f.lower().startswith("--chmod=")]
        if name != "COPY" or origin is None or len(command.value) != 2 or command.heredocs or \
                any(f.lower() != "--link" and not f.lower().startswith("--chmod=") for f in flags):
            return None  # --chown too: the ownership a later COPY --from keeps is not certain
        src, dest = command.value
        if not dest.startswith("/") or any(c in src + dest for c in "*?[$"):
            return None
        parent = _stage_named(stages[:stage.index], origin)
        if parent is not None and parent.index in known:  # a chain: from where that one took them
            mapped = _mapped(src, dest, known[parent.index])
            if mapped is None:
                return None
            found += [(o, s, d, chmod[0] if chmod else m) for o, s, d, m in mapped]
        else:
            found.append((origin, src, dest, chmod[0] if chmod else ""))
    return found or None


def _through(command: dockerfile.Command, earlier: list[Stage],
             gathering: dict[int, list[_Gathered]]) -> tuple[Stage | None, list[dockerfile.Command]]:
    """(the stage a `COPY --from` names, the COPYs from where it gathered each source);
    the COPYs are empty when a source does not map one to one (stage None: no COPY --from)."""
    origin = _origin(command)
    if command.cmd.upper() != "COPY" or origin is None or len(command.value) < 2 or command.heredocs:
        return None, []
    stage = _stage_named(earlier, origin)
    others = tuple(f for f in command.flags if not f.lower().startswith("--from="))
    if stage is None or stage.index not in gathering or \
            any(not f.lower().startswith(_KEPT_FLAGS) for f in others):  # --parents, --exclude: not mapped
        return stage, []
    *sources, dest = command.value
    own_chmod = any(f.lower().startswith("--chmod=") for f in others)
    copies = []
    for wanted in sources:
        found = _mapped(wanted, dest, gathering[stage.index])
        if found is None:
            return stage, []
        for origin_stage, src, to, chmod in found:
            flags = (f"--from={origin_stage}", *others, *([f"--chmod={chmod}"] if chmod and not own_chmod else []))
            copies.append(command._replace(flags=flags, value=(src, to),
                                           original=" ".join(("COPY", *flags, src, to))))
    return stage, copies


def _copies_from(stage: Stage) -> int | None:
    """The line of the stage's first `COPY --from`, if any."""
    return next((c.start_line for c in stage.instructions if c.cmd.upper() in ("COPY", "ADD") and _origin(c)), None)


def _origin(command: dockerfile.Command) -> str | None:
    values = [f.split("=", 1)[1] for f in command.flags if f.lower().startswith("--from=")]
    return values[0] if len(values) == 1 else None


def _mapped(wanted: str, dest: str, gathered: list[_Gathered]) -> list[_Gathered] | None:
    """Where the gathering stage's path `wanted` came from, as the COPYs that make `dest`
    hold what it held there, in the gathering stage's order (a later COPY over a gathered
    folder lays its files over it again): [(stage, source, destination, chmod)]. None when
    that is not certain: a wildcard, or a path inside a gathered folder that an earlier COPY
    put there too (the folder may not hold it)."""
    if any(c in wanted for c in "*?[$"):
        return None
    path = posixpath.normpath("/" + wanted.lstrip("/"))  # normpath keeps a leading `//`
    found: list[_Gathered] = []
    for stage, src, to, chmod in gathered:
        into = posixpath.normpath("/" + to.lstrip("/"))
        folder = to.endswith("/")
        if path == "/" or into == path or into.startswith(path + "/"):  # it put something in the path
            place = dest.rstrip("/") + (into if path == "/" else into[len(path):]) if into != path else dest
            found.append((stage, src, place + "/" if folder and not place.endswith("/") else place, chmod))
        elif folder and path == posixpath.join(into, posixpath.basename(src.rstrip("/"))):
            found.append((stage, src, dest, chmod))  # `COPY --from=build /out/app /bin/`: /bin/app
        elif path.startswith(into.rstrip("/") + "/"):  # inside a folder it gathered
            if found:
                return None
            found.append((stage, src.rstrip("/") + path[len(into.rstrip("/")):], dest, chmod))
    return found or None
