"""A multi-platform image: one image per platform, pushed, then joined under the spec's
tags into one index in the registry.

Role: name each platform's image (``repo:1.0.0-linux-arm64``: the local tag `imagespec
test` runs and the registry tag the index points through), refuse to move an immutable
index tag (BP14) before anything is pushed, and create the index with ``docker buildx
imagetools create``, which copies nothing but manifests, registry to registry. The
engine's classic image store holds one platform per tag, so the index itself lives only
in the registry.

The index is the Docker manifest list the pushed schema-2 manifests call for (what
``imagetools`` makes of them); OCI's image index is the same structure under another
media type, and clients (docker, containerd, BuildKit) read both alike.

May import: the standard library, ``imagespec.errors``, ``imagespec.platform``, the
reference grammar and its own package; the engine's client only through ``publish.push``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from imagespec import platform as platforms
from imagespec import reference as grammar
from imagespec.errors import EngineError, TagConflict
from imagespec.publish.tags import is_immutable_tag

_TIMEOUT_S = 300


@dataclass(frozen=True)
class PlatformImage:
    """One platform's image as built and pushed."""

    platform: str
    image_id: str
    tag: str  # the local (and registry) tag of this platform's image
    digest: str | None = None  # its manifest digest in the registry, once pushed
    duration_s: float = 0.0


@dataclass(frozen=True)
class Index:
    references: tuple[str, ...]  # the spec's tags, each naming the index in the registry
    digest: str
    platforms: tuple[str, ...]


def platform_tag(reference: str, platform: str) -> str:
    """``repo:1.0.0`` for linux/arm64 → ``repo:1.0.0-linux-arm64`` (a tag of its own: the
    classic store holds one platform per tag). Too long a tag is cut, never invalid."""
    parsed = grammar.parse(reference)
    suffix = platforms.parse(platform).tag_suffix
    tag = (parsed.tag or "latest")[:127 - len(suffix)] + "-" + suffix
    return f"{parsed.name}:{grammar.tag(tag)}"


def refuse_moving(references: Sequence[str], image_ids: Sequence[str], *, timeout: float = 10.0) -> None:
    """BP14 for the index: an exact-version tag that already names an index of other
    images is not moved (checked before anything is pushed). Same images: a re-run."""
    from imagespec.publish import registry  # lazy: urllib.request costs ~50 ms at import

    conflicts = []
    for reference in references:
        parsed = grammar.parse(reference)
        if not parsed.tag or not is_immutable_tag(parsed.tag):
            continue
        remote = registry.lookup(parsed.name, parsed.tag, timeout=timeout)
        if remote is not None and set(remote.config_digests) != set(image_ids):
            conflicts.append(f"{reference} is {remote.digest} in the registry (images "
                             f"{', '.join(sorted(remote.config_digests)) or 'unknown'}), not the index of "
                             f"{', '.join(sorted(image_ids))}")
    if conflicts:
        raise TagConflict("refusing to move an immutable version tag (BP14): " + "; ".join(conflicts),
                          hint="release a new version (X.Y.Z never moves), or push with --force to overwrite")


def create_index(references: Sequence[str], members: Sequence[PlatformImage], *, docker: str = "docker",
                 on_status: Callable[[str], None] | None = None) -> Index:
    """One index under every reference, pointing at each member's pushed manifest."""
    name = grammar.parse(references[0]).name
    sources = [f"{name}@{member.digest}" for member in members]
    argv = [docker, "buildx", "imagetools", "create"]
    for reference in references:
        argv += ["--tag", reference]
    try:
        done = subprocess.run([*argv, *sources], capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EngineError(f"docker buildx imagetools create did not finish: {error}") from None
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise EngineError(f"creating the index {references[0]} failed: {tail}",
                          hint="the platforms' images are pushed; `docker buildx imagetools create` can be re-run")
    if on_status:
        on_status(f"index {references[0]} ({', '.join(m.platform for m in members)})")
    listed = index_platforms(references[0], docker=docker)
    return Index(tuple(references), listed[0], tuple(listed[1]))


def index_platforms(reference: str, *, docker: str = "docker") -> tuple[str, list[str]]:
    """(digest, the platforms it lists) of the index ``reference`` in its registry."""
    argv = [docker, "buildx", "imagetools", "inspect", "--raw", reference]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EngineError(f"docker buildx imagetools inspect did not finish: {error}") from None
    if done.returncode != 0:
        raise EngineError(f"cannot read the index {reference}: {done.stderr.strip()}")
    document = json.loads(done.stdout)
    from imagespec.publish import registry  # the digest the registry serves the tag under

    parsed = grammar.parse(reference)
    remote = registry.lookup(parsed.name, parsed.tag or "latest")
    digest = remote.digest if remote else ""
    found = []
    for manifest in document.get("manifests", []):
        spec = manifest.get("platform") or {}
        parts = [spec.get("os", ""), spec.get("architecture", "")] + ([spec["variant"]] if spec.get("variant") else [])
        found.append("/".join(parts))
    return digest, sorted(found)
