"""Which plan origin (spec location) each line of a rendered Dockerfile came from.

The renderer's own map, never a search for matching text (two identical RUN lines in two
stages are two places): the template writes each stage's FROM and then its instructions
in plan order, and everything else it writes is comments and blank lines. So walking the
text's instruction lines alongside the plan places every instruction; a RUN's layout
(render/dockerfile.run_body) places each of its commands, which for a merged RUN
(merge_run_steps, BP11) come from different spec lines. Computed on demand (a failed
build), so compiling pays nothing for it. Pure.
"""

from __future__ import annotations

from bisect import bisect_right

from imagespec.plan import model as p
from imagespec.plan.frozen import frozen
from imagespec.render import serialize
from imagespec.render.dockerfile import run_body


@frozen
class Command:
    """One command of a RUN: the lines it sits on, as the spec wrote it, and whose it is."""

    first: int
    last: int
    text: str
    origin: p.Origin


@frozen
class Placed:
    """One instruction (or a stage's FROM) and its lines, 1-based and inclusive."""

    first: int
    last: int
    origin: p.Origin
    form: str = ""  # RUN: shell | heredoc | exec
    commands: tuple[Command, ...] = ()


@frozen
class LineMap:
    placed: tuple[Placed, ...]  # in line order

    def instruction_at(self, line: int) -> Placed | None:
        index = bisect_right([i.first for i in self.placed], line) - 1
        found = self.placed[index] if index >= 0 else None
        return found if found is not None and line <= found.last else None

    def origin_at(self, line: int) -> p.Origin | None:
        """The command's origin on a line of a RUN that holds one, else the instruction's."""
        placed = self.instruction_at(line)
        if placed is None:
            return None
        on_line = {c.origin for c in placed.commands if c.first <= line <= c.last}
        return on_line.pop() if len(on_line) == 1 else placed.origin

    def origins(self) -> dict[int, p.Origin]:
        """Every instruction line (comments and blank lines have none) → its origin."""
        return {line: origin for i in self.placed for line in range(i.first, i.last + 1)
                if (origin := self.origin_at(line)) is not None}


def line_map(plan: p.Plan, dockerfile: str) -> LineMap:
    """The map of `dockerfile`, which render_dockerfile made from `plan`."""
    lines = dockerfile.split("\n")
    placed: list[Placed] = []
    at = 0  # 0-based index of the next line to read
    for stage in plan.stages:
        at = _next_instruction(lines, at)
        placed.append(Placed(at + 1, at + 1, stage.origin))
        at += 1
        for instruction in stage.instructions:
            at = _next_instruction(lines, at)
            placed.append(_place(plan, instruction, lines, at))
            at = placed[-1].last
    return LineMap(tuple(placed))


def _next_instruction(lines: list[str], at: int) -> int:
    while at < len(lines) and (not lines[at].strip() or lines[at].lstrip().startswith("#")):
        at += 1
    if at >= len(lines):
        raise ValueError("the Dockerfile has fewer instructions than its plan")  # not the plan's text
    return at


def _place(plan: p.Plan, instruction: p.Instruction, lines: list[str], at: int) -> Placed:
    if isinstance(instruction, p.Run):
        return _place_run(plan, instruction, at + 1)
    last = at
    while last + 1 < len(lines) and lines[last].endswith("\\"):  # ENV and LABEL: one pair a line
        last += 1
    return Placed(at + 1, last + 1, instruction.origin)


def _place_run(plan: p.Plan, run: p.Run, first: int) -> Placed:
    body = run_body(run, plan.features)
    origins = run.origins_of_commands()
    if body.kind == "exec":  # one line: the whole script in a JSON array
        commands = tuple(Command(first, first, c, o) for c, o in zip(run.commands, origins, strict=True))
        return Placed(first, first, run.origin, body.kind, commands)
    if body.kind == "shell":
        # `RUN [flags \]` then one `&& item` a line; the flags line only when it ends in `\`
        start = first + (1 if body.flags.endswith("\n    ") else 0) + body.lead
        commands = tuple(Command(start + k, start + k, c, o) for k, (c, o) in enumerate(zip(run.commands, origins, strict=True)))
        return Placed(first, start + len(run.commands) - 1, run.origin, body.kind, commands)
    # heredoc: `RUN <<EOF`, the script's lines (prelude, `set -ex`, the commands, each
    # maybe several lines or wrapped in a subshell), then the delimiter
    line, placed = first + 1 + body.lead, []
    for command, origin, laid_out in zip(run.commands, origins, serialize.separate_commands(run.commands), strict=True):
        height = laid_out.count("\n") + 1
        placed.append(Command(line, line + height - 1, command, origin))
        line += height
    return Placed(first, line, run.origin, body.kind, tuple(placed))
