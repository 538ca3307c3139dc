"""Where `generate` may write: what it writes stays inside the repository that holds the spec (its git root, or the spec's
own folder outside git). A spec from someone else's repository cannot make
`imagespec generate` create or replace files elsewhere on the machine.

Reads the disk through imagespec.spec.files, so the result cache replays each look.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from imagespec.errors import SpecError
from imagespec.spec import files

if TYPE_CHECKING:  # pragma: no cover  # annotations only: fleet_root asks for the root without pydantic
    from imagespec.spec.read_spec import LoadedSpec


def repository_root(folder: Path) -> Path:
    """The nearest folder from `folder` upwards that holds `.git` (a folder, or a file in
    a worktree), else `folder` itself. `folder` is real (resolved)."""
    for candidate in (folder, *folder.parents):
        if files.exists(candidate / ".git"):
            return candidate
    return folder


def check_confined(loaded: LoadedSpec, outputs: Iterable[Path]) -> None:
    """Every path `generate` would write for this spec lies inside the spec's repository.
    An output beside the Dockerfile comes from `dockerfile:`, any other from `context:`."""
    if loaded.path is None:
        return
    root = repository_root(loaded.folder)
    own = _own_inputs(loaded)
    for path in outputs:
        key = "dockerfile" if os.path.normpath(path.parent) == os.path.normpath(loaded.dockerfile_path.parent) \
            else "context"
        try:
            real = files.resolve(path.parent) / path.name  # a linked folder may lead out; the name is replaced
        except files.LinkLoop as exc:
            raise SpecError(f"{key}: {exc.path}: {exc.message}", location=loaded.document.location((key,)), hint=exc.hint) from None
        if real in own:  # `dockerfile: imagespec.yaml`: --force would replace the spec with its output
            raise SpecError(f"{key}: generate would write over {os.path.relpath(real)}, the spec's own "
                            f"{own[real]}", location=loaded.document.location((key,)),
                            hint="name another file (the default is Dockerfile beside the spec)")
        if real.is_relative_to(root) and ".git" not in real.relative_to(root).parts:
            continue
        if real.is_relative_to(root):  # git's own files (hooks, config): never a build's
            raise SpecError(f"{key}: generate would write {os.path.relpath(real)}, inside .git",
                            location=loaded.document.location((key,)),
                            hint="keep `dockerfile:` and `context:` out of .git")
        # relative to the working directory: the message reads the same on every machine
        raise SpecError(f"{key}: generate would write {os.path.relpath(real)}, outside the spec's repository",
                        location=loaded.document.location((key,)),
                        hint=f"keep `dockerfile:` and `context:` inside {os.path.relpath(root)} "
                             "(the git root; outside git, the spec's own folder)")


def _own_inputs(loaded: LoadedSpec) -> dict[Path, str]:
    """The files a spec is read from, which no output may replace: the spec and its lock."""
    from imagespec.spec.read_spec import lock_path_for

    assert loaded.path is not None
    spec = files.resolve(loaded.path)
    return {spec: "file", files.resolve(lock_path_for(spec).parent) / lock_path_for(spec).name: "lock file"}

