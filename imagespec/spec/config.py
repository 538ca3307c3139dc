"""Configuration: the company's or CI's settings that are not part of any one spec.

Found as `.imagespec.yaml` in the spec's folder or the nearest parent up to the
repository root, or named by --config / IMAGESPEC_CONFIG. It may override catalog
entries (one file repoints every image: BP12, BP15) and set build options.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from imagespec.errors import Location, SpecError
from imagespec.spec import files
from imagespec.spec.files import CONFIG_NAME
from imagespec.spec.catalog import Catalog, builtin_catalog, catalog_file_entries, entries_from
from imagespec.spec.loader import Document, read_yaml

ENV_VAR = "IMAGESPEC_CONFIG"
_KEYS = {"images", "catalog", "build", "bases", "templates", "policies"}
# what imagespec.pipeline reads of `build:`
_BUILD_KEYS = {"network", "ca_bundle", "secrets", "builder", "extra_args"}


@dataclass(frozen=True)
class Config:
    catalog: Catalog
    path: Path | None = None
    build: dict[str, object] = field(default_factory=dict)
    templates: tuple[Path, ...] = ()  # a company's shared template folders, searched first
    document: Document | None = None  # for the locations of its policies
    bases: dict[str, object] = field(default_factory=dict)  # `imagespec base build` settings (mirror)

    @property
    def policies(self) -> dict[str, object]:
        raw = self.document.data.get("policies") if self.document else None
        return raw if isinstance(raw, dict) else {}


def find_config(start: Path) -> Path | None:
    """The nearest .imagespec.yaml from `start` upwards, stopping at a repository root."""
    folder = files.resolve(start)
    for candidate in (folder, *folder.parents):
        found = candidate / CONFIG_NAME
        if files.is_file(found):
            return found
        if files.exists(candidate / ".git"):
            return None
    return None


def load_config(explicit: Path | None = None, *, start: Path | None = None, catalogs_required: bool = True) -> Config:
    """`catalogs_required=False` (for `imagespec base build`, which writes the catalog):
    a named catalog file that does not exist yet is skipped, not an error."""
    path = explicit
    if path is None and os.environ.get(ENV_VAR):
        path = Path(os.environ[ENV_VAR])
    if path is None and start is not None:
        path = find_config(start)
    if path is None:
        return Config(builtin_catalog())
    document = read_yaml(path)
    if not isinstance(document.data, dict):
        raise SpecError("a configuration file must be a mapping", location=document.location(()))
    unknown = sorted(set(document.data) - _KEYS)
    if unknown:
        raise SpecError(f"unknown key '{unknown[0]}' in configuration", location=document.location((unknown[0],)),
                        hint=f"allowed: {', '.join(sorted(_KEYS))}")
    build = document.data.get("build") or {}
    if not isinstance(build, dict):
        raise SpecError("`build` must be a mapping", location=document.location(("build",)))
    unknown = sorted(set(build) - _BUILD_KEYS)
    if unknown:  # a misspelt option would be silently ignored
        raise SpecError(f"unknown key '{unknown[0]}' in `build`", location=document.location(("build", unknown[0])),
                        hint=f"allowed: {', '.join(sorted(_BUILD_KEYS))}")
    if not isinstance(document.data.get("policies") or {}, dict):
        raise SpecError("`policies` must be a mapping", location=document.location(("policies",)),
                        hint="the same keys as a spec's `policies:`")
    folders = document.data.get("templates") or []
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        raise SpecError("`templates` lists folders of templates", location=document.location(("templates",)))
    templates = tuple(files.resolve(path.parent / folder) for folder in folders)
    for where, folder in enumerate(templates):
        if not files.is_dir(folder):
            raise SpecError(f"template folder {folder} does not exist", location=document.location(("templates", where)))
    bases = document.data.get("bases") or {}
    if not isinstance(bases, dict) or set(bases) - {"mirror"}:
        raise SpecError("`bases` takes `mirror: URL`", location=document.location(("bases",)))
    catalog = builtin_catalog()
    for written in _catalog_files(document, path, required=catalogs_required):
        catalog = catalog.merged(catalog_file_entries(read_yaml(written, display=str(written))))
    # the file's own `images` win over the catalogs it names: one line repoints an image
    catalog = catalog.merged(entries_from(document))
    return Config(catalog, path, dict(build), templates, document, dict(bases))


def _catalog_files(document: Document, path: Path, *, required: bool) -> list[Path]:
    """`catalog: FILE` (or a list): catalogs written by `imagespec base build`."""
    raw = document.data.get("catalog") or []
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SpecError("`catalog` names a catalog file (or a list of them)", location=document.location(("catalog",)))
    found = [files.resolve(path.parent / name) for name in names]
    present = [file for file in found if files.is_file(file)]
    for where, file in enumerate(found):
        if file not in present and required:
            index = ("catalog",) if isinstance(raw, str) else ("catalog", where)
            raise SpecError(f"catalog file {file} does not exist", location=document.location(index),
                            hint="`imagespec base build BASES --catalog FILE` writes it")
    return present


def config_location(config: Config) -> Location:
    return Location(str(config.path) if config.path else "imagespec:catalog.yaml")
