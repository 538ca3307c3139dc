"""Which target may start now: a pure schedule over the fleet's dependency graph.

Role: keep going where the graph allows. A target is ready once every parent built (or
needs no build in this run); a failed target's descendants are skipped with the name of
the failure that stopped them, and everything else still builds. No processes, no clock:
the executor (``fleet.run``) asks ``ready()`` and reports ``finished()``.

May import: the standard library, ``imagespec.errors`` and the graph (``fleet.links``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from imagespec.errors import SpecError
from imagespec.fleet import links


@dataclass
class Schedule:
    """``parents``: each target -> the targets it builds on (only targets of this run:
    a parent outside it counts as built). Ready targets come those with the most targets
    built on them first (a company base before an app: what waits on it starts sooner),
    then in name order, so two runs of one fleet submit in the same order.

    ``caches``: each target -> the BuildKit cache mounts its steps use (their ids). Started
    together, two Go builds on an empty cache both compile the standard library; one after
    the other, the second finds it in the mount (BP4, BP12). So a ready target that shares
    a mount with a target in BuildKit goes after those that share none, and while the
    mount's first user of the run is still in BuildKit (the mount may be empty: that build
    fills it) it waits, even with a slot free: a slot idle for one build costs less than
    every sharer compiling again on a busy builder. Once a user of the mount has left
    BuildKit, sharers run side by side (a full mount serves them all). The executor gives
    no caches under --no-cache: each build's mounts then start empty anyway."""

    parents: Mapping[str, frozenset[str]]
    caches: Mapping[str, frozenset[str]] = field(default_factory=dict)
    _waiting: set[str] = field(init=False)
    _order: dict[str, tuple[int, str]] = field(init=False)
    _running: set[str] = field(default_factory=set, init=False)
    #: the cache mounts a target of this run has used and left BuildKit with: filled
    _filled: set[str] = field(default_factory=set, init=False)
    #: built by BuildKit, slot freed, not finished yet (its SBOM and tags): dependants wait
    _finishing: set[str] = field(default_factory=set, init=False)
    built: set[str] = field(default_factory=set, init=False)
    failed: set[str] = field(default_factory=set, init=False)
    #: skipped target -> the failed target upstream of it that stopped it
    skipped: dict[str, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.parents = {name: frozenset(p for p in parents if p in self.parents)
                        for name, parents in self.parents.items()}
        self._waiting = set(self.parents)
        _refuse_cycles(self.parents)
        below = _descendant_counts(self.parents)
        self._order = {name: (-below[name], name) for name in self.parents}

    def eligible(self) -> list[str]:
        """The waiting targets whose parents all built, in the order ``ready`` takes them."""
        return sorted((t for t in self._waiting if self.parents[t] <= self.built), key=self._order.__getitem__)

    def ready(self, limit: int) -> list[str]:
        """Up to ``limit`` waiting targets whose parents all built; they count as running."""
        chosen: list[str] = []
        left = self.eligible()
        while left and len(chosen) < limit:
            busy = set().union(*(self.caches.get(t, frozenset()) for t in self._running))
            filling = busy - self._filled
            left = [t for t in left if not self.caches.get(t, frozenset()) & filling]
            if not left:
                break
            name = next((t for t in left if not self.caches.get(t, frozenset()) & busy), left[0])
            left.remove(name)
            chosen.append(name)
            self._waiting.discard(name)
            self._running.add(name)
        return chosen

    def release(self, target: str) -> None:
        """A running target no longer counts against ``ready``'s limit (its build is done;
        what is left of it is imagespec's own work), but is not finished: its dependants
        wait for ``finished``."""
        self._running.discard(target)
        self._finishing.add(target)
        self._filled |= self.caches.get(target, frozenset())

    def finished(self, target: str, ok: bool) -> list[str]:
        """Record a target's end; returns the targets skipped because of it (sorted)."""
        if target in self._running:  # ended without a release (failed or refused): its build left BuildKit too
            self._filled |= self.caches.get(target, frozenset())
        self._running.discard(target)
        self._finishing.discard(target)
        if ok:
            self.built.add(target)
            return []
        self.failed.add(target)
        stopped = sorted(self.descendants(target) & self._waiting)
        for name in stopped:
            self.skipped[name] = target
        self._waiting.difference_update(stopped)
        return stopped

    def descendants(self, target: str) -> set[str]:
        return set(links.descendants([target], self.parents)) - {target}

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def done(self) -> bool:
        return not self._waiting and not self._running and not self._finishing


def _refuse_cycles(parents: Mapping[str, Iterable[str]]) -> None:
    """A cycle would leave its targets waiting forever: exit 2 naming the chain."""
    left = links.order(parents)[1]
    if left:
        chain = links.cycle({name: parents[name] for name in left})
        raise SpecError(f"the fleet's targets build on each other in a cycle: {' -> '.join(chain)}",
                        hint="an image cannot be built from one that is built from it: break one `from:`")


def _descendant_counts(parents: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """How many targets build (directly or not) on each one; one walk per target over one
    children map."""
    down = links.children(parents)
    counts = {}
    for name in parents:
        seen: set[str] = set()
        stack = list(down.get(name, ()))
        while stack:
            child = stack.pop()
            if child not in seen:
                seen.add(child)
                stack.extend(down.get(child, ()))
        counts[name] = len(seen)
    return counts
