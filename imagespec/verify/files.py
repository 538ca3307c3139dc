"""What an image's file system holds for ``imagespec test``'s file checks, gathered one tar
member at a time, and remembered by the image's layers.

Role: ``FilesReader`` sees each member of an image's export (its path, its set-user-ID
and set-group-ID bits, whether an executable's bytes are a shell's: BP6); ``probe``
runs it over an export of its own, and the build runs it over the export its SBOM scan
reads anyway (pipeline.sbom_layer), so that `imagespec build` then `imagespec test` of
the same image exports it once, not twice. ``remembered``/``remember`` keep the result
under the image's layer diff IDs: hashes of the layers' content, so an image with the
same list has the same file system, whatever its tags or labels say.

May import: the standard library, ``imagespec.contract`` (the privilege bits) and its own
package (``checks``: the shell signature).
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from imagespec.contract import PRIVILEGE_BITS
from imagespec.verify.checks import ShellScan

#: a file the reader keeps is a small document (an SBOM), not a layer's worth
MAX_READ = 64 << 20
#: Bumped whenever the reader reads differently: remembered file systems of an older
#: version are read again.
FILES_VERSION = 1
#: how much of an executable is read at once while looking for a shell's signature
_SCAN_CHUNK = 1 << 20

#: A member's bytes, opened again on each call (None: none to read)
Opener = Callable[[], "IO[bytes] | None"]


@dataclass
class FileSystem:
    """What one pass over an image's export showed."""

    paths: list[str] = field(default_factory=list)
    content: bytes | None = None  # the file asked for, when it is a regular file of the image
    shell_binaries: list[str] = field(default_factory=list)  # executables whose bytes are a shell's
    privileged: dict[str, int] = field(default_factory=dict)  # set-user-ID / set-group-ID files: mode


class FilesReader:
    """Gathers a FileSystem from the members of one export, in their order. ``wanted``:
    an absolute path whose bytes to keep (``FileSystem.content``)."""

    def __init__(self, wanted: str | None = None) -> None:
        self.seen = FileSystem()
        self._wanted = wanted.lstrip("/") if wanted else None
        #: executables whose bytes the pass did not hand over (the SBOM scan's reads none
        #: bigger than its limit): what was seen is then not the whole story, not kept
        self.unread: list[str] = []

    def visit(self, member: tarfile.TarInfo, opened: Opener) -> None:
        seen = self.seen
        seen.paths.append(member.name)
        if (member.isfile() or member.islnk()) and member.mode & PRIVILEGE_BITS:
            seen.privileged[member.name] = member.mode
        if not member.isfile():
            return
        if self._wanted and member.name.removeprefix("./") == self._wanted and member.size <= MAX_READ:
            handle = opened()
            seen.content = handle.read() if handle else None
        elif member.mode & 0o111:
            handle = opened()
            if handle is None:
                self.unread.append(member.name)
            elif _is_shell(handle):
                seen.shell_binaries.append(member.name)


def _is_shell(handle: IO[bytes]) -> bool:
    scan = ShellScan()
    while chunk := handle.read(_SCAN_CHUNK):
        scan.feed(chunk)
        if scan.is_shell:
            return True
    return False


def with_file(seen: FileSystem, path: str) -> FileSystem:
    """``seen`` with one more regular file, not executable and without privilege bits,
    and the folders above it: what a layer of ``COPY FILE PATH`` adds (the SBOM layer)."""
    names = {name.removeprefix("./").strip("/") for name in seen.paths}
    parts = path.strip("/").split("/")
    added = [p for p in ("/".join(parts[:i]) for i in range(1, len(parts) + 1)) if p not in names]
    return FileSystem([*seen.paths, *added], None, list(seen.shell_binaries), dict(seen.privileged))


def remembered(cache: Path | None, layers: Sequence[str]) -> FileSystem | None:
    """The FileSystem remembered for an image of these layers (without ``content``);
    None when there is none (or it was written by another version)."""
    if cache is None or not layers:
        return None
    try:
        data = json.loads(_path(cache, layers).read_text(encoding="utf-8"))
        return FileSystem([str(p) for p in data["paths"]], None, [str(p) for p in data["shell_binaries"]],
                          {str(k): int(v) for k, v in data["privileged"].items()})
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def remember(cache: Path | None, layers: Sequence[str], seen: FileSystem) -> None:
    """Keep ``seen`` (all but ``content``) for images of these layers."""
    if cache is None or not layers:
        return
    write_whole(_path(cache, layers), json.dumps({"paths": seen.paths, "shell_binaries": seen.shell_binaries,
                                                  "privileged": seen.privileged}))


def write_whole(path: Path, text: str) -> None:
    """Write a cache file whole or not at all (a reader never sees half of it); a cache
    that cannot be written is only slower. The SBOM scans' cache (sbom.store) too."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass


def _path(cache: Path, layers: Sequence[str]) -> Path:
    key = hashlib.sha256(json.dumps(["files", FILES_VERSION, list(layers)]).encode()).hexdigest()
    return cache / f"files-{key}.json"
