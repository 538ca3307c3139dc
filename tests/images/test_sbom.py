"""SBOMs of base images (BP16): synthetic root file systems first, then the real bases.

The synthetic tars are built in memory; the engine tests read the local bases made by
scripts/make-bases.sh and check that the throw-away container is always removed.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
import time
from typing import Any

import pytest

from imagespec.sbom.spdx import (
    CONTAINER_LABEL,
    Package,
    image_sbom,
    purl,
    read_rootfs,
    sbom_json,
    spdx_document,
    summarize,
)
from imagespec.sbom.licenses import copyright_licenses, license_expression, spdx_id
from imagespec.errors import EngineError, SpecError
from tests.images.support import SLIM, STATIC, require_images

CC = "imagespec-test/cc:nonroot"
CREATED = "2024-01-02T03:04:05Z"
NAMESPACE = "https://imagespec.invalid/sbom/test-1"

DEP5 = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: demo
License: GPL-2+

Files: *
Copyright: 2020 Someone
License: GPL-2+ or Artistic

Files: lib/*
Copyright: 2021 Someone Else
License: LGPL-2.1+ and BSD-3-clause

Files: contrib/*
Copyright: 2021 A Third
License: Expat, and Zlib

License: GPL-2+
 This program is free software; the full text is in
 /usr/share/common-licenses/GPL-2.
"""

# base-files' copyright, shortened: free-form, versionless path, version in the sentence
FREE_FORM_GPL = """\
This is the Debian prepackaged version of the Debian Base System.

This program is free software; you can redistribute it and/or modify
it under the terms of the GNU General Public License as published by
the Free Software Foundation; either version 2 of the License, or
(at your option) any later version.

On Debian systems, the complete text of the GNU General
Public License can be found in `/usr/share/common-licenses/GPL'.
"""

FREE_FORM_UNKNOWN = "Packaged by someone. The licence is in the source tarball.\n"


def status_stanza(name: str, version: str, *, status: str | None = "install ok installed", **fields: str) -> str:
    lines = [f"Package: {name}"]
    if status is not None:
        lines.append(f"Status: {status}")
    lines += [f"Version: {version}", f"Architecture: {fields.pop('arch', 'amd64')}"]
    lines += [f"{key.title()}: {value}" for key, value in fields.items()]
    lines += ["Maintainer: Debian Maintainers <debian@lists.debian.org>", "Description: a package", " more words"]
    return "\n".join(lines) + "\n"


def rootfs_tar(
    files: dict[str, str],
    symlinks: dict[str, str] | None = None,
    *,
    prefix: str = "",
    hardlinks: dict[str, str] | None = None,
    compress: bool = False,
) -> io.BytesIO:
    """A tar of a root file system: regular files, symlinks and hard links, in that order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for directory in ("", "var/", "var/lib/", "usr/", "usr/share/", "usr/share/doc/"):
            info = tarfile.TarInfo(prefix + directory or ".")
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(prefix + path)
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
        for path, target in (symlinks or {}).items():
            info = tarfile.TarInfo(prefix + path)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
        for path, target in (hardlinks or {}).items():
            info = tarfile.TarInfo(prefix + path)
            info.type, info.linkname = tarfile.LNKTYPE, prefix + target
            archive.addfile(info)
    data = gzip.compress(buffer.getvalue(), mtime=0) if compress else buffer.getvalue()
    return io.BytesIO(data)


def document(packages: list[Package], image: str = "example/base:1") -> dict[str, Any]:
    return spdx_document(name="example-base", image=image, packages=packages, created=CREATED, namespace=NAMESPACE)


# --- SPDX 2.3, the required fields and the rules this tool can break -----------------------

_ID = re.compile(r"^SPDXRef-[A-Za-z0-9.-]+$")
_CREATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
_CREATOR = re.compile(r"^(Tool|Organization|Person): \S.*$")
_LICENSE_TOKEN = re.compile(r"\(|\)|AND|OR|WITH|LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9.-]+\+?")
_PURL = re.compile(r"^pkg:deb/debian/[A-Za-z0-9.%+~-]+(@[A-Za-z0-9.%:~_-]+)?(\?arch=[a-z0-9%-]+)?$")
_CATEGORIES = {"SECURITY", "PACKAGE-MANAGER", "PERSISTENT-ID", "OTHER"}


def spdx_problems(doc: dict[str, Any]) -> list[str]:
    """What SPDX 2.3 (JSON) requires of a document and its packages, checked by hand:
    no schema is downloaded."""
    problems = []
    expect = {"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT"}
    problems += [f"{key} is {doc.get(key)!r}" for key, value in expect.items() if doc.get(key) != value]
    if not isinstance(doc.get("name"), str) or not doc["name"]:
        problems.append("document name missing")
    namespace = doc.get("documentNamespace", "")
    if not re.match(r"^[a-z][a-z0-9+.-]*://\S+$", namespace) or "#" in namespace:
        problems.append(f"documentNamespace {namespace!r} is not a URI without '#'")
    info = doc.get("creationInfo") or {}
    if not _CREATED.match(info.get("created", "")):
        problems.append(f"creationInfo.created {info.get('created')!r}")
    if not info.get("creators") or not all(_CREATOR.match(c) for c in info["creators"]):
        problems.append(f"creationInfo.creators {info.get('creators')!r}")
    ids = {"SPDXRef-DOCUMENT"}
    refs_used: set[str] = set()
    for package in doc.get("packages", []):
        where = package.get("SPDXID", "?")
        if not _ID.match(where) or where in ids:
            problems.append(f"SPDXID {where!r} invalid or repeated")
        ids.add(where)
        for key in ("name", "downloadLocation"):
            if not package.get(key):
                problems.append(f"{where}: {key} missing")
        if package.get("filesAnalyzed", True) and "packageVerificationCode" not in package:
            problems.append(f"{where}: filesAnalyzed without packageVerificationCode")
        supplier = package.get("supplier", "NOASSERTION")
        if supplier != "NOASSERTION" and not re.match(r"^(Organization|Person): \S", supplier):
            problems.append(f"{where}: supplier {supplier!r}")
        for key in ("licenseConcluded", "licenseDeclared"):
            problems += [f"{where}: {key}: {p}" for p in _license_problems(package.get(key, "NOASSERTION"))]
            refs_used |= set(re.findall(r"LicenseRef-[A-Za-z0-9.-]+", package.get(key, "")))
        for ref in package.get("externalRefs", []):
            if ref.get("referenceCategory") not in _CATEGORIES or not ref.get("referenceType"):
                problems.append(f"{where}: externalRef {ref}")
            if ref.get("referenceType") == "purl" and not _PURL.match(ref.get("referenceLocator", "")):
                problems.append(f"{where}: purl {ref.get('referenceLocator')!r}")
    defined = {e.get("licenseId") for e in doc.get("hasExtractedLicensingInfos", []) if e.get("extractedText")}
    problems += [f"{ref} used but not in hasExtractedLicensingInfos" for ref in sorted(refs_used - defined)]
    for rel in doc.get("relationships", []):
        if rel.get("spdxElementId") not in ids or rel.get("relatedSpdxElement") not in ids:
            problems.append(f"relationship to an unknown element: {rel}")
    describes = [r for r in doc.get("relationships", []) if r.get("relationshipType") == "DESCRIBES"]
    if [r["spdxElementId"] for r in describes] != ["SPDXRef-DOCUMENT"]:
        problems.append("the document must DESCRIBE exactly one element")
    return problems


def _license_problems(expression: str) -> list[str]:
    if expression in ("NOASSERTION", "NONE"):
        return []
    tokens = _LICENSE_TOKEN.findall(expression)
    if "".join(tokens) != expression.replace(" ", ""):
        return [f"unexpected characters in {expression!r}"]
    depth = 0
    for token in tokens:
        depth += {"(": 1, ")": -1}.get(token, 0)
        if depth < 0:
            return [f"unbalanced parentheses in {expression!r}"]
    return [] if depth == 0 else [f"unbalanced parentheses in {expression!r}"]


# --- reading the root file system ----------------------------------------------------------

DEBIAN_ROOT = {
    "var/lib/dpkg/status": "\n".join(
        [
            status_stanza("libdemo1", "1:2.3~rc1-4", source="demo (1:2.3~rc1-4)"),
            status_stanza("removed-pkg", "1.0-1", status="deinstall ok config-files"),
            status_stanza("half-pkg", "1.0-1", status="install ok unpacked"),
            status_stanza("held-pkg", "2.0-1", status="hold ok installed", arch="all"),
            status_stanza("base-files", "12.4+deb12u5"),
        ]
    ),
    "usr/share/doc/libdemo1/copyright": DEP5,
    "usr/share/doc/base-files/copyright": FREE_FORM_GPL,
    "usr/share/doc/held-pkg/copyright": FREE_FORM_UNKNOWN,
    "usr/share/doc/removed-pkg/copyright": DEP5,
    # not a package's copyright file: deeper than usr/share/doc/<package>/
    "usr/share/doc/held-pkg/examples/debian/copyright": DEP5,
    "etc/passwd": "root:x:0:0:root:/root:/bin/bash\n",
}


def test_status_file_keeps_installed_packages_only() -> None:
    packages = read_rootfs(rootfs_tar(DEBIAN_ROOT)).packages()
    assert [(p.name, p.version, p.architecture) for p in packages] == [
        ("base-files", "12.4+deb12u5", "amd64"),
        ("held-pkg", "2.0-1", "all"),  # held is installed too
        ("libdemo1", "1:2.3~rc1-4", "amd64"),
    ]
    demo = packages[2]
    assert (demo.source, demo.source_version) == ("demo", "1:2.3~rc1-4")
    assert packages[0].source == "base-files" and packages[0].source_version == "12.4+deb12u5"


def test_dep5_licences_are_read_and_mapped_to_spdx() -> None:
    demo = {p.name: p for p in read_rootfs(rootfs_tar(DEBIAN_ROOT)).packages()}["libdemo1"]
    assert demo.licenses == (
        "BSD-3-Clause",
        "GPL-2.0-or-later",
        "GPL-2.0-or-later OR Artistic-1.0-Perl",
        "LGPL-2.1-or-later",
        "MIT",
        "Zlib",
    )
    assert demo.copyright == "/usr/share/doc/libdemo1/copyright"


def test_free_form_copyright_files_use_a_conservative_heuristic() -> None:
    packages = {p.name: p for p in read_rootfs(rootfs_tar(DEBIAN_ROOT)).packages()}
    assert packages["base-files"].licenses == ("GPL-2.0-or-later",)
    assert packages["held-pkg"].licenses == ()  # says nothing certain: NOASSERTION
    assert copyright_licenses("See /usr/share/common-licenses/GPL for the licence.\n") == ()
    assert copyright_licenses("Licensed under /usr/share/common-licenses/Apache-2.0.\n") == ("Apache-2.0",)
    assert copyright_licenses("version 2.1 ... /usr/share/common-licenses/LGPL-2.1 ... any later version") == (
        "LGPL-2.1-or-later",
    )


def test_status_d_layout_means_installed_without_a_status_field() -> None:
    root = {
        "var/lib/dpkg/status.d/base-files": status_stanza("base-files", "12.4", status=None),
        "var/lib/dpkg/status.d/tzdata": status_stanza("tzdata", "2024a-0+deb12u1", status=None, arch="all"),
        "var/lib/dpkg/status.d/tzdata.md5sums": "d41d8cd98f00b204e9800998ecf8427e  usr/share/zoneinfo/UTC\n",
        "usr/share/doc/tzdata/copyright": "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "\nFiles: *\nCopyright: IANA\nLicense: public-domain\n This database is in the public domain.\n",
    }
    packages = read_rootfs(rootfs_tar(root)).packages()
    assert [(p.name, p.licenses) for p in packages] == [
        ("base-files", ()),
        ("tzdata", ("LicenseRef-public-domain",)),
    ]


def test_symlinked_doc_dirs_and_source_siblings_share_a_copyright_file() -> None:
    root = {
        "var/lib/dpkg/status.d/gcc-12-base": status_stanza("gcc-12-base", "12.2.0-14", status=None, source="gcc-12"),
        "var/lib/dpkg/status.d/libgcc-s1": status_stanza("libgcc-s1", "12.2.0-14", status=None, source="gcc-12"),
        "var/lib/dpkg/status.d/libstdc++6": status_stanza("libstdc++6", "12.2.0-14", status=None, source="gcc-12"),
        "var/lib/dpkg/status.d/lonely": status_stanza("lonely", "1", status=None, source="other"),
        "usr/share/doc/gcc-12-base/copyright": DEP5,
    }
    # libgcc-s1's doc dir is a symlink (as dpkg installs it); libstdc++6 has none at all
    # (a distroless root that left it out) and falls back to its source's other package
    packages = {p.name: p for p in read_rootfs(rootfs_tar(root, {"usr/share/doc/libgcc-s1": "gcc-12-base"})).packages()}
    assert packages["libgcc-s1"].copyright == "/usr/share/doc/gcc-12-base/copyright"
    assert packages["libstdc++6"].copyright == "/usr/share/doc/gcc-12-base/copyright"
    assert packages["libgcc-s1"].licenses == packages["gcc-12-base"].licenses != ()
    assert packages["lonely"].copyright is None and packages["lonely"].licenses == ()
    absolute = read_rootfs(rootfs_tar(root, {"usr/share/doc/libgcc-s1": "/usr/share/doc/gcc-12-base"}))
    assert absolute.resolve("usr/share/doc/libgcc-s1/copyright") == "usr/share/doc/gcc-12-base/copyright"


def test_hard_linked_copyright_files_are_read() -> None:
    root = {
        "var/lib/dpkg/status": status_stanza("a", "1") + "\n" + status_stanza("b", "1"),
        "usr/share/doc/a/copyright": DEP5,
    }
    rootfs = read_rootfs(rootfs_tar(root, hardlinks={"usr/share/doc/b/copyright": "usr/share/doc/a/copyright"}))
    a, b = rootfs.packages()
    assert b.licenses == a.licenses != ()


def test_dot_slash_names_and_compression_read_the_same() -> None:
    plain = read_rootfs(rootfs_tar(DEBIAN_ROOT)).packages()
    assert read_rootfs(rootfs_tar(DEBIAN_ROOT, prefix="./")).packages() == plain
    assert read_rootfs(rootfs_tar(DEBIAN_ROOT, prefix="./", compress=True)).packages() == plain


def test_a_root_without_dpkg_data_has_no_packages() -> None:
    rootfs = read_rootfs(rootfs_tar({"etc/hostname": "x\n", "app": "binary"}))
    assert rootfs.packages() == []
    doc = document([])
    assert spdx_problems(doc) == []
    assert [p["SPDXID"] for p in doc["packages"]] == ["SPDXRef-Image"]
    assert summarize(doc).packages == 0


def test_a_stream_that_is_not_a_tar_is_bad_input() -> None:
    with pytest.raises(SpecError, match="not a readable root file system tar"):
        read_rootfs(io.BytesIO(b"this is not a tar archive" * 100))


# --- licence names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("GPL-2", "GPL-2.0-only"),
        ("GPL-2+", "GPL-2.0-or-later"),
        ("GPL-2.0+", "GPL-2.0-or-later"),
        ("LGPL-2.1+", "LGPL-2.1-or-later"),
        ("GPL-2+ or Artistic", "GPL-2.0-or-later OR Artistic-1.0-Perl"),
        ("LGPL-2.1+ and BSD-3-clause", "LGPL-2.1-or-later AND BSD-3-Clause"),
        ("GPL-2+ or Artistic-2.0, and BSD-3-clause", "(GPL-2.0-or-later OR Artistic-2.0) AND BSD-3-Clause"),
        ("Expat", "MIT"),
        ("apache-2.0", "Apache-2.0"),
        ("MPL-2.0", "MPL-2.0"),
        ("MPL-1.1+", "MPL-1.1+"),
        ("Zlib", "Zlib"),
        ("ISC", "ISC"),
        ("public-domain", "LicenseRef-public-domain"),
        ("BSD-like", "LicenseRef-BSD-like"),
        ("GPL-3+ with Bison exception", "LicenseRef-GPL-3-or-later-with-Bison-exception"),
        ("ISC+IBM", "LicenseRef-ISC-IBM"),
        ("", None),
    ],
)
def test_license_fields_become_spdx_expressions(field: str, expected: str | None) -> None:
    assert license_expression(field) == expected


def test_unknown_names_become_valid_license_refs() -> None:
    assert spdx_id("other/weird licence_v1!") == "LicenseRef-other-weird-licence-v1"
    assert spdx_id("BSD-4-clause-UC") == "LicenseRef-BSD-4-clause-UC"


# --- the SPDX document ----------------------------------------------------------------------


def test_document_has_every_required_field_and_relationship() -> None:
    doc = document(read_rootfs(rootfs_tar(DEBIAN_ROOT)).packages())
    assert spdx_problems(doc) == []
    assert doc["creationInfo"] == {"created": CREATED, "creators": ["Tool: imagespec"]}
    image, *debs = doc["packages"]
    assert image["name"] == "example/base:1" and image["primaryPackagePurpose"] == "CONTAINER"
    assert [p["name"] for p in debs] == ["base-files", "held-pkg", "libdemo1"]
    assert doc["relationships"][0] == {
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Image",
    }
    contained = [r["relatedSpdxElement"] for r in doc["relationships"][1:] if r["relationshipType"] == "CONTAINS"]
    assert contained == [p["SPDXID"] for p in debs]
    by_name = {p["name"]: p for p in debs}
    assert by_name["held-pkg"]["licenseDeclared"] == "NOASSERTION"
    assert by_name["base-files"]["licenseDeclared"] == "GPL-2.0-or-later"
    assert by_name["libdemo1"]["licenseDeclared"] == (
        "BSD-3-Clause AND GPL-2.0-or-later AND (GPL-2.0-or-later OR Artistic-1.0-Perl) AND LGPL-2.1-or-later"
        " AND MIT AND Zlib"
    )
    assert by_name["libdemo1"]["supplier"] == "Organization: Debian"
    assert by_name["libdemo1"]["sourceInfo"] == "built from the Debian source package demo 1:2.3~rc1-4"
    assert all(p["licenseConcluded"] == "NOASSERTION" and p["copyrightText"] == "NOASSERTION" for p in debs)


def test_epochs_and_tildes_in_spdx_ids_and_purls() -> None:
    package = Package("libstdc++6", "1:2.3~rc1-4", "amd64", "gcc-12", "1:2.3~rc1-4")
    assert purl(package) == "pkg:deb/debian/libstdc%2B%2B6@1:2.3~rc1-4?arch=amd64"
    doc = document([package])
    assert doc["packages"][1]["SPDXID"] == "SPDXRef-deb-libstdc--6-1-2.3-rc1-4-amd64"
    assert doc["packages"][1]["externalRefs"] == [
        {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl(package)}
    ]
    assert spdx_problems(doc) == []


def test_ids_that_clash_after_reduction_stay_unique() -> None:
    doc = document([Package("a+b", "1", "amd64", "a", "1"), Package("a-b", "1", "amd64", "a", "1")])
    assert [p["SPDXID"] for p in doc["packages"]] == [
        "SPDXRef-Image",
        "SPDXRef-deb-a-b-1-amd64",
        "SPDXRef-deb-a-b-1-amd64-2",
    ]
    assert spdx_problems(doc) == []


def test_license_refs_are_defined_in_the_document() -> None:
    root = {
        "var/lib/dpkg/status": status_stanza("odd", "1"),
        "usr/share/doc/odd/copyright": DEP5.replace("Expat, and Zlib", "BSD-like or GPL-2+"),
    }
    doc = document(read_rootfs(rootfs_tar(root)).packages())
    assert doc["hasExtractedLicensingInfos"] == [
        {
            "licenseId": "LicenseRef-BSD-like",
            "name": "BSD-like",
            "extractedText": "A licence named in Debian copyright files, without an SPDX id; its text is in "
            "/usr/share/doc/odd/copyright",
        }
    ]
    assert spdx_problems(doc) == []


def test_same_input_gives_identical_bytes() -> None:
    first = sbom_json(document(read_rootfs(rootfs_tar(DEBIAN_ROOT)).packages()))
    reordered = dict(reversed(list(DEBIAN_ROOT.items())))
    second = sbom_json(document(read_rootfs(rootfs_tar(reordered, prefix="./")).packages()))
    assert first == second
    assert first.endswith("}\n") and json.loads(first)["spdxVersion"] == "SPDX-2.3"
    assert first == json.dumps(json.loads(first), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_summary_counts_licences_found_and_unasserted() -> None:
    summary = summarize(document(read_rootfs(rootfs_tar(DEBIAN_ROOT)).packages()))
    assert (summary.packages, summary.licensed, summary.unasserted) == (3, 2, ("held-pkg",))
    assert str(summary) == "3 packages, licence found for 2, NOASSERTION for 1 (held-pkg)"


# --- the engine seam, without an engine -------------------------------------------------------


class _FakeContainer:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.removed = False

    def export(self) -> Any:
        return iter(self.chunks)

    def remove(self, force: bool = False, v: bool = False) -> None:
        self.removed = force and v  # forced, with its anonymous volumes (engine.client.remove_container)


class _FakeClient:
    def __init__(self, container: _FakeContainer) -> None:
        self.container = container
        self.created: dict[str, Any] = {}
        self.containers = self

    def create(self, image: str, **options: Any) -> _FakeContainer:
        self.created = {"image": image, **options}
        return self.container


def test_export_is_streamed_and_the_container_removed() -> None:
    data = rootfs_tar(DEBIAN_ROOT).getvalue()
    container = _FakeContainer([data[i : i + 1000] for i in range(0, len(data), 1000)])
    client = _FakeClient(container)
    doc = image_sbom("example/base:1", name="b", created=CREATED, namespace=NAMESPACE, client=client)
    assert summarize(doc).packages == 3
    assert container.removed
    assert client.created["network_mode"] == "none" and client.created["labels"] == {CONTAINER_LABEL: "1"}


def test_a_broken_export_is_engine_trouble_and_still_removes_the_container() -> None:
    container = _FakeContainer([b"\x00garbage" * 10])
    with pytest.raises(EngineError, match="export example/base:1") as info:
        image_sbom("example/base:1", name="b", created=CREATED, namespace=NAMESPACE, client=_FakeClient(container))
    assert info.value.exit_code == 3
    assert container.removed


def test_no_engine_is_an_engine_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    with pytest.raises(EngineError) as info:
        image_sbom("example/base:1", name="b", created=CREATED, namespace=NAMESPACE)
    assert info.value.exit_code == 3


# --- the real bases --------------------------------------------------------------------------


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the containers this test asks the engine for. The engine is shared
    with other runs (another test worker may be scanning an image this very moment), so
    "what appeared meanwhile" is not this test's; the names it asked for are."""
    from docker.models.containers import ContainerCollection

    names: list[str] = []
    real = ContainerCollection.create

    def create(self, image, command=None, **kwargs):  # type: ignore[no-untyped-def]
        names.append(kwargs["name"])  # export_with names each one (imagespec-sbom-…)
        return real(self, image, command, **kwargs)

    monkeypatch.setattr(ContainerCollection, "create", create)
    return names


def _left_behind(client, names: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    return [name for name in names if client.containers.list(all=True, filters={"name": f"^/{name}$"})]


def _real_sbom(client, image: str, created: list[str]) -> tuple[dict[str, Any], float]:  # type: ignore[no-untyped-def]
    require_images(client, image)
    began = time.monotonic()
    doc = image_sbom(image, name=image, created=CREATED, namespace=NAMESPACE, client=client)
    elapsed = time.monotonic() - began
    assert len(created) == 1 and _left_behind(client, created) == [], f"the SBOM's container was left behind: {created}"
    assert spdx_problems(doc) == []
    return doc, elapsed


def _licences(doc: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["licenseDeclared"] for p in doc["packages"] if p["SPDXID"] != "SPDXRef-Image"}


@pytest.mark.engine
def test_slim_base_lists_its_packages_with_licences(client, created) -> None:  # type: ignore[no-untyped-def]
    doc, elapsed = _real_sbom(client, SLIM, created)
    licences = _licences(doc)
    assert 80 <= len(licences) <= 100, sorted(licences)
    assert {"base-files", "dpkg", "libc6", "bash", "apt"} <= set(licences)
    assert "LGPL-2.1-or-later" in licences["libc6"]
    assert licences["base-files"] == "GPL-2.0-or-later"  # free-form file: the heuristic
    assert licences["libgcc-s1"] == licences["gcc-12-base"] != "NOASSERTION"  # via the doc-dir symlink
    summary = summarize(doc)
    assert summary.licensed >= 0.9 * summary.packages, str(summary)
    assert elapsed < 30, f"{elapsed:.1f}s"


@pytest.mark.engine
def test_static_base_lists_its_four_packages(client, created) -> None:  # type: ignore[no-untyped-def]
    doc, _ = _real_sbom(client, STATIC, created)
    licences = _licences(doc)
    assert set(licences) == {"base-files", "netbase", "tzdata", "ca-certificates"}
    assert licences["tzdata"] == "LicenseRef-public-domain"
    assert "MPL-2.0" in licences["ca-certificates"]


@pytest.mark.engine
def test_cc_base_adds_the_c_libraries(client, created) -> None:  # type: ignore[no-untyped-def]
    doc, _ = _real_sbom(client, CC, created)
    licences = _licences(doc)
    assert {"base-files", "netbase", "tzdata", "ca-certificates", "libc6", "libgcc-s1", "libstdc++6"} <= set(licences)
    assert "LGPL-2.1-or-later" in licences["libc6"]
    # the cc base leaves libstdc++6's doc dir out: its licence comes from gcc-12-base's file
    assert licences["libstdc++6"] == licences["gcc-12-base"] != "NOASSERTION"


@pytest.mark.engine
def test_a_missing_image_is_bad_input_and_leaves_no_container(client, created) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError, match="no such image"):
        image_sbom("imagespec-test/no-such-image:0", name="x", created=CREATED, namespace=NAMESPACE, client=client)
    assert _left_behind(client, created) == []
