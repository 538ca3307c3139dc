"""The Debian packages installed in a root file system, read from its tar stream.

Role: one streaming pass over a rootfs tar (``docker export``, or a tarball written by
mmdebstrap) keeps only dpkg's records and the packages' copyright files, then joins
them into Packages. Two layouts of the dpkg database are read:

- ``var/lib/dpkg/status``: a normal Debian root; one stanza per package that dpkg knows,
  installed or not (``Status:`` says which);
- ``var/lib/dpkg/status.d/<name>``: distroless-style roots, which unpack .debs without
  dpkg; one stanza per file, no ``Status:``, and a file's presence means installed.

May import: the standard library, ``imagespec.errors`` and its own package.
"""

from __future__ import annotations

import posixpath
from functools import partial
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, BinaryIO

from imagespec.sbom.licenses import copyright_licenses
from imagespec.errors import SpecError

_STATUS = "var/lib/dpkg/status"
_STATUS_D = "var/lib/dpkg/status.d/"
_DOC = "usr/share/doc/"
#: Bigger copyright files exist (gcc's is 70 kB, some reach 1 MB); past this the rest is
#: licence texts, and the ``License:`` fields that matter come first.
_MAX_COPYRIGHT_BYTES = 4 << 20
#: Symlink hops followed when resolving a doc path (a loop must end somewhere).
_MAX_HOPS = 16


@dataclass(frozen=True)
class Package:
    """One installed Debian package. ``licenses`` are SPDX expressions (empty when its
    copyright file is missing or says nothing certain); ``copyright`` is the file they
    were read from."""

    name: str
    version: str
    architecture: str
    source: str
    source_version: str
    maintainer: str = ""
    licenses: tuple[str, ...] = ()
    copyright: str | None = None


@dataclass
class Rootfs:
    """What a rootfs tar holds that an SBOM needs (paths without a leading ``./``)."""

    records: list[dict[str, str]] = field(default_factory=list)  # installed packages only
    copyrights: dict[str, str] = field(default_factory=dict)  # usr/share/doc/P/copyright -> text
    symlinks: dict[str, str] = field(default_factory=dict)  # under usr/share/doc: path -> target

    def packages(self) -> list[Package]:
        """The installed packages, sorted by name, architecture and version."""
        by_source: dict[str, list[str]] = {}
        for record in sorted(self.records, key=lambda r: r.get("package", "")):
            path = self.resolve(f"{_DOC}{record.get('package', '')}/copyright")
            if path in self.copyrights:
                by_source.setdefault(_source(record)[0], []).append(path)
        found = [self._package(record, by_source) for record in self.records if record.get("package")]
        return sorted(found, key=lambda p: (p.name, p.architecture, p.version))

    def _package(self, record: dict[str, str], by_source: dict[str, list[str]]) -> Package:
        name = record["package"]
        source, source_version = _source(record)
        path: str | None = self.resolve(f"{_DOC}{name}/copyright")
        if path not in self.copyrights:
            # Debian writes one copyright file per source package; a binary package
            # whose doc dir was left out (distroless roots drop libgcc-s1's symlink)
            # shares it with its siblings.
            path = by_source[source][0] if by_source.get(source) else None
        return Package(
            name=name,
            version=record.get("version", ""),
            architecture=record.get("architecture", ""),
            source=source,
            source_version=source_version or record.get("version", ""),
            maintainer=record.get("maintainer", ""),
            licenses=copyright_licenses(self.copyrights[path]) if path else (),
            copyright=f"/{path}" if path else None,
        )

    def resolve(self, path: str) -> str:
        """``path`` with symlinks among its components followed (only those under
        usr/share/doc were kept, which is where dpkg puts doc-dir symlinks)."""
        for _ in range(_MAX_HOPS):
            parts = path.split("/")
            for end in range(1, len(parts) + 1):
                prefix = "/".join(parts[:end])
                target = self.symlinks.get(prefix)
                if target is not None:
                    base = "" if target.startswith("/") else posixpath.dirname(prefix)
                    joined = posixpath.normpath(posixpath.join("/", base, target, *parts[end:]))
                    path = joined.lstrip("/")
                    break
            else:
                return path
        return path


def read_rootfs(stream: BinaryIO) -> Rootfs:
    """Read a root file system tar (any compression tarfile knows) in one streaming pass.

    Raises SpecError when the stream is not a tar archive.
    """
    rootfs = Rootfs()
    kept: dict[str, str] = {}  # path -> text, for hard links to earlier members
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:
            for member in archive:
                _keep(partial(archive.extractfile, member), member, rootfs, kept)
    except (tarfile.TarError, EOFError) as exc:
        raise SpecError(
            f"not a readable root file system tar: {exc}",
            hint="pass the output of `docker export` or a rootfs tarball (mmdebstrap)",
        ) from None
    return rootfs


def _keep(opened: Callable[[], IO[bytes] | None], member: tarfile.TarInfo, rootfs: Rootfs,
          kept: dict[str, str]) -> None:
    """``opened``: the member's bytes (read once here, if at all)."""
    path = _normal(member.name)
    wanted = path == _STATUS or _is_status_d(path) or _is_copyright(path)
    if member.issym() and path.startswith(_DOC):
        rootfs.symlinks[path] = member.linkname
        return
    if not wanted:
        return
    if member.islnk():
        text = kept.get(_normal(member.linkname))
    elif member.isfile():
        handle = opened()
        text = handle.read(_MAX_COPYRIGHT_BYTES).decode("utf-8", "replace") if handle else None
    else:
        return
    if text is None:
        return
    kept[path] = text
    if _is_copyright(path):
        rootfs.copyrights[path] = text
    elif path == _STATUS:
        rootfs.records += [s for s in stanzas(text) if _installed(s.get("status", ""))]
    else:
        rootfs.records += [s for s in stanzas(text) if "status" not in s or _installed(s["status"])]


def _normal(name: str) -> str:
    """Member names as ``docker export`` (``etc/passwd``) and mmdebstrap (``./etc/passwd``) write them."""
    return posixpath.normpath(name.lstrip("/").removeprefix("./")).lstrip("/")


def _is_status_d(path: str) -> bool:
    name = path.removeprefix(_STATUS_D)
    # dpkg-style databases put .md5sums beside each stanza in status.d
    return path.startswith(_STATUS_D) and "/" not in name and bool(name) and not name.endswith(".md5sums")


def _is_copyright(path: str) -> bool:
    parts = path.split("/")
    return path.startswith(_DOC) and len(parts) == 5 and parts[4] == "copyright"


def _installed(status: str) -> bool:
    # "install ok installed", or "hold ok installed" for a held package; "deinstall ok
    # config-files", "install ok unpacked" and the like are not installed.
    words = status.split()
    return len(words) == 3 and words[1] == "ok" and words[2] == "installed"


def _source(record: dict[str, str]) -> tuple[str, str]:
    """(source package, its version or ""): ``Source: gcc-12 (12.2.0-14)``; absent means
    the binary package has the source package's name and version."""
    value = record.get("source", "").strip()
    if not value:
        return record.get("package", ""), ""
    name, _, rest = value.partition(" ")
    return name, rest.strip().strip("()").strip()


def stanzas(text: str) -> list[dict[str, str]]:
    """deb822 stanzas; field names lower-cased, continuation lines joined by newlines."""
    found: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                found.append(current)
            current, last = {}, ""
        elif line[0] in " \t":
            if last:
                current[last] += "\n" + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            last = name.strip().lower()
            current[last] = value.strip()
    if current:
        found.append(current)
    return found
