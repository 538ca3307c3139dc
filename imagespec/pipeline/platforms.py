"""Several platforms: one build per platform, each with its own SBOM, pushed and joined
into one index (an OCI image index); or none, when the registry's index of the spec's
X.Y.Z is what the builds would make again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from imagespec import reference as grammar
from imagespec.compiler import Compiled
from imagespec.errors import BuildFailed, Location, SpecError
from imagespec.pipeline.failures import locate_failure
from imagespec.contract import LABEL_OCI_VERSION
from imagespec.pipeline.image import BeforePush, records, refuse_nowhere_to_push, wanted_labels
from imagespec.pipeline.options import build_options, references
from imagespec.pipeline.platform_bases import platforms_location, refuse_missing_bases
from imagespec.pipeline.sbom_layer import pending_tag, sbom_layered, untag
from imagespec.build_settings import BuildSettings
from imagespec.spec.catalog import Catalog

if TYPE_CHECKING:
    from imagespec.engine import BuildOptions, BuildResult
    from imagespec.engine.backend import Backend
    from imagespec.publish.index import Index, PlatformImage, Published
    from imagespec.spec.config import Config


def index_references(compiled: Compiled, settings: BuildSettings, tags: tuple[str, ...],
                     where: Location | None) -> tuple[str, ...]:
    """The tags that name a multi-platform image's index: those with a registry (the index
    exists only in one; the spec's own name when --tag names the registry cannot name it).
    Without --push, or with no such tag, bad input (``where``: the `platforms:`)."""
    chosen = _with_registry(tags)
    if not settings.push:
        raise SpecError(f"{len(compiled.plan.platforms)} platforms make one multi-platform image (an index), which "
                        "the engine's image store cannot hold: it is pushed to a registry or not made", location=where,
                        hint="pass --push (with the spec's `registry:` or --tag registry/name:tag), or build one "
                             "platform by listing only it in `platforms:`")
    if not chosen:
        refuse_nowhere_to_push(compiled, chosen)
    return chosen


def current_index(compiled: Compiled, settings: BuildSettings) -> Published | None:
    """The registry's index of this spec when building its platforms again would change
    nothing (no rebuild loop: a rebuild differs in its timestamps, and an X.Y.Z index of
    those images would be refused, BP14): with --push, the spec's X.Y.Z tags name one
    index listing exactly the spec's platforms, and each platform's image records
    ``wanted_labels``, as one image must to be up to date (this lock, these inputs, this
    clean commit, this imagespec, and its own SBOM: every platform's build adds that
    layer, labelled with one path, so an image without it was not made this way). Asked
    in the registry whether or not the engine still has the platforms' images: the index
    lives only there. None otherwise: the platforms are built as without it. ``--force``
    builds."""
    from imagespec.publish.index import published

    wanted = None if settings.force or not settings.push else wanted_labels(compiled, settings)
    if wanted is None:
        return None
    found = published(_registry_tags(compiled, settings))
    if found is None or sorted(found.images) != sorted(compiled.plan.platforms):
        return None
    return found if all(records(labels, wanted) for _, labels in found.images.values()) else None


def keep_index(compiled: Compiled, settings: BuildSettings, index: Published,
               on_status: Callable[[str], None] = lambda _: None, *, before_push: BeforePush | None = None,
               ) -> tuple[tuple[PlatformImage, ...], Index]:
    """The registry's index found current (``current_index``), not built: each platform's
    image pulled and tagged ``TAG-os-arch`` here (what `imagespec test` runs; a CI runner
    starts without them), checked by ``before_push`` (--verify: a failing check raises
    before any tag moves), then named by every other tag of the spec (a moving tag never
    back to an older version, BP14). Returns (the platform images, the Index)."""
    from imagespec.engine import connect
    from imagespec.publish.index import name_index, platform_tag, pull_platforms

    tags = _registry_tags(compiled, settings)
    images = pull_platforms(connect(), index, {p: platform_tag(tags[0], p) for p in compiled.plan.platforms})
    if before_push is not None:
        before_push(tuple((image.platform, image.tag) for image in images))
    return images, name_index(tags, index, version=index.label(LABEL_OCI_VERSION), on_status=on_status)


def _registry_tags(compiled: Compiled, settings: BuildSettings) -> tuple[str, ...]:
    """The spec's tags that can name an index (``index_references``' choice)."""
    return _with_registry(references(compiled, settings))


def _with_registry(tags: tuple[str, ...]) -> tuple[str, ...]:
    """The tags that name a registry: only there can an index live."""
    return tuple(tag for tag in tags if grammar.parse(tag).domain)


def build_platforms(compiled: Compiled, settings: BuildSettings, on_status: Callable[[str], None] = lambda _: None, *,
                    catalog: Catalog | None = None, config: Config, before_push: BeforePush | None = None,
                    ) -> tuple[tuple[PlatformImage, ...], tuple[BuildResult, ...], Index, tuple[str | None, ...]]:
    """Several platforms: one build per platform (``--platform``; the cross-compiling
    stages run natively, the rest under QEMU), each with its own SBOM layer (scanned from
    that platform's file system) and tagged ``TAG-os-arch`` locally, then all pushed and
    joined into one index under the spec's tags. Returns (platform images, their build
    results, the Index, each platform's SBOM text, None for a --target build). ``config``:
    the spec's configuration (its `build.platforms` may be what asked for several).

    The engine's classic image store cannot hold an index, so the image must go to a
    registry: without --push nothing is built. Nothing is pushed until every platform
    has built, no immutable tag moves, and no moving one goes back to an older version
    (BP14). Until the platforms' images are
    pushed, a failure (a platform's build, a refused push) puts every `TAG-os-arch` back
    on what it named before this run, as ``build`` does with its tags: none is left
    half-moved, nor on an image the registry never took. ``before_push``: called with each
    (platform, local tag) once all are built, before anything is pushed (--verify: a
    failing check raises, and nothing is pushed)."""
    from imagespec.engine import connect, get_backend
    from imagespec.engine.local_tags import put_back_on_error
    from imagespec.publish import push_tags
    from imagespec.publish.index import create_index, platform_tag, refuse_moving

    platforms = compiled.plan.platforms
    options = build_options(compiled, settings)
    tagged = index_references(compiled, settings, options.tags, platforms_location(compiled, config))
    refuse_missing_bases(compiled, config, settings.target)
    backend = get_backend(settings.backend)
    built: list[PlatformImage] = []
    results: list[BuildResult] = []
    sboms: list[str | None] = []
    tags = {platform: platform_tag(tagged[0], platform) for platform in platforms}
    with put_back_on_error(connect(), list(tags.values())):
        for platform, tag in tags.items():
            _build_one(compiled, settings, backend, options, tag, platform, on_status, catalog, built, results, sboms)
        if not settings.force:
            refuse_moving(tagged, [image.image_id for image in built])
        if before_push is not None:
            before_push(tuple((image.platform, image.tag) for image in built))
        digests = push_tags([image.tag for image in built], force=settings.force, on_status=on_status)
    pushed = [dataclasses.replace(image, digest=digests[image.tag]) for image in built]
    # --force rolls a release back: its moving tags too, as push_tags does
    version = None if settings.force else options.labels.get(LABEL_OCI_VERSION)
    index = create_index(tagged, pushed, version=version, on_status=on_status)
    return tuple(pushed), tuple(results), index, tuple(sboms)


def _build_one(compiled: Compiled, settings: BuildSettings, backend: Backend, options: BuildOptions, tag: str,
               platform: str, on_status: Callable[[str], None], catalog: Catalog | None, built: list[PlatformImage],
               results: list[BuildResult], sboms: list[str | None]) -> None:
    """One platform's image, tagged ``tag`` (``TAG-os-arch``), with its SBOM: appended to
    ``built``, ``results`` and ``sboms``."""
    from imagespec.publish.index import PlatformImage

    on_status(f"building {platform} as {tag}")
    mine = dataclasses.replace(options, tags=(tag,), platform=platform)
    pending = None if settings.target else pending_tag(compiled)  # a stage gets no SBOM, as in `build`
    try:
        result = backend.build(compiled.dockerfile, compiled.loaded.context,
                               dataclasses.replace(mine, tags=(pending,)) if pending else mine)
    except BuildFailed as failure:
        located = locate_failure(compiled, failure, catalog)
        located.message = f"{platform}: {located.message}"
        raise located from None
    sbom = None
    if pending:
        on_status(f"SBOM of {platform} (BP16)")
        try:  # kept when the platform's tag already holds it for an image built the same way (sbom_layered)
            result, sbom, _ = sbom_layered(compiled, settings, mine, result, pending)
        finally:
            untag(pending)
    built.append(PlatformImage(platform, result.image_id, tag, duration_s=result.duration_s))
    results.append(result)
    sboms.append(sbom)
