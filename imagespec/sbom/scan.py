"""Every package an image's file system records, in one streaming pass over its tar.

Role: route each tar member to the scanner that reads it (dpkg's database and copyright
files, dist-info METADATA, node_modules manifests, Go executables' build information,
jars, Cargo.lock files) and collect Components. Reads a ``docker export`` stream or any
rootfs tarball; nothing is written to disk, and only the members a scanner wants are
held in memory, one at a time. Pure (a stream in, records out). May import: the
standard library, ``imagespec.errors`` and its own package.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, BinaryIO

from imagespec.errors import SpecError
from imagespec.sbom import cargo, executable, golang, java, npm, python
from imagespec.sbom.component import Component
from imagespec.sbom.dpkg import Package, Rootfs, _keep, _normal

#: Bumped whenever a scanner reads differently: cached scans (store.scan_cached) of an
#: older version are not reused.
SCANNERS = 2
#: Executables and archives bigger than this are not read (a Go binary is 2-100 MB).
MAX_READ = 512 << 20
#: Lock files and manifests bigger than this are not package records.
MAX_TEXT = 8 << 20
#: crate sources unpacked by cargo hold their own Cargo.lock files: not the app's
_CARGO_CACHES = ("/.cargo/registry/", "/cargo/registry/", "/.cargo/git/", "/cargo/git/")


@dataclass
class Scan:
    """What one pass found: Debian's records (joined into packages at the end, since a
    copyright file may come after its status stanza) and every other ecosystem's."""

    rootfs: Rootfs = field(default_factory=Rootfs)
    found: list[Component] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: static executables and those with a known version string (not Go's: no C library)
    executables: list[executable.Executable] = field(default_factory=list)

    def components(self) -> list[Component]:
        """Every package once, sorted (the same package at two paths is one entry, at its
        first path in sorted order)."""
        debian = [from_debian(p) for p in self.rootfs.packages()]
        unique: dict[tuple[str, ...], Component] = {}
        for component in sorted([*debian, *self.found], key=sort_key):
            unique.setdefault((*component.key, component.version), component)
        return list(unique.values())


def sort_key(component: Component) -> tuple[str, ...]:
    return (component.ecosystem, component.group, component.name, component.version, component.architecture,
            component.location)


def from_debian(package: Package) -> Component:
    source = ""
    if package.source != package.name or package.source_version != package.version:
        source = f"built from the Debian source package {package.source} {package.source_version}".rstrip()
    return Component("deb", package.name, package.version, package.licenses, location=package.copyright or "",
                     architecture=package.architecture, note=source)


def scan_rootfs(stream: BinaryIO, visit: Visit | None = None) -> Scan:
    """Read a root file system tar (any compression tarfile knows) in one pass; ``visit``
    sees every member too, with a way to read its bytes (read from the stream once, for
    whichever reader asks first: imagespec test's file checks on a build's export).

    Raises SpecError when the stream is not a tar archive."""
    scan = Scan()
    kept: dict[str, str] = {}
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:
            for member in archive:
                opened = _Opened(archive, member)
                if visit is not None:
                    visit(member, opened)
                _keep(opened, member, scan.rootfs, kept)
                # dpkg's records are read already, as what they are
                if member.isfile() and 0 < member.size <= MAX_READ and _normal(member.name) not in kept:
                    _read(opened, member, scan)
    except (tarfile.TarError, EOFError) as exc:
        raise SpecError(f"not a readable root file system tar: {exc}",
                        hint="pass the output of `docker export` or a rootfs tarball") from None
    return scan


#: what else reads each member of the scan's pass: (the member, its bytes when asked)
Visit = Callable[[tarfile.TarInfo, Callable[[], "IO[bytes] | None"]], None]


class _Opened:
    """A regular member's bytes, read from the stream on the first call (a stream does not
    rewind) and handed to every later caller from memory; None for any other member and
    for one bigger than MAX_READ."""

    def __init__(self, archive: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        self._archive, self._member = archive, member
        self._data: bytes | None = None

    def __call__(self) -> IO[bytes] | None:
        if self._data is None:
            if not self._member.isfile() or self._member.size > MAX_READ:
                return None
            handle = self._archive.extractfile(self._member)
            self._data = handle.read() if handle else b""
        return io.BytesIO(self._data)


def _read(opened: _Opened, member: tarfile.TarInfo, scan: Scan) -> None:
    path = _normal(member.name)
    location = f"/{path}"
    if python.is_metadata(path) and member.size <= MAX_TEXT:
        found = python.distribution(_text(opened), location.removesuffix("/METADATA"))
        scan.found += [found] if found else []
    elif npm.is_manifest(path) and member.size <= MAX_TEXT:
        found = npm.package(_text(opened), location.removesuffix("/package.json"))
        scan.found += [found] if found else []
    elif path.rpartition("/")[2] == "Cargo.lock" and member.size <= MAX_TEXT and not any(
            cache in location for cache in _CARGO_CACHES):
        scan.found += cargo.crates(_text(opened), location)
    elif java.is_archive(path):
        scan.found += java.archives(_bytes(opened), location)
    elif member.mode & 0o111:
        _read_executable(_bytes(opened), location, scan)


def _read_executable(data: bytes, location: str, scan: Scan) -> None:
    if not golang.is_elf(data[:4]):
        return
    if golang.MAGIC not in data:
        facts = executable.read(data, location)
        # a shared library names no loader either, and is no program: not recorded
        library = re.search(r"\.so(\.[0-9.]+)?$", location) is not None
        if facts is not None and ((facts.static and not library) or facts.program):
            scan.executables.append(facts)
        return
    info = golang.read_build_info(data)
    if info is None:
        scan.notes.append(f"{location}: a Go binary whose build information is in the pre-1.18 format, not read")
    else:
        scan.found += golang.modules(info, location)


def _bytes(opened: _Opened) -> bytes:
    handle = opened()
    return handle.read() if handle else b""


def _text(opened: _Opened) -> str:
    return _bytes(opened).decode("utf-8", "replace")
