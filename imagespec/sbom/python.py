"""Python distributions installed in an image, read from their ``*.dist-info/METADATA``.

Role: one METADATA file (email-header format, core metadata 1.0-2.4) in, a Component
out. The licence is, in order: ``License-Expression`` (PEP 639), a ``License`` field that
is an SPDX expression or a short name, the ``License ::`` classifiers that name one
licence. Egg-info directories (setup.py develop installs) are not read. Pure. May import:
the standard library and its own package.
"""

from __future__ import annotations

import re
from email.parser import HeaderParser

from imagespec.sbom.component import Component
from imagespec.sbom.spdx_license import classifier, expression

#: ``…/site-packages/NAME-VERSION.dist-info/METADATA`` (dist-packages: Debian's pythons)
METADATA = re.compile(r"(?:.*/)?(?:site|dist)-packages/[^/]+\.dist-info/METADATA")


def is_metadata(path: str) -> bool:
    return METADATA.fullmatch(path) is not None


def distribution(text: str, location: str) -> Component | None:
    """The distribution a METADATA file describes; None without a name or version."""
    headers = HeaderParser().parsestr(text, headersonly=True)
    name, version = (headers.get("Name") or "").strip(), (headers.get("Version") or "").strip()
    if not name or not version:
        return None
    return Component("pypi", name, version, _licenses(headers), location=location)


def _licenses(headers) -> tuple[str, ...]:  # type: ignore[no-untyped-def]  # email.message.Message's headers
    declared = expression(headers.get("License-Expression") or "")
    if declared:
        return (declared,)
    field = (headers.get("License") or "").strip()
    from_field = expression(field) if "\n" not in field else None
    if from_field and not from_field.startswith("LicenseRef-"):
        return (from_field,)
    named = sorted({c for c in (classifier(v) for v in headers.get_all("Classifier") or []) if c})
    if named:
        return tuple(named)
    return (from_field,) if from_field else ()
