"""Pin each base image to the digest a lock file recorded for it (BP13).

Pure: the lock is read at the boundary (``imagespec.lock``) like the catalog and handed to
the compiler as data, reference -> digest. The FROM keeps the tag for readers and adds the
digest, which is what the engine pulls: ``registry/base:1@sha256:…``. A base the lock does
not name (the lock is stale: ``imagespec check`` says so) stays as the spec wrote it, and a
reference that carries a digest of its own is already pinned.
"""

from __future__ import annotations

from collections.abc import Mapping

from imagespec import reference as grammar
from imagespec.plan import model as p
from imagespec.plan.model import replace


def pinned(ref: str, pins: Mapping[str, str]) -> str:
    digest = pins.get(ref)
    if digest is None or ref == "scratch" or grammar.parse(ref).digest:
        return ref
    return f"{ref}@{digest}"


def pin_bases(plan: p.Plan, pins: Mapping[str, str]) -> p.Plan:
    if not pins:
        return plan
    stages = tuple(stage if stage.base.from_stage else replace(stage, base=replace(stage.base, ref=pinned(stage.base.ref, pins)))
                   for stage in plan.stages)
    return replace(plan, stages=stages)
