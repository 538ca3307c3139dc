"""The labels a Dockerfile sets that imagespec sets itself (contract.DERIVED_LABELS and
`io.imagespec.*`): a spec's `labels:` may not name them, since the build's value would
replace the written one. Those a spec field writes move to that field (`source:`,
`description:`, `license:`, `version:`): the image gets the same label from it. The rest
(revision, created, base digest, title from `name:`…) are the build's to say: each one
dropped is said, as is a value the field refuses.

May import: imagespec.contract, imagespec.reference, imagespec.spec.values.
"""

from __future__ import annotations

from collections.abc import Callable

from imagespec import contract
from imagespec.reference import Invalid, semantic_version
from imagespec.spec import values as v

#: label -> the spec field it moves to, and the check the field's value must pass
_FIELDS: dict[str, tuple[str, Callable[[str], str]]] = {
    contract.LABEL_OCI_SOURCE: ("source", v.source_url),
    contract.LABEL_OCI_DESCRIPTION: ("description", v.no_control_chars),
    contract.LABEL_OCI_LICENSES: ("license", v.license_expression),
    contract.LABEL_OCI_VERSION: ("version", semantic_version),
}


def take_own_labels(labels: dict[str, str], differences: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """``labels`` without imagespec's own, and the spec fields those become ({field: value})."""
    kept: dict[str, str] = {}
    fields: dict[str, str] = {}
    for key, value in labels.items():
        if not contract.imagespecs_own_label(key):
            kept[key] = value
            continue
        field, check = _FIELDS.get(key, (None, None))
        if field is None or check is None:
            said = contract.DERIVED_LABELS.get(key, "what it builds")
            differences.append(f"LABEL {key} is not carried: imagespec sets it from {said}")
            continue
        try:
            fields[field] = check(value)
        except (Invalid, ValueError) as error:
            differences.append(f"LABEL {key}={value!r} is not carried: as `{field}:` it is refused ({error})")
    return kept, fields
