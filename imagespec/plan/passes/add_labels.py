"""OCI labels from the spec's identity (title, description, version, source,
licenses, base name) merged into one LABEL with the spec's own labels, which win.
Build-time labels (created, revision, base digest) are added by `imagespec build`,
since the Dockerfile must not depend on the clock (BP14, BP16)."""

from __future__ import annotations

from imagespec.plan import model as p
from imagespec.plan.model import replace


def add_labels(plan: p.Plan) -> p.Plan:
    final = plan.final
    labels = [i for i in final.instructions if isinstance(i, p.Label)]
    items = dict(plan.identity)
    for label in labels:
        items.update(label.items)
    if not items:
        return plan
    origin = labels[0].origin if labels else p.Origin(("name",), ("BP14", "BP16"), "OCI labels from the spec's identity")
    merged = p.Label(items=tuple(sorted(items.items())), phase=p.Phase.METADATA, origin=origin)
    rest = tuple(i for i in final.instructions if not isinstance(i, p.Label))
    return plan.replace_stage(replace(final, instructions=(*rest, merged)))
