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

    def to_dict(self) -> dict[str, object]:
        return {"stage": self.stage, "instruction": self.instruction, "locations": list(self.locations),
                "practices": list(self.practices), "why": self.why}


def explain(compiled: Compiled) -> list[Line]:
    doc, plan = compiled.loaded.document, compiled.plan
    lines = []
    for stage in plan.stages:
        lines.append(Line(stage.name, f"FROM {stage.base.ref} AS {stage.name}", (str(doc.location(stage.origin.path)),),
                          stage.origin.practices, stage.origin.why))
        for i in stage.instructions:
            origins = (i.origin, *(i.merged_from if isinstance(i, p.Run) else ()))
            practices = tuple(dict.fromkeys(bp for o in origins for bp in o.practices))
            whys = "; ".join(dict.fromkeys(o.why for o in origins if o.why))
            if isinstance(i, p.Run) and len(origins) > 1:
                whys = f"{whys}; merged into one RUN (BP11)" if whys else "merged into one RUN (BP11)"
            lines.append(Line(stage.name, render_instruction(plan, stage, i),
                              tuple(dict.fromkeys(str(doc.location(o.path)) for o in origins)), practices, whys))
    return lines
