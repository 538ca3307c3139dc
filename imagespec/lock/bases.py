"""The images a compiled spec builds from, and the spec key that names each.

Every stage that starts from an image (not from an earlier stage, not scratch): the spec's
own stages (catalog names, ``from: {image: …}``), the final base, and the helper stages the
passes add (a static tini fetched on the catalog's debian-slim), keyed by the spec key that
made them (``final.init``). Read from a plan compiled without the lock, so the references
are the ones the spec and the catalog write.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagespec.compiler import Compiled
from imagespec.errors import Location
from imagespec.spec.catalog import Catalog
from imagespec.spec.yaml_source import Document


@dataclass(frozen=True)
class BaseUse:
    image: str  # the reference as the spec or the catalog writes it
    keys: tuple[str, ...]  # spec keys naming it, dotted: final.from, stages.build.from
    catalog: str | None  # the catalog name that chose it, when one did
    location: Location  # where the first key is written: where a missing image is reported


def bases_of(compiled: Compiled) -> list[BaseUse]:
    spec, document = compiled.loaded.spec, compiled.loaded.document
    found: dict[str, tuple[list[tuple[str | int, ...]], str | None]] = {}
    for stage in compiled.plan.stages:
        if stage.base.from_stage or stage.base.ref == "scratch":
            continue
        if stage.final:
            path: tuple[str | int, ...] = ("final", "from")
            chosen = spec.final.from_
        elif stage.name in spec.stages:
            path = ("stages", stage.name, "from")
            chosen = spec.stages[stage.name].from_
        else:  # a helper stage: the key that asked for it
            path, chosen = stage.origin.path, None
        paths, catalog = found.setdefault(stage.base.ref, ([], chosen if isinstance(chosen, str) else None))
        if path not in paths:
            paths.append(path)
    return [BaseUse(image, tuple(".".join(map(str, p)) for p in paths), catalog, _where(document, paths[0]))
            for image, (paths, catalog) in sorted(found.items())]


def _where(document: Document, path: tuple[str | int, ...]) -> Location:
    """The reference itself when the spec writes `from: {image: …}`, else the `from:` value."""
    inner = (*path, "image")
    return document.location(inner) if inner in document.locations else document.location(path)


def catalog_digest(compiled: Compiled, catalog_name: str | None, config_catalog: Catalog) -> str | None:
    """The `digest:` the catalog records for an entry (what `imagespec base build` built)."""
    if catalog_name is None:
        return None
    spec = compiled.loaded.spec
    image = spec.images[catalog_name] if catalog_name in spec.images else config_catalog.find(catalog_name)
    return image.digest if image is not None else None
