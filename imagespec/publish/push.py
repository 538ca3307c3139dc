"""Pushing tags, without ever moving an immutable one (BP14).

Role: before anything is pushed, look up every exact-version tag (``X.Y.Z``,
``X.Y.Z-pre``) in the registry; if it exists and holds a different image, refuse with
both digests (``TagConflict``) unless ``force=True``. Moving tags (``X.Y``, ``X``,
``latest``) and commit-SHA tags are pushed as they are: a SHA tag is traceable by
construction, but a rebuild of the same commit is rarely bit-identical, so refusing it
would break every CI re-run. A moving tag never goes back, though: one that names a newer
version in the registry (its version label) stays there, said through ``on_status``, so
that a re-run of an older pipeline, or the older of two specs of one image, cannot take
``latest``, ``X`` or ``X.Y`` from the newest release (BP14). Pushing itself goes through
the docker SDK.

The check-then-push is not atomic: two concurrent releases of the same version can
still race; the registry itself would have to enforce immutability to close that.

May import: the standard library, ``imagespec.errors``, ``imagespec.reference``, ``imagespec.contract`` and its own package;
``docker`` only lazily (through ``engine``).
"""

from __future__ import annotations

import re

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from imagespec import reference as grammar
from imagespec.contract import LABEL_OCI_VERSION
from imagespec.engine.client import connect, engine_errors
from imagespec.publish.tags import is_immutable_tag, split_reference
from imagespec.errors import EngineError, SpecError, TagConflict

if TYPE_CHECKING:  # pragma: no cover
    import docker

    from imagespec.publish.registry import RemoteImage


def push_tags(
    references: Sequence[str],
    *,
    force: bool = False,
    client: docker.DockerClient | None = None,
    on_status: Callable[[str], None] | None = None,
    registry_timeout: float = 10.0,
) -> dict[str, str]:
    """Push ``name:tag`` references (already tagged locally); returns reference → digest.

    Raises TagConflict (before pushing anything) when an immutable tag already holds a
    different image in the registry, unless ``force``. A moving tag (X.Y, X, latest) whose
    image in the registry has a higher version stays there, unless ``force`` (a rollback).
    """
    from imagespec.publish import registry  # lazy: only a push pays for urllib.request

    client = client or connect()
    # a name without a registry host (`app:1.0.0` of a spec with no `registry:`) is a local
    # tag: pushing it would go to Docker Hub's library, which no user of a spec meant
    local = [reference for reference in references if not grammar.parse(reference).domain]
    if local and on_status:
        on_status(f"not pushed (no registry in the name: a local tag): {', '.join(local)}")
    parsed = []
    for reference in (reference for reference in references if reference not in local):
        name, tag = split_reference(reference)
        if tag is None:
            raise SpecError(f"cannot push {reference!r} without a tag", hint="write it as name:tag")
        with engine_errors(f"push {reference}"):
            image = client.images.get(reference)
        parsed.append((reference, name, tag, image))

    if not force:
        conflicts = []
        for reference, name, tag, image in parsed:
            if not is_immutable_tag(tag):
                continue
            remote = registry.lookup(name, tag, timeout=registry_timeout)
            if remote is not None and not _same_image(remote, image, name):
                conflicts.append(
                    f"{reference} is {remote.digest} in the registry "
                    f"(image {', '.join(sorted(remote.config_digests)) or 'unknown'}), "
                    f"but the local image is {image.id}"
                )
        if conflicts:
            raise TagConflict(
                "refusing to move an immutable version tag (BP14): " + "; ".join(conflicts),
                hint="release a new version (X.Y.Z never moves): a change to the spec, its lock, its context or its "
                     "bases makes another image (a commit of its context's folder is its revision label); a spec "
                     "without a lock file is built again on every run, as nothing pins its bases: `imagespec lock "
                     "SPEC` lets a run that changed nothing take the registry's image; or push with --force to "
                     "overwrite",
            )

    digests = {}
    for reference, name, tag, image in parsed:
        # --force is how a release is rolled back: it moves a moving tag back too
        if not force and moving_back(reference, image_version(image.attrs), timeout=registry_timeout,
                                     on_status=on_status):
            continue
        digests[reference] = _push_one(client, reference, name, tag, on_status)
    return digests


def image_version(attrs: Mapping[str, Any]) -> str | None:
    """The version label of a local image (``attrs``: what the engine says of it): what
    its moving tags are (BP14: never back to an older one)."""
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return labels.get(LABEL_OCI_VERSION) or None


def moving_back(reference: str, version: str | None, *, timeout: float = 10.0,
                on_status: Callable[[str], None] | None = None) -> bool:
    """True (said through ``on_status``) when ``reference`` is a moving tag of ``version``
    (``X.Y``, ``X``, ``latest``) that names a higher version in the registry: pushing it
    would take it back (BP14), so it stays. False when it may move: not a moving tag of
    ``version``, no version label on either side, or not a higher one. Whatever the tag
    names there, one image or an index, its images' version label says (an index's
    platforms are one build: the highest, should they differ)."""
    from imagespec.publish import registry

    try:
        moving = grammar.version_tags(version)[1:] if version else []
    except grammar.Invalid:
        return False
    tag = split_reference(reference)[1]
    if tag not in moving:
        return False
    remote = registry.platform_labels(reference, timeout=timeout)
    versions = [labels.get(LABEL_OCI_VERSION) for _, labels in remote[1].values()] if remote else []
    there = max(versions, key=grammar.version_order, default=None)
    if grammar.version_order(there) <= grammar.version_order(version):
        return False
    if on_status:
        on_status(f"kept {tag} on {there}: newer than {version}")
    return True


def _same_image(remote: RemoteImage, image: docker.models.images.Image, name: str) -> bool:
    # A local image id is the config digest (classic store) or the manifest digest
    # (containerd store); RepoDigests remember earlier pushes/pulls of this very image.
    repo_digests = set(image.attrs.get("RepoDigests") or ())
    return (
        image.id in remote.config_digests
        or image.id == remote.digest
        or f"{name}@{remote.digest}" in repo_digests
    )


_STATUS_DIGEST = re.compile(r"\bdigest: (sha256:[0-9a-f]{64})\b")


def _push_one(
    client: docker.DockerClient,
    reference: str,
    name: str,
    tag: str,
    on_status: Callable[[str], None] | None,
) -> str:
    digest = None
    with engine_errors(f"push {reference}"):
        for record in client.images.push(name, tag, stream=True, decode=True):
            if "error" in record:
                message = str(record.get("error")).strip()
                denied = any(w in message.lower() for w in ("denied", "unauthorized", "authentication"))
                raise EngineError(
                    f"push {reference} failed: {message}",
                    hint="log in with `docker login <registry>`" if denied else None,
                )
            aux = record.get("aux") or {}
            if "Digest" in aux:
                digest = aux["Digest"]
            elif digest is None and (said := _STATUS_DIGEST.search(str(record.get("status") or ""))):
                # the containerd image store says it only in the status line ("TAG: digest: sha256:… size: N")
                digest = said.group(1)
            if on_status and record.get("status"):
                layer = f"{record['id']}: " if record.get("id") else ""
                on_status(f"{layer}{record['status']}")
    if digest is None:
        raise EngineError(f"push {reference} reported no digest")
    return digest
