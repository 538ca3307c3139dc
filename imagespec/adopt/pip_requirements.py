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


def _includes(path: Path) -> list[tuple[int, str]]:
    """(line number, included path) of each -r/-c line, continuations joined as pip does."""
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
        match = _INCLUDE.fullmatch(_COMMENT.sub("", logical + line).strip())
        if match:
            found.append((start, match.group(1)))
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
