"""Each generated instruction beside the spec location and the practice that
produced it, so a reviewer can trace every Dockerfile line back to its reason.

Pure. May import errors, spec, plan, render, compiler.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagespec.compiler import Compiled
from imagespec.errors import one_line
from imagespec.plan import model as p
from imagespec.render.dockerfile import render_instruction, run_body
from imagespec.render.serialize import separate_commands


@dataclass(frozen=True)
class Line:
    stage: str
    instruction: str
    locations: tuple[str, ...]
    practices: tuple[str, ...]
    why: str
    summary: str = ""  # what the instruction does, for a terminal: a RUN's commands without its mounts

    def to_dict(self) -> dict[str, object]:
        return {"stage": self.stage, "instruction": self.instruction, "locations": list(self.locations),
                "practices": list(self.practices), "why": self.why}


def summary(rendered: str, instruction: p.Instruction | None) -> str:
    """One line a reader can scan, as inert text (a newline or U+2028 in a value shows
    escaped: it made a second, made-up instruction line): a RUN is its commands (mounts
    and the CA-bundle preamble are in the Dockerfile and the JSON output) as the Dockerfile
    joins them, `&&` or, for a script (a command with a comment or a newline), ` ⏎ `
    between its lines: `echo a # c && echo b` read as if the comment took the rest.
    Anything else is its first line."""
    if isinstance(instruction, p.Run):
        body = run_body(instruction, frozenset())
        if body.kind == "shell":
            return one_line("RUN " + " && ".join(body.commands[body.lead:]))
        return one_line("RUN (a script) " + " ⏎ ".join(separate_commands(instruction.commands)))
    return one_line(rendered.split("\n", 1)[0].rstrip(" \\"))  # not splitlines(): it splits at U+2028


def explain(compiled: Compiled) -> list[Line]:
    doc, plan = compiled.loaded.document, compiled.plan
    lines = []
    for stage in plan.stages:
        origin = stage.from_line
        lines.append(Line(stage.name, origin, (str(doc.location(stage.origin.path)),), stage.origin.practices,
                          stage.origin.why, origin))
        for i in stage.instructions:
            origins = (i.origin, *(i.merged_from if isinstance(i, p.Run) else ()))
            practices = tuple(dict.fromkeys(bp for o in origins for bp in o.practices))
            whys = "; ".join(dict.fromkeys(o.why for o in origins if o.why))
            if isinstance(i, p.Run) and len(origins) > 1:
                whys = f"{whys}; merged into one RUN (BP11)" if whys else "merged into one RUN (BP11)"
            rendered = render_instruction(plan, stage, i)
            lines.append(Line(stage.name, rendered, tuple(dict.fromkeys(str(doc.location(o.path)) for o in origins)),
                              practices, whys, summary(rendered, i)))
    return lines
