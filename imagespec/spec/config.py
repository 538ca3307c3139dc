"""Configuration: the company's or CI's settings that are not part of any one spec.

Found as `.imagespec.yaml` in the spec's folder or the nearest parent up to the
repository root, or named by --config / IMAGESPEC_CONFIG. It may override catalog
entries (one file repoints every image: BP12, BP15) and set build options.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from imagespec.errors import Location, SpecError
from imagespec.spec import files
from imagespec.spec.base_model import MirrorUrl
from imagespec.spec.catalog import Catalog, Entry, builtin_catalog, catalog_file_entries
from imagespec.spec.files import CONFIG_NAME
from imagespec.spec.yaml_source import Document, read_yaml
from imagespec.spec.model import NO_POLICIES, Image, Line, Model, Policies, SecretId
from imagespec.spec.values import BuilderName, Platforms
from imagespec.spec.validate import validate

# BuildKit's --network modes; a network name is not one (buildx: "not supported by buildkit")
Network = Literal["default", "host", "none"]


class _Section(Model):
    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        # `build:` or `secrets:` written with nothing after it means "none", as it always has
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class BuildSection(_Section):
    """`build:` — how this repository's images are built; flags win over it, it wins over
    the environment (imagespec.settings). None: not set here."""

    network: Network | None = Field(None, description="BuildKit's network for RUN steps (default: host).")
    ca_bundle: Line | None = Field(None, description="CA bundle mounted into download steps (TLS proxies).")
    secrets: dict[SecretId, Line] = Field(default_factory=dict, description="Secret id -> file, for declared secrets.")
    builder: BuilderName | None = Field(None, description="The buildx builder to use (a builder or docker context name).")
    extra_args: list[Line] = Field(default_factory=list, description="Engine flags (--allow, --cache-from); "
                                   "never the spec's business.")
    platforms: Platforms | None = Field(None, description="Platforms of every spec that names none "
                                        "(os/arch[/variant]); a spec's `platforms:` wins.")


class BasesSection(_Section):
    """`bases:` — `imagespec base build` settings."""

    mirror: MirrorUrl | None = Field(None, description="The Debian mirror bases are bootstrapped from.")


class ConfigFile(_Section):
    """A configuration file (.imagespec.yaml) as written: validated once, like a spec."""

    images: dict[Line, Image] = Field(default_factory=dict, description="Catalog entries; they win over `catalog:`.")
    catalog: Line | list[Line] = Field(default_factory=list, description="Catalog files `imagespec base build` wrote.")
    build: BuildSection = Field(default_factory=BuildSection)
    templates: list[Line] = Field(default_factory=list, description="Template folders, searched first.")
    policies: Policies = NO_POLICIES
    bases: BasesSection = Field(default_factory=BasesSection)


# shown when pydantic's own words have no hint: what each top-level key takes
_HINTS = {
    "images": "`images:` maps a name to {image: REF, family: debian}",
    "catalog": "`catalog:` names a catalog file, or a list of them",
    "build": "`build: {network: host, ca_bundle: FILE, secrets: {ID: FILE}, builder: NAME, extra_args: [...], "
             "platforms: [linux/amd64, linux/arm64]}`",
    "templates": "`templates:` lists folders of templates",
    "policies": "the same keys as a spec's `policies:`",
    "bases": "`bases: {mirror: URL}`",
}
_NO_FILE = ConfigFile()


@dataclass(frozen=True)
class Config:
    catalog: Catalog
    path: Path | None = None
    file: ConfigFile = _NO_FILE  # the file as validated; its paths still relative to `path`
    templates: tuple[Path, ...] = ()  # a company's shared template folders, searched first
    document: Document | None = None  # for the locations of its policies

    @property
    def build(self) -> BuildSection:
        return self.file.build

    @property
    def bases(self) -> BasesSection:
        return self.file.bases

    @cached_property  # asked for by every compile; merge_policies reads it, never changes it
    def policies(self) -> dict[str, object]:
        """Only the rules the file writes: they add to a spec's (compiler.effective_policies)."""
        return self.file.policies.model_dump(exclude_unset=True)


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
    """`explicit`: --config or $IMAGESPEC_CONFIG, chosen by the caller (imagespec.settings);
    else the nearest file from `start`. `catalogs_required=False` (for `imagespec base
    build`, which writes the catalog): a named catalog file that does not exist yet is
    skipped, not an error."""
    path = explicit
    if path is None and start is not None:
        path = find_config(start)
    if path is None:
        return Config(builtin_catalog())
    document = read_yaml(path)
    if not isinstance(document.data, dict):
        raise SpecError("a configuration file must be a mapping", location=document.location(()),
                        hint=f"keys: {', '.join(ConfigFile.model_fields)}")
    written = validate(document, ConfigFile, hints=_HINTS)
    templates = tuple(files.resolve(path.parent / folder) for folder in written.templates)
    for where, folder in enumerate(templates):
        if not files.is_dir(folder):
            raise SpecError(f"template folder {folder} does not exist",
                            location=document.location(("templates", where)),
                            hint="template folders are relative to the configuration file")
    catalog = builtin_catalog()
    for name in _catalog_files(written, document, path, required=catalogs_required):
        catalog = catalog.merged(catalog_file_entries(read_yaml(name, display=str(name))))
    # the file's own `images` win over the catalogs it names: one line repoints an image
    catalog = catalog.merged({name: Entry(image, document.location(("images", name)))
                              for name, image in written.images.items()})
    return Config(catalog, path, written, templates, document)


def _catalog_files(written: ConfigFile, document: Document, path: Path, *, required: bool) -> list[Path]:
    """`catalog: FILE` (or a list): catalogs written by `imagespec base build`."""
    raw = written.catalog
    names = [raw] if isinstance(raw, str) else raw
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
