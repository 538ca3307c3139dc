"""The image catalog: logical names -> Image, merged from the built-in file, the
configuration and the spec's own `images:` (later wins).

Specs say `from: go-build`; the catalog says which image that is and what the
compiler may assume about it, so one file repoints every image (BP12, BP15).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from imagespec.errors import Location, SpecError, SpecPathError
from imagespec.resources import templates_dir
from imagespec.spec.yaml_source import Document, read_yaml
from imagespec.spec.model import Image


@dataclass(frozen=True)
class Entry:
    image: Image
    origin: Location  # where this entry was defined: shown when it is wrong


def identities(image: Image) -> set[str]:
    """What identifies an image for comparing two descriptions of it: its name and tag
    (a digest dropped: a pin of the same tag), and its name and digest where one is known."""
    from imagespec import reference as grammar

    try:
        ref = grammar.parse(image.image).normalize()
    except grammar.Invalid:  # scratch
        return set()
    digests = {ref.digest, image.digest} - {None}
    return ({str(ref.unpinned())} if ref.tag else set()) | {f"{ref.name}@{digest}" for digest in digests}


@dataclass(frozen=True)
class Catalog:
    entries: Mapping[str, Entry] = field(default_factory=dict)
    #: entries of configuration levels that a nearer one replaced, still known: an image one
    #: level says has a shell cannot be declared shell-less by another (BP6, `shell_known`)
    overridden: tuple[tuple[str, Entry], ...] = ()

    def resolve(self, name: str, *, location: Location) -> Image:
        image = self.find(name)
        if image is None:
            raise SpecError(self.unknown(name), location=location, hint=self.suggest(name))
        return image

    def find(self, name: str) -> Image | None:
        entry = self.entries.get(name)
        return None if entry is None else entry.image

    @staticmethod
    def unknown(name: str) -> str:
        return f"unknown image or stage '{name}'"

    def suggest(self, name: str) -> str:
        """The hint for a name the catalog lacks: the closest entry, or what may be named."""
        close = difflib.get_close_matches(name, list(self.entries), n=1)
        return (f"did you mean '{close[0]}'?" if close else
                "name a stage of this spec, a catalog image "
                f"({', '.join(sorted(self.entries))}), or write {{image: REF, family: debian}}")

    def merged(self, more: Mapping[str, Entry]) -> Catalog:
        return Catalog({**self.entries, **more}, self.overridden)

    def with_overridden(self, entries: tuple[tuple[str, Entry], ...]) -> Catalog:
        return Catalog(self.entries, (*self.overridden, *entries))

    def shell_known(self, image: Image) -> tuple[str, Entry] | None:
        """For an image described as shell-less, an entry (this catalog's, or one a nearer
        configuration replaced) that says the same image has a shell: the `no_shell` policy
        and the checks would believe the description (BP6)."""
        if image.has_shell:
            return None
        mine = identities(image)
        return next(((name, entry) for name, entry in (*self.entries.items(), *self.overridden)
                     if entry.image.has_shell and identities(entry.image) & mine), None)


def false_shell_fact(image: Image, known: tuple[str, Entry], path: tuple[str | int, ...]) -> SpecPathError:
    """The error at a claim that `image` has no shell, where `known` says it has one."""
    name, entry = known
    said = "`shell: false`" if image.shell is False else f"`family: {image.family}` (no shell)"
    return SpecPathError(f"{said}, but '{image.image}' has a shell: the catalog entry '{name}' "
                         f"({entry.origin}) says so, and a spec cannot say otherwise",
                         path=(*path, "shell" if image.shell is False else "family"),
                         hint="remove it, or start from a shell-less base (scratch, or a distroless-style "
                              "catalog image such as `static` or `cc`): the `no_shell` policy (BP6) reads this "
                              "fact, and only `imagespec build --verify` would find the shell")


def entries_from(document: Document, path: tuple[str, ...] = ("images",)) -> dict[str, Entry]:
    """Catalog entries under `path` of a parsed YAML document."""
    node = document.data
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if node is None:
        return {}
    if not isinstance(node, dict):
        raise SpecError("the catalog must be a mapping of name -> {image, family}",
                        location=document.location(path),
                        hint="one entry per name, e.g. `debian-slim: {image: debian:bookworm-slim, family: debian}`")
    entries = {}
    for name, raw in node.items():
        where = document.location((*path, name))
        try:
            image = Image.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise SpecError(f"catalog entry '{name}': {first['msg']} ({'.'.join(map(str, first['loc']))})",
                            location=where, hint="an entry needs `image:` and `family:`") from None
        entries[str(name)] = Entry(image, where)
    return entries


def catalog_file_entries(document: Document) -> dict[str, Entry]:
    """The entries of a catalog file (the configuration's `catalog:`, as `imagespec base
    build` writes it): a mapping whose one key is `images`. Anything else is refused, not
    skipped: a catalog read as empty silently sends every image back to the built-in one."""
    hint = "a catalog file holds `images:` (name -> {image, family}), as `imagespec base build --catalog` writes it"
    if not isinstance(document.data, dict):
        raise SpecError("a catalog file must be a mapping", location=document.location(()), hint=hint)
    unknown = sorted(set(document.data) - {"images"})
    if unknown:
        raise SpecError(f"unknown key '{unknown[0]}' in a catalog file", location=document.location((unknown[0],)),
                        hint=hint)
    return entries_from(document)


_BUILTIN: Catalog | None = None


def builtin_catalog() -> Catalog:
    global _BUILTIN  # cached: the file ships with the package and never changes at run time
    if _BUILTIN is None:
        path = templates_dir() / "catalog.yaml"
        _BUILTIN = Catalog(entries_from(read_yaml(path, display="imagespec:catalog.yaml")))
    return _BUILTIN
