"""Values reach the Dockerfile through these functions, never through string
formatting (hpccm and neurodocker break on spaces, quotes and `$` because they
format by hand). Each either produces text the Dockerfile parser reads back as
exactly the input, or refuses with a reason.

Facts relied on (BuildKit's shell lexer, checked on Engine 20.10 and 28.x): inside
double quotes `\\\\`, `\\"` and `\\$` are escapes and any other backslash is literal;
there is no escape for a newline in ENV, LABEL or ARG.

hadolint's parser (2.12 to 2.15 at least) reads a backslash before a quote as escaping that
quote, even when the backslash is itself escaped: it rejects `ENV A="x\\\\"` and
`ENV A="a\\\\\\"b"` ("unexpected '\"'"), and takes `["x\\\\"]` for a shell-form CMD (DL3025),
though BuildKit reads them as `x\\`, `a\\"b` and `x\\`. So a run of backslashes that comes
before a quote or the value's end is written where no quote follows it: outside the
double quotes (`"x"\\\\""`: an unquoted `\\\\` is a backslash to BuildKit too), and in JSON
as `\\u005c`. Everything else is written as before.
"""

from __future__ import annotations

import json
import re

from imagespec.errors import SpecPathError
from imagespec.contract import reads_as_json_array


# json.dumps(value, ensure_ascii=False) without a new encoder per call
_JSON = json.JSONEncoder(ensure_ascii=False)


# a run of backslashes before a quote or the end: hadolint misreads it in quotes (module docstring)
_BACKSLASHES_BEFORE_QUOTE = re.compile(r'(\\+)(?="|$)')


def exec_form(argv: tuple[str, ...]) -> str:
    """JSON array: the exec form of ENTRYPOINT, CMD, SHELL and HEALTHCHECK (BP2).
    JSON escapes newlines and quotes, so no value can end the line."""
    text = _JSON.encode(list(argv))
    if "\\" not in text:
        return text
    return "[" + ", ".join(_json_string(item) for item in argv) + "]"


def _json_string(value: str) -> str:
    """One JSON string, each backslash before a quote or the end written `\\u005c`."""
    parts = _BACKSLASHES_BEFORE_QUOTE.split(value)  # odd items: the runs of backslashes
    return '"' + "".join("\\u005c" * len(part) if odd else _JSON.encode(part)[1:-1]
                         for odd, part in _alternating(parts)) + '"'


def _alternating(parts: list[str]) -> list[tuple[bool, str]]:
    return [(index % 2 == 1, part) for index, part in enumerate(parts)]


def quoted(value: str, *, path: tuple[str | int, ...] = ()) -> str:
    """A double-quoted word for ENV, LABEL and ARG values; a run of backslashes before a
    quote or the end is written unquoted between two quoted parts (`"C:\\\\dir"\\\\""`)."""
    if "\n" in value or "\r" in value:
        raise SpecPathError("a newline cannot be written in an ENV, LABEL or ARG value (the Dockerfile has no escape for it)",
                            path=path, hint="split the value into several variables, or ship it as a file")
    parts = _BACKSLASHES_BEFORE_QUOTE.split(value) if "\\" in value else [value]
    return '"' + "".join('"' + "\\\\" * len(part) + '"' if odd else _escaped(part)
                         for odd, part in _alternating(parts)) + '"'


def _escaped(text: str) -> str:
    """Text inside double quotes: `\\`, `"` and `$` escaped (BuildKit's three escapes there)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")


def pairs(items: tuple[tuple[str, str], ...], *, path: tuple[str | int, ...] = ()) -> list[str]:
    return [f"{key}={quoted(value, path=(*path, key))}" for key, value in items]


_ARG_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def arg_references(items: tuple[tuple[str, str], ...]) -> list[str]:
    """`GOARCH=${TARGETARCH}`: ENV values that are build args, expanded by the frontend.
    Only compiler passes make such items; a value that is not an arg name is a bug."""
    for key, name in items:
        if not _ARG_NAME.fullmatch(name):
            raise ValueError(f"ENV {key}: {name!r} is not a build-arg name")
    return [f"{key}=${{{name}}}" for key, name in items]


# BuildKit reads any word `[fd]<<[-]WORD` as a heredoc, whatever WORD is (`<<1`, `<<&:`,
# `<<"$X"`), so any `<<` not part of a `<<<` here-string counts
_HEREDOC = re.compile(r"<<-?\s*['\"]?[A-Za-z_]|(?<!<)<<(?![<\s])")
_CONTINUES = re.compile(r"\\[ \t]*$")


def shell_safe(command: str) -> bool:
    """Whether a command can stand on a shell-form RUN line as written: one line; no
    trailing backslash (it would swallow the next instruction); not starting with `#`
    (inside a continued RUN the parser drops such lines as comments); no `<<WORD`
    (newer frontends read it as a heredoc and take the following lines); no leading or
    trailing whitespace (the parser trims any Unicode space there, which can leave a
    backslash at the end: `a\\<VT>` would become a continuation); not starting with `-`
    (RUN would read `--network=host` or `--mount=…` as its own flag); not a JSON array
    (`["touch", "/x"]`: RUN would run it in exec form, without a shell)."""
    # the substring tests first: both patterns need them, and most commands have neither
    return ("\n" not in command and "\r" not in command
            and not ("\\" in command and _CONTINUES.search(command))
            and not command.lstrip().startswith("#") and not ("<<" in command and _HEREDOC.search(command))
            and command == command.strip() and not command.startswith("-")
            and not (command.startswith("[") and reads_as_json_array(command)))


# Shell-form RUN joins commands with `&&`, so a later command runs only when the ones
# before it succeeded. A command that is itself a list binds looser than `&&`:
# `x && a || b` runs b when x fails, `x && a; b` runs b and hides x's failure, and
# `x && a & b` sends the whole chain to the background. Such a command runs in a
# subshell, as a unit, the way it ran as a RUN of its own.
_LIST = re.compile(r";|\|\||(?<![&<>|])&(?![&>])")
# `#` starting a word begins a comment, which would swallow every command joined after it
_COMMENT = re.compile(r"(?:^|[\s;&|()])#")


def has_comment(command: str) -> bool:
    # the substring test first: the pattern is tried at every position, and most commands have no `#`
    return "#" in command and _COMMENT.search(command) is not None


# A command that changes the shell itself (its folder, variables, umask, options, or
# ends it) would reach the commands merged after it, which as RUNs of their own start
# afresh in the stage's WORKDIR: such a command runs in a subshell when another follows.
# Names only at the start of a simple command; an assignment with no command after it.
_STATEFUL = re.compile(
    # a line continuation is a blank too
    r"(?:(?:^|[;&|(){}\n!])(?:\s|\\\n)*|\b(?:then|do|else|if|elif|while|until)(?:\s|\\\n)+)"
    r"(?:(?:cd|pushd|popd|export|unset|set|umask|source|\.|alias|unalias|shopt|exit|exec|trap|ulimit|readonly"
    r"|declare|typeset|eval|shift|return|hash|enable)(?=[\s;&|)]|$)"
    r"|[A-Za-z_][A-Za-z0-9_]*=(?:\S*)(?=\s*(?:$|[;&|)\n])))")


def changes_shell_state(command: str) -> bool:
    return _STATEFUL.search(command) is not None


def _isolated(command: str, *, last: bool) -> bool:
    return not last and changes_shell_state(command)


def separate_commands(commands: tuple[str, ...]) -> tuple[str, ...]:
    """The lines of a script (`set -e` stops it at a failure): every command but the last
    that changes the shell runs in a subshell, so the next starts as a RUN of its own would."""
    last = len(commands) - 1
    return tuple(f"(\n{c}\n)" if _isolated(c, last=i == last) else c for i, c in enumerate(commands))


def and_chain(head: tuple[str, ...], commands: tuple[str, ...]) -> tuple[str, ...]:
    """The items of `a && b && c`: `head` (the CA prelude, whose exports must reach the
    rest) as it is, then each command in a subshell when it is a list (which binds looser
    than `&&`) or changes the shell for the commands after it."""
    items, last = list(head), len(commands) - 1
    for i, command in enumerate(commands):
        first = not items
        wrap = (not first and _is_list(command)) or _isolated(command, last=i == last) or \
            (i < last and _ends_in_a_terminator(command))
        items.append(f"( {command} )" if wrap else command)
    return tuple(items)


def _ends_in_a_terminator(command: str) -> bool:
    """`echo a;` or `serve &`: valid alone, but `echo a; && next` is a syntax error. The
    first command needs no parentheses otherwise (`a; b && c` runs c when b succeeded, as
    RUN c after RUN a; b does)."""
    end = command.rstrip()
    return end.endswith(";") or (end.endswith("&") and not end.endswith("&&"))


def _is_list(command: str) -> bool:
    # the substring tests first: the pattern is tried at every position of a long command
    return ("&" in command or ";" in command or "|" in command) and _LIST.search(command) is not None


def heredoc_delimiter(script: str) -> str:
    lines = set(script.splitlines())
    name, n = "EOF", 0
    while name in lines:
        n += 1
        name = f"EOF{n}"
    return name
