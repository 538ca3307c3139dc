"""The SBOM layer every image imagespec builds gets (BP16): the scan of the built image,
what the build knows that its file system does not record, and the one-layer build that
stores the document, under a waiting tag so a failed step moves no real tag.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from imagespec import reference as grammar
from imagespec.compiler import Compiled
from imagespec.plan import model as p
from imagespec.build_settings import BuildSettings

if TYPE_CHECKING:
    from imagespec.engine import BuildOptions, BuildResult
    from imagespec.sbom.component import Component
    from imagespec.sbom.document import App
    from imagespec.sbom.dpkg import Package
    from imagespec.sbom.scan import Scan


def pending_tag(compiled: Compiled) -> str:
    """Where the image waits for its SBOM layer: the real tags go to the image that has
    it, all or nothing, so a failed SBOM step moves no tag."""
    import secrets

    return f"imagespec-sbom-pending/{compiled.loaded.spec.name}:{secrets.token_hex(6)}"


def untag(reference: str) -> None:
    """Remove the waiting tag; the image goes with it when no other tag names it (its
    layers stay, as the final image's, and its build steps stay in BuildKit's cache)."""
    from imagespec.engine import connect
    from imagespec.engine.client import engine_errors

    with engine_errors(f"remove the tag {reference}"):
        connect().images.remove(reference)


def sbom_app(compiled: Compiled, image: str = "") -> App:
    """The SBOM's described package: the spec's name, version and licence."""
    from imagespec.sbom.document import App

    spec = compiled.loaded.spec
    return App(spec.name, spec.version or "", spec.license or "", image, programs=own_programs(compiled))


def own_programs(compiled: Compiled) -> tuple[str, ...]:
    """Where the final's own COPYs (from its build stages or the context) put files: the
    app's programs, as against its base's (a parent spec's Go binary is not this app)."""
    from imagespec.plan.passes import rootfs
    from imagespec.plan.passes.add_init import STAGE as INIT

    found: list[str] = []
    for copy in compiled.plan.final.instructions:
        if not isinstance(copy, p.Copy) or copy.from_stage in (INIT, rootfs.NAME):
            continue
        folder = copy.dest if copy.dest.endswith("/") else copy.dest + "/"
        for source in copy.sources:
            if source.endswith("/") or source in (".", "./"):
                found.append(folder)
            elif copy.dest.endswith("/") or len(copy.sources) > 1:
                found.append(folder + source.rstrip("/").rsplit("/", 1)[-1])
            else:
                found.append(copy.dest)
    return tuple(dict.fromkeys(found))


def context_lockfiles(compiled: Compiled) -> list[Component]:
    """Records of the build context that the image cannot hold: a Rust binary names no
    crates (no cargo-auditable here), so the Cargo.lock that `cargo build --locked` used
    is read from the context root."""
    from imagespec.sbom.cargo import crates

    lock = compiled.loaded.context / "Cargo.lock"
    return crates(lock.read_text(encoding="utf-8"), "Cargo.lock of the build context") if lock.is_file() else []


def built_in(compiled: Compiled, scan: Scan, platform: str | None,
             cache: Path | None = None) -> tuple[list[Component], list[str]]:
    """What the build knows that the final's file system does not record
    (imagespec.sbom.origins): tini from the init stage, and the C library each static
    program copied from a build stage was linked with, from that stage's image."""
    from imagespec.plan.passes import rootfs
    from imagespec.plan.passes.add_init import STAGE as INIT
    from imagespec.plan.passes.add_init import TINI
    from imagespec.platform import KNOWN
    from imagespec.sbom import origins

    stages = {stage.name: stage for stage in compiled.plan.stages}
    helper = stages.get(INIT)
    init = origins.InitStage(TINI, INIT) if helper and helper.base.package_manager == "apt" else None
    static = {e.location for e in scan.executables if e.static}
    target = KNOWN.get(platform or "")
    read: dict[str, tuple[Package, ...]] = {}
    found = []
    for copy in compiled.plan.final.instructions:
        if not isinstance(copy, p.Copy) or copy.from_stage not in stages or copy.from_stage in (INIT, rootfs.NAME):
            continue
        chain = _stage_chain(stages, copy.from_stage or "")
        image = chain[-1].base.ref
        if image == "scratch":
            continue
        cross = target.cross_libc_package if target and any(s.cross_compile in ("c", "rust") for s in chain) else ""
        for location in sorted(_copied_to(copy, static)):
            if image not in read:
                read[image] = _stage_packages(image, ("libc6-dev", "musl-dev", *([cross] if cross else [])), cache)
            found.append(origins.BuildStage(location, copy.from_stage or "", image, read[image], cross,
                                            target.debian_arch if target else ""))
    return origins.built_in(scan.executables, found, init)


def _stage_chain(stages: dict[str, p.Stage], name: str) -> list[p.Stage]:
    """The stage and the stages it starts from, down to the one on an image."""
    chain = [stages[name]]
    while chain[-1].base.from_stage in stages and len(chain) <= len(stages):
        chain.append(stages[chain[-1].base.from_stage or ""])
    return chain


def _copied_to(copy: p.Copy, locations: set[str]) -> set[str]:
    """Which of ``locations`` (paths in the final) the COPY wrote as a file of its own. A
    folder's content is not followed: a virtualenv or node_modules holds programs that
    were installed in the stage, not compiled there against its C library."""
    found = set()
    for source in copy.sources:
        if source.endswith("/"):
            continue
        if copy.dest.endswith("/"):
            found |= {copy.dest + source.rsplit("/", 1)[-1]} & locations
        elif len(copy.sources) == 1:
            found |= {copy.dest} & locations
    return found


def _stage_packages(image: str, names: tuple[str, ...], cache: Path | None) -> tuple[Package, ...]:
    """The C library packages of a build stage's image (pinned by digest when locked: the
    engine knows it by its tag too); none when the engine does not hold it."""
    from imagespec.sbom.store import image_packages

    try:
        references = (image, str(grammar.parse(image).unpinned()))
    except grammar.Invalid:  # a reference with a build argument in it: not one the engine holds
        return ()
    for reference in dict.fromkeys(references):
        packages = image_packages(reference, names, cache)
        if packages is not None:
            return packages
    return ()


def add_sbom(compiled: Compiled, settings: BuildSettings, options: BuildOptions, built: BuildResult,
             pending: str, *, tag: bool = True) -> tuple[BuildResult, str]:
    """Scan ``pending``, then build one layer on it holding the SBOM (imagespec.sbom.store
    says why a layer) with the build's tags (``tag=False``: untagged, for a caller that
    tags it itself); returns (BuildResult, SBOM text)."""
    import tempfile

    from imagespec.engine import BuildOptions, BuildResult, get_backend
    from imagespec.sbom import store
    from imagespec.sbom.document import document, to_json

    spec = compiled.loaded.spec
    fmt = store.check_format(settings.sbom_format)
    scan = store.scan_cached(pending, settings.sbom_cache)
    found = scan.components()
    extra = [] if any(c.ecosystem == "cargo" for c in found) else context_lockfiles(compiled)
    linked, notes = built_in(compiled, scan, options.platform, settings.sbom_cache)
    app = sbom_app(compiled, options.tags[0] if options.tags else spec.name)
    text = to_json(document(fmt, app, [*found, *extra, *linked],
                            created=store.created_time(pending, settings.source_date_epoch),
                            notes=[*scan.notes, *notes]))
    given = settings.source_date_epoch
    epoch = int(given) if given and given.isdigit() else None
    with tempfile.TemporaryDirectory(prefix="imagespec-sbom-") as scratch:
        dockerfile, path = store.sbom_layer(Path(scratch), pending, spec.name, text, fmt, epoch)
        layer = BuildOptions(tags=options.tags if tag else (), network=options.network, labels={store.LABEL_SBOM: path},
                             progress="quiet", builder=options.builder, extra_args=options.extra_args,
                             platform=options.platform)
        result = get_backend(settings.backend, display=False).build(dockerfile, Path(scratch), layer)
    return BuildResult(result.image_id, result.tags, built.duration_s + result.duration_s, built.steps), text


def own_sbom_path(compiled: Compiled, settings: BuildSettings) -> str:
    """Where this spec's image keeps its own SBOM (``add_sbom``; the label names it): not a
    base's, whose label an image inherits until its own layer replaces it."""
    from imagespec.sbom.store import path_in_image

    return path_in_image(compiled.loaded.spec.name, settings.sbom_format)


def store_sbom(compiled: Compiled, settings: BuildSettings, options: BuildOptions, image_id: str) -> tuple[str, str]:
    """A fleet target's SBOM (imagespec.fleet.run: bake built ``image_id``, untagged): the
    same layer as ``build``'s, made by ``add_sbom`` on the image under a waiting tag.
    Returns (the untagged image that holds it, the SBOM text): the fleet tags that one,
    all or nothing, as ``build`` does. ``options``: the target's, with its platform."""
    from imagespec.engine import BuildResult, connect
    from imagespec.engine.client import engine_errors

    pending = pending_tag(compiled)
    with engine_errors(f"tag {image_id} while its SBOM is made"):
        connect().images.get(image_id).tag(pending)
    try:
        result, text = add_sbom(compiled, settings, options, BuildResult(image_id, (), 0.0), pending, tag=False)
    finally:
        untag(pending)
    return result.image_id, text
