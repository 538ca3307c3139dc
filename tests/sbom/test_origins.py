"""What a static image holds that no record in its file system names (issue #15): the
facts read from an ELF executable (static or not, glibc's marks, tini's version string),
the Components the build's knowledge adds (tini from the init stage, the C library a
static program was linked with, from the build stage's dpkg status), how the documents
mark them as not read from the image, and where --sbom puts each platform's SBOM."""

from __future__ import annotations

import io
import struct
import tarfile
from pathlib import Path

import pytest

from imagespec.jobs.building import sbom_file_for
from imagespec.sbom import executable, golang
from imagespec.sbom.document import EVIDENCE, App, document
from imagespec.sbom.dpkg import Package
from imagespec.sbom.origins import BuildStage, InitStage, built_in
from imagespec.sbom.scan import scan_rootfs
from tests.sbom.test_scanners import GO_BINARY
from tests.sbom.validators import cyclonedx_problems, spdx_problems

PT_LOAD, PT_INTERP = 1, 3
LIBC6_DEV = Package("libc6-dev", "2.36-9+deb12u14", "amd64", "glibc", "2.36-9+deb12u14", "GNU Libc Maintainers",
                    ("GPL-2.0-or-later", "LGPL-2.1-or-later"), "/usr/share/doc/libc6-dev/copyright")
CROSS = Package("libc6-dev-arm64-cross", "2.36-8cross1", "all", "cross-toolchain-base", "66", "Debian")


def elf(*segments: int, body: bytes = b"", kind: int = 2) -> bytes:
    """A 64-bit little-endian ELF file with one program header per segment type."""
    header = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    header += struct.pack("<HHIQQQIHHHHHH", kind, 0x3E, 1, 0, 64, 0, 0, 64, 56, len(segments), 0, 0, 0)
    table = b"".join(struct.pack("<IIQQQQQQ", s, 5, 0, 0, 0, 0, 0, 0) for s in segments)
    return header + table + body


def test_a_program_without_a_loader_is_static_and_one_with_is_not() -> None:
    static = executable.read(elf(PT_LOAD, body=b"..GLIBC_TUNABLES.."), "/usr/local/bin/hello")
    dynamic = executable.read(elf(PT_LOAD, PT_INTERP), "/usr/bin/env")
    assert static == executable.Executable("/usr/local/bin/hello", True, "glibc")
    assert dynamic is not None and not dynamic.static
    assert executable.read(elf(PT_LOAD, kind=1), "/x.o") is None  # a relocatable object is no program
    assert executable.read(b"#!/bin/sh\n" * 10, "/x") is None


def test_tini_says_its_version_and_musl_leaves_no_glibc_mark() -> None:
    found = executable.read(elf(PT_LOAD, body=b"\0tini version 0.19.0-1\0"), "/usr/bin/tini")
    assert found == executable.Executable("/usr/bin/tini", True, "", "tini", "0.19.0-1")


def _tar(files: dict[str, tuple[bytes, int]]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def test_the_scan_records_static_programs_and_tini_but_not_libraries_or_go() -> None:
    scan = scan_rootfs(_tar({
        "usr/bin/tini": (elf(PT_LOAD, body=b"tini version 0.19.0-1"), 0o755),
        "usr/local/bin/hello": (elf(PT_LOAD, body=b"GLIBC_TUNABLES"), 0o755),
        "usr/lib/libfoo.so.1.2": (elf(PT_LOAD, kind=3), 0o755),  # a library names no loader either
        "usr/bin/env": (elf(PT_LOAD, PT_INTERP), 0o755),
        "usr/local/bin/hi": (GO_BINARY, 0o755),  # Go: static, no C library; its modules are read
    }))
    assert [(e.location, e.libc, e.program) for e in scan.executables] == [
        ("/usr/bin/tini", "", "tini"), ("/usr/local/bin/hello", "glibc", "")]


def test_the_init_stages_tini_and_the_build_stages_libc_are_listed_with_their_evidence() -> None:
    programs = [executable.Executable("/usr/bin/tini", True, "", "tini", "0.19.0-1"),
                executable.Executable("/usr/local/bin/hello", True, "glibc"),
                executable.Executable("/usr/local/bin/other", True, "glibc")]
    stages = [BuildStage("/usr/local/bin/hello", "build", "imagespec-test/gcc:bookworm", (LIBC6_DEV,)),
              BuildStage("/usr/local/bin/other", "build", "imagespec-test/gcc:bookworm", (LIBC6_DEV,))]
    found, notes = built_in(programs, stages, InitStage("/usr/bin/tini", "imagespec-tini"))
    assert notes == []
    assert [(c.name, c.version, c.licenses, c.location) for c in found] == [
        ("tini", "0.19.0-1", ("MIT",), "/usr/bin/tini"),
        ("libc6-dev", "2.36-9+deb12u14", LIBC6_DEV.licenses, "/usr/local/bin/hello")]  # once for both programs
    tini, libc = found
    assert tini.purl == "pkg:deb/debian/tini@0.19.0-1?arch=source"  # the Debian source package it came from
    assert "init stage 'imagespec-tini'" in tini.evidence and "Debian source package tini" in tini.note
    assert "imagespec-test/gcc:bookworm" in libc.evidence


def test_without_the_init_stage_a_tini_is_not_claimed() -> None:
    programs = [executable.Executable("/usr/bin/tini", True, "", "tini", "0.19.0")]
    assert built_in(programs, [], None) == ([], [])


def test_a_cross_build_takes_the_targets_library_and_never_the_build_machines() -> None:
    program = executable.Executable("/usr/local/bin/carch", True, "glibc")
    cross = BuildStage("/usr/local/bin/carch", "build", "gcc", (LIBC6_DEV, CROSS), "libc6-dev-arm64-cross", "arm64")
    ([found], _) = built_in([program], [cross], None)
    assert (found.name, found.version) == ("libc6-dev-arm64-cross", "2.36-8cross1")
    # installed by the stage while building (not in its image): not known, and said so
    absent = BuildStage("/usr/local/bin/carch", "build", "gcc", (LIBC6_DEV,), "libc6-dev-arm64-cross", "arm64")
    found_none, notes = built_in([program], [absent], None)
    assert found_none == []
    assert notes == ["/usr/local/bin/carch is linked statically with glibc; the build stage 'build''s image gcc "
                     "records no libc6-dev-arm64-cross or libc6-dev for arm64: installed while building, so its "
                     "version is not known"]


@pytest.mark.parametrize("fmt", ["spdx", "cyclonedx"])
def test_records_not_read_from_the_image_are_marked_and_validate(fmt: str) -> None:
    programs = [executable.Executable("/usr/bin/tini", True, "", "tini", "0.19.0-1")]
    found, _ = built_in(programs, [], InitStage("/usr/bin/tini", "imagespec-tini"))
    produced = document(fmt, App("c", "1.0.0", "MIT"), found, created="2024-01-02T03:04:05Z")
    assert (spdx_problems(produced) if fmt == "spdx" else cyclonedx_problems(produced)) == []
    if fmt == "spdx":
        (annotation,) = produced["packages"][1]["annotations"]
        assert annotation["comment"].startswith(EVIDENCE) and produced["packages"][1]["supplier"] == \
            "Organization: Debian"
    else:
        properties = {p["name"]: p["value"] for p in produced["components"][0]["properties"]}
        assert properties["imagespec:evidence"].startswith(EVIDENCE)


def test_the_go_standard_library_is_the_architecture_the_binary_was_built_for() -> None:
    info = golang.read_build_info(GO_BINARY)
    assert info is not None and info.setting("GOARCH") == "amd64"
    (stdlib,) = [c for c in golang.modules(info, "/x") if c.name == "stdlib"]
    assert stdlib.purl == "pkg:golang/stdlib@1.19.8?arch=amd64"


@pytest.mark.parametrize(("given", "written"), [
    ("out/app.spdx.json", "out/app.linux-arm64.spdx.json"),
    ("app.cdx.json", "app.linux-arm64.cdx.json"),
    ("sbom.json", "sbom.linux-arm64.json"),
    ("sbom", "sbom.linux-arm64"),
])
def test_each_platforms_sbom_file_has_the_platform_in_its_name(given: str, written: str) -> None:
    assert sbom_file_for(Path(given), "linux/arm64") == Path(written)
