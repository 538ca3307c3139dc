"""Stages in dependency order (a stage after every stage it starts from or copies
from), the author's order otherwise, the final stage last."""

from __future__ import annotations

from imagespec.errors import SpecPathError
from imagespec.plan import model as p
from imagespec.plan.model import replace


def order_stages(plan: p.Plan) -> p.Plan:
    pending = [s for s in plan.stages if not s.final]
    done: list[p.Stage] = []
    names: set[str] = set()
    while pending:
        ready = next((s for s in pending if set(s.depends_on()) <= names), None)
        if ready is None:
            chain = " -> ".join(s.name for s in pending)
            raise SpecPathError(f"stages depend on each other in a cycle: {chain}", path=pending[0].origin.path,
                                hint="a stage may only use stages that do not use it")
        done.append(ready)
        names.add(ready.name)
        pending.remove(ready)
    return replace(plan, stages=(*done, plan.final))
