"""The JSON Schema of the spec format, generated from the model (never written by
hand); committed as specs/imagespec.schema.json and checked fresh by a test."""

from __future__ import annotations

import json

from imagespec.spec.model import Spec

SCHEMA_ID = "https://imagespec.dev/schema/v1/imagespec.schema.json"


def schema() -> dict:
    body = Spec.model_json_schema(by_alias=True, mode="validation")
    # ours last: pydantic's body has its own "title" ("Spec")
    return {**body, "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "imagespec spec v1"}


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
