"""Other people's validators for the SBOMs imagespec writes: spdx-tools (SPDX 2.3 JSON,
including licence expressions and LicenseRef definitions) and cyclonedx-python-lib's
strict JSON-schema validator (CycloneDX 1.5). Both are in the test extra."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any


def spdx_problems(document: dict[str, Any]) -> list[str]:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    with tempfile.TemporaryDirectory(prefix="isx-sbom-") as folder:
        path = Path(folder) / "sbom.spdx.json"  # the parser picks the format by suffix
        path.write_text(json.dumps(document), encoding="utf-8")
        parsed = parse_file(str(path))
    return [m.validation_message for m in validate_full_spdx_document(parsed, "SPDX-2.3")]


def cyclonedx_problems(document: dict[str, Any]) -> list[str]:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(document))
    return [] if error is None else [str(error)]
