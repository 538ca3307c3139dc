"""Parsed YAML -> Spec, translating pydantic's errors into located SpecErrors.

This is where foreign errors enter and get translated (STYLE: map them at the
boundary), so nothing above this module ever sees a pydantic ValidationError.
"""

from __future__ import annotations

import difflib
import functools
import re
import sys
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from imagespec.errors import SpecError
from imagespec.spec import model as spec_model
from imagespec.spec.loader import DataPath, Document


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
M = TypeVar("M", bound=BaseModel)
_TYPE_WORDS = {
    "string_type": "a string", "int_type": "an integer", "int_parsing": "an integer",
    "bool_type": "true or false", "bool_parsing": "true or false", "list_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping", "tuple_type": "a list",
    "model_attributes_type": "a mapping",
}


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


def _describe(error: dict[str, Any], path: DataPath, model: type[BaseModel]) -> tuple[str, str | None]:
    kind, loc = error["type"], error["loc"]
    key = str(loc[-1]).rstrip("_") if loc else "?"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(key, _known_keys(model), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "remove it; `imagespec schema` lists the keys"
        return f"unknown key '{key}'", hint
    if kind == "missing":
        return f"missing required key '{key}'", f"add `{key}:` here"
    if kind in _TYPE_WORDS:
        field = ".".join(str(p) for p in path) or "the document"
        return f"'{field}' must be {_TYPE_WORDS[kind]}, not {_kind(error.get('input'))}", None
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    field = ".".join(str(p) for p in path)
    hint = None
    if kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", ""))
        choices = re.findall(r"'([^']*)'", expected)
        close = difflib.get_close_matches(str(error.get("input")), choices, n=1, cutoff=0.6)
        message = f"'{error.get('input')}' is not one of the allowed values"
        hint = (f"did you mean '{close[0]}'? " if close else "") + f"allowed: {expected}"
    elif kind == "string_pattern_mismatch":
        message = f"'{error.get('input')}' is not valid here"
        hint = f"it must match {error.get('ctx', {}).get('pattern', '')}"
    return (f"{field}: {message}" if field else message), hint


def _rank(error: dict[str, Any], data: Any) -> tuple[int, int]:
    # Of a union's failed branches, the one that got deepest into the data is the one
    # the author meant; type mismatches of other branches are noise.
    depth = len(_data_path(data, error["loc"]))
    is_type_noise = error["type"] in _TYPE_WORDS
    return (-depth, int(is_type_noise))


def validate(document: Document, model: type[M] = spec_model.Spec) -> M:  # type: ignore[assignment]
    """Validate a parsed spec (or base spec); raises SpecError for the most relevant problem."""
    if not isinstance(document.data, dict):
        first_key = "name: myapp" if model is spec_model.Spec else "base: debian-slim"
        raise SpecError(f"a spec must be a mapping, not {_kind(document.data)}",
                        location=document.location(()), hint=f"start with `{first_key}`")
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: _rank(e, document.data))
        first = errors[0]
        path = _data_path(document.data, first["loc"])
        message, hint = _describe(first, path, model)
        raise SpecError(message, location=document.location(path), hint=hint) from None
