"""An app image's SBOM as SPDX 2.3 JSON or CycloneDX 1.5 JSON, from its Components.

Role: lay out what ``scan`` found, with the app itself (the spec's name and version,
never a Go ``(devel)``) as the described package that contains everything else.
Deterministic: packages are sorted, and the document namespace (SPDX) and serial number
(CycloneDX) are derived from the content, so the same image gives the same bytes; the
creation time is the caller's (SOURCE_DATE_EPOCH, else the image's own). Pure.
May import: the standard library and its own package.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from imagespec.sbom.component import Component
from imagespec.sbom.licenses import is_compound
from imagespec.sbom.scan import sort_key
from imagespec.sbom.spdx_license import expression

FORMATS = ("spdx", "cyclonedx")
NOASSERTION = "NOASSERTION"
APP_SPDXID = "SPDXRef-App"
APP_REF = "app"
#: how a record that is not read from the image's file system alone begins its evidence
EVIDENCE = "not read from the image's file system alone; from "
#: file names in the image and beside the build, by format
SUFFIX = {"spdx": ".spdx.json", "cyclonedx": ".cdx.json"}


@dataclass(frozen=True)
class App:
    """The described package: the spec's name, version and licence, and the image."""

    name: str
    version: str
    license: str = ""
    image: str = ""
    #: where the app's own build put its programs in the image: files, or folders ending
    #: in "/" (a COPY of a folder). Not the base's programs: an app built FROM a company
    #: image also holds that image's binaries, which are not this app (or its version).
    programs: tuple[str, ...] = ()

    def owns(self, location: str) -> bool:
        return any(location == program or (program.endswith("/") and location.startswith(program))
                   for program in self.programs)


def with_app_version(app: App, components: Iterable[Component]) -> list[Component]:
    """A Go main module built outside a tagged checkout says ``(devel)`` (read as ""):
    when the binary is one the app's own build made, it is the app, whose version the
    spec gives; any other (a base image's) stays unknown: its build information is all
    there is to say about it."""
    return [replace(c, version=app.version)
            if c.ecosystem == "golang" and c.note == "main module" and not c.version and app.owns(c.location)
            else c for c in components]


def digest(app: App, components: Sequence[Component]) -> str:
    """A hash of everything the document says but its creation time: its identity."""
    text = json.dumps([app.name, app.version, app.license, app.image,
                       [[c.purl, c.licenses, c.location, c.note, *([c.evidence] if c.evidence else [])]
                        for c in sorted(components, key=sort_key)]])
    return hashlib.sha256(text.encode()).hexdigest()


def document(fmt: str, app: App, components: Iterable[Component], *, created: str,
             notes: Sequence[str] = ()) -> dict[str, Any]:
    ordered = sorted(with_app_version(app, components), key=sort_key)
    if fmt == "cyclonedx":
        return cyclonedx_document(app, ordered, created=created, notes=notes)
    return spdx_document(app, ordered, created=created, notes=notes)


# -- SPDX 2.3 ---------------------------------------------------------------------------


def spdx_document(app: App, components: Sequence[Component], *, created: str,
                  notes: Sequence[str] = ()) -> dict[str, Any]:
    ids = _ids("SPDXRef-", components)
    packages = [_spdx_app(app)] + [_spdx_package(c, i, created) for c, i in zip(components, ids, strict=True)]
    relationships = [_relationship("SPDXRef-DOCUMENT", "DESCRIBES", APP_SPDXID)]
    relationships += [_relationship(APP_SPDXID, "CONTAINS", i) for i in ids]
    creation: dict[str, Any] = {"created": created, "creators": ["Tool: imagespec"]}
    if notes:
        creation["comment"] = " ".join(sorted(notes))
    result: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{app.name}-{app.version}",
        "documentNamespace": f"urn:imagespec:sbom:{_urn_part(app.name)}:{digest(app, components)[:40]}",
        "creationInfo": creation,
        "documentDescribes": [APP_SPDXID],
        "packages": packages,
        "relationships": relationships,
    }
    extracted = _extracted(app, components)
    if extracted:
        result["hasExtractedLicensingInfos"] = extracted
    return result


def _spdx_app(app: App) -> dict[str, Any]:
    entry = {
        "SPDXID": APP_SPDXID,
        "name": app.name,
        "versionInfo": app.version,
        "primaryPackagePurpose": "CONTAINER",
        "supplier": NOASSERTION,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": _declared(_app_licenses(app)),
        "copyrightText": NOASSERTION,
    }
    if app.image:
        entry["comment"] = f"the image {app.image}"
    return entry


def _spdx_package(component: Component, spdxid: str, created: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "SPDXID": spdxid,
        "name": component.display_name,
        "versionInfo": component.version,
        "supplier": "Organization: Debian" if component.ecosystem == "deb" else NOASSERTION,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,  # the files are not listed (SPDX would want a verification code)
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": _declared(component.licenses),
        "copyrightText": NOASSERTION,
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                          "referenceLocator": component.purl}],
    }
    if component.location:
        entry["comment"] = f"found at {component.location}" + (f"; {component.note}" if component.note else "")
    elif component.note:
        entry["comment"] = component.note
    if component.evidence:
        # SPDX's own way to say who asserted what: a reader sees this record is not the image's
        entry["annotations"] = [{"annotationDate": created, "annotationType": "OTHER", "annotator": "Tool: imagespec",
                                 "comment": f"{EVIDENCE}{component.evidence}"}]
    return entry


def _declared(licenses: Iterable[str]) -> str:
    unique = sorted(set(licenses))
    if not unique:
        return NOASSERTION
    return " AND ".join(f"({e})" if is_compound(e) and len(unique) > 1 else e for e in unique)


def _app_licenses(app: App) -> tuple[str, ...]:
    found = expression(app.license) if app.license else None
    return (found,) if found else ()


def _relationship(element: str, kind: str, related: str) -> dict[str, str]:
    return {"spdxElementId": element, "relationshipType": kind, "relatedSpdxElement": related}


def _extracted(app: App, components: Sequence[Component]) -> list[dict[str, str]]:
    """Every LicenseRef- used, defined (SPDX requires it); the package's words are all
    that was read, so the text says where they were found."""
    users: dict[str, set[str]] = {}
    for component in [Component("app", app.name, app.version, _app_licenses(app), location="the spec"),
                      *components]:
        for ref in {r for e in component.licenses for r in re.findall(r"LicenseRef-[A-Za-z0-9.-]+", e)}:
            users.setdefault(ref, set()).add(component.location or component.display_name)
    return [{"licenseId": ref, "name": ref.removeprefix("LicenseRef-"),
             "extractedText": "A licence named without an SPDX id; named in " + ", ".join(sorted(places)[:20])
             + (", …" if len(places) > 20 else "")}
            for ref, places in sorted(users.items())]


def _ids(prefix: str, components: Sequence[Component]) -> list[str]:
    """ECOSYSTEM-NAME-VERSION[-ARCH] reduced to [A-Za-z0-9.-]; a clash after reduction gets
    a counter, in sorted order, so ids stay deterministic."""
    ids, seen = [], set()
    for component in components:
        raw = "-".join(p for p in (component.ecosystem, component.display_name, component.version,
                                   component.architecture) if p)
        base = prefix + re.sub(r"[^A-Za-z0-9.-]", "-", raw)
        found, count = base, 1
        while found in seen:
            count += 1
            found = f"{base}-{count}"
        seen.add(found)
        ids.append(found)
    return ids


def _urn_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)


# -- CycloneDX 1.5 ------------------------------------------------------------------------


def cyclonedx_document(app: App, components: Sequence[Component], *, created: str,
                       notes: Sequence[str] = ()) -> dict[str, Any]:
    refs = _ids("", components)
    metadata: dict[str, Any] = {
        "timestamp": created,
        "tools": {"components": [{"type": "application", "name": "imagespec"}]},
        "component": _cdx_app(app),
    }
    if notes:
        metadata["properties"] = [{"name": "imagespec:note", "value": note} for note in sorted(notes)]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        # a UUID from the content (RFC 4122 name-based), not a random one: same image, same serial
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'imagespec:' + digest(app, components))}",
        "version": 1,
        "metadata": metadata,
        "components": [_cdx_component(c, ref) for c, ref in zip(components, refs, strict=True)],
        "dependencies": [{"ref": APP_REF, "dependsOn": refs}] + [{"ref": ref} for ref in refs],
    }


def _cdx_app(app: App) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "container", "bom-ref": APP_REF, "name": app.name, "version": app.version}
    licenses = _app_licenses(app)
    if licenses:
        entry["licenses"] = [{"expression": _declared(licenses)}]
    if app.image:
        entry["description"] = f"the image {app.image}"
    return entry


def _cdx_component(component: Component, ref: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": "application" if component.note == "main module" else "library",
        "bom-ref": ref,
        "name": component.name,
        "version": component.version,
        "purl": component.purl,
    }
    if component.group:
        entry["group"] = component.group
    if component.licenses:
        entry["licenses"] = [{"expression": _declared(component.licenses)}]
    properties = [{"name": "imagespec:location", "value": component.location}] if component.location else []
    properties += [{"name": "imagespec:note", "value": component.note}] if component.note else []
    properties += [{"name": "imagespec:evidence", "value": f"{EVIDENCE}{component.evidence}"}] \
        if component.evidence else []
    if properties:
        entry["properties"] = properties
    return entry


def to_json(document_: dict[str, Any]) -> str:
    """The bytes to write: stable key order, a final newline."""
    return json.dumps(document_, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
