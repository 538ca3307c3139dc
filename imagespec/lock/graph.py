"""Which specs build on which: a spec whose lock names an image another spec of the same
run builds (its ``registry/name:tag``) is downstream of it, so a base that moved makes every
spec on it stale, however deep (a company base, the runtime built on it, the apps on that).

Followed by image reference, from what each spec tags (``pipeline.references``). Small and
self-contained so that a fleet graph (``imagespec.fleet``) can take its place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from imagespec import reference as grammar


def normalized(image: str) -> str:
    """The reference without its digest, as docker compares names (``debian`` is
    ``docker.io/library/debian:latest``)."""
    parsed = grammar.parse(image)
    return str(grammar.Reference(parsed.domain, parsed.path, parsed.tag, None).normalize())


def upstream(produced: Mapping[str, Iterable[str]], uses: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """spec -> the specs of this run whose images it builds from. ``produced``: spec -> the
    references it tags; ``uses``: spec -> the base references it is locked on."""
    maker: dict[str, str] = {}
    for spec, references in produced.items():
        for ref in references:
            maker.setdefault(normalized(ref), spec)
    return {spec: {maker[normalized(image)] for image in images
                   if normalized(image) in maker and maker[normalized(image)] != spec}
            for spec, images in uses.items()}


def downstream(roots: Iterable[str], up: Mapping[str, set[str]]) -> dict[str, list[str]]:
    """spec -> the chain of specs through which one of ``roots`` makes it stale (a root's
    chain is itself alone), for every spec reached."""
    down: dict[str, set[str]] = {}
    for spec, parents in up.items():
        for parent in parents:
            down.setdefault(parent, set()).add(spec)
    reached: dict[str, list[str]] = {}
    queue = [(root, [root]) for root in sorted(set(roots))]
    while queue:
        spec, chain = queue.pop(0)
        if spec in reached:
            continue
        reached[spec] = chain
        queue += [(child, [*chain, child]) for child in sorted(down.get(spec, ()))]
    return reached


def build_order(specs: Iterable[str], up: Mapping[str, set[str]]) -> list[str]:
    """``specs`` in an order where every spec comes after the specs it builds on."""
    wanted, ordered, seen = set(specs), [], set()

    def visit(spec: str, path: tuple[str, ...]) -> None:
        if spec in seen or spec in path:  # a cycle of tags is not this function's to report
            return
        for parent in sorted(up.get(spec, ())):
            visit(parent, (*path, spec))
        seen.add(spec)
        if spec in wanted:
            ordered.append(spec)

    for spec in sorted(wanted):
        visit(spec, ())
    return ordered
