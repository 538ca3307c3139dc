"""Each generated instruction beside the spec location and the practice that
produced it, so a reviewer can trace every Dockerfile line back to its reason.

Pure. May import errors, spec, plan, render, compiler.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagespec.compiler import Compiled
from imagespec.plan import model as p
from imagespec.render.dockerfile import render_instruction


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
    """One line a reader can scan: a RUN is its commands (mounts and the CA-bundle
    preamble are in the Dockerfile and the JSON output), anything else its first line."""
    if isinstance(instruction, p.Run):
        return "RUN " + " && ".join(instruction.commands)
    return rendered.splitlines()[0].rstrip(" \\")


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
