"""A multi-platform image: one image per platform, pushed, then joined under the spec's
tags into one index in the registry.

Role: name each platform's image (``repo:1.0.0-linux-arm64``: the local tag `imagespec
test` runs and the registry tag the index points through), refuse to move an immutable
index tag (BP14) before anything is pushed, and create the index with ``docker buildx
imagetools create``, which copies nothing but manifests, registry to registry. The
engine's classic image store holds one platform per tag, so the index itself lives only
in the registry. An index the registry already holds under the spec's X.Y.Z, of images
that record what a build would make again (``published``, judged by the pipeline), is
not made again: its platforms' images are pulled here (``pull_platforms``) and the
spec's other tags name it (``name_index``). A moving tag (``X.Y``, ``X``, ``latest``) of
an index never goes back to an older version (``publish.push.moving_back``, BP14).

The index is the Docker manifest list the pushed schema-2 manifests call for (what
``imagetools`` makes of them); OCI's image index is the same structure under another
media type, and clients (docker, containerd, BuildKit) read both alike.

May import: the standard library, ``imagespec.errors``, ``imagespec.platform``, the
reference grammar and its own package; the engine's client only through ``publish.push``,
or as handed in to pull (with ``engine.client.engine_errors``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


def create_index(references: Sequence[str], members: Sequence[PlatformImage], *, version: str | None = None,
                 docker: str = "docker", on_status: Callable[[str], None] | None = None) -> Index:
    """One index under every reference, pointing at each member's pushed manifest; a
    moving tag of ``version`` (the images' version label) that names a higher version in
    the registry stays there (``_may_move``), and is not among the Index's references.
    ``version`` None: every tag moves (--force, a rollback)."""
    name = grammar.parse(references[0]).name
    moving = _may_move(references, version, on_status)
    _imagetools_create(moving, [f"{name}@{member.digest}" for member in members], docker=docker)
    if on_status and moving:
        on_status(f"index {moving[0]} ({', '.join(m.platform for m in members)})")
    listed = index_platforms(moving[0], docker=docker) if moving else ("", sorted(m.platform for m in members))
    return Index(tuple(moving), listed[0], tuple(listed[1]))


@dataclass(frozen=True)
class Published:
    """An index the registry already holds under a spec's exact-version tags."""

    references: tuple[str, ...]  # the spec's X.Y.Z tags that name it
    digest: str
    #: platform -> (its image's manifest digest, that image config's labels)
    images: Mapping[str, tuple[str, Mapping[str, str]]]

    def label(self, key: str) -> str | None:
        """The label every platform's image records alike (None: not all, or none)."""
        values = {labels.get(key) for _, labels in self.images.values()}
        return values.pop() if len(values) == 1 else None


def published(references: Sequence[str], *, timeout: float = 10.0) -> Published | None:
    """What the exact-version ones of ``references`` (X.Y.Z, which never move: BP14) name in
    the registry, with each platform's image and its labels, when they all name one index
    or image; None when none is there yet, or they name different ones."""
    from imagespec.publish import registry

    versions = [reference for reference in references if is_immutable_tag(grammar.parse(reference).tag or "")]
    found = {reference: remote for reference in versions
             if (remote := registry.platform_labels(reference, timeout=timeout)) is not None}
    if not found or len({digest for digest, _ in found.values()}) != 1:
        return None
    digest, images = next(iter(found.values()))
    return Published(tuple(found), digest, images)


def pull_platforms(client: Any, index: Published, tags: Mapping[str, str]) -> tuple[PlatformImage, ...]:
    """Each platform's image of ``index`` pulled by its digest and tagged here as ``tags``
    says (platform -> ``TAG-os-arch``): what `imagespec test` and --verify run, which a CI
    runner that starts empty does not have. ``client``: the engine's (docker SDK)."""
    from imagespec.engine.client import engine_errors

    members = []
    for platform, tag in tags.items():
        digest = index.images[platform][0]
        name, local_tag = grammar.split(tag)
        with engine_errors(f"pull {name}@{digest}"):
            image = client.images.pull(name, tag=digest, platform=platform)
            image.tag(name, local_tag)
        members.append(PlatformImage(platform, image.id, tag, digest=digest))
    return tuple(members)


def name_index(references: Sequence[str], index: Published, *, version: str | None = None, docker: str = "docker",
               on_status: Callable[[str], None] | None = None) -> Index:
    """``index`` under every reference that does not name it yet (a moving tag, the
    commit's SHA), as ``create_index`` would write it: a copy of the same manifest (its
    digest does not change); a moving tag of ``version`` that names a higher version stays."""
    name = grammar.parse(references[0]).name
    moving = _may_move([r for r in references if r not in index.references], version, on_status)
    _imagetools_create(moving, [f"{name}@{index.digest}"], docker=docker)
    if on_status and moving:
        on_status(f"index {index.digest[:19]} named {', '.join(grammar.parse(r).tag or r for r in moving)}")
    return Index((*index.references, *moving), index.digest, tuple(sorted(index.images)))


def _may_move(references: Sequence[str], version: str | None, on_status: Callable[[str], None] | None) -> list[str]:
    """``references`` but the moving tags of ``version`` that name a newer one (BP14, said)."""
    from imagespec.publish.push import moving_back

    return [reference for reference in references if not moving_back(reference, version, on_status=on_status)]


def _imagetools_create(references: Sequence[str], sources: Sequence[str], *, docker: str) -> None:
    """``docker buildx imagetools create``: one index of ``sources`` under ``references``
    (none: nothing to write). One source that is an index is copied as it is."""
    if not references:
        return
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
