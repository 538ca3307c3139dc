"""A set of base specs in the order they must be built: each after the bases it is
built from (`needs`). A name outside the set must be in the catalog already."""

from __future__ import annotations

from collections.abc import Sequence

from imagespec.errors import Location, SpecError
from imagespec.spec.read_base import LoadedBase
from imagespec.spec.catalog import Catalog


def _where_needed(loaded: LoadedBase, name: str) -> Location:
    base = loaded.base
    if base.distroless:
        key = "from" if base.distroless.from_ == name else "assemble_in"
        return loaded.document.location(("distroless", key))
    if base.spec:
        for stage, body in base.spec.stages.items():
            if body.from_ == name:
                return loaded.document.location(("spec", "stages", stage, "from"))
        return loaded.document.location(("spec", "final", "from"))
    return loaded.document.location(())


def build_order(bases: Sequence[LoadedBase], catalog: Catalog) -> list[LoadedBase]:
    """Dependency order, stable for independent bases (the order given)."""
    by_name: dict[str, LoadedBase] = {}
    for loaded in bases:
        if loaded.name in by_name:
            raise SpecError(f"two base specs provide '{loaded.name}' (also {by_name[loaded.name].path})",
                            location=loaded.document.location(("base",)), hint="give each base its own name")
        by_name[loaded.name] = loaded
    for loaded in bases:
        for name in loaded.base.needs():
            if name not in by_name and name not in catalog.entries:
                catalog.resolve(name, location=_where_needed(loaded, name))  # raises, with a suggestion

    ordered: list[LoadedBase] = []
    state: dict[str, str] = {}  # visiting | done

    def visit(loaded: LoadedBase, chain: tuple[str, ...]) -> None:
        if state.get(loaded.name) == "done":
            return
        if state.get(loaded.name) == "visiting":
            cycle = " -> ".join((*chain[chain.index(loaded.name):], loaded.name))
            raise SpecError(f"bases are built from each other in a cycle: {cycle}",
                            location=loaded.document.location(("base",)), hint="one of them must start from another base")
        state[loaded.name] = "visiting"
        for name in loaded.base.needs():
            if name in by_name:
                visit(by_name[name], (*chain, loaded.name))
        state[loaded.name] = "done"
        ordered.append(loaded)

    for loaded in bases:
        visit(loaded, ())
    return ordered
