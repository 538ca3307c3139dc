"""The ecosystem scanners of imagespec.sbom on small real inputs: a Go binary's build
information (tests/sbom/fixtures), dist-info METADATA as pip writes it, package.json,
Cargo.lock, jars made here, and a rootfs tar holding all of them at once."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from imagespec.errors import SpecError
from imagespec.sbom import cargo, golang, java, npm, python
from imagespec.sbom.component import Component
from imagespec.sbom.scan import scan_rootfs
from imagespec.sbom.spdx_license import classifier, expression

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
GO_BINARY = (FIXTURES / "go-buildinfo.bin").read_bytes()

MARKUPSAFE_METADATA = """\
Metadata-Version: 2.1
Name: MarkupSafe
Version: 2.1.5
Summary: Safely add untrusted strings to HTML/XML markup.
Home-page: https://palletsprojects.com/p/markupsafe/
Maintainer: Pallets
License: BSD-3-Clause
Classifier: Development Status :: 5 - Production/Stable
Classifier: License :: OSI Approved :: BSD License
Requires-Python: >=3.7
Description-Content-Type: text/x-rst
License-File: LICENSE.rst

MarkupSafe
==========
"""


# -- Go ----------------------------------------------------------------------------------


def test_go_build_info_of_a_real_binary() -> None:
    info = golang.read_build_info(GO_BINARY)
    assert info is not None
    assert info.go_version == "go1.19.8"
    assert info.path == "example.com/hi/cmd/hi"
    assert info.main == golang.Module("example.com/hi", "(devel)")
    assert info.deps == (golang.Module("example.com/greet", "v1.2.3", "./greet"),)


def test_go_modules_never_say_devel() -> None:
    info = golang.read_build_info(GO_BINARY)
    assert info is not None
    found = {(c.name, c.version, c.note) for c in golang.modules(info, "/usr/local/bin/hi")}
    assert found == {("stdlib", "1.19.8", ""), ("example.com/hi", "", "main module"),
                     ("example.com/greet", "v1.2.3", "replaced by the local directory ./greet")}
    assert all("(devel)" not in c.version for c in golang.modules(info, "x"))


def test_go_replacement_by_another_module_is_what_was_compiled_in() -> None:
    info = golang.parse_modinfo("go1.22.1", "path\tx/cmd\nmod\tx\tv1.0.0\t\ndep\ta/b\tv1.0.0\th1:x\n"
                                            "=>\tc/d\tv1.1.0\th1:y\n")
    deps = [c for c in golang.modules(info, "/x") if c.name not in ("stdlib", "x")]
    assert [(c.name, c.version, c.note) for c in deps] == [("c/d", "v1.1.0", "replaces a/b v1.0.0")]


@pytest.mark.parametrize("data", [
    b"",  # nothing
    b"\x7fELF" + b"\0" * 100,  # an ELF without Go
    b"\x7fELF" + b"\0" * 12 + b"\xff Go buildinf:\x08\x00" + b"\0" * 16,  # pre-1.18: pointers, not read
    GO_BINARY[:60],  # cut in the middle of its strings
    b"\x7fELF" + b"\0" * 11 + b"\xff Go buildinf:\x08\x02" + b"\0" * 16 + b"\xff" * 20,  # a varint that never ends
])
def test_go_build_info_absent_or_unreadable_is_none(data: bytes) -> None:
    assert golang.read_build_info(data) is None


# -- Python --------------------------------------------------------------------------------


def test_python_metadata_as_pip_writes_it() -> None:
    found = python.distribution(MARKUPSAFE_METADATA, "/opt/venv/lib/python3.11/site-packages/MarkupSafe-2.1.5.dist-info")
    assert found == Component("pypi", "MarkupSafe", "2.1.5", ("BSD-3-Clause",),
                              location="/opt/venv/lib/python3.11/site-packages/MarkupSafe-2.1.5.dist-info")
    assert found.purl == "pkg:pypi/markupsafe@2.1.5"


def test_python_licence_expression_wins_then_classifiers() -> None:
    pep639 = "Metadata-Version: 2.4\nName: a\nVersion: 1\nLicense-Expression: MIT OR Apache-2.0\nLicense: BSD\n"
    assert python.distribution(pep639, "x").licenses == ("MIT OR Apache-2.0",)
    classified = "Name: b\nVersion: 2\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: MIT License\n"
    assert python.distribution(classified, "x").licenses == ("MIT",)
    vague = "Name: c\nVersion: 3\nClassifier: License :: OSI Approved :: BSD License\n"
    assert python.distribution(vague, "x").licenses == ()  # "BSD License" names no one licence
    worded = "Name: d\nVersion: 4\nLicense: Dual: see the LICENSE file\n"
    assert python.distribution(worded, "x").licenses == ("LicenseRef-Dual-see-the-LICENSE-file",)


def test_python_metadata_of_this_venv_reads() -> None:
    """Real dist-info files, as pip installed them into the test environment."""
    from importlib.metadata import distribution

    installed = distribution("click")
    metadata = Path(str(installed.locate_file(""))) / f"{installed._path.name}/METADATA"  # type: ignore[attr-defined]
    assert python.is_metadata(str(metadata).lstrip("/")), metadata
    found = python.distribution(metadata.read_text(), str(metadata.parent))
    assert found is not None and found.name.lower() == "click" and found.version == installed.version


@pytest.mark.parametrize(("path", "wanted"), [
    ("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA", True),
    ("opt/venv/lib/python3.11/site-packages/a-1.dist-info/METADATA", True),
    ("opt/venv/lib/python3.11/site-packages/a-1.dist-info/RECORD", False),
    ("opt/venv/lib/python3.11/site-packages/a/METADATA", False),
])
def test_python_metadata_paths(path: str, wanted: bool) -> None:
    assert python.is_metadata(path) is wanted


# -- npm ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "wanted"), [
    ("app/node_modules/ms/package.json", True),
    ("app/node_modules/@types/node/package.json", True),
    ("app/node_modules/a/node_modules/b/package.json", True),
    ("app/node_modules/ms/lib/package.json", False),  # a package's own sub-folder
    ("app/package.json", False),  # the app itself: described by the spec
    ("app/node_modules/.bin/package.json", False),
    ("app/node_modules/.package-lock.json", False),
])
def test_npm_manifest_paths(path: str, wanted: bool) -> None:
    assert npm.is_manifest(path) is wanted


def test_npm_package_and_its_licence_forms() -> None:
    lock = json.loads((ROOT / "examples/preset-node/package-lock.json").read_text())
    entry = lock["packages"]["node_modules/ms"]
    manifest = json.dumps({"name": "ms", "version": entry["version"], "license": entry["license"]})
    assert npm.package(manifest, "/app/node_modules/ms") == Component("npm", "ms", "2.1.3", ("MIT",),
                                                                      location="/app/node_modules/ms")
    old = npm.package('{"name": "@s/x", "version": "1.0.0", "licenses": [{"type": "MIT"}, {"type": "Apache 2.0"}]}', "")
    assert old is not None and old.licenses == ("Apache-2.0", "MIT") and old.purl == "pkg:npm/%40s/x@1.0.0"
    assert npm.package('{"name": "x", "version": "1", "license": {"type": "ISC"}}', "").licenses == ("ISC",)
    for broken in ("", "[]", '{"name": 1, "version": "1"}', '{"name": "x"}', "{not json"):
        assert npm.package(broken, "") is None


# -- Cargo ----------------------------------------------------------------------------------


CARGO_LOCK = """\
version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["itoa", "mine"]

[[package]]
name = "itoa"
version = "1.0.11"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "49f1f14873335454500d59611f1cf4a4b0f786f9ac11f4312a78e4cf2566695b"

[[package]]
name = "mine"
version = "0.2.0"
source = "git+https://example.com/mine.git#abc123"
"""


def test_cargo_lock_crates_without_the_workspace_itself() -> None:
    found = cargo.crates(CARGO_LOCK, "Cargo.lock")
    assert [(c.name, c.version, c.note) for c in found] == [
        ("itoa", "1.0.11", ""), ("mine", "0.2.0", "from git+https://example.com/mine.git")]
    assert found[0].purl == "pkg:cargo/itoa@1.0.11"
    # the rust example's own lock names only the app: no dependency to list
    assert cargo.crates((ROOT / "examples/preset-rust/Cargo.lock").read_text(), "x") == []
    assert cargo.crates("not = [toml", "x") == []


# -- Java -----------------------------------------------------------------------------------


def _jar(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


POM = "#Generated by Maven\ngroupId=org.example\nartifactId=lib\nversion=3.4.5\n"
MANIFEST = ("Manifest-Version: 1.0\r\nImplementation-Title: plain-lib\r\nImplementation-Version: 1.\r\n 2.0\r\n"
            "Bundle-License: Apache-2.0;link=https://example.com\r\n\r\nName: other\r\nImplementation-Version: 9\r\n")


def test_java_pom_properties_name_the_artifact() -> None:
    found = java.archives(_jar({"META-INF/MANIFEST.MF": MANIFEST, "META-INF/maven/org.example/lib/pom.properties": POM}),
                          "/app/app.jar")
    assert found == [Component("maven", "lib", "3.4.5", ("Apache-2.0",), location="/app/app.jar", group="org.example")]
    assert found[0].purl == "pkg:maven/org.example/lib@3.4.5"


def test_java_manifest_alone_and_nested_jars() -> None:
    inner = _jar({"META-INF/maven/com.x/inner/pom.properties": "groupId=com.x\nartifactId=inner\nversion=1.0\n"})
    outer = _jar({"META-INF/MANIFEST.MF": MANIFEST, "BOOT-INF/lib/inner-1.0.jar": inner})
    found = java.archives(outer, "/app/app.jar")
    assert [(c.group, c.name, c.version, c.location) for c in found] == [
        ("", "plain-lib", "1.2.0", "/app/app.jar"),  # the continuation line joined; the second section ignored
        ("com.x", "inner", "1.0", "/app/app.jar!/BOOT-INF/lib/inner-1.0.jar")]
    assert java.archives(b"not a zip", "x") == []


# -- licences -------------------------------------------------------------------------------


@pytest.mark.parametrize(("words", "expected"), [
    ("MIT", "MIT"), ("mit", "MIT"), ("(MIT OR Apache-2.0)", "(MIT OR Apache-2.0)"),
    ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"), ("GPL-2.0", "GPL-2.0-only"),
    ("Apache License 2.0", "Apache-2.0"), ("BSD", "LicenseRef-BSD"), ("MIT AND", "LicenseRef-MIT-AND"),
    ("UNLICENSED", None), ("SEE LICENSE IN LICENSE.txt", None), ("", None), ("x" * 500, None),
])
def test_licence_words(words: str, expected: str | None) -> None:
    assert expression(words) == expected


def test_licence_classifiers() -> None:
    assert classifier("License :: OSI Approved :: Apache Software License") is None  # which version?
    assert classifier("License :: OSI Approved :: MIT License") == "MIT"
    assert classifier("Topic :: Software Development") is None


# -- one pass over a rootfs ----------------------------------------------------------------


def _tar(files: dict[str, tuple[bytes, int]]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, (content, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), mode
            archive.addfile(info, io.BytesIO(content))
    buffer.seek(0)
    return buffer


STATUS = b"""Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u7
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0
"""


def test_one_pass_finds_every_ecosystem() -> None:
    stream = _tar({
        "var/lib/dpkg/status": (STATUS, 0o644),
        "usr/local/bin/hi": (GO_BINARY, 0o755),
        "usr/local/bin/data": (GO_BINARY, 0o644),  # not executable: not read as a program
        "opt/venv/lib/python3.11/site-packages/MarkupSafe-2.1.5.dist-info/METADATA": (MARKUPSAFE_METADATA.encode(),
                                                                                      0o644),
        "app/node_modules/ms/package.json": (b'{"name": "ms", "version": "2.1.3", "license": "MIT"}', 0o644),
        "app/node_modules/ms/lib/package.json": (b'{"name": "inner", "version": "0.0.1"}', 0o644),
        "app/app.jar": (_jar({"META-INF/maven/org.example/lib/pom.properties": POM}), 0o644),
        "src/Cargo.lock": (CARGO_LOCK.encode(), 0o644),
        "root/.cargo/registry/src/index/itoa-1.0.11/Cargo.lock": (CARGO_LOCK.replace("1.0.11", "9.9.9").encode(),
                                                                  0o644),
    })
    found = {(c.ecosystem, c.display_name, c.version) for c in scan_rootfs(stream).components()}
    assert found == {
        ("deb", "libc6", "2.36-9+deb12u7"),
        ("golang", "stdlib", "1.19.8"), ("golang", "example.com/hi", ""), ("golang", "example.com/greet", "v1.2.3"),
        ("pypi", "MarkupSafe", "2.1.5"), ("npm", "ms", "2.1.3"), ("maven", "org.example:lib", "3.4.5"),
        ("cargo", "itoa", "1.0.11"), ("cargo", "mine", "0.2.0"),
    }


def test_the_same_package_twice_is_listed_once() -> None:
    manifest = b'{"name": "ms", "version": "2.1.3"}'
    stream = _tar({"a/node_modules/ms/package.json": (manifest, 0o644),
                   "b/node_modules/ms/package.json": (manifest, 0o644)})
    assert [c.location for c in scan_rootfs(stream).components()] == ["/a/node_modules/ms"]


def test_not_a_tar_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="not a readable root file system tar"):
        scan_rootfs(io.BytesIO(b"this is not a tar archive at all" * 40))


def test_java_title_in_words_falls_back_to_the_file_name() -> None:
    """The JDK's jrt-fs.jar says "Implementation-Title: Java Runtime Environment"."""
    jar = _jar({"META-INF/MANIFEST.MF": "Implementation-Title: Java Runtime Environment\n"
                                        "Implementation-Version: 17.0.13\n"})
    (found,) = java.archives(jar, "/usr/lib/jvm/java-17-openjdk-amd64/lib/jrt-fs.jar")
    assert (found.name, found.version) == ("jrt-fs", "17.0.13")
