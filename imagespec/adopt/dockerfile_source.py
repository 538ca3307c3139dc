"""A Dockerfile read with BuildKit's own parser (the `dockerfile` package), checked the
way the builder would check it, and cut into stages.

The parser is BuildKit's first half only: it splits instructions, but an unknown
instruction, a FROM without an image or an instruction before the first FROM come
back as ordinary commands. Those are refused here, each at its `file:line:col`, as
`docker build` refuses them. The text is handed to the Go parser as a C string, so a
NUL byte would silently end the file there: it is refused first.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import dockerfile

from imagespec.errors import Location, SpecError
from imagespec.spec import files
from imagespec.spec.repository import refuse_link_out

MAX_BYTES = 4 << 20  # a Dockerfile larger than this is not a Dockerfile a person maintains
MAX_INSTRUCTIONS = 20_000
MAX_WORD = 16  # characters of an unknown instruction's word quoted in its error (HEALTHCHECK is 11)
INSTRUCTIONS = frozenset({"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
                          "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
                          "WORKDIR"})
#: the flags each instruction takes; BuildKit refuses any other (`CMD --listen :80` is not a CMD)
FLAGS = {"FROM": {"platform"}, "RUN": {"mount", "network", "security"},
         "COPY": {"from", "chown", "chmod", "link", "exclude", "parents"},
         "ADD": {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", "unpack"},
         "HEALTHCHECK": {"interval", "timeout", "start-period", "start-interval", "retries"}}
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")
_DIRECTIVE = re.compile(r"#\s*([A-Za-z]+)\s*=\s*(.*?)\s*")


@dataclass
class Stage:
    index: int
    line: int
    base: str  # the FROM argument as written
    name: str | None  # `AS name`, lower case as BuildKit compares it
    platform: str | None
    instructions: list[dockerfile.Command] = field(default_factory=list)


@dataclass
class Source:
    file: str
    escape: str
    syntax: str | None
    global_args: list[dockerfile.Command]
    stages: list[Stage]


def where(source: str, command: dockerfile.Command | None = None, line: int | None = None) -> Location:
    return Location(source, line or (command.start_line if command else 1), 1)


def read_text(path: Path) -> str:
    """The Dockerfile's text. A committed link leading out of its repository is refused
    unread: its lines would be echoed in errors (`unknown instruction`) into a public log."""
    refuse_link_out(path, "Dockerfile", "import the file itself (a copy inside the repository), not a link to it")
    raw = _read_regular(path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError("the Dockerfile is not UTF-8 text", location=Location(str(path), line, col),
                        hint="save it as UTF-8") from None


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file. Anything else is refused by what it is, before it is
    opened (a FIFO would block the read, a device may act on being opened), and again
    on the open file, which O_NONBLOCK keeps from waiting for a FIFO's writer."""
    try:
        _refuse_other_than_file(path, os.stat(path).st_mode)
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise SpecError("no such Dockerfile", location=Location(str(path)),
                        hint="imagespec import PATH/TO/Dockerfile") from None
    except OSError as exc:
        raise SpecError(f"cannot read the Dockerfile: {exc.strerror or exc}", location=Location(str(path)),
                        hint="check the path and its permissions") from None
    with os.fdopen(handle, "rb") as opened:
        status = os.fstat(opened.fileno())
        _refuse_other_than_file(path, status.st_mode)
        raw = opened.read(MAX_BYTES + 1)
    if max(len(raw), status.st_size) > MAX_BYTES:
        raise SpecError(f"the Dockerfile is {max(len(raw), status.st_size)} bytes; import reads at most {MAX_BYTES}",
                        location=Location(str(path), 1, 1), hint="is this a Dockerfile?")
    return raw


def _refuse_other_than_file(path: Path, mode: int) -> None:
    kind = files.kind_of(mode)
    if kind is None:
        return
    raise SpecError(f"the Dockerfile is not a regular file ({kind})", location=Location(str(path)),
                    hint="name the Dockerfile itself: imagespec import PATH/TO/Dockerfile")


def _refuse_nul(text: str, name: str) -> None:
    at = text.find("\x00")
    if at >= 0:
        line = text.count("\n", 0, at) + 1
        col = at - (text.rfind("\n", 0, at) + 1) + 1
        raise SpecError("a NUL byte in the Dockerfile", location=Location(name, line, col),
                        hint="remove it; BuildKit would read the file only up to there")


def directives(text: str) -> dict[str, str]:
    """`# syntax=` and `# escape=` at the top of the file, before any other line."""
    found: dict[str, str] = {}
    for line in _lines(text):
        match = _DIRECTIVE.fullmatch(line)
        if not match or match.group(1).lower() in found:
            break
        found[match.group(1).lower()] = match.group(2)
    return found


def _parse(text: str, name: str) -> tuple[dockerfile.Command, ...]:
    try:
        return dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        raise SpecError(f"BuildKit's parser refuses the Dockerfile: {exc}", location=_error_line(text, name, str(exc)),
                        hint="`docker build` fails the same way; fix the Dockerfile first") from None


def _lines(text: str, *, keepends: bool = False) -> list[str]:
    """The Dockerfile's lines as BuildKit counts them: they end at \\n (\\r\\n) only, not at
    the other breaks str.splitlines() knows (U+2028, U+0085, \\x0b, \\x0c, \\x1c-\\x1e)."""
    lines = _LINE.findall(text)
    return lines if keepends else [line.removesuffix("\n").removesuffix("\r") for line in lines]


def _error_line(text: str, name: str, message: str) -> Location:
    if "max allowed size" in message:  # bufio's token limit: the first line longer than it
        for number, line in enumerate(_lines(text), 1):
            if len(line.encode("utf-8")) >= 65535:
                return Location(name, number, 65535)
    if "heredoc" in message:  # the last `<<WORD` is the one that is never closed
        for number, line in reversed(list(enumerate(_lines(text), 1))):
            if "<<" in line:
                return Location(name, number, line.find("<<") + 1)
    return _first_refused_line(text, name, message)


def _first_refused_line(text: str, name: str, message: str) -> Location:
    """The parser's message names no line: the shortest run of the file's first lines it
    refuses with the same message ends at the line it refuses (it stops at its first
    error), found by bisection. A token the message quotes (`can't find = in "#"`) gives
    the column."""
    lines = _lines(text, keepends=True)
    good, bad = 0, len(lines)  # the first `good` lines parse (or fail otherwise); the first `bad` fail the same
    while bad - good > 1:
        middle = (good + bad) // 2
        try:
            dockerfile.parse_string("".join(lines[:middle]))
        except dockerfile.GoParseError as exc:
            if str(exc) == message:
                bad = middle
                continue
        good = middle
    line = lines[bad - 1] if lines else ""
    quoted = re.search(r' in "(.+?)"', message)
    token = re.search(rf"(?<!\S){re.escape(quoted.group(1))}(?!\S)", line) if quoted else None
    return Location(name, max(bad, 1), token.start() + 1 if token else 1)


def parse(text: str, name: str) -> Source:
    _refuse_nul(text, name)
    found = directives(text)
    escape = found.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise SpecError(f"invalid escape directive {escape!r}", location=Location(name, 1, 1),
                        hint="BuildKit accepts only `# escape=\\` or `# escape=``")
    commands = _parse(text, name)
    if len(commands) > MAX_INSTRUCTIONS:
        raise SpecError(f"{len(commands)} instructions; import reads at most {MAX_INSTRUCTIONS}",
                        location=Location(name, 1, 1), hint="split the Dockerfile")
    return _stages(commands, name, escape, found.get("syntax"))


def _stages(commands: tuple[dockerfile.Command, ...], name: str, escape: str, syntax: str | None) -> Source:
    source = Source(name, escape, syntax, [], [])
    for command in commands:
        kind = command.cmd.upper()
        if kind not in INSTRUCTIONS:
            raise SpecError(f"unknown instruction: {_word(command.cmd)}", location=where(name, command),
                            hint=f"Dockerfile instructions: {', '.join(sorted(INSTRUCTIONS))}")
        _check_flags(command, kind, name)
        if kind == "FROM":
            source.stages.append(_stage(command, len(source.stages), name))
        elif not source.stages:
            if kind != "ARG":
                raise SpecError(f"{kind} before the first FROM", location=where(name, command),
                                hint="a Dockerfile starts with FROM (only ARG may come before it)")
            source.global_args.append(command)
        else:
            source.stages[-1].instructions.append(command)
    if not source.stages:
        raise SpecError("no FROM: the Dockerfile has no stage", location=Location(name, 1, 1),
                        hint="a Dockerfile starts with FROM IMAGE")
    return source


def _word(cmd: str) -> str:
    """The instruction word of a line BuildKit does not know, never the rest of it: the line
    may be a secret (`DB_PASSWORD=…`) of a file imported by mistake, and errors go to logs."""
    word = re.split(r"[\s=]", cmd, maxsplit=1)[0]
    return word if len(word) <= MAX_WORD else word[:MAX_WORD] + "…"


def _check_flags(command: dockerfile.Command, kind: str, name: str) -> None:
    for flag in command.flags:
        key = flag.lstrip("-").split("=", 1)[0]
        if key not in FLAGS.get(kind, ()):
            raise SpecError(f"{kind} has no flag {flag.split('=', 1)[0]}", location=where(name, command),
                            hint="BuildKit refuses it too; an argument that starts with -- belongs in the exec form"
                            " (CMD [\"--flag\"])")


def _stage(command: dockerfile.Command, index: int, name: str) -> Stage:
    value = command.value
    if len(value) == 1 or (len(value) == 3 and value[1].upper() == "AS"):
        platform = next((f.split("=", 1)[1] for f in command.flags if f.startswith("--platform=")), None)
        return Stage(index, command.start_line, value[0], value[2].lower() if len(value) == 3 else None, platform)
    raise SpecError("FROM takes IMAGE [AS NAME]", location=where(name, command),
                    hint="e.g. FROM golang:1.22 AS build")
