"""`imagespec test`'s file facts (verify.files): gathered on the SBOM scan's own pass over a
build's export as on an export of their own, remembered by the image's layers, and the
one file the SBOM layer adds put on top. Pure: tar streams made here."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from imagespec.sbom.scan import scan_rootfs
from imagespec.verify import files
from imagespec.verify.checks import BUSYBOX_SIGNATURE, SHELL_SIGNATURES

ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 9
STATUS = (b"Package: dash\nStatus: install ok installed\nVersion: 0.5.12-2\nArchitecture: amd64\n"
          b"Source: dash\n\n")
METADATA = b"Metadata-Version: 2.1\nName: markupsafe\nVersion: 2.1.5\nLicense: BSD-3-Clause\n"


class _OneWay(io.RawIOBase):
    """A stream that cannot seek, as `docker export` is: a member is readable once."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _rootfs() -> bytes:
    members = [
        ("bin", None, 0o755), ("bin/sh", ELF + b" ".join(SHELL_SIGNATURES) * 3, 0o755),
        ("bin/busybox", ELF + BUSYBOX_SIGNATURE + b"1.36", 0o755),
        ("usr/bin/su", ELF + b"not a shell", 0o4755), ("usr/bin/wall", ELF, 0o2755),
        ("usr/local/bin/start.sh", b"#!/bin/sh\necho PS1 PS2 PS4 OPTIND getopts\n", 0o755),
        ("var/lib/dpkg/status", STATUS, 0o644),
        ("usr/share/doc/dash/copyright", b"License: BSD-3-Clause\n", 0o755),  # read by dpkg's reader first
        ("opt/venv/lib/python3.11/site-packages/markupsafe-2.1.5.dist-info/METADATA", METADATA, 0o644),
        ("app/data.bin", ELF + b"PS1 PS2 PS4 OPTIND getopts", 0o644),  # not executable: no shell
    ]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("usr/bin/sh-link")
        link.type, link.linkname, link.mode = tarfile.LNKTYPE, "usr/bin/su", 0o4755
        archive.addfile(link)
    return buffer.getvalue()


def _alone_reader(data: bytes, wanted: str | None = None) -> files.FilesReader:
    """What `imagespec test` gathers on an export of its own (probe.image_files' loop)."""
    reader = files.FilesReader(wanted)
    with tarfile.open(fileobj=io.BufferedReader(_OneWay(data)), mode="r|") as archive:
        for member in archive:
            reader.visit(member, lambda: archive.extractfile(member))  # noqa: B023 - called at once
    return reader


def _alone(data: bytes, wanted: str | None = None) -> files.FileSystem:
    return _alone_reader(data, wanted).seen


def test_the_scans_pass_gathers_what_a_pass_of_its_own_does_and_the_scan_is_unchanged() -> None:
    data = _rootfs()
    reader = files.FilesReader()
    visited = scan_rootfs(io.BufferedReader(_OneWay(data)), reader.visit)
    assert reader.seen == _alone(data)
    assert sorted(reader.seen.shell_binaries) == ["bin/busybox", "bin/sh"]  # by content, not by name
    assert reader.seen.privileged == {"usr/bin/su": 0o4755, "usr/bin/wall": 0o2755, "usr/bin/sh-link": 0o4755}
    assert len(reader.seen.paths) == 11
    # the scan reads the members the reader read too (one read from the stream for both)
    assert visited.components() == scan_rootfs(io.BufferedReader(_OneWay(data))).components()
    assert {(c.ecosystem, c.name) for c in visited.components()} == {("deb", "dash"), ("pypi", "markupsafe")}


def test_an_executable_the_scan_does_not_read_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan reads no member bigger than its limit: a shell that big would go unseen, so
    the pass says which executables it did not hand over (and the build keeps nothing)."""
    from imagespec.sbom import scan

    monkeypatch.setattr(scan, "MAX_READ", 40)
    reader = files.FilesReader()
    scan_rootfs(io.BufferedReader(_OneWay(_rootfs())), reader.visit)
    assert reader.unread == ["bin/sh", "usr/local/bin/start.sh"] and reader.seen.shell_binaries == ["bin/busybox"]
    assert files.FilesReader().unread == [] and _alone_reader(_rootfs()).unread == []


def test_a_wanted_file_is_kept_on_the_way() -> None:
    assert _alone(_rootfs(), "/var/lib/dpkg/status").content == STATUS
    assert _alone(_rootfs(), "/bin").content is None  # a folder: nothing to keep


def test_the_sbom_layers_file_and_its_new_folders_are_added_once() -> None:
    seen = files.FileSystem(["usr", "usr/share", "usr/bin/su"], None, ["bin/sh"], {"usr/bin/su": 0o4755})
    added = files.with_file(seen, "/usr/share/imagespec/sbom/app.spdx.json")
    assert added.paths == ["usr", "usr/share", "usr/bin/su", "usr/share/imagespec", "usr/share/imagespec/sbom",
                           "usr/share/imagespec/sbom/app.spdx.json"]
    assert added.shell_binaries == ["bin/sh"] and added.privileged == {"usr/bin/su": 0o4755}
    assert seen.paths == ["usr", "usr/share", "usr/bin/su"]  # the one below is not changed
    # the export's own spelling (./usr/…) counts as there
    assert files.with_file(files.FileSystem(["./usr/", "./usr/share"]), "/usr/share/x").paths[-1] == "usr/share/x"


def test_remembered_by_the_layers_and_only_by_them(tmp_path: Path) -> None:
    seen = files.FileSystem(["bin", "bin/sh"], b"not kept", ["bin/sh"], {"usr/bin/su": 0o4755})
    files.remember(tmp_path, ["sha256:a", "sha256:b"], seen)
    again = files.remembered(tmp_path, ["sha256:a", "sha256:b"])
    assert again == files.FileSystem(["bin", "bin/sh"], None, ["bin/sh"], {"usr/bin/su": 0o4755})
    assert files.remembered(tmp_path, ["sha256:a"]) is None  # another file system
    assert files.remembered(tmp_path, ["sha256:b", "sha256:a"]) is None  # the same layers in another order
    assert files.remembered(None, ["sha256:a", "sha256:b"]) is None and files.remembered(tmp_path, []) is None
    files.remember(tmp_path, [], seen)  # an image of no layers is not one to remember
    assert sorted(p.name.startswith("files-") for p in tmp_path.iterdir()) == [True]


@pytest.mark.parametrize("text", ["", "{", "[]", '{"paths": 1}', '{"paths": [], "shell_binaries": []}'])
def test_a_damaged_entry_is_read_again_not_trusted(tmp_path: Path, text: str) -> None:
    files.remember(tmp_path, ["sha256:a"], files.FileSystem(["bin"]))
    (entry,) = tmp_path.iterdir()
    entry.write_text(text)
    assert files.remembered(tmp_path, ["sha256:a"]) is None
