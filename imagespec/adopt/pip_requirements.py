"""The files a pip requirements file includes (`-r base.txt`, `-c constraints.txt`), read
as pip reads them (never run): the dependency step copies them beside it, or pip fails
in the build ("Could not open requirements file").

May import the standard library only; reads files under the project's folder and none
outside it.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

MAX_READ = 1 << 20  # a requirements file bigger than this is not read
MAX_FILES = 50  # included files followed, so a strange tree cannot stall init

# pip's own spellings: -r FILE, -rFILE, --requirement FILE, --requirement=FILE; -c likewise
_INCLUDE = re.compile(r"(?:-[rc]\s*|--(?:requirement|constraint)(?:\s*=\s*|\s+))(\S+)")
_COMMENT = re.compile(r"(?:^|\s+)#.*$")
_EDITABLE = re.compile(r"^(?:-e\s*|--editable(?:\s*=\s*|\s+))")
#: a requirement that is a path of the folder: `.`, `.[dev]`, `./x`, `../x`, `/x`, `file:…`
#: (pip reads one only when it starts with these; `name @ file:…` too)
_LOCAL = re.compile(r"(?:\.{1,2}(?:/|\[|$)|/|file:|[A-Za-z0-9_.-]+\s*@\s*file:)")


def included_files(root: Path, name: str) -> tuple[list[str], list[str]]:
    """(the files `name` includes, recursively, as paths relative to root in the order
    pip reads them; a note for each include that cannot be copied: outside the folder,
    missing, a URL or a variable)."""
    files: list[str] = []
    notes: list[str] = []
    pending = [name]
    seen = {name}
    while pending and len(seen) <= MAX_FILES:
        current = pending.pop(0)
        for number, target in _includes(root / current):
            where = f"{current}:{number}"
            path = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
            if "://" in target:
                notes.append(f"{where} includes {target[:80]!r}: a URL, which pip downloads in the build")
            elif "$" in target:
                notes.append(f"{where} includes {target[:80]!r}, with a variable pip expands: not copied (add the "
                             "file to stages.venv.dependencies.copy+)")
            elif target.startswith("/") or path == ".." or path.startswith("../"):
                notes.append(f"{where} includes {target[:80]!r}, outside the folder: the build cannot read it "
                             "(move it into the folder)")
            elif not _regular_file_inside(root, path):
                notes.append(f"{where} includes {target[:80]!r}, which is not a file in the folder: pip will fail")
            elif path not in seen:
                seen.add(path)
                files.append(path)
                pending.append(path)
    return files, notes


def local_installs(root: Path, names: list[str]) -> list[str]:
    """A note for each requirement of ``names`` that installs code of the folder (`-e .`,
    `./libs/x`, `file:…`): the dependency step holds the requirements files alone (BP4),
    so pip fails there ("does not appear to be a Python project"; QA: init said nothing)."""
    notes = []
    for name in names:
        for number, line in _lines(root / name):
            target = _EDITABLE.sub("", line)
            if target != line and re.match(r"[\w+.-]+://|git\+", target):
                continue  # `-e git+https://…`: a repository pip clones, not the folder
            if _LOCAL.match(target):
                notes.append(f"{name}:{number}: {line[:80]!r} installs code of the folder, which the dependency step "
                             "does not hold (it copies the requirements alone, BP4): pip fails there; install it "
                             "after the source is copied (a build stage's run), or list its packages")
    return notes


def _includes(path: Path) -> list[tuple[int, str]]:
    """(line number, included path) of each -r/-c line, continuations joined as pip does."""
    return [(number, match.group(1)) for number, line in _lines(path) if (match := _INCLUDE.fullmatch(line))]


def _lines(path: Path) -> list[tuple[int, str]]:
    """(first line number, text) of each logical line, continuations joined and comments
    removed as pip does; none for a file that cannot be read or is too big."""
    try:
        if path.stat().st_size > MAX_READ:
            return []
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    found = []
    logical, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if not logical:
            start = number
        if line.endswith("\\"):
            logical += line[:-1]
            continue
        whole = _COMMENT.sub("", logical + line).strip()
        if whole:
            found.append((start, whole))
        logical = ""
    return found


def _regular_file_inside(root: Path, relative: str) -> bool:
    """A regular file that stays under root once its links are followed (a link out of
    the folder would make init read, and the build context carry, a file from elsewhere)."""
    path = root / relative
    try:
        return path.is_file() and path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False
