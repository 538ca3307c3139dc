"""What changed between two SBOMs: packages added, removed, and changed in version.

Role: read the package list of an SPDX 2.3 or CycloneDX 1.5 JSON document (any
tool's, through each package's purl; a package without one by its name) and compare two
of them, for a reviewer who wants to see what a base digest bump brings. The described
package (the image or app itself) is not a package of the list. Pure. May import: the
standard library and its own package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from imagespec.errors import SpecError

#: (ecosystem, namespace, name, arch): a package, whatever its version
Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class Entry:
    key: Key
    version: str

    @property
    def name(self) -> str:
        ecosystem, namespace, name, arch = self.key
        shown = f"{namespace}/{name}" if namespace and ecosystem not in ("deb",) else name
        return f"{shown}:{arch}" if arch else shown

    @property
    def ecosystem(self) -> str:
        return self.key[0]


@dataclass(frozen=True)
class Change:
    ecosystem: str
    name: str
    old: tuple[str, ...]  # the versions before (a package may be installed at several)
    new: tuple[str, ...]


@dataclass(frozen=True)
class SbomDiff:
    added: tuple[Change, ...] = ()
    removed: tuple[Change, ...] = ()
    changed: tuple[Change, ...] = ()
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        def rows(changes: tuple[Change, ...]) -> list[dict[str, Any]]:
            return [{"ecosystem": c.ecosystem, "name": c.name, "old": list(c.old), "new": list(c.new)} for c in changes]

        return {"added": rows(self.added), "removed": rows(self.removed), "changed": rows(self.changed),
                "unchanged": self.unchanged}

    def lines(self) -> list[str]:
        """One line a package, ``+``/``-``/``~``, sorted, for a report."""
        out = [f"+ {c.ecosystem} {c.name} {', '.join(c.new)}" for c in self.added]
        out += [f"- {c.ecosystem} {c.name} {', '.join(c.old)}" for c in self.removed]
        out += [f"~ {c.ecosystem} {c.name} {', '.join(c.old)} -> {', '.join(c.new)}" for c in self.changed]
        return out


def diff(old: dict[str, Any], new: dict[str, Any]) -> SbomDiff:
    """Compare two SBOM documents (SPDX 2.3 or CycloneDX 1.5 JSON, already parsed)."""
    before, after = _versions(packages(old)), _versions(packages(new))
    added = [_change(k, (), after[k]) for k in sorted(after.keys() - before.keys())]
    removed = [_change(k, before[k], ()) for k in sorted(before.keys() - after.keys())]
    common = sorted(before.keys() & after.keys())
    changed = [_change(k, before[k], after[k]) for k in common if before[k] != after[k]]
    return SbomDiff(tuple(added), tuple(removed), tuple(changed), len(common) - len(changed))


def diff_files(old: Path, new: Path) -> SbomDiff:
    return diff(load(old), load(new))


def load(path: Path) -> dict[str, Any]:
    """An SBOM file; SpecError (exit 2) when it is not JSON or not an SBOM."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SpecError(f"{path}: cannot read: {error.strerror}") from None
    except RecursionError:  # json's decoder recurses once per level: `[[[…` a hundred thousand deep
        raise SpecError(f"{path}: JSON nested too deeply to be an SBOM",
                        hint="give an SPDX 2.3 or CycloneDX 1.5 JSON SBOM") from None
    except ValueError as error:
        raise SpecError(f"{path}:{getattr(error, 'lineno', 1)}:{getattr(error, 'colno', 1)}: not JSON: "
                        f"{getattr(error, 'msg', error)}", hint="give an SPDX 2.3 or CycloneDX 1.5 JSON SBOM") from None
    if not isinstance(data, dict) or not ("spdxVersion" in data or data.get("bomFormat") == "CycloneDX"):
        raise SpecError(f"{path}: not an SPDX or CycloneDX JSON document",
                        hint="give an SPDX 2.3 (spdxVersion) or CycloneDX 1.5 (bomFormat) JSON SBOM")
    try:
        problem = _shape_problem(data)
    except RecursionError:
        problem = "components nested too deeply"
    if problem is not None:  # compared anyway, a broken list would read as every package removed
        raise SpecError(f"{path}: {problem}", hint="give the SBOM as its tool wrote it (SPDX 2.3 or CycloneDX 1.5 JSON)")
    return data


def refuse_replacing(path: Path) -> None:
    """An SBOM is written over nothing, an empty file or an older SBOM, never over another
    file (``--sbom imagespec.yaml`` would have replaced the spec): SpecError before anything
    is built or asked of the engine."""
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return
    except OSError:
        return  # what cannot be looked at, the write reports
    try:
        load(path)
    except SpecError:
        raise SpecError(f"{path}: not an SBOM: writing the SBOM there would replace it",
                        hint="name a new file (or an SBOM written before, which is replaced)") from None


# the fields `packages` reads: each, when present, of this type
_SPDX_FIELDS = ("SPDXID", "name", "versionInfo")
_CYCLONEDX_FIELDS = ("name", "group", "version", "purl")


def _shape_problem(data: dict[str, Any]) -> str | None:
    """What makes ``data`` unreadable as the SBOM it says it is (None: readable)."""
    if "spdxVersion" in data:
        if not isinstance(data["spdxVersion"], str):
            return "'spdxVersion' must be a string"
        return _list_problem(data, "packages", "packages", _SPDX_FIELDS, nested=None)
    return _list_problem(data, "components", "components", _CYCLONEDX_FIELDS, nested="components")


def _list_problem(owner: dict[str, Any], key: str, where: str, fields: tuple[str, ...], *,
                  nested: str | None) -> str | None:
    items = owner.get(key)
    if items is None:
        return None
    if not isinstance(items, list):
        return f"'{key}' must be a list of objects" if where == key else f"{where} must be a list of objects"
    for index, item in enumerate(items):
        here = f"{where}[{index}]"
        if not isinstance(item, dict):
            return f"{here} must be an object"
        wrong = next((f for f in fields if f in item and not isinstance(item[f], str)), None)
        if wrong is not None:
            return f"{here}.{wrong} must be a string"
        if nested is not None and (problem := _list_problem(item, nested, f"{here}.{nested}", fields,
                                                            nested=nested)) is not None:
            return problem
    return None


def packages(document: dict[str, Any]) -> list[Entry]:
    """The packages a document lists, the described one(s) left out."""
    if document.get("bomFormat") == "CycloneDX":
        return [_entry(c.get("purl"), c.get("name"), c.get("group"), c.get("version"))
                for c in _components(document.get("components"))]
    described = set(document.get("documentDescribes") or [])
    described |= {r.get("relatedSpdxElement") for r in document.get("relationships") or []
                  if isinstance(r, dict) and r.get("spdxElementId") == "SPDXRef-DOCUMENT"
                  and r.get("relationshipType") == "DESCRIBES"}
    found = []
    for package in document.get("packages") or []:
        if not isinstance(package, dict) or package.get("SPDXID") in described:
            continue
        purls = [r.get("referenceLocator") for r in package.get("externalRefs") or []
                 if isinstance(r, dict) and r.get("referenceType") == "purl"]
        found.append(_entry(purls[0] if purls else None, package.get("name"), None, package.get("versionInfo")))
    return found


def _components(items: Any) -> list[dict[str, Any]]:
    """CycloneDX components, nested ones included."""
    out: list[dict[str, Any]] = []
    for item in items or []:
        if isinstance(item, dict):
            out.append(item)
            out += _components(item.get("components"))
    return out


def _entry(purl: Any, name: Any, group: Any, version: Any) -> Entry:
    if isinstance(purl, str) and purl.startswith("pkg:"):
        return Entry(*_parse_purl(purl))
    return Entry(("", str(group or ""), str(name or ""), ""), str(version or ""))


def _parse_purl(purl: str) -> tuple[Key, str]:
    """``pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS#SUBPATH`` -> ((type, namespace, name, arch), version)."""
    text, _, _ = purl.removeprefix("pkg:").partition("#")
    text, _, query = text.partition("?")
    qualifiers = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
    path, _, version = text.rpartition("@") if "@" in text.rsplit("/", 1)[-1] else (text, "", "")
    kind, _, rest = path.partition("/")
    namespace, _, name = rest.rpartition("/")
    if kind.lower() == "pypi":
        name = name.lower().replace("_", "-")
    return (kind.lower(), unquote(namespace), unquote(name), unquote(qualifiers.get("arch", ""))), unquote(version)


def _versions(entries: list[Entry]) -> dict[Key, tuple[str, ...]]:
    found: dict[Key, set[str]] = {}
    for entry in entries:
        found.setdefault(entry.key, set()).add(entry.version)
    return {key: tuple(sorted(versions)) for key, versions in found.items()}


def _change(key: Key, old: tuple[str, ...], new: tuple[str, ...]) -> Change:
    entry = Entry(key, "")
    return Change(entry.ecosystem, entry.name, old, new)


