"""YAML text -> plain Python data plus a map from data paths to source locations.

A hand-rolled constructor over yaml's composer, because the stock loaders forget
where each value came from and silently keep the last of two duplicate keys.
Only `true`/`false`, `null` and decimal integers are typed: everything else stays a
string, so `version: 1.10` keeps its zero and `country: no` stays "no" (YAML 1.1's
Norway problem).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from imagespec.errors import Location, SpecError
from imagespec.spec import files

DataPath = tuple[str | int, ...]

_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)\Z")
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


@dataclass(frozen=True)
class Document:
    """Parsed YAML: the data and where each of its parts was written."""

    data: Any
    file: str
    locations: dict[DataPath, Location] = field(default_factory=dict)
    # strings a template filled in from a `with:` value: a problem with one is reported
    # at that `with:` line of the author's spec, not inside the template
    origins: dict[DataPath, Location] = field(default_factory=dict)

    def origin(self, path: DataPath) -> Location:
        """Where the value at `path` came from: its `with:` value, or where it is written."""
        return self.origins.get(path) or self.location(path)

    def location(self, path: DataPath) -> Location:
        """The location of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.locations.get(tuple(path[:end]))
            if found is not None:
                return found
        return Location(self.file)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _mark(file: str, node: yaml.Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _text(node: yaml.ScalarNode, file: str) -> str:
    """A scalar's text, if it can reach a Dockerfile: BuildKit's parser stops reading at a
    NUL (everything after it, USER and ENTRYPOINT included, would silently vanish), and a
    lone surrogate from a `\\uD800` escape cannot be written as UTF-8 at all."""
    value = node.value
    if value.isascii() and "\x00" not in value:  # nearly every scalar: nothing to check
        return value
    if "\x00" in value:
        raise SpecError("a NUL character cannot be written into a Dockerfile", location=_mark(file, node),
                        hint="remove the \\0 / \\x00 escape")
    if _SURROGATE.search(value):
        # a pair written as two \\u escapes (JSON style) is one character; only halves are wrong
        try:
            value = value.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            raise SpecError("a lone surrogate (\\uD800-\\uDFFF) is not a character", location=_mark(file, node),
                            hint="write the character itself, or one \\U00XXXXXX escape") from None
    return value


# the plain scalars that are not strings, looked up once (a set test each was three lookups)
_WORDS: dict[str, Any] = {**dict.fromkeys(_NULL), **dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
_INT_START = frozenset("+-0123456789")


def _scalar(node: yaml.ScalarNode, file: str) -> Any:
    value = node.value
    if not value.isascii() or "\x00" in value:  # rare: _text checks and repairs it
        value = _text(node, file)
    if node.style:  # quoted or block scalars are always strings (libyaml says "" for plain)
        return value
    if value in _WORDS:
        return _WORDS[value]
    if value[0] in _INT_START and _INT.match(value):  # the pattern only for what can be a number
        return int(value.replace("_", ""))
    return value


def _build(node: yaml.Node, path: DataPath, file: str, locations: dict[DataPath, Location]) -> Any:
    """The data of `node`, recording where everything under it was written; the caller
    records `node`'s own location (a mapping value's is its key's). Scalars are typed
    here, not in a call of _build each: most nodes are scalars."""
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, file)
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            here = (*path, i)
            mark = item.start_mark
            locations[here] = Location(file, mark.line + 1, mark.column + 1)
            items.append(_scalar(item, file) if type(item) is yaml.ScalarNode else _build(item, here, file, locations))
        return items
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError("a mapping key must be a plain value", location=_mark(file, key_node))
            key = key_node.value
            if not key.isascii() or "\x00" in key:  # rare: _text checks and repairs it
                key = _text(key_node, file)
            if key == "<<":
                raise SpecError(
                    "YAML merge keys (<<) are not supported",
                    location=_mark(file, key_node),
                    hint="use `extends:` to reuse another spec",
                )
            if key in result:
                first = locations[(*path, key)]
                raise SpecError(
                    f"duplicate key '{key}' (first defined at line {first.line})",
                    location=_mark(file, key_node),
                    hint="a key may appear once in a mapping; remove or merge one of them",
                )
            here = (*path, key)
            # the key's own position is more useful than the value's for "unknown key"
            mark = key_node.start_mark
            locations[here] = Location(file, mark.line + 1, mark.column + 1)
            result[key] = (_scalar(value_node, file) if type(value_node) is yaml.ScalarNode
                           else _build(value_node, here, file, locations))
        return result
    raise SpecError(f"unsupported YAML node {node.tag}", location=_mark(file, node))  # pragma: no cover


# libyaml's parser, when PyYAML was built with it, gives the same nodes and marks about
# ten times faster. It rejects a few documents the pure parser accepts and words its
# errors differently, so any document it refuses goes through the pure parser, which
# alone decides what is valid and how errors read: the same on every machine.
try:
    from yaml.cyaml import CParser as _CParser
except ImportError:  # PyYAML built without libyaml: the pure parser does everything
    _CParser = None

_DEFAULT_TAGS = {yaml.ScalarNode: yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG,
                 yaml.SequenceNode: yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
                 yaml.MappingNode: yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG}

_FAST = None
if _CParser is not None:
    class _FastComposer(_CParser):
        """libyaml's composer without PyYAML's tag resolver (Python calls for every node):
        _build types the scalars itself and never reads a node's tag."""

        def resolve(self, kind: type[yaml.Node], value: object, implicit: object) -> str:
            return _DEFAULT_TAGS[kind]

        def descend_resolver(self, parent: object, index: object) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass

    _FAST = _FastComposer


def _compose(text: str) -> yaml.Node | None:
    if _FAST is not None:
        try:
            return yaml.compose(text, Loader=_FAST)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def parse_yaml(text: str, file: str) -> Document:
    """Parse one YAML document; every failure is a SpecError with a location."""
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        problem = exc.problem or exc.context or "malformed YAML"
        raise SpecError(f"malformed YAML: {problem}", location=where,
                        hint="check indentation and quoting near this position") from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids; it has a position, not a mark
        before = re.split(r"\r\n|[\n\r\x85\u2028\u2029]", text[: exc.position])
        raise SpecError(f"malformed YAML: the character {chr(exc.character)!r} is not allowed in a YAML file",
                        location=Location(file, len(before), len(before[-1]) + 1),
                        hint='write it as an escape inside double quotes, e.g. "\\x1b"') from None
    except yaml.YAMLError as exc:
        # one line: the CLI prints exactly one error line
        raise SpecError(f"malformed YAML: {' '.join(str(exc).split())}", location=Location(file, 1, 1)) from None
    if node is None:
        raise SpecError("the file is empty", location=Location(file, 1, 1),
                        hint="a spec needs at least `name:` and `final:`")
    locations: dict[DataPath, Location] = {(): _mark(file, node)}
    data = _build(node, (), file, locations)
    return Document(data=data, file=file, locations=locations)


def read_yaml(path: Path, *, display: str | None = None, shared: bool = False) -> Document:
    """Read and parse a YAML file; `display` is the name shown in messages. `shared`: the
    file (a template) is parsed once per process for each text it has, and the Document
    is shared, so the caller must not change it."""
    shown = display or str(path)
    try:
        raw = files.read_bytes(path)
    except FileNotFoundError:
        raise SpecError(f"no such file: {path}", location=Location(shown)) from None
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc}", location=Location(shown)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].split(b"\n")
        raise SpecError(f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                        location=Location(shown, len(before), len(before[-1].decode("utf-8", "replace")) + 1),
                        hint="save it as UTF-8") from None
    return _parse_shared(text, shown) if shared else parse_yaml(text, shown)


# A long-lived process (the tests, a benchmark, a library user) compiles many specs on
# the same few templates; keyed by the text, so an edited template is parsed again.
@lru_cache(maxsize=64)
def _parse_shared(text: str, file: str) -> Document:
    return parse_yaml(text, file)
