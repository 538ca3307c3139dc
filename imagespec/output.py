"""Writing generated files: all or nothing, atomically (a reader never sees half a
Dockerfile, and a failing spec among several leaves every file untouched)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(files: dict[Path, str]) -> list[Path]:
    """Write every file via a temp file + rename; returns the paths whose content changed."""
    staged: list[tuple[Path, str]] = []
    changed = []
    try:
        for path, text in files.items():
            if path.exists() and path.read_text(encoding="utf-8") == text:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            staged.append((Path(tmp), str(path)))
        for tmp, target in staged:
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
            changed.append(Path(target))
    finally:
        for tmp, _ in staged:
            if tmp.exists():
                tmp.unlink()
    return changed
