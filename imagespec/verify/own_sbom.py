"""The ``sbom`` check of ``imagespec test`` (BP16): the image carries its own SBOM.

Role: from the image's labels and the bytes of the file its SBOM label names (read in
the same export that lists its files), one CheckResult: the label names the image's own
SBOM (not a base's, which an image inherits until its own layer replaces it), the file
is in the image, and it parses as the format its name says (SPDX 2.x or CycloneDX JSON).
Pure. May import: the standard library, ``imagespec.contract`` and its own package.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from imagespec.contract import LABEL_SBOM
from imagespec.verify.model import CheckResult, Expectations

NAME = "sbom"


def sbom_label(labels: Mapping[str, str], exp: Expectations) -> str | None:
    """The path whose bytes the check needs (the label's), or None when it checks nothing."""
    return labels.get(LABEL_SBOM) or None if exp.sbom_checked else None


def check_sbom(labels: Mapping[str, str], content: bytes | None, exp: Expectations) -> CheckResult | None:
    """None when not checked: a stage, or an image without its spec and without the label."""
    path = labels.get(LABEL_SBOM) or ""
    if not exp.sbom_checked or (not path and not exp.sbom_paths):
        return None
    if not path:
        return _fail(f"no {LABEL_SBOM} label: the image carries no SBOM of its own (`imagespec build` stores one)")
    if exp.sbom_paths and path not in exp.sbom_paths:
        return _fail(f"{LABEL_SBOM} names {path}, not this image's own SBOM ({' or '.join(exp.sbom_paths)}): "
                     "a base's, inherited, describes the base only")
    if content is None:
        return _fail(f"{path}, which {LABEL_SBOM} names, is not a file in the image")
    problem, summary = _parsed(path, content)
    return _fail(f"{path}: {problem}") if problem else CheckResult(NAME, True, f"{path}: {summary}", "BP16")


def _fail(detail: str) -> CheckResult:
    return CheckResult(NAME, False, detail, "BP16")


def _parsed(path: str, content: bytes) -> tuple[str | None, str]:
    """(what is wrong, None when nothing; what it is): the format is the file name's."""
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"not JSON ({exc})", ""
    if not isinstance(document, dict):
        return "not an SBOM document (a JSON object)", ""
    spdx = path.endswith(".spdx.json") or (not path.endswith(".cdx.json") and "spdxVersion" in document)
    if spdx:
        version, packages = document.get("spdxVersion"), document.get("packages")
        if not (isinstance(version, str) and version.startswith("SPDX-") and isinstance(packages, list)):
            return "not an SPDX document (spdxVersion \"SPDX-…\" and a packages list)", ""
        return None, f"{version}, {len(packages)} packages"
    version, components = document.get("specVersion"), document.get("components", [])
    if document.get("bomFormat") != "CycloneDX" or not isinstance(version, str) or not isinstance(components, list):
        return "not a CycloneDX document (bomFormat \"CycloneDX\", a specVersion and a components list)", ""
    return None, f"CycloneDX {version}, {len(components)} components"
