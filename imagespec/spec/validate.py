"""Parsed YAML -> Spec, translating pydantic's errors into located SpecErrors.

This is where foreign errors enter and get translated (STYLE: map them at the
boundary), so nothing above this module ever sees a pydantic ValidationError.
"""

from __future__ import annotations

import difflib
import functools
import re
import sys
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from imagespec.errors import MAX_ERRORS, Location, SpecError, SpecErrors
from imagespec.spec import model as spec_model
from imagespec.spec.accounts import ACCOUNT_NAME
from imagespec.spec.values import as_written
from imagespec.spec.yaml_source import DataPath, Document


@functools.cache
def _known_keys(model: type[BaseModel]) -> list[str]:
    """Every key of the spec format (and of `model`'s module): "did you mean" candidates."""
    modules = {spec_model, sys.modules[model.__module__]}
    return sorted({
        (field.alias or name)
        for module in modules
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, BaseModel)
        for name, field in cls.model_fields.items()
    })


def _models_in(annotation: Any, suffix: str = "") -> list[tuple[str, type[BaseModel]]]:
    """The models a field's type holds, each with what its key adds to a path (`.NAME`
    for the values of a mapping; nothing for a list's items or a union's branches)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(suffix, annotation)]
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is dict and len(args) == 2:
        return _models_in(args[1], suffix + ".NAME")
    return [found for arg in args for found in _models_in(arg, suffix)]


@functools.cache
def _places(model: type[BaseModel]) -> dict[str, tuple[str, ...]]:
    """Every key of ``model``'s format → the dotted places it is a key of, shallowest
    first (`from` → `final.from`, `stages.NAME.from`, …): where a key put at the wrong
    level belongs."""
    found: dict[str, list[str]] = {}

    def visit(current: type[BaseModel], prefix: str, seen: frozenset[type[BaseModel]]) -> None:
        for name, field in current.model_fields.items():
            key = field.alias or name
            path = f"{prefix}.{key}" if prefix else key
            found.setdefault(key, []).append(path)
            for suffix, inner in _models_in(field.annotation):
                if inner not in seen:
                    visit(inner, path + suffix, seen | {inner})

    visit(model, "", frozenset({model}))
    return {key: tuple(sorted(paths, key=lambda p: (p.count("."), p))) for key, paths in found.items()}


def _dotted(path: DataPath) -> str:
    """A data path as `_places` writes it (a mapping's own keys, stage names, as NAME)."""
    return ".".join("NAME" if i and path[i - 1] in ("stages", "images") else str(part)
                    for i, part in enumerate(path) if not isinstance(part, int))


# keys other tools use (Compose, devcontainer, other image builders) for what a spec says
# with another key: the unknown key's hint names the spec's own
_OTHER_WORDS = {
    "preset": "a preset is a template: write `extends: NAME` (its values under `with:`)",
    "template": "write `extends: NAME` (its values under `with:`)",
    "base": "the base image is `final.from` (and `stages.NAME.from` for a build stage)",
    "expose": "write the ports under `final.ports`",
    "environment": "write the variables under `final.env` (a build stage's under `stages.NAME.env`)",
    "command": "the program is `final.entrypoint` (exec form: a list), its default arguments `final.cmd`",
    "volumes": "folders the app writes to are `final.writable` (the rest of the file system is read-only)",
    "restart": "a restart policy is set where the container runs (Compose's `restart:`, `docker run --restart`), "
               "not in the image",
}
# keys other tools use at one place of their format (the mapping's dotted place, the key), as above
_OTHER_WORDS_AT = {
    ("final.healthcheck", "test"): "Compose's `test: [CMD, …]` is `cmd:` here: the probe's own arguments, without "
                                   "CMD or CMD-SHELL (e.g. `cmd: [/app, --health]`)",
}
# a did-you-mean names a key of the same mapping this close to the unknown one (difflib's
# ratio), or one typo away (restart is not registry, nor test dest; evn is env)
_CLOSE = 0.7
M = TypeVar("M", bound=BaseModel)
# keys of a build stage that the final stage does not take, and what to do instead:
# the final image gets only the artifacts of a stage (BP6, BP11)
_STAGE_ONLY = {
    "run": "`run` belongs to a build stage: run the commands in a stage under `stages:` and copy what they "
           "produce into `final.copy` with `from: STAGE` (BP6, BP11); `final.packages` installs runtime packages",
    "args": "build args belong to the stages that use them (`stages.NAME.args`); the final stage takes `env`",
    "cache": "cache mounts belong to the build stages whose steps download (`stages.NAME.cache`); "
             "the final stage runs no build steps",
    "artifacts": "`artifacts` lists what a build stage produces; the final stage takes them with "
                 "`copy: [{from: STAGE, src: PATH, dest: PATH}]`",
    "dependencies": "`dependencies` belongs to a build stage (`stages.NAME.dependencies`); copy its result "
                    "into `final.copy` with `from: STAGE`",
}
_TYPE_WORDS = {
    "string_type": "a string", "int_type": "an integer", "int_parsing": "an integer",
    "bool_type": "true or false", "bool_parsing": "true or false", "list_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping", "tuple_type": "a list",
    "model_attributes_type": "a mapping",
}


# what a value of each type looks like, for the hint of a value of another type
_TYPE_EXAMPLES = {"a string": '"…"', "an integer": "3", "a list": "[…]", "a mapping": "{…}"}


def _keys_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys of the mapping that holds the key at `loc` (pydantic's), following the
    fields of `model` down to it: a did-you-mean names only these, never a key of another
    mapping (final.healthcheck's `test` is not final.copy's `dest`)."""
    models, keyed = [model], False
    for part in loc[:-1]:
        if isinstance(part, int) or keyed:  # a list's index, or a key of a mapping of models (a stage's name)
            keyed = False
            continue
        fields = [field for cls in models for name, field in cls.model_fields.items() if part in (name, field.alias)]
        models = [inner for field in fields for _, inner in _models_in(field.annotation)]
        keyed = any(typing.get_origin(kind) is dict for field in fields
                    for kind in (field.annotation, *typing.get_args(field.annotation)))
    return sorted({field.alias or name for cls in models for name, field in cls.model_fields.items()})


def _closest(key: str, keys: list[str]) -> str | None:
    close = difflib.get_close_matches(key, keys, n=1, cutoff=_CLOSE)
    return close[0] if close else next((known for known in keys if _one_typo(key, known)), None)


def _one_typo(a: str, b: str) -> bool:
    """One letter changed, added, dropped, or two neighbours swapped."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(differ) == 1 or (len(differ) == 2 and differ[1] == differ[0] + 1
                                    and a[differ[0]] == b[differ[1]] and a[differ[1]] == b[differ[0]])
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _data_path(data: Any, loc: tuple[Any, ...]) -> DataPath:
    """Keep the parts of pydantic's loc that exist in the data (drops union branch names)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part.endswith("_") and part[:-1] in node:
            path.append(part[:-1])  # field `from_` is written `from`
            node = node[part[:-1]]
    return tuple(path)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", int: "an integer",
            bool: "a boolean", type(None): "nothing (null)"}.get(type(value), type(value).__name__)


@functools.cache
def _configuration_only_keys() -> frozenset[str]:
    """The top-level keys of a configuration file that a spec does not have (catalog,
    build, …): a configuration read as a spec says so."""
    from imagespec.spec.config_file import ConfigFile  # lazy: it builds on the spec's model

    return frozenset(ConfigFile.model_fields) - frozenset(spec_model.Spec.model_fields)


def _describe(error: ErrorDetails, path: DataPath, model: type[BaseModel]) -> tuple[str, str | None]:
    kind, loc = error["type"], error["loc"]
    key = str(loc[-1]).rstrip("_") if loc else "?"
    hint: str | None
    if kind == "extra_forbidden":
        if len(path) == 2 and path[0] == "final" and key in _STAGE_ONLY:
            return f"'{key}' is not a key of the final stage, only of build stages", _STAGE_ONLY[key]
        if len(path) == 1 and model is spec_model.Spec and key in _configuration_only_keys():
            return f"unknown key '{key}'", (f"'{key}' is a key of the configuration, not of a spec: name this file "
                                            ".imagespec.yaml, or pass it with --config (a file named "
                                            "NAME.imagespec.yaml is a spec)")
        if (_dotted(path[:-1]), key) in _OTHER_WORDS_AT:
            return f"unknown key '{key}'", _OTHER_WORDS_AT[_dotted(path[:-1]), key]
        if key in _OTHER_WORDS:
            value = error.get("input")
            name = value if isinstance(value, str) and re.fullmatch(r"[\w./-]{1,64}", value) else "NAME"
            return f"unknown key '{key}'", _OTHER_WORDS[key].replace("NAME", name, 1)
        elsewhere = [place for place in _places(model).get(key, ()) if place.rsplit(".", 1)[0] != _dotted(path[:-1])]
        suggestion = _closest(key, _keys_at(model, loc))
        if elsewhere:
            others = f" (or {', '.join(f'`{place}`' for place in elsewhere[1:3])})" if elsewhere[1:] else ""
            hint = f"move it to `{elsewhere[0]}`{others}: that is where '{key}' goes"
        elif key in _known_keys(model):
            hint = f"'{key}' is a key of another mapping, not of this one; `imagespec schema` lists where each key goes"
        else:
            hint = f"did you mean '{suggestion}'?" if suggestion else "remove it; `imagespec schema` lists the keys"
        return f"unknown key '{key}'", hint
    if kind == "missing":
        return f"missing required key '{key}'", f"add `{key}:` here"
    if kind in _TYPE_WORDS:
        field = ".".join(str(p) for p in path) or "the document"
        said = f"'{field}' must be {_TYPE_WORDS[kind]}, not {_kind(error.get('input'))}"
        if path[:2] == ("final", "copy") and isinstance(error.get("input"), str):  # a build stage's copy takes paths
            source = error["input"]
            return said, (f"the final stage copies into a place of its own: write `{{src: {source}, dest: "
                          f"/app/{source.rstrip('/').rsplit('/', 1)[-1]}}}`")
        if path == ("final", "user") and kind in ("model_type", "model_attributes_type"):
            return said, _user_written(error.get("input"))
        if kind == "string_type" and isinstance(error.get("input"), (bool, int, float)):
            # YAML reads true, yes, on, 1.10 as booleans and numbers: the author meant the text
            return said, f"quote it: \"{as_written(error['input'])}\""
        return said, None
    if kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        bound = error.get("ctx", {}).get("le", error.get("ctx", {}).get("ge", error.get("ctx", {}).get(
            "lt", error.get("ctx", {}).get("gt"))))
        words = {"less_than_equal": "at most", "greater_than_equal": "at least", "less_than": "less than",
                 "greater_than": "more than"}[kind]
        field = ".".join(str(p) for p in path)
        return f"{field}: {error.get('input')!r} is out of range: it must be {words} {bound}", \
            f"give a number {words} {bound}"
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    field = ".".join(str(p) for p in path)
    hint = getattr(error.get("ctx", {}).get("error"), "hint", None)
    if kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", ""))
        choices = re.findall(r"'([^']*)'", expected)
        close = difflib.get_close_matches(str(error.get("input")), choices, n=1, cutoff=0.6)
        message = f"'{error.get('input')}' is not one of the allowed values"
        hint = (f"did you mean '{close[0]}'? " if close else "") + f"allowed: {expected}"
        if path[-1:] == ("kind",) and error.get("input") in ("template", "preset"):
            hint = ("a template is a spec without `kind:` (with `parameters:` for its `${{ name }}` values): remove "
                    "this line; an app uses it with `extends: PATH`")
    elif kind == "string_pattern_mismatch":
        message = f"'{error.get('input')}' is not valid here"
        hint = f"it must match {error.get('ctx', {}).get('pattern', '')}"
    return (f"{field}: {message}" if field else message), hint


def _user_written(value: Any) -> str:
    """How a user written as Docker's USER takes it (a name, a uid, `uid:gid`) is written
    as final.user: imagespec makes the user, so it needs the ids and the name apart."""
    example = "{uid: 10001, gid: 10001, name: app}"
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    ids = re.fullmatch(r"([0-9]{1,10})(?::([0-9]{1,10}))?", text)
    if ids and ids[1] == "0":
        return 'root needs a reason (BP8): write `user: {uid: 0, root_reason: "…"}`, or leave `user:` out for the ' \
            "non-root 65532"
    if ids:
        example = f"{{uid: {ids[1]}, gid: {ids[2] or ids[1]}}}"
    elif re.fullmatch(ACCOUNT_NAME, text):
        example = f"{{uid: 10001, gid: 10001, name: {text}}}"
    return (f"write `user: {example}`: imagespec creates the user (BP8), so it takes the ids and the name "
            "apart (without `user:`, the non-root 65532)")


def _fallback_hint(error: ErrorDetails, path: DataPath, model: type[BaseModel]) -> str | None:
    """A hint for a problem nothing more specific has one for: for a value of the wrong
    type, the right one written out at its key; of a spec, where its format is described."""
    schema = "`imagespec schema` shows what each key takes" if model is spec_model.Spec else None
    words = _TYPE_WORDS.get(error["type"])
    key = path[-1] if path else None
    if words is None or key is None:
        return schema and f"see the spec format: {schema}"
    if words == "true or false":
        written = f"`{key}: true` or `{key}: false`" if isinstance(key, str) else "`true` or `false`"
    else:
        written = f"`{key}: {_TYPE_EXAMPLES[words]}`" if isinstance(key, str) else f"`- {_TYPE_EXAMPLES[words]}`"
    return "; ".join(filter(None, (f"write {written}", schema)))


def _part(path: DataPath, error: ErrorDetails, data: Any) -> DataPath:
    """The path of the part of the value an error is about (reference.InvalidPart: the empty
    program of a list), where the data has that part; else the value's."""
    at = getattr(error.get("ctx", {}).get("error"), "at", ())
    inner = (*path, *at)
    return inner if at and _data_path(data, inner) == inner else path


def _is_type_noise(error: ErrorDetails) -> bool:
    return error["type"] in _TYPE_WORDS


def _rank(error: ErrorDetails, data: Any) -> tuple[int, int]:
    # Of a union's failed branches, the one that got deepest into the data is the one
    # the author meant; type mismatches of other branches are noise.
    depth = len(_data_path(data, error["loc"]))
    return (-depth, int(_is_type_noise(error)))


def _relevant(errors: list[ErrorDetails], data: Any) -> list[tuple[DataPath, ErrorDetails]]:
    """One entry per distinct problem. A union reports every branch that failed: a
    type mismatch at a path is noise when another error lies below it (a branch got
    further into the value) or beside it at the same path with a real reason."""
    by_path: dict[DataPath, list[ErrorDetails]] = {}
    for error in errors:
        by_path.setdefault(_data_path(data, error["loc"]), []).append(error)
    # a misspelt key also makes the key it meant missing: one mistake, reported once
    misspelt = {(path[:-1], str(path[-1])) for path, group in by_path.items() if path
                for e in group if e["type"] == "extra_forbidden"}
    kept: list[tuple[DataPath, ErrorDetails]] = []
    for path, group in by_path.items():
        group = [e for e in group if not (e["type"] == "missing" and any(
            parent == path and difflib.get_close_matches(str(e["loc"][-1]), [key], n=1, cutoff=0.6)
            for parent, key in misspelt))]
        if not group:
            continue
        deeper = any(len(other) > len(path) and other[:len(path)] == path for other in by_path)
        real = [e for e in group if not _is_type_noise(e)]
        if real:
            kept.extend((path, e) for e in real)
        elif not deeper:
            kept.append((path, min(group, key=lambda e: _rank(e, data))))
    return kept


# what each model reads, for a file that is none of them
_FORMATS = {"Spec": "an imagespec spec", "ConfigFile": "an imagespec configuration file",
            "BaseSpec": "an imagespec base spec", "LockFile": "an imagespec lock file"}


def _refuse_foreign(document: Document, model: type[BaseModel]) -> None:
    """One error for a mapping none of whose top-level keys is, or nearly is, a key of the
    format (or of the configuration): another file altogether, a CI workflow or a link to
    /etc/shadow, whose every line an "unknown key" each would echo into a log. Its keys
    are not named: they may be what a log must not show."""
    keys = [str(key) for key in document.data]
    known = [*_known_keys(model), *_configuration_only_keys()]
    if not keys or any(difflib.get_close_matches(key, known, n=1, cutoff=0.6) for key in keys):
        return
    what = _FORMATS.get(model.__name__, "a file imagespec reads")
    raise SpecError(f"this is not {what}: none of its {len(keys)} top-level key(s) is a key of the format",
                    location=document.location(()),
                    hint="name the right file; `imagespec schema` lists a spec's keys (a spec starts with "
                         "`name: myapp`)" if model is spec_model.Spec else "name the right file")


def validate(document: Document, model: type[M] = spec_model.Spec,  # type: ignore[assignment]  # M is Spec then
             hints: Mapping[str, str] | None = None) -> M:
    """Validate a parsed spec (or base spec, or configuration file); raises SpecError for
    its one problem, or SpecErrors for several (every one, up to MAX_ERRORS, in the order
    they are written). `hints`: by top-level key, for problems pydantic gives no hint for."""
    if not isinstance(document.data, dict):
        first_key = "name: myapp" if model is spec_model.Spec else "base: debian-slim"
        raise SpecError(f"a spec must be a mapping, not {_kind(document.data)}",
                        location=document.location(()), hint=f"start with `{first_key}`")
    _refuse_foreign(document, model)
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        found: dict[tuple[Location, str], SpecError] = {}
        for path, error in _relevant(exc.errors(), document.data):
            path = _part(path, error, document.data)
            message, hint = _describe(error, path, model)
            if hint is None and hints and path:
                hint = hints.get(str(path[0]))
            if hint is None:
                hint = _fallback_hint(error, path, model)
            # an unknown, missing or invalid key (pydantic ends a mapping key's loc with
            # "[key]") is the key's problem; every other, its value's
            about_key = error["type"] in ("extra_forbidden", "missing") or error["loc"][-1:] == ("[key]",)
            where = document.origin(path) if about_key else document.value_origin(path)
            if path in document.origins:
                message += " (a template put the `with:` value here)"
            found.setdefault((where, message), SpecError(message, location=where, hint=hint))
        ordered = [found[k] for k in sorted(found, key=lambda k: (k[0].line, k[0].col))]
        if len(ordered) == 1:
            raise ordered[0] from None
        raise SpecErrors(ordered[:MAX_ERRORS], more=max(0, len(ordered) - MAX_ERRORS)) from None
