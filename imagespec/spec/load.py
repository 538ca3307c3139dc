"""Spec files -> LoadedSpec: the validated Spec, its source Document and paths.

The only place (with config.py and catalog.py) that reads files for the compiler.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from imagespec.errors import SpecError
from imagespec.spec.loader import Document, parse_yaml, read_yaml
from imagespec.spec.model import Spec
from imagespec.spec.validate import validate


@dataclass(frozen=True)
class LoadedSpec:
    spec: Spec
    document: Document
    path: Path | None  # None for specs given as text

    @property
    def folder(self) -> Path:
        return (self.path.parent if self.path else Path.cwd()).resolve()

    @property
    def dockerfile_path(self) -> Path:
        return self.folder / self.spec.dockerfile

    @property
    def dockerignore_path(self) -> Path:
        # BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile first, then the
        # context's .dockerignore; we write the context one, which every builder reads.
        return self.context / ".dockerignore"

    @property
    def context(self) -> Path:
        return (self.folder / self.spec.context).resolve()

    def display_name(self, relative_to: Path | None = None) -> str:
        """The spec's name as written in headers: relative to the Dockerfile's folder,
        so the text is the same on every machine."""
        if self.path is None:
            return self.document.file
        base = relative_to or self.dockerfile_path.parent
        return Path(os.path.relpath(self.path.resolve(), base)).as_posix()


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_spec(path: Path) -> LoadedSpec:
    document = read_yaml(path, display=display(path))
    return LoadedSpec(validate(document), document, path)


def load_spec_text(text: str, name: str = "<spec>") -> LoadedSpec:
    document = parse_yaml(text, name)
    return LoadedSpec(validate(document), document, None)


__all__ = ["LoadedSpec", "SpecError", "load_spec", "load_spec_text"]
