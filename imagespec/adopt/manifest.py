"""A project's manifests (package.json, pyproject.toml, Cargo.toml, pom.xml) as init reads
them: parsed with the error located in the file (a broken manifest is the user's to fix,
not "no project imagespec knows"), and the version they state made into the semantic
version a spec takes, when it maps without changing its meaning.

May import errors and reference (the one version grammar); only reads files handed to it.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from imagespec import reference as grammar
from imagespec.errors import Location, SpecError

_TOML_WHERE = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")


def parse_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        ending = " (the file ends there)" if not text[error.pos:].strip() else ""
        raise SpecError(f"not valid JSON: {error.msg}{ending}", location=Location(str(path), error.lineno, error.colno),
                        hint=f"fix {path.name} (npm reads it too), then run init again") from None


def parse_toml(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # Python 3.11's error has no line attributes: its message ends with where it is
        message = str(error)
        where = _TOML_WHERE.search(message)
        line, col = (int(where.group(1)), int(where.group(2))) if where and where.group(1) else (
            text.count("\n") + 1, 0)
        raise SpecError(f"not valid TOML: {message[:where.start()] if where else message}",
                        location=Location(str(path), line, col),
                        hint=f"fix {path.name}, then run init again") from None


def parse_xml(path: Path, text: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        line, col = error.position
        message = re.sub(r": line \d+, column \d+$", "", str(error))
        raise SpecError(f"not valid XML: {message}", location=Location(str(path), line, col + 1),
                        hint=f"fix {path.name} (Maven reads it too), then run init again") from None


# A release of one to three numbers (PEP 440's `0.1`, Maven's `1.0`, git's `v1.2`), then,
# optionally, a pre-release: PEP 440's a/b/rc (`1.0rc1`: semver's `1.0.0-rc.1`, which
# orders a < b < rc as PEP 440 does) or a semver-style `-QUALIFIER` (Maven's `-SNAPSHOT`).
# Anything else (an epoch, a .postN or .devN, a fourth number, a local `+…`) has no
# semantic version that orders as it does: not guessed at.
_RELEASE = re.compile(r"v?(?P<numbers>[0-9]+(?:\.[0-9]+){0,2})"
                      r"(?:[-_.]?(?P<pep>a|alpha|b|beta|c|rc|pre|preview)[-_.]?(?P<n>[0-9]+)"
                      r"|-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?")
_PEP440_PRE = {"alpha": "a", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc"}


def semantic_version(written: str) -> str | None:
    """The version as a spec takes it: as written when it is one already, else its clean
    mapping (`0.1` → `0.1.0`, `1.0rc1` → `1.0.0-rc.1`, `1.0-SNAPSHOT` → `1.0.0-SNAPSHOT`),
    else None."""
    try:
        return grammar.semantic_version(written)
    except grammar.Invalid:
        pass
    match = _RELEASE.fullmatch(written)
    if match is None:
        return None
    numbers = [str(int(n)) for n in match["numbers"].split(".")]  # 01 → 1: semver has no leading zeros
    release = ".".join(numbers + ["0"] * (3 - len(numbers)))
    if match["pep"]:
        release += f"-{_PEP440_PRE.get(match['pep'], match['pep'])}.{int(match['n'])}"
    elif match["pre"]:
        release += f"-{match['pre']}"
    try:
        return grammar.semantic_version(release)
    except grammar.Invalid:  # a qualifier semver refuses (`-01`: a number with a leading zero)
        return None
