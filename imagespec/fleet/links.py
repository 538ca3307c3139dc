"""The one graph of specs built on specs: a spec is a child of another when it builds FROM an
image reference that the other's tags produce. Names and references in, names out (pure).

Everyone who follows specs through their images asks this module: the fleet
(``fleet.graph``: bake's named contexts, the build order, a cycle refused; ``fleet.schedule``:
what a failure stops) and the locks (``imagespec.lock``: which specs a moved base makes
stale, what to rebuild first).

The two uses differ in one place, said by ``follow_pinned``: a digest-pinned FROM names the
registry's image, never one a fleet run builds (the fleet: no edge); but a locked spec still
builds on the spec whose tag it was locked on, and is stale when that base moved (the locks:
followed, without the digest).

May import: the reference grammar (``imagespec.reference``) alone.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

from imagespec import reference as grammar

Parents = Mapping[str, Iterable[str]]  # spec -> the specs whose images it builds on


def name(reference: str) -> str:
    """The image ``reference`` names as BuildKit names it, without a digest (``debian`` is
    ``docker.io/library/debian:latest``): what a tag and a FROM are compared by."""
    try:
        parsed = grammar.parse(reference)
    except grammar.Invalid:  # not a reference BuildKit could have pulled: compared as it is
        return reference
    return parsed.unpinned().normalized


def key(reference: str, *, follow_pinned: bool = False) -> str | None:
    """What a FROM ``reference`` links by: its ``name``; for a digest-pinned one, None (the
    registry's image, whatever this run builds) unless ``follow_pinned``."""
    if "@" in reference and not follow_pinned:
        return None
    return name(reference)


def producers(tags: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Each image name the specs' ``tags`` produce -> the specs producing it, in the order
    given (two or more: ambiguous, for the caller to refuse or settle)."""
    made: dict[str, list[str]] = {}
    for spec, references in tags.items():
        for reference in references:
            makers = made.setdefault(name(reference), [])
            if spec not in makers:
                makers.append(spec)
    return made


def makers(reference: str, made: Mapping[str, list[str]], *, follow_pinned: bool = False) -> list[str]:
    """The specs (of ``producers``) whose image a FROM ``reference`` names."""
    found = key(reference, follow_pinned=follow_pinned)
    return list(made.get(found, ())) if found is not None else []


def children(parents: Parents) -> dict[str, list[str]]:
    """spec -> the specs built on it, sorted."""
    down: dict[str, set[str]] = {}
    for spec, ups in parents.items():
        for parent in ups:
            down.setdefault(parent, set()).add(spec)
    return {spec: sorted(found) for spec, found in down.items()}


def descendants(roots: Iterable[str], parents: Parents) -> dict[str, list[str]]:
    """Each spec reached from ``roots`` through the specs built on them -> the chain from a
    root to it (a root's is itself alone): the shortest, ties by name."""
    down = children(parents)
    reached: dict[str, list[str]] = {}
    queue = [(root, [root]) for root in sorted(set(roots))]
    while queue:
        spec, chain = queue.pop(0)
        if spec in reached:
            continue
        reached[spec] = chain
        queue += [(child, [*chain, child]) for child in down.get(spec, ())]
    return reached


def order(parents: Parents) -> tuple[list[str], list[str]]:
    """(the specs of ``parents`` in build order, the specs left). Kahn's algorithm, the
    smallest name first among the ready ones (deterministic); a parent outside ``parents``
    counts as built. Left: the specs in a cycle or built on one (sorted), for the caller to
    refuse (``cycle`` names one) or to put last."""
    waiting = {spec: {p for p in ups if p in parents} for spec, ups in parents.items()}
    down = children(waiting)
    ready = [spec for spec, ups in waiting.items() if not ups]
    heapq.heapify(ready)
    ordered: list[str] = []
    while ready:
        spec = heapq.heappop(ready)
        ordered.append(spec)
        for child in down.get(spec, ()):
            waiting[child].discard(spec)
            if not waiting[child]:
                heapq.heappush(ready, child)
    done = set(ordered)
    return ordered, sorted(spec for spec in parents if spec not in done)


def cycle(left: Parents) -> list[str]:
    """A cycle among ``left`` (``order``'s: each has a parent among them), from the smallest
    name's way into it, back to where it closes: ``[a, b, a]`` (a builds on b, b on a)."""
    start = min(left)
    path, seen = [start], {start: 0}
    while True:
        parent = sorted(p for p in left[path[-1]] if p in left)[0]
        if parent in seen:
            return path[seen[parent]:] + [parent]
        seen[parent] = len(path)
        path.append(parent)


__all__ = ["Parents", "children", "cycle", "descendants", "key", "makers", "name", "order", "producers"]
