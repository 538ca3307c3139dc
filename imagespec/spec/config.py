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
from imagespec.spec.catalog import Catalog, builtin_catalog, entries_from
from imagespec.spec.loader import Document, read_yaml

CONFIG_NAME = ".imagespec.yaml"
ENV_VAR = "IMAGESPEC_CONFIG"
_KEYS = {"images", "build", "templates", "policies"}


@dataclass(frozen=True)
class Config:
    catalog: Catalog
    path: Path | None = None
    build: dict[str, object] = field(default_factory=dict)
    templates: tuple[Path, ...] = ()  # a company's shared template folders, searched first
    document: Document | None = None  # for the locations of its policies

    @property
    def policies(self) -> dict[str, object]:
        raw = self.document.data.get("policies") if self.document else None
        return raw if isinstance(raw, dict) else {}


def find_config(start: Path) -> Path | None:
    """The nearest .imagespec.yaml from `start` upwards, stopping at a repository root."""
    folder = start.resolve()
    for candidate in (folder, *folder.parents):
        found = candidate / CONFIG_NAME
        if found.is_file():
            return found
        if (candidate / ".git").exists():
            return None
    return None


def load_config(explicit: Path | None = None, *, start: Path | None = None) -> Config:
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
    folders = document.data.get("templates") or []
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        raise SpecError("`templates` lists folders of templates", location=document.location(("templates",)))
    templates = tuple((path.parent / folder).resolve() for folder in folders)
    for where, folder in enumerate(templates):
        if not folder.is_dir():
            raise SpecError(f"template folder {folder} does not exist", location=document.location(("templates", where)))
    return Config(builtin_catalog().merged(entries_from(document)), path, dict(build), templates, document)


def config_location(config: Config) -> Location:
    return Location(str(config.path) if config.path else "imagespec:catalog.yaml")
