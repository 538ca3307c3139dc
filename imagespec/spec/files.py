"""Every look the compiler takes at the disk, in one place, so that it can be recorded.

The compiler's output is a function of its arguments, the working directory, the
environment variable IMAGESPEC_CONFIG, imagespec's own code and what it sees here: the
bytes of the files it reads, and whether the paths it probes (a configuration file in a
parent folder, a template in each search folder) exist. Inside `recording()` each look
is noted with what it saw; `observe()` looks again the same way. The CLI's result cache
(imagespec.cache) replays the notes of a past compile: when every look sees the same
thing, the compiler would write the same bytes.

Files that ship with imagespec (the built-in catalog and presets) are not noted: the
cache keys on the code and templates of the installation instead.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imagespec.errors import Location, SpecError

# (kind, path, what was seen); None while nobody records (a long-lived process pays one
# comparison per look)
Note = tuple[str, str, object]
_notes: list[Note] | None = None

MISSING = "missing"
# the configuration file looked for from a spec's folder upwards (here, not in config.py,
# so that the CLI's cached path knows it without importing the configuration's reader)
CONFIG_NAME = ".imagespec.yaml"


def observe(kind: str, path: str) -> object:
    """What a look of `kind` at `path` sees now: the same function records and replays."""
    if kind == "read":
        try:
            with open(path, "rb") as handle:
                return hashlib.sha256(handle.read()).hexdigest()
        except OSError:
            return MISSING
    if kind == "is_file":
        return os.path.isfile(path)
    if kind == "is_dir":
        return os.path.isdir(path)
    if kind == "exists":
        return os.path.exists(path)
    if kind == "resolve":
        try:
            return str(Path(path).resolve())
        except (RuntimeError, OSError):  # a loop of links now: not what was noted
            return MISSING
    if kind == "size":
        try:
            return os.stat(path).st_size
        except OSError:
            return MISSING
    if kind == "list":
        try:
            return sorted(os.listdir(path))
        except OSError:
            return MISSING
    raise ValueError(f"unknown kind of look: {kind}")


def _note(kind: str, path: str | Path, seen: object) -> None:
    if _notes is not None:
        _notes.append((kind, str(path), seen))


@contextmanager
def recording() -> Iterator[list[Note]]:
    """Notes every look taken inside the block (not thread-safe: the CLI compiles one spec at a time)."""
    global _notes
    outer, _notes = _notes, []
    try:
        yield _notes
    finally:
        _notes = outer


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def kind_of(mode: int) -> str | None:
    """What a file of ``mode`` is when it is not a regular file (None when it is): reading
    a FIFO waits for a writer for ever, a device may act on being opened."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "no regular file")


def not_regular(path: str | Path) -> str | None:
    """``kind_of`` the file at ``path`` (links followed); None when it is regular or absent."""
    try:
        return kind_of(os.stat(path).st_mode)
    except OSError:
        return None


def read_bytes(path: Path, *, limit: int | None = None) -> bytes:
    """The file's bytes; with `limit`, at most limit + 1 of them (more than `limit` is the
    caller's error to report: a huge file is not read whole to say so)."""
    if limit is None:
        raw = path.read_bytes()
    else:
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    if _notes is not None:
        _note("read", path, hashlib.sha256(raw).hexdigest())
    return raw


def size(path: Path) -> int | None:
    """The file's size in bytes (None: no such file). The kernel's own files (/proc/kmsg)
    say 0 and may block a read until something happens: a caller asks first."""
    try:
        seen: int | None = os.stat(path).st_size
    except OSError:
        seen = None
    _note("size", path, MISSING if seen is None else seen)
    return seen


# os.path's tests take a str or a Path: a walk up the folders needs no Path per step
def is_file(path: str | Path) -> bool:
    seen = os.path.isfile(path)
    _note("is_file", path, seen)
    return seen


def is_dir(path: str | Path) -> bool:
    seen = os.path.isdir(path)
    _note("is_dir", path, seen)
    return seen


def exists(path: str | Path) -> bool:
    seen = os.path.exists(path)
    _note("exists", path, seen)
    return seen


class LinkLoop(SpecError):
    """A path whose symbolic links lead in a circle, located at the path (the message does
    not repeat it); callers that know the spec key which named it report it there, naming
    ``path``."""

    def __init__(self, path: Path) -> None:
        super().__init__("its symbolic links lead in a circle", location=Location(str(path)),
                         hint="point the link at a real file or folder")
        self.path = path


def resolve(path: Path) -> Path:
    """Path.resolve(), which follows symbolic links: a re-pointed link changes what it names."""
    try:
        resolved = path.resolve()
    except (RuntimeError, OSError):  # a loop of links: RuntimeError before Python 3.13, OSError after
        raise LinkLoop(path) from None
    _note("resolve", path, str(resolved))
    return resolved


def working_directory() -> str:
    """str(resolve(Path.cwd())), noted the same, without its look at every folder above:
    the kernel gives the working directory as a real path already (no links in it)."""
    here = os.getcwd()
    _note("resolve", here, here)
    return here


def configs_from(folder: Path) -> Iterator[Path]:
    """Every .imagespec.yaml from `folder` (real) upwards to the repository root, nearest
    first: the files a spec there is configured by (spec.config), and those a --config
    file leaves unread (jobs.compiling.note_unread_configs), found the one way."""
    for candidate in (folder, *folder.parents):
        found = candidate / CONFIG_NAME
        if is_file(found):
            yield found
        if exists(candidate / ".git"):
            return


def listdir(path: Path) -> list[Path]:
    names = sorted(os.listdir(path))
    _note("list", path, names)
    return [path / name for name in names]
