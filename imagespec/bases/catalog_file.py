"""The catalog `imagespec base build` writes: one entry per base, in the format of the
configuration's `images:`, each with the digest that was built (BP13). A company's
`.imagespec.yaml` names it with `catalog: FILE`, and every app spec resolves
`from: debian-slim`, `from: static`, ... to the bases just built (BP12, BP15)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from imagespec.output import write_atomically
from imagespec.spec.read_base import LoadedBase
from imagespec.spec.catalog import Catalog
from imagespec.spec.model import NONROOT_UID, Image


def entry_for(loaded: LoadedBase, catalog: Catalog, *, reference: str, digest: str) -> Image:
    """What the compiler must know about a base: family, shell, non-root user, libc."""
    base = loaded.base
    facts: dict[str, object] = {"image": reference, "digest": digest}
    if base.description:
        facts["description"] = base.description
    if base.bootstrap:
        facts |= {"family": base.bootstrap.distribution, "libc": "glibc"}
        if base.bootstrap.nonroot:  # the passwd entry exists: the compiler adds none (BP8)
            facts["user"] = NONROOT_UID
    elif base.distroless:
        facts |= {"family": "distroless", "shell": False, "user": NONROOT_UID, "libc": base.distroless.libc}
    else:
        assert base.spec is not None
        start = base.spec.final.from_
        parent = start if isinstance(start, Image) else catalog.resolve(start, location=loaded.document.location(
            ("spec", "final", "from")))
        facts |= {"family": parent.family, "libc": parent.libc, "shell": parent.shell}
        uid = base.spec.final.user.uid if base.spec.final.user else NONROOT_UID
        if uid:
            facts["user"] = uid
    return Image.model_validate({k: v for k, v in facts.items() if v is not None})


def _flow(image: Image) -> str:
    """One entry on one line, as the hand-written catalogs are: easy to diff."""
    fields = image.model_dump(exclude_none=True)
    order = ["image", "family", "shell", "user", "libc", "digest", "description"]
    return "{" + ", ".join(f"{key}: {json.dumps(fields[key])}" for key in order if key in fields) + "}"


def render_catalog(entries: Mapping[str, Image], *, sources: str) -> str:
    lines = [
        f"# Written by `imagespec base build` from {sources}; do not edit by hand.",
        "# Name this file in .imagespec.yaml (`catalog: FILE`) so that app specs build on these bases.",
        "images:",
        *(f"  {name}: {_flow(image)}" for name, image in sorted(entries.items())),
    ]
    return "\n".join(lines) + "\n"


def write_catalog(path: Path, entries: Mapping[str, Image], *, sources: str) -> None:
    write_atomically({path: render_catalog(entries, sources=sources)})
