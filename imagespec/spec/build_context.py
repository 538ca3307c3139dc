"""The build context as lint sees it: which COPY sources exist, and how a file begins.

Lint itself stays pure (a function of the compiled spec); the questions it asks of the
files a build would send are answered here, on the loader's side, where files are read.
Nothing here follows a path out of the context: BuildKit cannot either.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from imagespec.contract import WILDCARDS, as_pattern



class BuildContext:
    """A build context folder (resolved), asked read-only questions."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _inside(self, source: str) -> Path | None:
        try:
            path = (self.root / source).resolve()
        except (RuntimeError, OSError):  # a loop of links names nothing the build could send
            return None
        return path if path == self.root or path.is_relative_to(self.root) else None

    def matches(self, source: str) -> bool:
        """Whether a COPY source (a path or a pattern, relative to the context) names anything."""
        if WILDCARDS.isdisjoint(source):
            path = self._inside(source)
            return path is not None and path.exists()
        # Python's glob reads `[` as BuildKit's does: written `[[]`, it is the name's own
        return bool(glob.glob(as_pattern(source), root_dir=self.root, include_hidden=True))

    def is_file(self, source: str) -> bool:
        path = self._inside(source)
        return path is not None and path.is_file()

    def is_dir(self, source: str) -> bool:
        path = self._inside(source)
        return path is not None and path.is_dir()

    def first_line(self, source: str, limit: int = 256) -> str | None:
        """The first line of a regular file in the context (at most `limit` bytes), else None."""
        path = self._inside(source)
        if path is None or not path.is_file():
            return None
        try:
            with open(path, "rb") as handle:
                head = handle.read(limit)
        except OSError:
            return None
        return head.split(b"\n", 1)[0].decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"BuildContext({os.fspath(self.root)!r})"
