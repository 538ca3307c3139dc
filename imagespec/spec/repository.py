"""The repository a spec lives in (its git root; outside git, the folder it was found in),
and the one rule about it: what imagespec reads or writes for a spec stays inside it, links
followed. A spec from someone else's repository (a pull request in CI) cannot make
`imagespec generate` create or replace files elsewhere on the machine, nor make imagespec
read a file from elsewhere (`extends: /etc/shadow`, a committed link to it found in a
folder) and echo its lines as "unknown key" errors into a public log.

Reads the disk through imagespec.spec.files, so the result cache replays each look.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from imagespec.errors import Location, SpecError
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


def outside_git_hint(root: Path) -> str | None:
    """The advice for a spec refused for leaving its repository when that repository is
    only its folder (no `.git` at `root`): the one wording, for `extends` and `context`."""
    if files.exists(root / ".git"):
        return None
    return "the spec is not in git: `git init` in the project's top folder makes it the repository"


def real_place(path: Path, *, replaced: bool = False) -> Path:
    """Where `path` really is. Links are followed, since a committed link may lead anywhere;
    `replaced`: the file is written over (the atomic rename replaces a link itself), so only
    its folder's links count. Raises files.LinkLoop for links in a circle."""
    return files.resolve(path.parent) / path.name if replaced else files.resolve(path)


def outside(path: Path, root: Path, *, replaced: bool = False) -> Path | None:
    """`path`'s real place when it lies outside `root` (a real folder), else None: the one
    test of confinement, for what is read and what is written."""
    real = real_place(path, replaced=replaced)
    return None if real.is_relative_to(root) else real


def refuse_link_out(path: Path, what: str, hint: str) -> None:
    """Refuse, before reading it, a file imagespec finds by name beside a spec (a
    `.imagespec.yaml`, a lock) that is a link leading outside its repository: a committed
    link would make imagespec read any file on the CI machine as settings or pins."""
    try:
        real = outside(path, repository_root(files.resolve(path.parent)))
    except files.LinkLoop:
        return  # the reader reports the loop at the file itself
    if real is not None:
        raise SpecError(f"the {what} is a link to {real}, outside its repository: not read",
                        location=Location(os.path.relpath(path)), hint=hint)


def refuse_output_outside(path: Path, root: Path, command: str) -> None:
    """`-o FILE` of a command that writes a new spec (`import`, `init`) stays inside the
    repository it reads from (`root`, real), as generate's does, links in its folders followed."""
    try:
        real = real_place(path, replaced=True)
    except files.LinkLoop as exc:
        raise SpecError(f"-o: {exc.path}: {exc.message}", location=Location(str(path)), hint=exc.hint) from None
    if real.is_relative_to(root) and ".git" not in real.relative_to(root).parts:
        return
    where = "inside .git" if real.is_relative_to(root) else "outside the repository it reads"
    raise SpecError(f"-o: {command} would write {os.path.relpath(real)}, {where}", location=Location(str(path)),
                    hint=f"keep -o's FILE inside {os.path.relpath(root)} (the git root; outside git, the folder "
                         "read) and out of .git; `-o -` prints the spec")


def check_confined(loaded: LoadedSpec, outputs: Iterable[Path], written_to: Path | None = None) -> None:
    """Every path `generate` would write for this spec lies inside the spec's repository.
    An output beside the Dockerfile comes from `dockerfile:`, any other from `context:`;
    `written_to` is -o's FILE, which the rule holds for too (README: generate never writes
    outside the repository that holds the spec)."""
    if loaded.path is None:
        return
    root = repository_root(loaded.folder)
    own = _own_inputs(loaded)
    for path in outputs:
        if path == written_to:
            key, where, keep = "-o", Location(str(path)), "-o's FILE"
        else:
            key = "dockerfile" if os.path.normpath(path.parent) == os.path.normpath(loaded.dockerfile_path.parent) \
                else "context"
            where, keep = loaded.document.location((key,)), "`dockerfile:` and `context:`"
        try:
            real = real_place(path, replaced=True)
        except files.LinkLoop as exc:
            raise SpecError(f"{key}: {exc.path}: {exc.message}", location=where, hint=exc.hint) from None
        inside = real.is_relative_to(root)  # outside()'s test, on the path as written over
        if real in own:  # `dockerfile: imagespec.yaml`: --force would replace the spec with its output
            raise SpecError(f"{key}: generate would write over {os.path.relpath(real)}, the spec's own "
                            f"{own[real]}", location=where,
                            hint="name another file (the default is Dockerfile beside the spec)")
        if inside and ".git" not in real.relative_to(root).parts:
            continue
        if inside:  # git's own files (hooks, config): never a build's
            raise SpecError(f"{key}: generate would write {os.path.relpath(real)}, inside .git",
                            location=where, hint=f"keep {keep} out of .git")
        # relative to the working directory: the message reads the same on every machine
        raise SpecError(f"{key}: generate would write {os.path.relpath(real)}, outside the spec's repository",
                        location=where,
                        hint=f"keep {keep} inside {os.path.relpath(root)} (the git root; outside git, the spec's "
                             "own folder)" + ("; `-o -` prints the Dockerfile" if key == "-o" else ""))


def _own_inputs(loaded: LoadedSpec) -> dict[Path, str]:
    """The files a spec is read from, which no output may replace: the spec and its lock."""
    from imagespec.spec.read_spec import lock_path_for

    assert loaded.path is not None
    spec = files.resolve(loaded.path)
    return {spec: "file", files.resolve(lock_path_for(spec).parent) / lock_path_for(spec).name: "lock file"}

