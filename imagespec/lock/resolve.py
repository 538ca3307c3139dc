"""Registry look-ups for locks, at most one of each kind per distinct base in a run.

A fleet of 500 specs on 20 bases asks the registry 20 times: the look-ups are remembered
by reference for the life of one ``Resolver`` (one command), and the requests counted
(``requests``), so the budget can be shown and tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imagespec import reference as grammar
from imagespec.publish.registry import Resolved, Session, head_digest, resolve


@dataclass
class Resolver:
    session: Session = field(default_factory=Session)
    _resolved: dict[str, Resolved | None] = field(default_factory=dict)
    _heads: dict[str, str | None] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return self.session.requests

    def resolve(self, image: str) -> Resolved | None:
        """Index digest, platforms and age of ``image`` (a few requests), remembered."""
        if image not in self._resolved:
            found = self._resolved[image] = resolve(image, self.session)
            if found is not None:
                self._heads.setdefault(image, found.digest)
        return self._resolved[image]

    def digest_now(self, image: str) -> str | None:
        """The digest ``image`` has now: one HEAD request per reference and run."""
        if image not in self._heads:
            self._heads[image] = head_digest(image, self.session)
        return self._heads[image]


def with_digest(image: str, digest: str) -> str:
    """``registry/base:1`` + digest -> ``registry/base@sha256:…`` (the tag dropped: a registry
    looks a manifest up by one or the other)."""
    parsed = grammar.parse(image)
    return str(grammar.Reference(parsed.domain, parsed.path, None, digest))


def pinned_by_spec(image: str) -> bool:
    """A reference that carries its own digest cannot move: nothing to look up."""
    return image == "scratch" or grammar.parse(image).digest is not None
