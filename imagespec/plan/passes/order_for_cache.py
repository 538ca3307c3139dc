"""BP4: within each stage, what changes rarely comes first (base, OS packages,
setup, dependency manifests and install), the source as late as possible.
A stable sort by phase: the author's order is kept within a phase."""

from __future__ import annotations

from dataclasses import replace

from imagespec.plan import model as p


def order_for_cache(plan: p.Plan) -> p.Plan:
    return replace(plan, stages=tuple(
        replace(s, instructions=tuple(sorted(s.instructions, key=lambda i: i.phase))) for s in plan.stages))
