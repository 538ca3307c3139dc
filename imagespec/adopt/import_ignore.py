"""The ignore file a `docker build` of the imported Dockerfile read, carried into the
spec's `ignore:` (README "The ignore file"): `imagespec build` reads only the spec's own
ignore file, so a pattern left behind would send a file the Dockerfile's build never saw
(a `secret.env`), and the build would stop at it (pipeline/hand_ignore.py).

Each line is read as the engine reads it (moby/patternmatcher/ignorefile.ReadAll): a
line starting with `#` is a comment, blank lines are nothing, a pattern is trimmed,
cleaned and made relative, `!` kept. The patterns are written as the engine read them
and the comments stay comments, in order, so the spec's list reads like the file.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

from imagespec.adopt.dockerfile_source import _read_regular
from imagespec.errors import Location, SpecError
from imagespec.spec.repository import refuse_link_out
from imagespec.spec.values import no_control_chars


class IgnoreComment(str):
    """A comment line of the ignore file: rendered as a YAML comment inside `ignore:`."""


@dataclass(frozen=True)
class CarriedIgnore:
    path: Path
    entries: list[str]  # patterns and IgnoreComment lines, in the file's order
    left: list[tuple[int, str]]  # (line, why) of the lines a spec cannot hold

    @property
    def patterns(self) -> list[str]:
        return [entry for entry in self.entries if not isinstance(entry, IgnoreComment)]

    def kept_out(self, paths: list[str]) -> list[str]:
        """Those of the context's `paths` the patterns keep out (docker's own matcher)."""
        from docker.utils.build import PatternMatcher

        matcher = PatternMatcher(self.patterns)
        return [path for path in paths if matcher.matches(path)]


def ignore_file(dockerfile: Path) -> Path | None:
    """The file BuildKit reads for this Dockerfile in its own folder (the context
    import assumes): `<Dockerfile>.dockerignore` first, else the context's `.dockerignore`."""
    for path in (dockerfile.with_name(dockerfile.name + ".dockerignore"), dockerfile.parent / ".dockerignore"):
        if path.exists() or path.is_symlink():
            return path
    return None


def carry(dockerfile: Path) -> CarriedIgnore | None:
    path = ignore_file(dockerfile)
    if path is None:
        return None
    refuse_link_out(path, "ignore file", "import the Dockerfile without it (move it away), then write `ignore:`")
    raw = _read_regular(path)
    try:
        text = raw.decode("utf-8-sig")  # the engine trims a BOM too
    except UnicodeDecodeError as exc:
        at = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError("the ignore file is not UTF-8 text", location=Location(str(path), at, 1),
                        hint="save it as UTF-8") from None
    entries: list[str] = []
    left: list[tuple[int, str]] = []
    for number, read in enumerate(text.split("\n"), 1):
        line = read.removesuffix("\r")  # bufio.ScanLines drops a CR before the LF
        try:
            no_control_chars(line)
        except ValueError as exc:
            left.append((number, str(exc)))
            continue
        if line.startswith("#"):
            entries.append(IgnoreComment(line))
        elif line.strip():
            entries.append(engine_pattern(line))
    return CarriedIgnore(path, entries, left)


def engine_pattern(line: str) -> str:
    """The pattern the engine reads from a line that is no comment: trimmed, `!` apart,
    cleaned as Go's filepath.Clean, a leading `/` dropped. One that would start with `#`
    (the line ` #x`) starts with `[#]` instead (the same match): written first on its line
    in the spec's ignore file, `#` would make it a comment there."""
    pattern = line.strip()
    invert = pattern.startswith("!")
    if invert:
        pattern = pattern[1:].strip()
    if pattern:
        pattern = _clean(pattern)
        if len(pattern) > 1 and pattern.startswith("/"):
            pattern = pattern[1:]
    if pattern.startswith("#"):
        pattern = "[#]" + pattern[1:]
    return "!" + pattern if invert else pattern


def _clean(path: str) -> str:
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned  # POSIX keeps `//`; Go does not
