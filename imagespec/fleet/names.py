"""Bake target and group names, derived from spec paths (README, "Fleets").

A spec's *path* is its folder relative to the fleet's root (the git repository holding
the specs; outside git, their common folder), plus NAME for ``NAME.imagespec.yaml`` (or
the file's stem for a spec named on the command line that does not follow the
rule): ``examples/company/billing/imagespec.yaml`` -> ``examples/company/billing``. The
target name is that path lower-cased, each part's characters outside ``[a-z0-9_]``
replaced by ``-``, parts joined by ``-``: ``examples-company-billing`` (bake allows
``[a-zA-Z0-9_-]`` only); a part left with none is ``x`` and 8 hex digits of its hash.
The spec at the root itself is ``root``. A spec's group is its
path's parent folder (``examples-company``), named the same way; when a target already has
that name (a company base spec in the folder of its apps), the group is ``NAME-group``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

from imagespec.fleet.discover import SPEC_NAME, SPEC_SUFFIX

NAME = re.compile(r"[a-zA-Z0-9_-]+")  # bake's own rule for target and group names
ROOT_TARGET = "root"
DEFAULT_GROUP = "default"
GROUP_SUFFIX = "-group"


def spec_path(spec: Path, root: Path) -> PurePosixPath:
    """The spec's path in the fleet (``spec`` and ``root`` are real paths)."""
    folder = PurePosixPath(spec.parent.relative_to(root).as_posix())
    name = spec.name
    if name == SPEC_NAME:
        return folder
    if name.endswith(SPEC_SUFFIX):
        return folder / name[: -len(SPEC_SUFFIX)]
    return folder / (name.rsplit(".", 1)[0] if "." in name[1:] else name)


def name_of(path: PurePosixPath) -> str:
    """``a/B.c/d`` -> ``a-b-c-d``; the empty path -> ``root``."""
    return "-".join(_part(part) for part in path.parts if part != ".") or ROOT_TARGET


def _part(part: str) -> str:
    """One folder of the path as a name: a folder with none of bake's characters (``ü``,
    ``-``, ``日本``) is ``x`` and 8 hex digits of its name's hash, not dropped: dropped, the
    spec in it would be named as its parent (or ``root``)."""
    cleaned = re.sub(r"[^a-z0-9_]+", "-", part.lower()).strip("-")
    return cleaned or "x" + hashlib.sha256(part.encode()).hexdigest()[:8]


def group_of(path: PurePosixPath) -> str | None:
    """The folder group a spec path belongs to (None: a spec at the root has only ``default``)."""
    parent = path.parent
    return None if str(parent) in (".", "") else name_of(parent)


__all__ = ["DEFAULT_GROUP", "GROUP_SUFFIX", "NAME", "ROOT_TARGET", "group_of", "name_of", "spec_path"]
