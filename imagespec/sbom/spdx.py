"""An SBOM of an image's Debian packages, as an SPDX 2.3 JSON document (BP16).

Role: the packages of an image (``sbom_dpkg``) with the licences their copyright files
declare (``sbom_licenses``), laid out as SPDX. ``image_sbom`` reads a local image through
the engine; ``spdx_document`` works from a package list alone, so that a rootfs tarball
(``read_rootfs``) gives the same document without an engine.

Decisions: SPDX rather than CycloneDX, because its licence fields take the
expressions Debian's copyright files give, and it is what ``docker buildx --sbom`` emits.
Deterministic: the document is a function of its arguments (``created`` and
``namespace`` come from the caller, which derives them from SOURCE_DATE_EPOCH and the
image), packages are sorted, and nothing here reads a clock or draws a random number
except the throw-away container's name.

May import: the standard library, ``imagespec.errors`` and its own package;
``docker`` only lazily.
"""

from __future__ import annotations

import io
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar
from urllib.parse import quote

from imagespec.verify.probe import _ChunkReader
from imagespec.engine.client import connect, engine_errors, remove_container
from imagespec.sbom.dpkg import Package, Rootfs, read_rootfs
from imagespec.sbom.licenses import is_compound
from imagespec.errors import EngineError, SpecError

if TYPE_CHECKING:  # pragma: no cover
    import docker

NOASSERTION = "NOASSERTION"
T = TypeVar("T")
IMAGE_SPDXID = "SPDXRef-Image"
#: Label on the throw-away container, so that a leftover (engine crash) can be found.
CONTAINER_LABEL = "org.imagespec.sbom"

__all__ = [
    "Package",
    "Rootfs",
    "SbomSummary",
    "export_rootfs",
    "export_with",
    "image_sbom",
    "read_rootfs",
    "sbom_json",
    "spdx_document",
    "summarize",
]


def image_sbom(
    image: str, *, name: str, created: str, namespace: str, client: docker.DockerClient | None = None
) -> dict[str, Any]:
    """The SPDX document of a local image's Debian packages.

    The file system comes from a created, never started container (``--network none``,
    an entrypoint that does not exist), exported as a stream and read in one pass; the
    container is removed whatever happens. Raises EngineError for engine trouble and
    SpecError when the image does not exist.
    """
    rootfs = export_rootfs(image, client=client)
    return spdx_document(name=name, image=image, packages=rootfs.packages(), created=created, namespace=namespace)


def export_rootfs(image: str, *, client: docker.DockerClient | None = None) -> Rootfs:
    """The dpkg records and copyright files of ``image``, read from ``docker export``."""
    return export_with(image, read_rootfs, client=client)


def export_with(image: str, read: Callable[[BinaryIO], T], *, client: docker.DockerClient | None = None) -> T:
    """``read`` applied to the tar stream of ``image``'s file system (``docker export``).

    The file system comes from a created, never started container (``--network none``,
    an entrypoint that does not exist); the container is removed whatever happens.
    """
    client = client or connect()
    container_name = f"imagespec-sbom-{secrets.token_hex(4)}"
    with engine_errors(f"create a container of {image}"):
        container = client.containers.create(
            image,
            entrypoint=["/imagespec-never-runs"],
            name=container_name,
            network_mode="none",
            labels={CONTAINER_LABEL: "1"},
        )
    try:
        with engine_errors(f"export {image}"):
            # the SDK yields the export in chunks; tarfile's stream mode reads them as
            # they come, so a large image never sits in memory or on disk
            stream = io.BufferedReader(_ChunkReader(container.export()), buffer_size=1 << 20)
            try:
                return read(stream)
            except SpecError as error:
                raise EngineError(f"export {image}: the engine sent {error.message}") from None
    finally:
        with engine_errors(f"remove {container_name}"):
            remove_container(container)


def spdx_document(
    *, name: str, image: str, packages: Iterable[Package], created: str, namespace: str
) -> dict[str, Any]:
    """An SPDX 2.3 document: the image as a package that CONTAINS each Debian package.

    ``created`` is an ISO 8601 UTC time (``2024-01-02T03:04:05Z``), ``namespace`` a unique
    URI for this document (SPDX asks for one per document version).
    """
    ordered = sorted(packages, key=lambda p: (p.name, p.architecture, p.version))
    ids = _spdx_ids(ordered)
    entries = [_image_package(image)] + [_package(p, spdxid) for p, spdxid in zip(ordered, ids, strict=True)]
    relationships = [_relationship("SPDXRef-DOCUMENT", "DESCRIBES", IMAGE_SPDXID)]
    relationships += [_relationship(IMAGE_SPDXID, "CONTAINS", spdxid) for spdxid in ids]
    document: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": namespace,
        "creationInfo": {"created": created, "creators": ["Tool: imagespec"]},
        "packages": entries,
        "relationships": relationships,
    }
    extracted = _extracted_licenses(ordered)
    if extracted:
        document["hasExtractedLicensingInfos"] = extracted
    return document


def sbom_json(document: dict[str, Any]) -> str:
    """The document as the bytes to write: stable key order, a final newline.

    Writing is the caller's (``imagespec.output.write_atomically``): ``build`` may not
    import ``output`` (tests/compiler/test_architecture.py).
    """
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class SbomSummary:
    """Counts for the CLI: packages, and how many have a licence found in their copyright file."""

    packages: int
    licensed: int
    unasserted: tuple[str, ...]  # names of packages whose licence is NOASSERTION

    def __str__(self) -> str:
        line = f"{self.packages} packages, licence found for {self.licensed}"
        if self.unasserted:
            shown = ", ".join(self.unasserted[:5]) + (", …" if len(self.unasserted) > 5 else "")
            line += f", NOASSERTION for {len(self.unasserted)} ({shown})"
        return line


def summarize(document: dict[str, Any]) -> SbomSummary:
    """Counts of an SPDX document made by ``spdx_document`` (the image itself not counted)."""
    packages = [p for p in document.get("packages", []) if p.get("SPDXID") != IMAGE_SPDXID]
    unasserted = tuple(p["name"] for p in packages if p.get("licenseDeclared", NOASSERTION) == NOASSERTION)
    return SbomSummary(len(packages), len(packages) - len(unasserted), unasserted)


# -- SPDX pieces ------------------------------------------------------------------------


def _image_package(image: str) -> dict[str, Any]:
    return {
        "SPDXID": IMAGE_SPDXID,
        "name": image,
        "primaryPackagePurpose": "CONTAINER",
        "supplier": NOASSERTION,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": NOASSERTION,
        "copyrightText": NOASSERTION,
    }


def _package(package: Package, spdxid: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "SPDXID": spdxid,
        "name": package.name,
        "versionInfo": package.version,
        # every package read from a dpkg database with a maintainer is taken to come from
        # Debian's archive: the bases are built from it, and the purl says so too
        "supplier": "Organization: Debian" if package.maintainer else NOASSERTION,
        "downloadLocation": NOASSERTION,
        # SPDX requires a verification code over the files when they are analysed;
        # the files are not listed here
        "filesAnalyzed": False,
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": declared_license(package.licenses),
        "copyrightText": NOASSERTION,
        "externalRefs": [
            {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl(package)}
        ],
    }
    if package.source != package.name or package.source_version != package.version:
        entry["sourceInfo"] = f"built from the Debian source package {package.source} {package.source_version}".rstrip()
    if package.copyright:
        entry["licenseComments"] = f"declared in {package.copyright}"
    return entry


def declared_license(licenses: Iterable[str]) -> str:
    """The licences a copyright file names, AND-joined (each applies to some files)."""
    unique = sorted(set(licenses))
    if not unique:
        return NOASSERTION
    if len(unique) == 1:
        return unique[0]
    return " AND ".join(f"({e})" if is_compound(e) else e for e in unique)


def purl(package: Package) -> str:
    """``pkg:deb/debian/NAME@VERSION?arch=ARCH``, percent-encoded as the purl spec says
    (``+`` is encoded; ``:`` of an epoch is not, whether a separator or not)."""
    text = f"pkg:deb/debian/{_purl_quote(package.name)}"
    if package.version:
        text += f"@{_purl_quote(package.version)}"
    if package.architecture:
        text += f"?arch={_purl_quote(package.architecture)}"
    return text


def _purl_quote(value: str) -> str:
    return quote(value, safe=":")


def _spdx_ids(packages: list[Package]) -> list[str]:
    """SPDXRef-deb-NAME-VERSION-ARCH reduced to [A-Za-z0-9.-]; a clash after reduction
    (``a+b`` and ``a-b``) gets a counter, in the sorted order, so ids stay deterministic."""
    ids: list[str] = []
    seen: set[str] = set()
    for package in packages:
        raw = "-".join(part for part in (package.name, package.version, package.architecture) if part)
        base = "SPDXRef-deb-" + re.sub(r"[^A-Za-z0-9.-]", "-", raw)
        spdxid, count = base, 1
        while spdxid in seen:
            count += 1
            spdxid = f"{base}-{count}"
        seen.add(spdxid)
        ids.append(spdxid)
    return ids


def _relationship(element: str, kind: str, related: str) -> dict[str, str]:
    return {"spdxElementId": element, "relationshipType": kind, "relatedSpdxElement": related}


def _extracted_licenses(packages: list[Package]) -> list[dict[str, str]]:
    """SPDX wants every LicenseRef- used in the document defined here; its text is where
    the licence is written, since Debian's name is all this tool read."""
    users: dict[str, list[str]] = {}
    for package in packages:
        for ref in sorted({r for e in package.licenses for r in re.findall(r"LicenseRef-[A-Za-z0-9.-]+", e)}):
            users.setdefault(ref, []).append(package.copyright or f"/usr/share/doc/{package.name}/copyright")
    return [
        {
            "licenseId": ref,
            "name": ref.removeprefix("LicenseRef-"),
            "extractedText": "A licence named in Debian copyright files, without an SPDX id; its text is in "
            + ", ".join(sorted(set(paths))),
        }
        for ref, paths in sorted(users.items())
    ]
