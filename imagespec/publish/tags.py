"""Tag strategy (BP14) and OCI labels: pure functions of their inputs.

Role: decide which references an image gets, validate them against docker's reference
grammar (imagespec.reference), and compute the standard ``org.opencontainers.image.*`` labels.
``git_short_sha`` is the only function here that touches the outside (it runs git).

May import: the standard library, ``imagespec.errors`` and ``imagespec.reference`` (the grammar).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from imagespec import reference as grammar
from imagespec.contract import OCI_PREFIX
from imagespec.engine.local_tags import split_reference, validate_repository, validate_tag
from imagespec.errors import SpecError

Strategy = Literal["semver", "sha", "both"]


is_immutable_tag = grammar.is_immutable_tag


def tags_for(
    repository: str,
    version: str | None = None,
    git_sha: str | None = None,
    extra: Sequence[str] = (),
    strategy: Strategy = "both",
    *,
    latest: bool = True,
) -> tuple[str, ...]:
    """The references (``repository:tag``) an image gets under the BP14 tag strategy.

    - ``semver``: ``1.4.2`` → ``1.4.2, 1.4, 1, latest``. A pre-release (``1.5.0-rc.1``)
      gets only its own tag: it must never move ``latest``, ``1`` or ``1.5``. Build
      metadata (``+build.7``) is dropped because ``+`` is not valid in a tag. A leading
      ``v`` (git tag habit) is dropped too. Pass ``latest=False`` when releasing a patch
      on an older line, so ``latest`` stays on the newest release.
    - ``sha``: the git short SHA (immutable, traceable to the source).
    - ``both``: whichever of the two is available.
    ``extra`` entries are tags (``edge``) or full references (``other/name:tag``).
    The result keeps this order with duplicates removed; an empty result is an error,
    because an untagged release cannot be traced (BP14).
    """
    validate_repository(repository)
    if strategy not in ("semver", "sha", "both"):
        raise SpecError(f"unknown tag strategy {strategy!r}", hint="use one of: semver, sha, both")
    tags: list[str] = []
    if strategy in ("semver", "both"):
        if version is not None:
            tags.extend(_semver_tags(version, latest=latest))
        elif strategy == "semver":
            raise SpecError("tag strategy 'semver' needs a version", hint="set `version:` in the spec (X.Y.Z)")
    if strategy in ("sha", "both"):
        if git_sha is not None:
            tags.append(validate_tag(git_sha))
        elif strategy == "sha":
            raise SpecError(
                "tag strategy 'sha' needs a git commit",
                hint="build inside a git repository, or choose the 'semver' strategy",
            )
    refs = [f"{repository}:{tag}" for tag in tags]
    for item in extra:
        name, tag = split_reference(item) if ("/" in item or ":" in item) else (repository, item)
        if tag is None:
            raise SpecError(f"extra tag {item!r} has no tag part", hint="write it as name:tag")
        refs.append(f"{validate_repository(name)}:{validate_tag(tag)}")
    unique = tuple(dict.fromkeys(refs))
    if not unique:
        raise SpecError(
            "the image would get no tag (BP14)",
            hint="set a version, build inside a git repository, or pass a tag explicitly",
        )
    return unique


def _semver_tags(version: str, *, latest: bool) -> list[str]:
    try:
        tags = grammar.version_tags(version, latest=latest)
    except grammar.Invalid as invalid:
        raise SpecError(f"version {version!r} is not a semantic version (BP14)",
                        hint="use X.Y.Z (e.g. 1.4.2, or 1.5.0-rc.1 for a pre-release); "
                        "other tags can be passed explicitly") from invalid
    return [validate_tag(t) for t in tags]


#: While ``one_checkout()`` runs: (the repository's folder, mark_dirty) -> git_short_sha's answer
_asked: ContextVar[dict[tuple[Path | None, Any], str | None] | None] = ContextVar("imagespec_git_asked", default=None)


@contextmanager
def one_checkout() -> Iterator[None]:
    """Inside, ``git_short_sha`` asks git once per repository: the specs of one fleet run
    share their checkout (three git processes per spec otherwise), and its HEAD and
    state are read once for all of them, as one build reads them once."""
    token = _asked.set({})
    try:
        yield
    finally:
        _asked.reset(token)


def _repository_folder(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` holding a ``.git`` (directory, or file of a
    worktree); None when there is none (git then answers from the environment, if at all)."""
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None


def git_short_sha(path: str | os.PathLike[str] = ".", *, mark_dirty: bool = True) -> str | None:
    """The 12-character commit SHA of HEAD in ``path``'s repository, or None outside one.

    Decision: a working tree with uncommitted changes (tracked or untracked-not-ignored,
    since either can enter the build context) gets a ``-dirty`` suffix. A SHA tag
    promises that the image is exactly that commit (BP14); a dirty tree breaks that
    promise, so the tag says so rather than lying. Inside ``one_checkout()``, once per
    repository.
    """
    asked = _asked.get()
    if asked is None:
        return _git_short_sha(path, mark_dirty=mark_dirty)
    # None: no .git above the path; git then answers from the environment, alike for all
    folder = _repository_folder(Path(path).resolve())
    if (folder, mark_dirty) not in asked:
        asked[folder, mark_dirty] = _git_short_sha(path, mark_dirty=mark_dirty)
    return asked[folder, mark_dirty]


def _git(path: str | os.PathLike[str], *args: str, strip: bool = True) -> str | None:
    """git's output in ``path`` (``strip``: without the spaces around it), None when git
    fails or cannot run."""
    try:
        done = subprocess.run(["git", *args], cwd=Path(path), capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (done.stdout.strip() if strip else done.stdout) if done.returncode == 0 else None


def _git_short_sha(path: str | os.PathLike[str] = ".", *, mark_dirty: bool = True) -> str | None:
    """git_short_sha's answer, from git itself."""
    sha = _git(path, "rev-parse", "--short=12", "HEAD")
    if not sha:
        return None
    if mark_dirty and _git(path, "status", "--porcelain"):
        return f"{sha}-dirty"
    return sha


def uncommitted(path: str | os.PathLike[str] = ".") -> tuple[str, ...]:
    """The files of ``path``'s checkout that make it dirty (git_short_sha's ``-dirty``):
    changed, staged or untracked and not ignored, as git names them from its root."""
    # as written: a status column may be a space (" M app.go")
    listed = _git(path, "status", "--porcelain", "--untracked-files=all", "-z", strip=False)
    # each entry is "XY NAME", a rename's old name following as an entry of its own
    entries = (listed or "").split("\0")
    names, skip = [], False
    for entry in entries:
        if skip or len(entry) < 4:
            skip = False
            continue
        skip = entry[0] in "RC"
        names.append(entry[3:])
    return tuple(names)


def untracked(folder: str | os.PathLike[str]) -> dict[str, str]:
    """Every file under ``folder`` git does not track, those it ignores too: their path
    relative to ``folder`` -> as git names them from its root. Empty outside git. An
    ignored file is no change to git (``uncommitted``), yet a build context sends it.
    Inside ``one_checkout()``, once per folder."""
    asked = _asked.get()
    key = (Path(folder).resolve(), "untracked")
    if asked is not None and key in asked:
        return dict(asked[key])  # type: ignore[arg-type]  # the "untracked" key holds the dict stored below
    prefix = _git(folder, "rev-parse", "--show-prefix")
    listed = _git(folder, "ls-files", "--others", "-z", strip=False) if prefix is not None else None
    found = {name: (prefix or "") + name for name in (listed or "").split("\0") if name}
    if asked is not None:
        asked[key] = found  # type: ignore[assignment]  # one cache for git's answers; this key's is a dict
    return found


def _globs(within: Path, root: Path, patterns: Sequence[str], magic: str) -> list[str]:
    """Ignore-file patterns of the folder ``within`` as git pathspecs: the folder's own
    path escaped (a folder `app[1]` is no glob), each pattern as it is and, as a folder,
    with everything under it (dockerignore's patterns take a folder's files with it)."""
    prefix = re.sub(r"([*?\[\\])", r"\\\1", os.path.relpath(within.resolve(), root))
    joined = [pattern if prefix == "." else f"{prefix}/{pattern}" for pattern in patterns]
    return [f":({magic}){path}{tail}" for path in joined for tail in ("", "/**")]


def _inputs_pathspecs(root: Path, paths: Sequence[Path], excluded: Sequence[Path], within: Path | None,
                      matching: Sequence[str], skipping: Sequence[str]) -> list[str]:
    """git pathspecs for an image's inputs (last_change): ``paths`` and the files of
    ``within`` that ``matching`` lets in, without ``excluded`` and what ``skipping`` keeps out."""
    # pathspecs read literally: a folder named `app[1]` is no glob
    inside = sorted({f":(literal){os.path.relpath(p.resolve(), root)}" for p in paths
                     if p.resolve().is_relative_to(root)})
    if within is not None and within.resolve().is_relative_to(root):
        inside += _globs(within, root, matching, "glob")
    if not inside:
        return []
    # ``excluded``: files under ``paths`` whose commits change nothing the image is made of
    inside += sorted({f":(exclude,literal){os.path.relpath(p.resolve(), root)}" for p in excluded
                      if p.resolve().is_relative_to(root)})
    if within is not None and within.resolve().is_relative_to(root):
        inside += _globs(within, root, skipping, "exclude,glob")
    return inside


def last_change(folder: Path, paths: Sequence[Path], excluded: Sequence[Path] = (), *, within: Path | None = None,
                matching: Sequence[str] = (), skipping: Sequence[str] = ()) -> str | None:
    """The 12-character SHA of the newest commit at or before HEAD that changed any of
    ``paths`` (files or folders), or of the files of folder ``within`` that match one of
    the ignore-file patterns ``matching`` and none of ``skipping``; None when git cannot
    say (outside a repository, or nothing of them committed yet). The revision an image
    records: a commit elsewhere in the repository does not make the same inputs another
    image (BP14's X.Y.Z stays put). Inside ``one_checkout()``, once per repository and set
    of paths."""
    root = _repository_folder(folder.resolve())
    if root is None:
        return None
    inside = _inputs_pathspecs(root, paths, excluded, within, matching, skipping)
    if not inside:
        return None
    asked = _asked.get()
    key = (root, tuple(inside))
    if asked is not None and key in asked:
        return asked[key]
    try:
        done = subprocess.run(["git", "log", "-1", "--format=%H", "--", *inside], cwd=root, capture_output=True,
                              text=True, timeout=30, check=False)
        sha = done.stdout.strip()[:12] if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        sha = None
    if asked is not None:
        asked[key] = sha or None
    return sha or None


def inputs_uncommitted(folder: Path, paths: Sequence[Path], excluded: Sequence[Path] = (), *,
                       within: Path | None = None, matching: Sequence[str] = (),
                       skipping: Sequence[str] = ()) -> bool:
    """Whether the checkout holds uncommitted changes (changed, staged, or untracked and not
    ignored) to the inputs ``last_change`` reads with the same arguments: the revision an
    image records is then not all of what it holds. A change elsewhere in the checkout, or
    to an ``excluded`` file (a Dockerfile or lock imagespec writes), is none of its inputs."""
    root = _repository_folder(folder.resolve())
    inside = _inputs_pathspecs(root, paths, excluded, within, matching, skipping) if root else []
    if root is None or not inside:
        return False
    listed = _git(root, "status", "--porcelain", "--untracked-files=all", "-z", "--", *inside, strip=False)
    return bool(listed)


OCI = OCI_PREFIX


def oci_labels(
    title: str | None = None,
    description: str | None = None,
    version: str | None = None,
    revision: str | None = None,
    created: str | datetime | None = None,
    source: str | None = None,
    licenses: str | None = None,
    base_name: str | None = None,
    base_digest: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The ``org.opencontainers.image.*`` labels, omitting those without a value.

    ``created`` defaults to SOURCE_DATE_EPOCH (reproducible builds) when set, else now,
    as RFC 3339 UTC. ``base_name``/``base_digest`` record the base image so that a
    rebuild on a patched base can be automated (BP13). ``licenses`` is an SPDX
    expression (BP16). Keys come out sorted so the Dockerfile text is stable.
    """
    env = os.environ if environ is None else environ
    values = {
        "title": title,
        "description": description,
        "version": version,
        "revision": revision,
        "created": _rfc3339(created, env),
        "source": source,
        "licenses": licenses,
        "base.name": base_name,
        "base.digest": base_digest,
    }
    return {OCI + key: value for key, value in sorted(values.items()) if value}


def _rfc3339(created: str | datetime | None, env: Mapping[str, str]) -> str:
    if isinstance(created, str):
        return created
    if created is None:
        epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
        if epoch:
            if not epoch.isdigit():
                raise SpecError(
                    f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds",
                    hint="set it to an integer Unix time, e.g. `git log -1 --format=%ct`",
                )
            created = datetime.fromtimestamp(int(epoch), tz=UTC)
        else:
            created = datetime.now(tz=UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
