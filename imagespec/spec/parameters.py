"""Template parameters: what a `with:` value may be, and how it is written where it lands.

A template declares each parameter with a type (README, "Template parameters"):

    parameters:
      binary: {type: name, default: app, description: "…"}

- `name`: one word (a binary, a class, a package): letters, digits, `.`, `_`, `+`, `-`;
- `path`: a file or folder, spaces allowed; never starting with `-` (a command would
  read it as an option), `!` or `#` (a .dockerignore line), no `..` part, no wildcard (a
  COPY would expand it, a quoted shell word would not);
- `glob`: a path whose `*` and `?` the shell expands (`target/*.jar`);
- `version`: a version string (`9.15.9`, `1:2.36-9`, `1.2~rc1`);
- `shell`: shell words or commands, written as they are: the spec's author may run any
  command (as with `run:`), and says so by the type;
- `string`: any single line.
An optional `pattern` (a regular expression) must match the whole value as well.

Where a `${{ name }}` stands in a shell command (`run`, `dependencies.run`, a string
`entrypoint`/`cmd`/healthcheck `cmd`), the value is quoted as one shell word (a `shell`
value excepted); elsewhere it is written as it is and the field's own grammar checks it.
So a placeholder where quoting protects nothing is refused (shell_scan.py): inside the
command's own quotes (`echo '${{ s }}'` became `echo ''true; id''`), a heredoc body,
backquotes, `$(( ))`, or code the shell parses again (`eval`, `sh -c`).
"""

from __future__ import annotations

import re
import shlex
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from imagespec.errors import Location, SpecError
from imagespec.spec import shell_scan
from imagespec.spec.yaml_source import DataPath
from imagespec.spec.values import CONTROL

_TYPES: dict[str, tuple[re.Pattern[str] | None, str]] = {
    "name": (re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*"), "one word: letters, digits, '.', '_', '+', '-'"),
    # no wildcard: COPY would read `*` as a pattern where the shell's quoting keeps it a name
    # (one value, two meanings); no `..` part: a path names a place inside its folder; no
    # leading `!` or `#`: a .dockerignore line would read it as an exception or a comment
    # (QA: the c preset's `binary: '!.env'` let .env files back into the context)
    "path": (re.compile(r"(?![-!#])(?!(?:.*/)?\.\.(?:/|\Z))[^\\*?\[]+"),
             "a path that does not start with '-', '!' or '#', has no `..` part, no backslash and no wildcard "
             "(`*`, `?`, `[`: a glob parameter takes those)"),
    # not starting with '-': a command would read it as an option (QA: `cp -x*.jar /out/app.jar`)
    "glob": (re.compile(r"[A-Za-z0-9._/*?@+][A-Za-z0-9._/*?@+-]*"), "a path pattern: letters, digits, '.', '_', '/', "
             "'@', '+', '-' (not first), and the wildcards '*' and '?'"),
    "version": (re.compile(r"[A-Za-z0-9][A-Za-z0-9._+:~^-]*"), "a version: letters, digits, '.', '_', '+', ':', '~', "
                "'^', '-'"),
    "shell": (None, "shell text"),
    "string": (None, "one line of text"),
}
TYPES = tuple(_TYPES)
_KEYS = ("type", "default", "description", "pattern")
PLACEHOLDER = shell_scan.PLACEHOLDER


class Parameter(NamedTuple):  # a NamedTuple: cheaper to make than a frozen dataclass (reference.Reference)
    """One parameter a template declares, checked."""

    name: str
    type: str
    default: str | None
    pattern: re.Pattern[str] | None
    declared_at: Location  # the template line that declares it


def declare(name: str, raw: Any, at: Callable[[str | None], Location]) -> Parameter:
    """A template's declaration `{type, default, description, pattern}`, checked; `at(key)`
    is where the declaration (None) or one of its keys is written."""
    where = at(None)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise SpecError(f"parameter name '{name}' is not an identifier", location=where,
                        hint="letters, digits and '_', not starting with a digit")
    if not isinstance(raw, dict):
        raise SpecError(f"parameter '{name}' must be a mapping {{type, default, description}}", location=where,
                        hint=f"e.g. `{name}: {{type: name, default: app, description: \"…\"}}`")
    unknown = [k for k in raw if k not in _KEYS]
    if unknown:
        raise SpecError(f"parameter '{name}': unknown key '{unknown[0]}'", location=at(unknown[0]),
                        hint=f"a parameter takes {', '.join(_KEYS)}")
    kind = raw.get("type")
    if kind not in _TYPES:
        raise SpecError(f"parameter '{name}' needs a `type`: one of {', '.join(TYPES)}",
                        location=at("type") if "type" in raw else where,
                        hint="the type says what a `with:` value may be and how it is quoted in a shell command")
    for key in ("description", "pattern"):
        if raw.get(key) is not None and (not isinstance(raw[key], str) or CONTROL.search(raw[key])):
            raise SpecError(f"parameters.{name}.{key} must be one line of text", location=at(key),
                            hint=f"write it as one quoted line, e.g. `{key}: \"…\"`")
    pattern = None
    if raw.get("pattern") is not None:
        try:
            with warnings.catch_warnings():  # a FutureWarning about the template's regex is no error
                warnings.simplefilter("ignore")
                pattern = re.compile(raw["pattern"])
        except re.error as exc:
            raise SpecError(f"parameter '{name}': pattern is not a regular expression ({exc})",
                            location=at("pattern"), hint="a Python regular expression the whole value must match, "
                                                         "quoted in YAML, e.g. `pattern: '[a-z][a-z0-9-]*'`") from None
    parameter = Parameter(name, kind, None, pattern, where)
    if kind == "shell" and isinstance(raw.get("default"), str):
        # another parameter named in a shell default is quoted as one word there too
        exposed = shell_scan.exposed_placeholder(raw["default"])
        if exposed is not None:
            raise SpecError(f"parameters.{name}.default: {exposed.message()}", location=at("default"),
                            hint=exposed.hint())
    default = raw.get("default")
    if default is not None:
        # a default against the template's own pattern: the pattern is the line to look at
        default = check(parameter, default, at("default"), f"parameters.{name}.default",
                        pattern_at=at("pattern") if pattern is not None else None)
    return Parameter(name, kind, default, pattern, where)


def check(parameter: Parameter, value: Any, where: Location, label: str | None = None, *,
          pattern_at: Location | None = None) -> str:
    """`value` as the parameter's text, or a SpecError at `where` (the `with:` line)."""
    label = label or f"with.{parameter.name}"
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise SpecError(f"{label} must be a string, not {type(value).__name__}", location=where,
                        hint="a parameter takes one value: a string (quoted) or a number")
    text = str(value)
    if "\x00" in text or (parameter.type != "shell" and CONTROL.search(text)):
        raise SpecError(f"{label}: must be a single line without control characters", location=where,
                        hint="a newline would start another command or Dockerfile instruction")
    grammar, words = _TYPES[parameter.type]
    if not text.strip() or (grammar is not None and not grammar.fullmatch(text)):
        raise SpecError(f"{label}: {text!r} is not a {parameter.type} parameter value",
                        location=where, hint=f"{parameter.name} takes {words}")
    if parameter.pattern is not None and not parameter.pattern.fullmatch(text):
        raise SpecError(f"{label}: {text!r} does not match the template's pattern {parameter.pattern.pattern!r}",
                        location=pattern_at or where,
                        hint=f"see the description of '{parameter.name}' in {parameter.declared_at.file}")
    return text


def in_shell(path: DataPath) -> bool:
    """Whether the string at `path` of a spec is a shell command (or is split like one)."""
    match path:
        case ("stages", _, "run") | ("stages", _, "run", int()):
            return True
        case ("stages", _, "dependencies", "run") | ("stages", _, "dependencies", "run", int()):
            return True
        case ("final", "entrypoint" | "cmd") | ("final", "healthcheck", "cmd"):
            return True
    return False


def shell_paths(data: Any) -> Iterator[tuple[DataPath, str]]:
    """Every string of a spec or template that is a shell command once merged (`in_shell`
    of its path, `run+:` read as the `run` it appends to), with its path as written."""
    pending: list[tuple[DataPath, DataPath, Any]] = [((key,), (key,), data[key]) for key in ("stages", "final")
                                                     if isinstance(data, dict) and key in data]
    while pending:
        path, merged, value = pending.pop()
        if isinstance(value, str):
            if in_shell(merged):
                yield path, value
        elif isinstance(value, dict) and len(path) < 4:  # stages.NAME.dependencies.run is the deepest
            pending += [((*path, k), (*merged, k[:-1] if isinstance(k, str) and k.endswith("+") else k), v)
                        for k, v in value.items()]
        elif isinstance(value, list):
            pending += [((*path, i), (*merged, i), v) for i, v in enumerate(value)]


def shell_scripts(data: Any) -> Iterator[list[tuple[DataPath, str]]]:
    """The commands of `shell_paths`, the items of one list together and in order: they are
    lines of one script (a heredoc opened in one item reads the next ones as its body)."""
    scripts: dict[DataPath, list[tuple[DataPath, str]]] = {}
    for path, command in shell_paths(data):
        scripts.setdefault(path[:-1] if isinstance(path[-1], int) else path, []).append((path, command))
    for items in scripts.values():
        yield sorted(items, key=lambda item: item[0][-1] if isinstance(item[0][-1], int) else 0)


def shell_word(parameter: Parameter, value: str) -> str:
    """The value as the shell must see it: one word (a glob's wildcards left to expand)."""
    if parameter.type == "shell":
        return value
    if parameter.type == "glob":
        return "".join(part if part in ("*", "?") else shlex.quote(part) for part in re.split(r"([*?])", value) if part)
    return shlex.quote(value)
