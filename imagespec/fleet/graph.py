"""The fleet's graph: a spec depends on another when one of its stages starts FROM an
image reference (as the catalog resolved it) that the other spec's tags produce.

The Dockerfiles do not change: in the bake file the dependent target gets a named
context ``{REF: "target:PRODUCER"}``, so BuildKit uses the image built in the same run.
A digest-pinned reference names an image in a registry, never one of this run. A cycle
is bad input, reported at the `from:` that closes it with the chain of specs.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from pathlib import Path

from imagespec.errors import Location, SpecError
from imagespec.fleet import names
from imagespec.fleet.model import BaseUse, Fleet, Target, _normal


def _made_by(targets: Mapping[str, Target]) -> dict[str, list[str]]:
    made: dict[str, list[str]] = {}
    for target in targets.values():
        for tag in target.tags:
            makers = made.setdefault(_normal(tag), [])
            if target.name not in makers:
                makers.append(target.name)
    return made


def _parents(target: Target, made: Mapping[str, list[str]], targets: Mapping[str, Target]) -> tuple[str, ...]:
    found: list[str] = []
    for use in target.bases:
        if "@" in use.ref:
            continue  # pinned by digest: the registry's image, whatever this run builds
        makers = made.get(_normal(use.ref), [])
        if len(makers) > 1:
            first, second = (targets[m].spec for m in makers[:2])
            raise SpecError(f"{use.ref} is built by both {first} and {second}: which one {target.spec} builds on "
                            "is ambiguous", location=use.location,
                            hint="give each spec its own name or version (its tags), or build FROM a tag only one has")
        if makers and makers[0] not in found:
            found.append(makers[0])
    return tuple(found)


def _use_towards(target: Target, parent: Target) -> BaseUse:
    """The `from:` of ``target`` that names an image ``parent`` builds."""
    made = {_normal(tag) for tag in parent.tags}
    return next(use for use in target.bases if _normal(use.ref) in made)


def _cycle(start: str, targets: Mapping[str, Target]) -> list[str]:
    """A cycle through the targets left when no more can be ordered (each has a parent among them)."""
    path, seen = [start], {start: 0}
    while True:
        parent = sorted(p for p in targets[path[-1]].parents if p in targets)[0]
        if parent in seen:
            return path[seen[parent]:] + [parent]
        seen[parent] = len(path)
        path.append(parent)


def _refuse_cycle(left: Mapping[str, Target]) -> None:
    """Reported at the `from:` of the chain's first spec, naming the whole chain
    (``a.yaml -> b.yaml``: a builds FROM an image b builds)."""
    chain = _cycle(min(left), left)
    files = " -> ".join(str(left[name].spec) for name in chain)
    raise SpecError(f"the specs build FROM each other in a cycle: {files}",
                    location=_use_towards(left[chain[0]], left[chain[1]]).location,
                    hint="X -> Y: X builds FROM an image Y builds; a spec cannot start FROM an image built, "
                         "directly or not, FROM its own: break the chain at one of these `from:`")


def _ordered(targets: Mapping[str, Target]) -> dict[str, Target]:
    """Build order: Kahn's algorithm, the smallest name first among the ready ones (deterministic)."""
    waiting = {name: set(t.parents) for name, t in targets.items()}
    children: dict[str, list[str]] = {name: [] for name in targets}
    for name, target in targets.items():
        for parent in target.parents:
            children[parent].append(name)
    ready = [name for name, parents in waiting.items() if not parents]
    heapq.heapify(ready)
    ordered: dict[str, Target] = {}
    while ready:
        name = heapq.heappop(ready)
        ordered[name] = targets[name]
        for child in children[name]:
            waiting[child].discard(name)
            if not waiting[child]:
                heapq.heappush(ready, child)
    if len(ordered) < len(targets):
        _refuse_cycle({n: t for n, t in targets.items() if n not in ordered})
    return ordered


def _groups(targets: Mapping[str, Target]) -> dict[str, tuple[str, ...]]:
    """One group per folder (names.group_of) and ``default`` with every target."""
    members: dict[str, list[str]] = {}
    for target in targets.values():
        if target.group is not None:
            members.setdefault(target.group, []).append(target.name)
    groups: dict[str, tuple[str, ...]] = {names.DEFAULT_GROUP: tuple(sorted(targets))}
    for folder, inside in sorted(members.items()):
        name = folder + names.GROUP_SUFFIX if folder in targets or folder == names.DEFAULT_GROUP else folder
        if name in targets:
            target = targets[name]
            raise SpecError(f"group {name!r} (the folder of {targets[inside[0]].spec}) has the name of target "
                            f"{target.spec}", location=_start(target),
                            hint="rename one of the folders: a group and a target cannot share a name")
        groups[name] = tuple(sorted(inside))
    return groups


def _start(target: Target) -> Location:
    return Location(str(target.spec), 1, 1)


def link(root: Path, targets: Mapping[str, Target]) -> Fleet:
    """The fleet of ``targets`` with each one's parents, in build order, with its groups."""
    if names.DEFAULT_GROUP in targets:
        raise SpecError(f"{targets[names.DEFAULT_GROUP].spec} would be target {names.DEFAULT_GROUP!r}, bake's "
                        "default group", location=_start(targets[names.DEFAULT_GROUP]),
                        hint="rename its folder (or the spec file)")
    made = _made_by(targets)
    linked = {name: t.with_parents(_parents(t, made, targets)) for name, t in targets.items()}
    ordered = _ordered(linked)
    return Fleet(root, ordered, _groups(ordered))


__all__ = ["link"]
