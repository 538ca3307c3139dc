"""BuildKit's word processing, as `imagespec import` needs it: the quotes, escapes and
`$VAR` references of ENV, ARG, LABEL, EXPOSE, WORKDIR, USER, COPY and FROM arguments
become the literal value the builder would use.

A spec's values are literal (the serializer escapes `$`), so a reference is expanded
here with the value the Dockerfile gave that variable; a reference to a variable the
Dockerfile does not define (one of the base image's, `$PATH`, or a build-time platform
argument) cannot be written in the spec and raises `Unknown`, so the instruction stays
a comment instead of meaning something else. Follows moby/buildkit
frontend/dockerfile/shell/lex.go for the forms Dockerfiles use.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Unknown(ValueError):
    """A word refers to a variable whose value is not known from the Dockerfile; `name`
    is the variable's, where one is named."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name


def process_word(word: str, variables: Mapping[str, str], escape: str = "\\") -> str:
    """The literal value BuildKit reads `word` as, with `variables` defined."""
    out: list[str] = []
    i = 0
    while i < len(word):
        ch = word[i]
        if ch == escape:
            if i + 1 < len(word):
                out.append(word[i + 1])
                i += 2
            else:
                out.append(ch)  # a lone escape at the end stays
                i += 1
        elif ch == "'":
            end = word.find("'", i + 1)
            if end < 0:
                raise Unknown("unmatched single quote")
            out.append(word[i + 1:end])
            i = end + 1
        elif ch == '"':
            i = _double_quoted(word, i + 1, variables, escape, out)
        elif ch == "$":
            i = _dollar(word, i, variables, escape, out)
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def read_word(word: str, variables: Mapping[str, str], escape: str = "\\",
              declared: Collection[str] | None = None) -> tuple[str, list[str]]:
    """process_word's value, and the names of the variables it looked up (set or not: an
    unset ARG's `${NAME:-word}` fallback depends on NAME too), in order. ``declared``: the
    names the Dockerfile declares without a value (an ARG with no default); any other
    name not in ``variables`` may be the base image's, so `${NAME:-word}` of it is Unknown
    as `$NAME` is (QA: `${GOPATH:-/x}` read as unset, `/x`, without a word)."""
    looked = _Looked(variables, declared)
    return process_word(word, looked, escape), looked.names


class _Looked(Mapping[str, str]):
    """`variables`, noting each name asked for."""

    def __init__(self, variables: Mapping[str, str], declared: Collection[str] | None = None) -> None:
        self.variables = variables
        self.declared = declared
        self.names: list[str] = []

    def unknown(self, name: str) -> bool:
        """Whether ``name`` may be set where the Dockerfile cannot tell (the base image)."""
        return self.declared is not None and name not in self.variables and name not in self.declared

    def __getitem__(self, name: str) -> str:
        self.names.append(name)
        return self.variables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.variables)

    def __len__(self) -> int:
        return len(self.variables)


def _double_quoted(word: str, i: int, variables: Mapping[str, str], escape: str, out: list[str]) -> int:
    while i < len(word):
        ch = word[i]
        if ch == '"':
            return i + 1
        if ch == escape and i + 1 < len(word) and word[i + 1] in ('"', "$", escape):
            out.append(word[i + 1])
            i += 2
        elif ch == "$":
            i = _dollar(word, i, variables, escape, out)
        else:
            out.append(ch)
            i += 1
    raise Unknown("unmatched double quote")


def _lookup(name: str, variables: Mapping[str, str]) -> str | None:
    return variables.get(name)


def _dollar(word: str, i: int, variables: Mapping[str, str], escape: str, out: list[str]) -> int:
    rest = word[i + 1:]
    plain = _NAME.match(rest)
    if plain:
        out.append(_known(plain.group(0), variables))
        return i + 1 + plain.end()
    if rest[:1].isdigit() or rest[:1] in ("@", "*", "#", "?", "-", "$", "!"):
        # BuildKit reads `$1`, `$$`, `$?` as a shell's parameters, never set in a Dockerfile:
        # `cost: $5` is `cost: ` to it (processName in its shell lexer)
        raise Unknown(f"${rest[0]} is a shell's special parameter to BuildKit, which expands it to nothing here: "
                      f"write \\$ for a dollar sign")
    if not rest.startswith("{"):
        out.append("$")  # `$` before anything else that is not a name is a literal dollar
        return i + 1
    end = rest.find("}")
    if end < 0:
        raise Unknown("missing '}' in a ${...} reference")
    body = rest[1:end]
    braced = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?", body, re.DOTALL)
    if not braced or "$" in (braced.group(3) or "") or "{" in body:
        raise Unknown(f"${{{body}}}: only ${{NAME}}, ${{NAME:-word}} and ${{NAME:+word}} are read")
    name, operator, alternative = braced.groups()
    value = _lookup(name, variables)
    if value is None and operator is not None and isinstance(variables, _Looked) and variables.unknown(name):
        raise Unknown(f"${{{body}}}: ${name} is not set by the Dockerfile (a base image or build-time value)", name)
    if operator is None:
        out.append(_known(name, variables))
    elif operator in ("-", ":-"):
        if value is None or (operator == ":-" and value == ""):  # unset (or, for `:-`, empty too)
            value = process_word(alternative, variables, escape)
        out.append(value)
    else:  # + and :+
        set_ = value is not None and (operator == "+" or value != "")
        out.append(process_word(alternative, variables, escape) if set_ else "")
    return i + 1 + end + 1


#: the ARGs BuildKit sets for each build itself (the Dockerfile reference, "Automatic platform ARGs")
PLATFORM_ARGS = frozenset(f"{side}{part}" for side in ("TARGET", "BUILD")
                          for part in ("PLATFORM", "OS", "ARCH", "VARIANT"))


def _known(name: str, variables: Mapping[str, str]) -> str:
    value = _lookup(name, variables)
    if value is None and name in PLATFORM_ARGS:  # QA: "give the ARG a default" did not help here
        raise Unknown(f"${name} is BuildKit's own platform argument, a value per platform built, which a spec "
                      "does not take: it names one image (and builds for several with `platforms:`)", name)
    if value is None:
        raise Unknown(f"${name} is not set by the Dockerfile (a base image or build-time value)", name)
    return value


def env_pairs(values: tuple[str, ...]) -> list[tuple[str, str]]:
    """ENV and LABEL arguments as the parser gives them: key, value, key, value (the
    legacy `ENV KEY value with spaces` form is already one pair)."""
    return [(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]
