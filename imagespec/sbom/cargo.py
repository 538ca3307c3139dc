"""Rust crates from a ``Cargo.lock``.

Role: a lock file's text in, the crates it pins out. A Rust binary records no crate list
unless it was built with ``cargo auditable`` (not available here), so the lock file that
``cargo build --locked`` used is the record: the build context's, or one kept in the
image. Crates without a ``source`` are the workspace's own (the app itself), not
dependencies, and are left out. The lock lists every crate of every platform and
feature set, so it may name a few crates the binary does not contain. Pure. May import:
the standard library and its own package.
"""

from __future__ import annotations

import tomllib

from imagespec.sbom.component import Component


def crates(text: str, location: str) -> list[Component]:
    """The registry and git crates a Cargo.lock pins; [] when it is not one."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []
    found = []
    for entry in data.get("package") or []:
        if not isinstance(entry, dict):
            continue
        name, version, source = entry.get("name"), entry.get("version"), entry.get("source")
        if isinstance(name, str) and isinstance(version, str) and isinstance(source, str):
            note = "" if source.startswith("registry+") else f"from {source.split('#')[0]}"
            found.append(Component("cargo", name, version, location=location, note=note))
    return found
