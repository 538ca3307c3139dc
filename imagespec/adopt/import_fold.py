"""A last stage built FROM a stage that only gathers files (`FROM scratch AS release`,
`COPY --from=build /app /app`, then `FROM release`): folded into one stage, as docker
builds it.

Role: a spec's build stages copy from the build context only; its final stage copies
from the other stages. A Dockerfile whose gathering stage is not the last one would lose
its `COPY --from` steps (not expressed in a build stage) and give an image without the
files it gathered (QA: an empty scratch image, exit 0). The last stage starting with
that stage's instructions is the same image: same base, same files, same settings in
the same order.

Pure. May import ``imagespec.adopt.dockerfile_source``.
"""

from __future__ import annotations

from dataclasses import replace

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
