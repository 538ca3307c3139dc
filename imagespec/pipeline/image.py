"""One spec's image on the local engine: whether it is up to date, and the build that
stores its SBOM and applies its tags all or nothing (BP14, BP16).
"""

from __future__ import annotations

import contextlib

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from imagespec import reference as grammar
from imagespec.compiler import Compiled
from imagespec.contract import LABEL_SBOM
from imagespec.errors import BuildFailed, SpecError
from imagespec.pipeline.failures import locate_failure
from imagespec.pipeline.options import build_options, provenance, references, revision
from imagespec.pipeline.sbom_layer import own_sbom_path, pending_tag, sbom_layered, untag
from imagespec.build_settings import BuildSettings
from imagespec.spec.catalog import Catalog

if TYPE_CHECKING:
    from imagespec.engine import BuildResult
    from imagespec.engine.backend import Backend


def up_to_date(compiled: Compiled, settings: BuildSettings) -> tuple[str, tuple[str, ...]] | None:
    """(image ID, tags) when building again would change nothing the image records: every
    tag the build would apply names one image that records ``wanted_labels`` (no rebuild
    loop on a base that did not move). None when those cannot be known, or when any tag or
    label differs. With --push and no such image here, the registry's X.Y.Z image when it
    records all that (``_pulled``). Several platforms: ``platforms.current_index``."""
    from imagespec.engine import connect

    wanted = wanted_labels(compiled, settings)
    if wanted is None:
        return None
    tags = references(compiled, settings)
    try:
        client = connect()
        images = [client.images.get(tag) for tag in tags]
    except Exception:  # not built (or not tagged) yet, or no engine: the build says which
        return _pulled(tags, wanted) if settings.push else None
    if len({image.id for image in images}) != 1:
        return None
    labels = images[0].attrs.get("Config", {}).get("Labels") or {}
    return (images[0].id, tags) if records(labels, wanted) else None


def wanted_labels(compiled: Compiled, settings: BuildSettings) -> dict[str, str] | None:
    """The labels an image records when building it again would change nothing: its base
    digest is the lock's, its input hash the spec's, its revision the last commit of its
    inputs in this clean checkout, built by this imagespec, and it carries its own SBOM.
    None when nothing can say that: a base not pinned by digest (by the lock or as the
    catalog writes it: Compiled.bases_pinned), outside git, in a dirty tree, with
    --no-cache. The input hash covers every stage's pinned base, so a moved build-stage
    base (go-build under a scratch final) rebuilds too."""
    from imagespec.publish import git_short_sha

    head = git_short_sha(compiled.loaded.folder)
    if not compiled.bases_pinned or head is None or head.endswith("-dirty") or settings.no_cache:
        return None
    wanted = provenance(compiled, revision(compiled))
    # an image without its own SBOM (BP16; one built before the fleet stored them, whose
    # label is its base's, inherited) is built again, from the cache, so that it has one
    if not settings.target:
        wanted[LABEL_SBOM] = own_sbom_path(compiled, settings)
    return wanted


def records(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    """Whether an image's ``labels`` record every one of ``wanted_labels``."""
    return all(labels.get(key) == value for key, value in wanted.items())


def _pulled(tags: tuple[str, ...], wanted: dict[str, str]) -> tuple[str, tuple[str, ...]] | None:
    """A push whose image is not here (a CI runner starts empty): when the registry's
    X.Y.Z tags name one image that records these very inputs, that image is pulled and
    tagged here, instead of a rebuild that differs in its timestamps and whose push of
    the X.Y.Z would be refused (BP14). None when no X.Y.Z tag is in the registry yet, or
    they name another image (the push then says so)."""
    from imagespec.engine import connect
    from imagespec.engine.client import engine_errors
    from imagespec.publish.index import published
    from imagespec.publish.tags import split_reference

    found = published(tags)  # what the X.Y.Z tags name there: one image, or None
    if found is None or len(found.images) != 1 or not records(next(iter(found.images.values()))[1], wanted):
        return None
    name, version = split_reference(found.references[0])
    client = connect()
    with engine_errors(f"pull {name}:{version}"):
        image = client.images.pull(name, tag=version)
        for tag in tags:
            image.tag(*split_reference(tag))
    return image.id, tags


#: Called with each (platform, local tag) of what is about to be pushed, once it is built
#: and tagged here (--verify checks the image there: a failure raises, nothing is pushed)
BeforePush = Callable[[tuple[tuple[str, str], ...]], None]


def build(compiled: Compiled, settings: BuildSettings, on_status: Callable[[str], None] = lambda _: None, *,
          catalog: Catalog | None = None, backend: Backend | None = None,
          want_sbom: bool = True, before_push: BeforePush | None = None,
          ) -> tuple[BuildResult, dict[str, str], str | None, bool]:
    """Build, store the SBOM in the image, tag (and push): returns (BuildResult, pushed
    digests, the SBOM's text or None, whether the SBOM was reused). ``catalog`` (the configuration's) lets a base that
    cannot be pulled be traced to its entry. One platform in `platforms:` is an ordinary
    build for that platform; several are ``build_platforms``'s (an SBOM each). A
    ``--target`` build is a stage, not the image the spec describes: it gets no SBOM.
    ``backend``: the engine seam (default: ``settings.backend``'s), which a caller or a
    test may hand in. An SBOM the tagged image already holds for this very build output
    is reused (sbom_layer.sbom_layered), and its text read back only with ``want_sbom``."""
    from imagespec.engine import connect, get_backend
    from imagespec.engine.local_tags import put_back_on_error
    from imagespec.publish import push_tags

    options = build_options(compiled, settings)
    if compiled.plan.platforms:
        options = dataclasses.replace(options, platform=compiled.plan.platforms[0])
    tags = options.tags
    if settings.push:
        refuse_nowhere_to_push(compiled, tags)
    pending = None if settings.target else pending_tag(compiled)
    # a push the registry refuses (an X.Y.Z it holds for another image, BP14) leaves the
    # tags here on what they named before, not on an image that was not published
    with put_back_on_error(connect(), tags) if settings.push else contextlib.nullcontext():
        try:
            result = (backend or get_backend(settings.backend)).build(
                compiled.dockerfile, compiled.loaded.context,
                dataclasses.replace(options, tags=(pending,)) if pending else options)
        except BuildFailed as failure:
            raise locate_failure(compiled, failure, catalog) from None
        sbom, reused = None, False
        if pending:
            try:
                result, sbom, reused = sbom_layered(compiled, settings, options, result, pending,
                                                    want_text=want_sbom)
            finally:
                untag(pending)
            on_status(f"SBOM: reused, {tags[0]} already holds this build's (BP16)" if reused
                      else "SBOM: read from the image's file system (BP16)")
        pushed: dict[str, str] = {}
        if settings.push:
            if before_push is not None:
                before_push((("", tags[0]),))
            pushed = push_tags(tags, force=settings.force, on_status=on_status)
    return result, pushed, sbom, reused


def refuse_nowhere_to_push(compiled: Compiled, tags: tuple[str, ...]) -> None:
    """--push of a spec none of whose ``tags`` names a registry: bad input at its `name:`,
    before anything builds (one spec, one of several platforms, a fleet's target)."""
    if not compiled.loaded.spec.registry and not any(grammar.parse(t).domain for t in tags):
        raise SpecError("--push: nothing to push to: the spec has no `registry`",
                        location=compiled.loaded.document.location(("name",)),
                        hint="set `registry: host:port/team` in the spec; or pass --tag host/name:tag (one spec), "
                             "or leave the spec out of a pushed fleet")
