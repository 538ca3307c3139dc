"""Which target of a fleet gets a tag that several of them would apply.

Two specs of one fleet may be two versions of one image (README, "Fleets"): both then
carry its moving tags (``:1``, ``:latest``) and, from one commit, its git-sha tag. BP14
says a moving tag names the newest matching release, so the newest version keeps them and
the others are built without them; otherwise whichever build ended last would take them,
a different image from run to run. X.Y.Z tags are never shared (fleet.graph refuses it).
Two claimants whose versions cannot be ordered (none, or the same) are bad input: no
rule says which image the tag names.

May import: the reference grammar (``imagespec.reference``) and ``imagespec.errors``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from imagespec import reference as grammar
from imagespec.errors import Location, SpecError


class Claim(NamedTuple):
    """The tags one target would apply, its version (None: none) and where its spec starts."""

    tags: Sequence[str]
    version: str | None
    location: Location


def withheld(claims: Mapping[str, Claim]) -> dict[str, frozenset[str]]:
    """For each target, the tags of its claim that a newer version among ``claims`` keeps
    (empty when none); bad input when the claimants of a tag cannot be ordered, or when a
    target would be left without any tag (BP14: an untagged image cannot be traced)."""
    by_tag: dict[str, list[str]] = {}
    for name in sorted(claims):
        for tag in dict.fromkeys(claims[name].tags):
            by_tag.setdefault(tag, []).append(name)
    lost: dict[str, set[str]] = {name: set() for name in claims}
    for tag, names in by_tag.items():
        if len(names) < 2:
            continue
        owner = _newest(tag, names, claims)
        for name in names:
            if name != owner:
                lost[name].add(tag)
    for name in sorted(claims):
        if lost[name] and lost[name] >= set(claims[name].tags):
            raise SpecError(f"every tag of this spec ({', '.join(claims[name].tags)}) goes to a newer version of the "
                            "image in this run: its image would have none (BP14)", location=claims[name].location,
                            hint="give it an X.Y.Z `version:` of its own, or build it in a run of its own")
    return {name: frozenset(tags) for name, tags in lost.items()}


def keeper(names: Sequence[str], claims: Mapping[str, Claim]) -> str | None:
    """Of targets that all make one reference, the one that keeps it (the newest version),
    or None when their versions do not order them (a FROM naming it is then ambiguous)."""
    ordered = sorted(names, key=lambda n: _order(claims[n].version), reverse=True)
    if len(ordered) > 1 and _order(claims[ordered[0]].version) == _order(claims[ordered[1]].version):
        return None
    return ordered[0]


def _newest(tag: str, names: Sequence[str], claims: Mapping[str, Claim]) -> str:
    """The claimant of ``tag`` with the highest version; bad input when there is no single one."""
    first = keeper(names, claims)
    if first is None:
        ordered = sorted(names, key=lambda n: _order(claims[n].version), reverse=True)
        first, second = ordered[0], ordered[1]
        raise SpecError(f"this spec and {claims[second].location.file} both tag {tag}, and no version says which "
                        f"image it names (versions: {claims[first].version or 'none'}, "
                        f"{claims[second].version or 'none'})", location=claims[first].location,
                        hint="give each spec its own name, or versions X.Y.Z of which the newest takes the moving "
                             "tags (BP14)")
    return first


# a version's precedence; below every version when there is none (or not a semantic one)
_order = grammar.version_order


__all__ = ["Claim", "keeper", "withheld"]
