"""Configuration: the company's or CI's settings that are not part of any one spec.

Found as `.imagespec.yaml` in the spec's folder or the nearest parent up to the
repository root, or named by --config / IMAGESPEC_CONFIG. It may override catalog
entries (one file repoints every image: BP12, BP15) and set build options.

A found file's settings are its own, but the company's rules are not: the policies and
template folders of every configuration file above it, up to the repository root, still
hold (policies only tighten: spec.policy_levels), else an app folder's own
`.imagespec.yaml` would switch the company's off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagespec.errors import Location, SpecError
from imagespec.spec import files
from imagespec.spec.catalog import Catalog, Entry, builtin_catalog, catalog_file_entries, false_shell_fact
from imagespec.spec.config_reads import refuse_machine_reads
from imagespec.spec.repository import outside, refuse_link_out, repository_root
from imagespec.spec.policy_levels import written_policies, tighten
from imagespec.spec.yaml_source import DataPath, Document, read_yaml
from imagespec.spec.validate import validate

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.spec.config_file import BasesSection, BuildSection, ConfigFile


@dataclass(frozen=True)
class Config:
    catalog: Catalog
    path: Path | None = None
    file: ConfigFile | None = None  # the file as validated (None: no file); its paths still relative to `path`
    templates: tuple[Path, ...] = ()  # a company's shared template folders, searched first
    document: Document | None = None  # for the locations of its values
    # the rules as written (`25MB`, for the messages) of this file and every one above it,
    # tightened, and where each was made as strict as it is (spec.policy_levels.tighten)
    rules: Any = None
    rules_at: Mapping[DataPath, Location] = field(default_factory=dict)

    @property
    def build(self) -> BuildSection:
        return (self.file or _no_file()).build

    @property
    def bases(self) -> BasesSection:
        return (self.file or _no_file()).bases

    @property
    def platforms(self) -> tuple[str, ...]:
        """`build.platforms`: those of every spec that names none (a compile asks, with no file too)."""
        return tuple(self.file.build.platforms or ()) if self.file else ()

    @property
    def policies(self) -> dict[str, object]:
        """Only the rules the files write: a spec's are tightened by them, as written (`rules`:
        compiler.effective_policies, spec.policy_levels)."""
        return self.rules if isinstance(self.rules, dict) else {}


@cache
def _no_file() -> ConfigFile:
    """The sections as no file sets them (every default), made when a build asks."""
    from imagespec.spec.config_file import ConfigFile

    return ConfigFile()


def find_config(start: Path) -> Path | None:
    """The nearest .imagespec.yaml from `start` upwards, stopping at a repository root."""
    return next(files.configs_from(files.resolve(start)), None)


def load_config(explicit: Path | None = None, *, start: Path | None = None, catalogs_required: bool = True) -> Config:
    """`explicit`: --config or $IMAGESPEC_CONFIG, chosen by the caller (imagespec.settings);
    else the nearest file from `start` (load_found_config). `catalogs_required=False` (for
    `imagespec base build`, which writes the catalog): a named catalog file that does not
    exist yet is skipped, not an error."""
    if explicit is not None:
        return _load(explicit, (), catalogs_required=catalogs_required, found=False)
    path = find_config(start) if start is not None else None
    return Config(builtin_catalog()) if path is None else load_found_config(path, catalogs_required=catalogs_required)


def load_found_config(path: Path, *, catalogs_required: bool = True) -> Config:
    """A file found from a spec's folder (find_config), under every configuration file
    above it up to the repository root: their policies hold, tightened only, and their
    template folders are searched too (a nested file may add its own)."""
    folder = files.resolve(path).parent
    top = folder.parent == folder or files.exists(folder / ".git")
    outer = [] if top else list(files.configs_from(folder.parent))
    for found in (*outer, path):
        refuse_link_out(found, "configuration file", "keep the company's configuration in the repository (a copy, "
                        "or a git submodule), or name it with --config or IMAGESPEC_CONFIG")
    return _load(path, tuple(reversed(outer)), catalogs_required=catalogs_required, found=True)


def _load(path: Path, outer: tuple[Path, ...], *, catalogs_required: bool, found: bool) -> Config:
    """`path`'s settings; the rules and template folders of `outer` (outermost first) and then
    `path`'s, each file's rules tightening those above it (a looser one is an error there).
    ``found``: the files were found beside the specs (not named by --config), so the catalogs
    they name must lie in their repository (``_refuse_outside``), and so must the files
    its `build:` hands a build (spec.config_reads)."""
    rules: Any = None
    rules_at: dict[DataPath, Location] = {}
    templates: list[Path] = []
    catalogs: list[Catalog] = []
    claims: list[tuple[str, Entry]] = []  # every level's own `images:` entries
    for layer in (*outer, path):
        document, written, folders = _read(layer)
        rules, rules_at = tighten(rules, rules_at, *written_policies(document))
        templates[:0] = folders  # the nearest file's folders first
        catalogs.append(_layer_catalog(layer, document, written, required=catalogs_required and layer == path,
                                       confined=found))
        claims += [(name, catalogs[-1].entries[name]) for name in written.images]
    if found:  # only the nearest file's `build:` is used
        refuse_machine_reads(path, document, written.build)
    # what every level knows of an image stays known where a nearer level renames it (BP6)
    known = tuple((name, entry) for level in catalogs[:-1] for name, entry in level.entries.items())
    catalog = catalogs[-1].with_overridden(known)
    _refuse_false_shell_claims(catalog, claims)
    return Config(catalog, path, written, tuple(dict.fromkeys(templates)), document, rules, rules_at)


def _layer_catalog(path: Path, document: Document, written: ConfigFile, *, required: bool,
                   confined: bool) -> Catalog:
    catalog = builtin_catalog()
    for name in _catalog_files(written, document, path, required=required, confined=confined):
        catalog = catalog.merged(catalog_file_entries(read_yaml(name, display=str(name))))
    # the file's own `images` win over the catalogs it names: one line repoints an image
    return catalog.merged({name: Entry(image, document.location(("images", name)))
                           for name, image in written.images.items()})


def _refuse_false_shell_claims(catalog: Catalog, claims: list[tuple[str, Entry]]) -> None:
    """A configuration file's `images:` entry that calls an image shell-less which another
    entry, of any level, says has a shell (an app folder's `.imagespec.yaml` repointing
    `static` at the company's Debian image): the same check a spec's own `images:` gets."""
    for name, entry in claims:
        known = catalog.shell_known(entry.image)
        if known is not None:
            error = false_shell_fact(entry.image, known, ("images", name))
            raise SpecError(error.message.replace("a spec cannot", "a configuration cannot"),
                            location=entry.origin, hint=error.hint)


def _read(path: Path) -> tuple[Document, ConfigFile, list[Path]]:
    """A configuration file, validated, and its template folders (each one there)."""
    from imagespec.spec.config_file import HINTS, ConfigFile

    # an empty file is no settings, as for most tools' configuration files: `touch
    # .imagespec.yaml` marks where a project's configuration will be
    document = read_yaml(path, empty_ok=True)
    if not isinstance(document.data, dict):
        raise SpecError("a configuration file must be a mapping", location=document.location(()),
                        hint=f"keys: {', '.join(ConfigFile.model_fields)}")
    written = validate(document, ConfigFile, hints=HINTS)
    templates = [files.resolve(path.parent / folder) for folder in written.templates]
    for where, folder in enumerate(templates):
        if not files.is_dir(folder):
            raise SpecError(f"template folder {folder} does not exist",
                            location=document.location(("templates", where)),
                            hint="template folders are relative to the configuration file")
    return document, written, templates


def _catalog_files(written: ConfigFile, document: Document, path: Path, *, required: bool,
                   confined: bool) -> list[Path]:
    """`catalog: FILE` (or a list): catalogs written by `imagespec base build`."""
    raw = written.catalog
    names = [raw] if isinstance(raw, str) else raw
    found = [files.resolve(path.parent / name) for name in names]
    for where, file in enumerate(found if confined else ()):
        _refuse_outside(path, file, "catalog file", document.location(
            ("catalog",) if isinstance(raw, str) else ("catalog", where)))
    present = [file for file in found if files.is_file(file)]
    for where, file in enumerate(found):
        if file not in present and required:
            index = ("catalog",) if isinstance(raw, str) else ("catalog", where)
            raise SpecError(f"catalog file {file} does not exist", location=document.location(index),
                            hint="`imagespec base build BASES --catalog FILE` writes it")
    return present


def _refuse_outside(config: Path, real: Path, what: str, where: Location) -> None:
    """A found configuration names catalog files only in its own repository (its git root;
    outside git, its folder), as a found configuration file may not itself be a link out of
    it: a committed `.imagespec.yaml` with `catalog: /etc/shadow` made imagespec read that
    file on the CI machine and echo its lines as unknown keys. One named by --config (the
    machine's own, chosen by whoever runs imagespec) may name any. Template folders may lie
    beside the repository (a company's templates checked out next to it): a spec reads only
    its `extends: NAME`'s NAME.yaml there, and a template extends within its own
    repository only (spec.extends)."""
    root = repository_root(files.resolve(config.parent))
    if outside(real, root) is not None:
        raise SpecError(f"{what} {real} is outside the configuration's repository ({root}): not read",
                        location=where, hint="keep it in the repository (a copy, or a git submodule), or name "
                                             "this configuration with --config or IMAGESPEC_CONFIG")


def config_location(config: Config) -> Location:
    return Location(str(config.path) if config.path else "imagespec:catalog.yaml")
