"""Finding what `extends:` names: a spec path, or a template by name.

Search order for a name: the configuration's `templates:` folders (a company's
shared repo), every `templates/` folder from the spec's folder up to the repository
root (the project's own), then imagespec's built-in presets.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from imagespec.errors import SpecError
from imagespec.spec import files
from imagespec.resources import templates_dir
from imagespec.spec.yaml_source import Document

SUFFIXES = (".yaml", ".yml")


@cache  # where the package is installed does not change while it runs
def builtin_presets() -> Path:
    return templates_dir() / "presets"


def project_template_dirs(start: Path | None) -> list[Path]:
    """Every `templates/` folder from `start` (None: the working directory) up to the
    repository root (or /), nearest first. Walked as strings: this runs for every spec
    that extends a template."""
    found = []
    folder = str(files.resolve(start)) if start is not None else files.working_directory()
    builtin = templates_dir()
    while True:
        candidate = os.path.join(folder, "templates")
        if files.is_dir(candidate) and files.resolve(Path(candidate)) != builtin:
            found.append(Path(candidate))
        parent = os.path.dirname(folder)
        if parent == folder or files.exists(os.path.join(folder, ".git")):
            return found
        folder = parent


def available(dirs: Sequence[Path]) -> list[str]:
    return sorted({p.stem for d in dirs if files.is_dir(d) for p in files.listdir(d) if p.suffix in SUFFIXES})


class TemplateResolver:
    """Maps an `extends:` value, seen in a document, to a file."""

    def __init__(self, dirs: Sequence[Path]) -> None:
        self.dirs = [*dirs, builtin_presets()]
        self.files: dict[str, Path] = {}  # displayed name -> path, for relative extends

    def remember(self, display: str, path: Path) -> None:
        self.files[display] = path

    def __call__(self, target: str, current: Document) -> Path:
        """The file's real path (links followed)."""
        where = current.location(("extends",))
        if "/" in target or target.endswith(SUFFIXES):
            origin = self.files.get(current.file, Path(current.file))
            path = files.resolve(origin.parent / target)
            if not files.is_file(path):
                raise SpecError(f"no spec at '{target}'", location=where,
                                hint="a path is relative to the file that extends it")
            return path
        builtin = self.dirs[-1]
        for folder in self.dirs:
            for suffix in SUFFIXES:
                # probed as a string (the same one folder / name gives): a Path only for the one found
                probe = os.path.join(folder, f"{target}{suffix}")
                if files.is_file(probe):
                    # the built-in presets' folder is a real path already (templates_dir())
                    return Path(probe) if folder is builtin else files.resolve(Path(probe))
        names = available(self.dirs)
        close = difflib.get_close_matches(target, names, n=1)
        raise SpecError(f"unknown template '{target}'", location=where,
                        hint=f"did you mean '{close[0]}'?" if close else f"templates: {', '.join(names)}")
