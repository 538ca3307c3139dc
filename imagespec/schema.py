"""The JSON Schema of the spec format, generated from the model (never written by
hand); committed as specs/imagespec.schema.json and checked fresh by a test.

May import: imagespec.spec (the models the schema is generated from).
"""

from __future__ import annotations

import json
from typing import Any

from imagespec.spec.model import Spec

SCHEMA_ID = "https://imagespec.dev/schema/v1/imagespec.schema.json"
BASE_SCHEMA_ID = "https://imagespec.dev/schema/v1/imagespec-base.schema.json"


def schema() -> dict[str, Any]:
    body = Spec.model_json_schema(by_alias=True, mode="validation")
    # A spec that `extends` a template gets `final` and each `from` from it, so an editor
    # must not flag their absence there; the compiler still requires them after the merge.
    body["required"] = [key for key in body.get("required", []) if key != "final"]
    body["if"] = {"not": {"required": ["extends"]}}
    body["then"] = {"required": ["final"]}
    for definition in body.get("$defs", {}).values():
        if "required" in definition and definition.get("title") in ("Final", "Stage"):
            definition["required"] = [key for key in definition["required"] if key != "from"]
            if not definition["required"]:
                del definition["required"]
    # ours last: pydantic's body has its own "title" ("Spec")
    _allow_appends(body)
    for definition in body.get("$defs", {}).values():
        _allow_appends(definition)
    return {**body, "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "imagespec spec v1"}


def _is_list(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "array" or any(option.get("type") == "array" for option in prop.get("anyOf", []))


def _allow_appends(definition: dict[str, Any]) -> None:
    """`key+: [...]` appends to an inherited list (extends): editors must accept it."""
    properties = definition.get("properties", {})
    for name, prop in list(properties.items()):
        if _is_list(prop):
            properties[f"{name}+"] = {**prop, "description": f"Appended to the inherited `{name}` (extends)."}


def base_schema() -> dict[str, Any]:
    """The base spec format (`imagespec base`); its `spec:` is the app spec's schema."""
    from imagespec.spec.base_model import BaseSpec

    body = BaseSpec.model_json_schema(by_alias=True, mode="validation")
    # a base's `spec` is named after the image it becomes unless it says otherwise
    inner = body.get("$defs", {}).get("Spec", {})
    inner["required"] = [key for key in inner.get("required", []) if key != "name"]
    return {**body, "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": BASE_SCHEMA_ID,
            "title": "imagespec base spec v1"}


def schema_text(*, base: bool = False) -> str:
    return json.dumps(base_schema() if base else schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
