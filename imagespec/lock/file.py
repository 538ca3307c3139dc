"""The lock file: what each base of one spec resolved to, deterministic and reviewable.

```yaml
# Written by `imagespec lock` for imagespec.yaml; do not edit by hand.
lock: 1
spec: imagespec.yaml
inputs: sha256:0123456789abcdef     # the spec's inputs when it was locked (stale when they change)
bases:
- image: "127.0.0.1:5000/team/base:1"
  digest: "sha256:…"                 # what FROM pins: the index when there is one
  media_type: "application/vnd.oci.image.index.v1+json"
  created: "2026-12-01T23:10:00Z"
  platforms: {"linux/amd64": "sha256:…"}
  used_by: [final.from]
```

Read with the spec loader (its size and alias limits, a location for every value), so a
corrupt lock is one message at its line (exit 2). Written as text by hand, keys in a fixed
order and values JSON-quoted, so the same resolution is the same bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field

from imagespec import reference as grammar
from imagespec.errors import Location, SpecError
from imagespec.spec import files
from imagespec.spec.repository import refuse_link_out
from imagespec.spec.yaml_source import read_yaml
from imagespec.spec.model import Model
from imagespec.spec.validate import validate

LOCK_FORMAT = 1


def _reference(text: str) -> str:
    grammar.parse(text)
    return text


def _digest(text: str) -> str:
    return grammar.digest(text)


Reference = Annotated[str, AfterValidator(_reference)]
Digest = Annotated[str, AfterValidator(_digest)]
Platform = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}/[a-z0-9_]{1,32}(?:/[a-z0-9_]{1,32})?$")]


class LockedBase(Model):
    image: Reference = Field(description="The reference as the spec (or its catalog) names it.")
    digest: Digest = Field(description="What the reference resolved to: the index digest when there is one.")
    media_type: str = Field(pattern=r"^[a-z0-9.+/-]+$", max_length=255)
    created: str | None = Field(None, pattern=r"^\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)$")
    platforms: dict[Platform, Digest] = Field(default_factory=dict)
    used_by: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.+-]+$")]] = Field(
        default_factory=list, description="The spec keys that name this base (final.from, stages.build.from).")
    catalog: str | None = Field(None, pattern=r"^[A-Za-z0-9_.+-]+$", description="The catalog name, when one chose it.")


class LockFile(Model):
    lock: int = Field(ge=LOCK_FORMAT, le=LOCK_FORMAT)
    spec: str = Field(min_length=1, max_length=1024, pattern=r"^[^\x00-\x1f\x7f]+$")
    inputs: Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{16}$")]
    bases: list[LockedBase] = Field(default_factory=list)

    @property
    def pins(self) -> dict[str, str]:
        return {base.image: base.digest for base in self.bases}

    def base(self, image: str) -> LockedBase | None:
        return next((b for b in self.bases if b.image == image), None)


# a lock imagespec cannot read is never guessed at: the pins it held may be what a release needs
_REMAKE = ("restore it from version control (`git checkout -- FILE`), or delete it and run `imagespec lock SPEC`, "
           "which pins what the registry has now")
_HINTS = {"lock": _REMAKE, "spec": _REMAKE, "inputs": _REMAKE, "bases": _REMAKE}


def read_lock(path: Path) -> LockFile | None:
    """The lock file at ``path``, None when there is none; SpecError at its line when it is
    not one (a merge conflict left in it, a hand edit)."""
    if not files.is_file(path):
        if os.path.lexists(path):  # a folder, a dangling link, a loop: read as no lock, FROM would lose its pin
            raise SpecError("the lock is not a file (a folder, or a link that leads nowhere)", location=Location(str(path)),
                            hint="remove it and run `imagespec lock SPEC`, or restore it from version control")
        return None
    refuse_link_out(path, "lock file", _REMAKE)
    try:
        document = read_yaml(path, display=str(path))
    except SpecError as error:  # the loader's hints are a spec's (`name:`, `extends:`): a lock is remade
        raise SpecError(error.message, location=error.location, hint=_REMAKE) from None
    if not isinstance(document.data, dict):
        raise SpecError("a lock file must be a mapping", location=document.location(()),
                        hint=_REMAKE)
    found = validate(document, LockFile, hints=_HINTS)
    seen: set[str] = set()
    for index, base in enumerate(found.bases):
        if base.image in seen:
            raise SpecError(f"{base.image} is locked twice", location=document.location(("bases", index, "image")),
                            hint=_REMAKE)
        seen.add(base.image)
    return found


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def render_lock(lock: LockFile, *, generator: str) -> str:
    lines = [f"# Written by `{generator}` for {lock.spec}; do not edit by hand.",
             "# Each base the spec builds from, pinned by digest (BP13): `imagespec outdated` says when one",
             "# moved, `imagespec lock --update` moves the pins, `imagespec generate` writes them into FROM.",
             f"lock: {lock.lock}", f"spec: {_q(lock.spec)}", f"inputs: {_q(lock.inputs)}"]
    if not lock.bases:
        lines.append("bases: []")
    else:
        lines.append("bases:")
    for base in sorted(lock.bases, key=lambda b: b.image):
        lines.append(f"- image: {_q(base.image)}")
        if base.catalog:
            lines.append(f"  catalog: {_q(base.catalog)}")
        lines.append(f"  digest: {_q(base.digest)}")
        lines.append(f"  media_type: {_q(base.media_type)}")
        if base.created:
            lines.append(f"  created: {_q(base.created)}")
        if base.platforms:
            lines.append("  platforms:")
            lines += [f"    {_q(name)}: {_q(digest)}" for name, digest in sorted(base.platforms.items())]
        else:
            lines.append("  platforms: {}")
        lines.append(f"  used_by: [{', '.join(_q(key) for key in sorted(base.used_by))}]")
    return "\n".join(lines) + "\n"
