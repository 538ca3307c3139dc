"""Writing generated files: all or nothing, atomically (a reader never sees half a
Dockerfile, and a failing spec among several leaves every file untouched).

May import: imagespec.errors, imagespec.contract (the generated-file header).
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from imagespec.contract import GENERATED_MARK
from imagespec.errors import ImageSpecError, Location, SpecError

if TYPE_CHECKING:  # pragma: no cover
    import difflib

# How every file `generate` writes begins (render/dockerfile.py and the Dockerfile
# template write it; a test holds them to it): a file without it was written by hand.
# a parser directive (`# syntax=`, `# escape=`) may come first
_MARK_WITHIN = 3


def _cannot(action: str, path: Path, exc: OSError | UnicodeDecodeError) -> ImageSpecError:
    # the CLI promises a message, never a traceback: a directory where the Dockerfile
    # should be, a read-only folder or a binary file are the user's to fix
    if isinstance(exc, IsADirectoryError):  # a path given wrongly (`-o FOLDER`): bad input, exit 2
        return SpecError(f"cannot {action} this file: it is a directory", location=Location(str(path)),
                         hint="name a file, not a folder")
    # mkdir of the file's folders meets a file where a folder goes (`dockerfile: imagespec.yaml/Dockerfile`)
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        return SpecError(f"cannot {action} this file: a part of its path is a file, not a folder",
                         location=Location(str(path)), hint="name a path inside a folder")
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if isinstance(exc, PermissionError) or (isinstance(exc, OSError) and exc.errno == errno.EROFS):
        # a path the user may not write (-o in a read-only folder): bad input, as
        # refuse_unwritable says it for --sbom FILE
        return SpecError(f"cannot {action} this file: {reason}", location=Location(str(path)),
                         hint="name a file in a folder you can write to, or make this one writable"
                         if action == "write" else "make the file readable, or name another")
    return ImageSpecError(f"cannot {action} this file: {reason}", location=Location(str(path)))


def read_current(path: Path) -> str:
    """A generated file's current text; empty when it does not exist yet. A link or a
    FIFO, device or socket where the file goes is never read (``not_a_file``): a committed
    `Dockerfile -> /etc/shadow` would put that file's lines into `check`'s diff on a CI
    machine, and reading a FIFO blocks for ever."""
    odd = not_a_file(path)
    if odd:
        return odd
    try:
        return path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise _cannot("read", path, exc) from None


def not_a_file(path: Path) -> str:
    """What stands where a generated file goes when it is not a regular file (a link, a
    FIFO, a device, a socket), as the one line `check` shows for its text; '' otherwise
    (a regular file, nothing, or a folder, which the read reports). The atomic write
    replaces a link itself, never the file it leads to, so a link is simply stale."""
    if path.is_symlink():
        return f"(a symbolic link, to {os.readlink(path)!r}, not read: imagespec generate writes a regular file here)\n"
    if path.exists() and not path.is_file() and not path.is_dir():
        return "(a FIFO, device or socket, not read: imagespec generate writes a regular file here)\n"
    return ""


def stale_diff(committed: str, expected: str, committed_name: str, expected_name: str) -> str:
    """The unified diff `check` shows from a committed generated file to what is generated
    now, as small as the change: difflib's autojunk heuristic (on by default) treats any
    line seen in over 1% of a file of 200 lines or more as junk, and a bake file repeats
    `}` and `"network": "host"` in every target, so an unchanged line showed as removed
    and added again."""
    import difflib

    a, b = committed.splitlines(True), expected.splitlines(True)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return "".join(_unified(matcher, a, b, committed_name, expected_name))


def _unified(matcher: difflib.SequenceMatcher[str], a: list[str], b: list[str], from_name: str, to_name: str,
             context: int = 3) -> Iterator[str]:
    """difflib.unified_diff's text for the opcodes of ``matcher`` over ``a`` and ``b``
    (unified_diff makes its own matcher, with autojunk on, and takes no other)."""
    started = False
    for group in matcher.get_grouped_opcodes(context):
        if not started:
            started = True
            yield f"--- {from_name}\n"
            yield f"+++ {to_name}\n"
        first, last = group[0], group[-1]
        yield f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in a[i1:i2])
                continue
            if tag in ("replace", "delete"):
                yield from ("-" + line for line in a[i1:i2])
            if tag in ("replace", "insert"):
                yield from ("+" + line for line in b[j1:j2])


def _range(start: int, stop: int) -> str:
    """A hunk's range as unified_diff writes it (difflib._format_range_unified)."""
    length = stop - start
    beginning = start + 1 if length else start
    return str(beginning) if length == 1 else f"{beginning},{length}"


def written_by_hand(path: Path) -> bool:
    """Whether `path` holds something imagespec did not generate, which `generate` must not
    replace unasked: an existing, non-empty file without the generated header, or a link
    (someone put it there; what it leads to is not read: ``read_current``)."""
    if path.is_symlink():
        return True
    try:
        if not path.is_file():
            return False
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False  # what cannot be read cannot be replaced either: the write reports it
    if not text.strip():
        return False  # empty: nothing to lose
    return not any(line.startswith(GENERATED_MARK) for line in text.splitlines()[:_MARK_WITHIN])


def write_atomically(files: dict[Path, str]) -> list[Path]:
    """Write every file via a temp file + rename; returns the paths whose content changed."""
    _refuse_special(files)
    staged: list[tuple[Path, str]] = []
    changed: list[Path] = []
    path = Path()
    try:
        for path, text in files.items():
            if path.exists() and read_current(path) == text:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            staged.append((Path(tmp_name), str(path)))
        for tmp, target in staged:
            path = Path(target)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
            changed.append(Path(target))
    except OSError as exc:
        raise _cannot("write", path, exc) from None
    finally:
        for tmp, _ in staged:
            if tmp.exists():
                tmp.unlink()
    return changed


def _refuse_special(files: dict[Path, str]) -> None:
    """Bad input (exit 2), before anything is read or written: a device, FIFO or socket
    where a file goes. The rename that makes a write atomic would replace it with a
    regular file (`-o /dev/null` run as root would leave the machine without a null
    device), and reading a FIFO to compare would block."""
    for path in files:
        if path.exists() and not path.is_file() and not path.is_dir():
            raise SpecError("cannot write this file: it is not a regular file (a device, FIFO or socket), which the "
                            "atomic write would replace", location=Location(str(path)),
                            hint="name a regular file; `-o -` prints to standard output")


def refuse_unwritable(path: Path, *, option: str) -> None:
    """SpecError (bad input, exit 2) unless a file can be written at ``path``: checked
    before a long job whose result goes there (a build), so a wrong ``option`` (--sbom
    FILE) fails at once, with nothing built, not after the build (BP14: nothing
    half-done). A new regular file or one to replace, in a folder that exists or can be
    made and takes new files; never a folder, a FIFO or a device, which the write would
    block on or replace."""
    where = Location(str(path))
    if path.is_dir():
        raise SpecError(f"{option}: {path} is a folder", location=where, hint="name a file, not a folder")
    if path.exists() and not path.is_file():
        raise SpecError(f"{option}: {path} is not a regular file (a FIFO, socket or device)", location=where,
                        hint="name a new file, or an SBOM written before (which is replaced)")
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:  # write_atomically makes the missing folders
        folder = folder.parent
    if not folder.is_dir():
        raise SpecError(f"{option}: a part of {path}'s path is a file, not a folder", location=where,
                        hint="name a path inside a folder")
    try:  # what the write does first: permissions, a read-only file system, root or not
        handle, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise SpecError(f"{option}: cannot write in {folder}: {exc.strerror or exc}", location=where,
                        hint="name a file in a folder you can write to") from None
    os.close(handle)
    os.unlink(probe)
