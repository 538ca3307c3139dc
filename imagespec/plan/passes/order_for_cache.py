"""BP4: within each stage, what changes rarely comes first (base, OS packages,
setup, dependency manifests and install), the source as late as possible.
A stable sort by phase: the author's order is kept within a phase."""

from __future__ import annotations

from imagespec.plan import model as p
from imagespec.plan.model import replace


def _ordered(stage: p.Stage) -> p.Stage:
    phases = [i.phase for i in stage.instructions]
    if phases == sorted(phases):
        return stage  # already in order (a stable sort would keep it): no copy
    return replace(stage, instructions=tuple(sorted(stage.instructions, key=lambda i: i.phase)))


def order_for_cache(plan: p.Plan) -> p.Plan:
    return replace(plan, stages=tuple(map(_ordered, plan.stages)))
