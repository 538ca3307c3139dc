"""YAML text -> plain Python data plus a map from data paths to source locations.

A hand-rolled constructor over yaml's composer, because the stock loaders forget
where each value came from and silently keep the last of two duplicate keys.
Only `true`/`false`, `null` and decimal integers written as the number itself (`12`,
`-3`; not `1_000` or `+1`) are typed: everything else stays a string, so `version: 1.10`
keeps its zero, `H: 1_000` its underscore and `country: no` stays "no" (YAML 1.1's
Norway problem).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import yaml

from imagespec.errors import Location, SpecError
from imagespec.spec import files

DataPath = tuple[str | int, ...]

# an integer only where its text is the number's own (`str(int(text)) == text`): `1_000`,
# `+1` and `-0` stay text, as `1.10` and `010` do, so an env value keeps what was written;
# a field that takes a number still reads them (pydantic parses "1_000")
_INT = re.compile(r"(-?[1-9][0-9]*|0)\Z")

# Bounds on what one file may make the loader do. A spec, a configuration or a catalog
# is a few KB nested a few levels deep; without bounds a small file of nested aliases
# ("billion laughs") expands to gigabytes, a self-containing anchor (`a: &a [*a]`) or a
# few thousand levels of nesting end in a RecursionError. The pure parser, which words
# every error, reads ~50-100 KB a second on a small machine: at MAX_BYTES an invalid
# file is still reported in about two seconds.
MAX_BYTES = 128 * 1024
MAX_DEPTH = 64  # nested mappings and lists
MAX_ALIASED = 10_000  # values produced by expanding aliases, over the whole file
# characters of long scalars produced again by aliases: a 100 KB anchor aliased a few
# thousand times would make a Dockerfile of hundreds of MB. Short scalars are not
# counted (cheap: no look-up per scalar), and cannot amplify much: the aliases take room.
MAX_ALIASED_TEXT = 256 * 1024
_LONG = 64
# A node's Location made by C calls alone (Location is a NamedTuple: its fields in order),
# without the Python frame of Location.__new__: the reader makes one per YAML node.
_location = partial(tuple.__new__, Location)
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
    # the template parameters filled into the string at a path (`install … ${{ binary }}`):
    # a failed step a template wrote names the `with:` keys that change it
    parameters: dict[DataPath, tuple[str, ...]] = field(default_factory=dict)

    def origin(self, path: DataPath) -> Location:
        """Where the value at `path` came from: its `with:` value, or where it is written."""
        return self.origins.get(path) or self.location(path)

    def value_origin(self, path: DataPath) -> Location:
        """Where the value at `path` came from, at the value itself when it is a scalar
        written after its key (an error about the value, not the key, points there)."""
        if path in self.origins:
            return self.origins[path]
        exact = self.locations.get(path)
        return exact.of_value() if exact is not None else self.location(path)

    def location(self, path: DataPath) -> Location:
        """The location of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.locations.get(tuple(path[:end]))
            if found is not None:
                return found
        return Location(self.file)


class _Exceeded(Exception):
    """A bound above was crossed at `mark`; parse_yaml makes it a SpecError."""

    def __init__(self, message: str, mark: yaml.Mark, hint: str) -> None:
        super().__init__(message)
        self.message, self.mark, self.hint = message, mark, hint


def _too_deep(mark: yaml.Mark) -> _Exceeded:
    return _Exceeded(f"nesting deeper than {MAX_DEPTH} levels", mark,
                     "a spec nests a few levels; flatten this value")


class _Expansion:
    """What _build has expanded so far: the collection nodes built (an alias makes the
    composer hand the same node again), those being built (met again inside itself: a
    recursive anchor), how many values aliases produced, and how much long text they
    repeated."""

    __slots__ = ("built", "open", "aliased", "texts", "text")

    def __init__(self) -> None:
        self.built: set[int] = set()
        self.open: set[int] = set()
        self.aliased = 0
        self.texts: set[int] = set()  # long scalars met (an alias hands the same node again)
        self.text = 0

    def long(self, node: yaml.ScalarNode) -> None:
        """A scalar longer than _LONG: the second time it is met, an alias repeats its text."""
        key = id(node)
        if key not in self.texts:
            self.texts.add(key)
            return
        self.text += len(node.value)
        if self.text > MAX_ALIASED_TEXT:
            raise _Exceeded(f"aliases repeat more than {MAX_ALIASED_TEXT // 1024} KiB of text", node.start_mark,
                            "write the value where it is needed, or use `extends:` to reuse another spec")

    def enter(self, node: yaml.Node, depth: int) -> None:
        key = id(node)
        if key in self.open:
            raise _Exceeded("this anchor's value contains an alias of itself (a recursive alias)", node.start_mark,
                            "an alias may only refer to a value that does not contain it")
        if depth > MAX_DEPTH:
            raise _too_deep(node.start_mark)
        if key in self.built:  # a second visit: an alias expands it again
            self.aliased += len(node.value)
            if self.aliased > MAX_ALIASED:
                raise _Exceeded(f"aliases expand to more than {MAX_ALIASED} values", node.start_mark,
                                "write the values out, or use `extends:` to reuse another spec")
        self.built.add(key)
        self.open.add(key)

    def leave(self, node: yaml.Node) -> None:
        self.open.discard(id(node))


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
    if re.search("[\ud800-\udfff]", value):  # compiled (and kept by re) at the first non-ASCII text
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


# the tags YAML's own schema gives (the pure parser resolves plain scalars to them); any
# other, `!!python/object/apply:os.system` or `!custom`, names a type imagespec has not
_YAML_TAGS = frozenset(f"tag:yaml.org,2002:{kind}" for kind in (
    "str", "int", "float", "bool", "null", "timestamp", "value", "merge", "seq", "map")) | {"!"}


def _unsupported_tag(node: yaml.Node, file: str) -> SpecError:
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    return SpecError(f"unsupported YAML tag {tag}: imagespec reads plain values (text, numbers, true/false, lists "
                     "and mappings)", location=_mark(file, node),
                     hint="remove the tag; to write the text as it is, quote it")


def _scalar(node: yaml.ScalarNode, file: str) -> Any:
    if node.tag not in _YAML_TAGS:
        raise _unsupported_tag(node, file)
    value = node.value
    if not value.isascii() or "\x00" in value:  # rare: _text checks and repairs it
        value = _text(node, file)
    if node.style:  # quoted or block scalars are always strings (libyaml says "" for plain)
        return value
    if value in _WORDS:
        return _WORDS[value]
    if value[0] in _INT_START and _INT.match(value):  # the pattern only for what can be a number
        return int(value)
    return value


def _build(node: yaml.Node, path: DataPath, file: str, locations: dict[DataPath, Location],
           expansion: _Expansion | None) -> Any:
    """The data of `node`, recording where everything under it was written; the caller
    records `node`'s own location (a mapping value's is its key's). Scalars are typed
    here, not in a call of _build each: most nodes are scalars. `expansion` is None for
    a text without anchors: with no alias, no node is met twice, and depth is all to bound."""
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, file)
    if node.tag not in _YAML_TAGS:
        raise _unsupported_tag(node, file)
    if expansion is None:
        if len(path) > MAX_DEPTH:
            raise _too_deep(node.start_mark)
        return _build_collection(node, path, file, locations, None)
    expansion.enter(node, len(path))
    try:
        return _build_collection(node, path, file, locations, expansion)
    finally:
        expansion.leave(node)


def _build_collection(node: yaml.Node, path: DataPath, file: str, locations: dict[DataPath, Location],
                      expansion: _Expansion | None) -> Any:
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            here = (*path, i)
            mark = item.start_mark
            locations[here] = _location((file, mark.line + 1, mark.column + 1, 0, 0))
            if type(item) is yaml.ScalarNode:
                if expansion is not None and len(item.value) > _LONG:
                    expansion.long(item)
                items.append(_scalar(item, file))
            else:
                items.append(_build(item, here, file, locations, expansion))
        return items
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError("a mapping key must be a plain value", location=_mark(file, key_node),
                                hint="write the key as plain text, e.g. `name:`; a list or a mapping cannot be a key "
                                     "(`? ` starts a complex key in YAML)")
            key = key_node.value
            if expansion is not None and len(key) > _LONG:
                expansion.long(key_node)
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
            # the key's own position is more useful than the value's for "unknown key";
            # a scalar value's position comes along, for errors about the value
            mark = key_node.start_mark
            if type(value_node) is yaml.ScalarNode:
                at = value_node.start_mark
                locations[here] = _location((file, mark.line + 1, mark.column + 1, at.line + 1, at.column + 1))
                if expansion is not None and len(value_node.value) > _LONG:
                    expansion.long(value_node)
                result[key] = _scalar(value_node, file)
            else:
                locations[here] = _location((file, mark.line + 1, mark.column + 1, 0, 0))
                result[key] = _build(value_node, here, file, locations, expansion)
        return result
    raise SpecError(f"unsupported YAML node {node.tag}", location=_mark(file, node))  # pragma: no cover


_DEFAULT_TAGS = {yaml.ScalarNode: yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG,
                 yaml.SequenceNode: yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
                 yaml.MappingNode: yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG}

# libyaml's parser, when PyYAML was built with it, gives the same nodes and marks for
# much less work (BENCHMARKS.md, "Why the compiler is shaped this way"). It rejects a few
# documents the pure parser accepts and words its errors differently, so any document it
# refuses goes through the pure parser, which alone decides what is valid and how errors
# read: the same on every machine.
_FAST: type[CParser] | None = None
try:
    from yaml._yaml import CParser  # what yaml.cyaml's loaders are made of
except ImportError:  # PyYAML built without libyaml: the pure parser does everything
    pass
else:
    _NOTHING: dict[object, object] = {}

    class _FastComposer(CParser):
        """libyaml's composer without PyYAML's tag resolver (Python calls for every node):
        _build types the scalars itself and never reads a node's tag."""

        def resolve(self, kind: type[yaml.Node], value: object, implicit: object) -> str:
            return _DEFAULT_TAGS[kind]

        # called around every collection node and their results unused: builtins that
        # take the same arguments and do nothing (a Python function's frame costs more
        # than the composing of a small node: BENCHMARKS.md, issue 13)
        descend_resolver: staticmethod[[object, object], object] = staticmethod(_NOTHING.get)  # (parent, index) -> None
        ascend_resolver: staticmethod[[], object] = staticmethod(tuple)  # () -> ()

    _FAST = _FastComposer


class _BoundedLoader(yaml.SafeLoader):
    """The pure composer recurses once per level: it stops at MAX_DEPTH (where _build
    would) instead of at Python's recursion limit. (libyaml's stops at 1000 levels,
    whereupon this one reads the document again.)"""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if not self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            return super().compose_node(parent, index)
        if self._depth > MAX_DEPTH:  # the root is at depth 0, as in _build
            raise _too_deep(self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _compose(text: str) -> yaml.Node | None:
    if _FAST is not None:
        composer = _FAST(text)  # what yaml.compose does with a Loader class
        try:
            return composer.get_single_node()
        except yaml.YAMLError:
            pass
        finally:
            composer.dispose()
    return yaml.compose(text, Loader=_BoundedLoader)


def parse_yaml(text: str, file: str, *, empty_ok: bool = False) -> Document:
    """Parse one YAML document; every failure is a SpecError with a location. ``empty_ok``:
    a file with no document (empty, or comments only) reads as an empty mapping (a
    configuration: no settings), else it is an error."""
    if len(text) > MAX_BYTES:  # characters, at most as many as bytes: the same bound for text given as text
        _refuse_size(text[:MAX_BYTES], file)
    if "<<<<<<<" in text:
        _refuse_conflict(text, file)
    try:
        node = _compose(text)
        if node is None and empty_ok:
            return Document({}, file, {(): Location(file, 1, 1)})
        if node is None:
            raise SpecError("the file is empty", location=Location(file, 1, 1),
                            hint="a spec needs at least `name:` and `final:`")
        locations: dict[DataPath, Location] = {(): _mark(file, node)}
        # an alias needs an anchor, and an anchor is written with `&`: without one in the
        # text (most specs), what aliases could expand needs no bookkeeping
        data = _build(node, (), file, locations, _Expansion() if "&" in text else None)
    except _Exceeded as exc:
        raise SpecError(exc.message, location=Location(file, exc.mark.line + 1, exc.mark.column + 1),
                        hint=exc.hint) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        if isinstance(exc, yaml.composer.ComposerError) and exc.problem == "but found another document":
            # yaml's words ("expected a single document…") name no fix; the mark is the second `---`
            raise SpecError("a spec is one YAML document: a second one starts here", location=where,
                            hint="remove the second `---` (every imagespec file, a configuration or a catalog "
                                 "too, is one document)") from None
        long_key = _long_key(text, mark) if mark is not None else None
        if mark is not None and long_key is not None:
            raise SpecError(f"a mapping key of {long_key:,} characters: YAML reads a key of at most "
                            f"{MAX_KEY:,}", location=Location(file, mark.line + 1, mark.column + 1 - long_key),
                            hint="a key is a name (an env or label key is a short word): shorten it, and put long "
                                 "text in the value") from None
        problem = exc.problem or exc.context or "malformed YAML"
        tab = mark is not None and text[mark.index:mark.index + 1] == "\t"
        raise SpecError(f"malformed YAML: {problem}", location=where,
                        hint="indent with spaces: YAML does not take a tab as indentation" if tab else
                        "check indentation and quoting near this position") from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids; it has a position, not a mark
        before = re.split(r"\r\n|[\n\r\x85\u2028\u2029]", text[: exc.position])
        raise SpecError(f"malformed YAML: the character {chr(exc.character)!r} is not allowed in a YAML file",
                        location=Location(file, len(before), len(before[-1]) + 1),
                        hint='write it as an escape inside double quotes, e.g. "\\x1b"') from None
    except yaml.YAMLError as exc:
        # one line: the CLI prints exactly one error line
        raise SpecError(f"malformed YAML: {' '.join(str(exc).split())}", location=Location(file, 1, 1),
                        hint="check indentation and quoting") from None
    return Document(data=data, file=file, locations=locations)


# YAML's limit on a key written without `? ` (an implicit key): past it the parser reads the
# `:` after the key as a stray one and says "mapping values are not allowed here"
MAX_KEY = 1024


def _long_key(text: str, mark: yaml.Mark) -> int | None:
    """The length of the key before the `:` at `mark`, when it is past YAML's limit."""
    if text[mark.index:mark.index + 1] != ":":
        return None
    line_start = text.rfind("\n", 0, mark.index) + 1
    key = re.split(r"[{,\[]", text[line_start:mark.index])[-1].strip().removeprefix("- ").removeprefix("? ")
    return len(key) if len(key) > MAX_KEY else None


# git's conflict markers, each alone at the start of its line
_CONFLICT = re.compile(r"^(?:<{7}|>{7})(?: .*)?$|^={7}$", re.M)


def _refuse_conflict(text: str, file: str) -> None:
    """A file left half-merged: said at its first marker (YAML would report some later
    line, or even parse it), not as malformed YAML."""
    marker = _CONFLICT.search(text)
    if marker is not None:
        line = text.count("\n", 0, marker.start()) + 1
        raise SpecError("the file holds git's merge conflict markers: it was left half-merged",
                        location=Location(file, line, 1),
                        hint="resolve the conflict (keep one side, remove the markers); a lock file can be written "
                             "again with `imagespec lock SPEC`")


def _refuse_size(head: str, file: str) -> None:
    """Too long a file, located where it passes the limit."""
    lines = re.split(r"\r\n|[\n\r\x85\u2028\u2029]", head)
    raise SpecError(f"the file is longer than {MAX_BYTES // 1024} KiB", location=Location(file, len(lines), len(lines[-1]) + 1),
                    hint="a spec, a configuration or a catalog is a few KB; split it (`extends:`)")


def _missing(path: Path, shown: str) -> SpecError:
    """A file that is not there; a link that leads nowhere is located at the link as given,
    naming the missing file it leads to (``shown``: the display of its real path)."""
    if path.is_symlink():
        return SpecError(f"a symbolic link to {shown}, which does not exist", location=Location(str(path)),
                         hint="point the link at an existing file, or remove it")
    return SpecError(f"no such file: {path}", location=Location(shown),
                     hint="check the name; a path written in a file is relative to that file")


def broken_link(path: Path) -> SpecError | None:
    """What reading ``path`` would say when it is a link that leads nowhere or in a circle
    (None for anything else), without reading: for `imagespec list`, which names the
    specs the other fleet commands refuse such a link among."""
    if not path.is_symlink() or files.exists(path):
        return None
    try:
        real = files.resolve(path)
    except files.LinkLoop as loop:
        return loop
    return _missing(path, os.path.relpath(real))


def read_yaml(path: Path, *, display: str | None = None, shared: bool = False, empty_ok: bool = False) -> Document:
    """Read and parse a YAML file; `display` is the name shown in messages. `shared`: the
    file (a template) is parsed once per process for each text it has, and the Document
    is shared, so the caller must not change it. `empty_ok`: as parse_yaml's."""
    shown = display or str(path)
    kind = files.not_regular(path)
    if kind is not None:  # a FIFO (`--config /tmp/fifo`) would wait for a writer for ever
        raise SpecError(f"cannot read {path}: it is not a regular file ({kind})", location=Location(shown),
                        hint="name a YAML file")
    try:
        raw = files.read_bytes(path, limit=MAX_BYTES)
    except FileNotFoundError:
        raise _missing(path, shown) from None
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc}", location=Location(shown),
                        hint="name a readable file (not a folder)") from None
    if len(raw) > MAX_BYTES:
        _refuse_size(raw[:MAX_BYTES].decode("utf-8", "replace"), shown)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].split(b"\n")
        raise SpecError(f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                        location=Location(shown, len(before), len(before[-1].decode("utf-8", "replace")) + 1),
                        hint="save it as UTF-8") from None
    return _parse_shared(text, shown) if shared else parse_yaml(text, shown, empty_ok=empty_ok)


# A long-lived process (the tests, a benchmark, a library user) compiles many specs on
# the same few templates; keyed by the text, so an edited template is parsed again.
@lru_cache(maxsize=64)
def _parse_shared(text: str, file: str) -> Document:
    return parse_yaml(text, file)
