"""npm packages installed in an image, read from ``node_modules/**/package.json``.

Role: one package.json in, a Component out. Only a package's own manifest counts
(``node_modules/NAME/package.json``, ``node_modules/@scope/NAME/package.json``, at any
nesting depth), not the package.json files some packages keep in their subfolders. What
is not installed (an app's devDependencies left out of the final stage) is not listed:
the image is read, not the lockfile. Pure. May import: the standard library and its
own package.
"""

from __future__ import annotations

import json
import re
from typing import Any

from imagespec.sbom.component import Component
from imagespec.sbom.spdx_license import expression

MANIFEST = re.compile(r"(?:.*/)?node_modules/(?:@[^/@.][^/]*/)?[^/@.][^/]*/package\.json")


def is_manifest(path: str) -> bool:
    return MANIFEST.fullmatch(path) is not None


def package(text: str, location: str) -> Component | None:
    """The package a package.json describes; None when it is not one (no name or version)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    name, version = data.get("name"), data.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return None
    return Component("npm", name, version, _licenses(data), location=location)


def _licenses(data: dict[str, Any]) -> tuple[str, ...]:
    """``license`` (a string, or the old ``{type: …}``), else the older ``licenses`` list."""
    value = data.get("license")
    values = [value] if value is not None else list(data.get("licenses") or []) if isinstance(
        data.get("licenses"), list) else []
    words = [v.get("type") if isinstance(v, dict) else v for v in values]
    found = [expression(w) for w in words if isinstance(w, str)]
    return tuple(sorted({f for f in found if f}))
