"""The SBOM layer every image imagespec builds gets (BP16): the scan of the built image,
what the build knows that its file system does not record, and the one-layer build that
stores the document, under a waiting tag so a failed step moves no real tag.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagespec import reference as grammar
from imagespec.compiler import Compiled
from imagespec.contract import LABEL_SBOM, LABEL_SBOM_IMAGE, LABEL_SBOM_KEY
from imagespec.plan import model as p
from imagespec.build_settings import BuildSettings
from imagespec.verify import files

if TYPE_CHECKING:
    import docker

    from imagespec.engine import BuildOptions, BuildResult
    from imagespec.sbom.component import Component
    from imagespec.sbom.document import App
    from imagespec.sbom.dpkg import Package
    from imagespec.sbom.scan import Scan
    from imagespec.verify.files import FileSystem


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
    for copy, chain in _copied_stages(compiled):
        image = chain[-1].base.ref
        cross = target.cross_libc_package if target and any(s.cross_compile in ("c", "rust") for s in chain) else ""
        for location in sorted(_copied_to(copy, static)):
            if image not in read:
                read[image] = _stage_packages(image, ("libc6-dev", "musl-dev", *([cross] if cross else [])), cache)
            found.append(origins.BuildStage(location, copy.from_stage or "", image, read[image], cross,
                                            target.debian_arch if target else ""))
    return origins.built_in(scan.executables, found, init)


def _copied_stages(compiled: Compiled) -> Iterator[tuple[p.Copy, list[p.Stage]]]:
    """Each COPY of the final from a build stage that starts from an image (not the init
    or rootfs helpers, not scratch), with that stage's chain down to the image: where
    ``built_in`` looks for the C library a static program was linked with."""
    from imagespec.plan.passes import rootfs
    from imagespec.plan.passes.add_init import STAGE as INIT

    stages = {stage.name: stage for stage in compiled.plan.stages}
    for copy in compiled.plan.final.instructions:
        if not isinstance(copy, p.Copy) or copy.from_stage not in stages or copy.from_stage in (INIT, rootfs.NAME):
            continue
        chain = _stage_chain(stages, copy.from_stage or "")
        if chain[-1].base.ref != "scratch":
            yield copy, chain


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

    for reference in _engine_references(image):
        packages = image_packages(reference, names, cache)
        if packages is not None:
            return packages
    return ()


def _engine_references(image: str) -> tuple[str, ...]:
    """How the engine may know a stage's image: as written (pinned by digest when locked),
    then by its tag; none for a reference with a build argument in it."""
    try:
        return tuple(dict.fromkeys((image, str(grammar.parse(image).unpinned()))))
    except grammar.Invalid:
        return ()


def add_sbom(compiled: Compiled, settings: BuildSettings, options: BuildOptions, built: BuildResult,
             pending: str, *, tag: bool = True, labels: Mapping[str, str] | None = None) -> tuple[BuildResult, str]:
    """Scan ``pending``, then build one layer on it holding the SBOM (imagespec.sbom.store
    says why a layer) with the build's tags (``tag=False``: untagged, for a caller that
    tags it itself) and ``labels`` besides its own; returns (BuildResult, SBOM text)."""
    import tempfile

    from imagespec.engine import BuildOptions, BuildResult, get_backend
    from imagespec.sbom import store
    from imagespec.sbom.document import document, to_json

    spec = compiled.loaded.spec
    fmt = store.check_format(settings.sbom_format)
    made_on = {LABEL_SBOM_IMAGE: built.image_id, LABEL_SBOM_KEY: sbom_key(compiled, settings, options, built.image_id)}
    layers = store.layers_of(pending)
    seen = files.remembered(settings.sbom_cache, layers)
    # `imagespec test`'s file facts, gathered on the scan's own pass over the export
    reader = files.FilesReader() if seen is None and settings.sbom_cache else None
    scan = store.scan_cached(pending, settings.sbom_cache, visit=reader.visit if reader else None)
    if reader is not None and not reader.unread:
        seen = reader.seen
        files.remember(settings.sbom_cache, layers, seen)
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
        layer = BuildOptions(tags=options.tags if tag else (), network=options.network,
                             labels={**(labels or {}), LABEL_SBOM: path, **made_on},
                             progress="quiet", builder=options.builder, extra_args=options.extra_args,
                             platform=options.platform)
        result = get_backend(settings.backend, display=False).build(dockerfile, Path(scratch), layer)
    if seen is not None:
        _remember_layered(settings.sbom_cache, layers, seen, result.image_id, path)
    return BuildResult(result.image_id, result.tags, built.duration_s + result.duration_s, built.steps), text


def _remember_layered(cache: Path | None, below: list[str], seen: FileSystem, image_id: str, path: str) -> None:
    """What the layered image's file system holds, for `imagespec test` of it: what was
    read below plus the one file (and its folders) of the layer this build made itself,
    by the layered image's diff IDs. Nothing when its layers are not those below and one
    more (a builder that squashed them, say): the test then reads the image."""
    from imagespec.sbom import store

    layered = store.layers_of(image_id)
    if layered[:-1] == below and len(layered) == len(below) + 1:
        files.remember(cache, layered, files.with_file(seen, path))


def own_sbom_path(compiled: Compiled, settings: BuildSettings) -> str:
    """Where this spec's image keeps its own SBOM (``add_sbom``; the label names it): not a
    base's, whose label an image inherits until its own layer replaces it."""
    from imagespec.sbom.store import path_in_image

    return path_in_image(compiled.loaded.spec.name, settings.sbom_format)


def sbom_key(compiled: Compiled, settings: BuildSettings, options: BuildOptions, image_id: str) -> str:
    """A hash of everything the SBOM layer made on ``image_id`` (``add_sbom``) depends on:
    that image as built (``_as_built``: its layers, configuration and labels, all but
    the ``created`` label), the format, SOURCE_DATE_EPOCH, the described app (name,
    version, licence, first tag), the platform, the scanners' and imagespec's versions,
    the context's Cargo.lock and the ID of each build-stage image whose C library
    ``built_in`` may read. Equal keys give the same document and the same layered image
    but for its ``created`` label."""
    import hashlib
    import json

    from imagespec.engine import connect
    from imagespec.engine.client import engine_errors

    lock = compiled.loaded.context / "Cargo.lock"
    client = connect()
    with engine_errors(f"inspect {image_id}"):
        built = _as_built(client.images.get(image_id).attrs)
    stage_images = sorted({chain[-1].base.ref for _, chain in _copied_stages(compiled)})
    facts = [built, sbom_settings(compiled, settings, options),
             hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else "",
             [[image, _image_id(client, image)] for image in stage_images]]
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def sbom_settings(compiled: Compiled, settings: BuildSettings, options: BuildOptions) -> list[str | int]:
    """What an SBOM document depends on besides the image and the build context: the
    scanners' and imagespec's versions and imagespec's code (by content: the document's
    writers change between versions too), the format and path, SOURCE_DATE_EPOCH, the app
    described (name, version, licence, first tag) and the platform."""
    from imagespec.cache import code_fingerprint
    from imagespec.pipeline.options import imagespec_version
    from imagespec.sbom.scan import SCANNERS

    spec = compiled.loaded.spec
    notes = settings.sbom_cache.parent if settings.sbom_cache else None  # the result cache's hash notes
    return [SCANNERS, imagespec_version(), code_fingerprint(notes), settings.sbom_format,
            own_sbom_path(compiled, settings),
            settings.source_date_epoch or "", spec.name, spec.version or "", spec.license or "",
            options.tags[0] if options.tags else spec.name, options.platform or ""]


def _as_built(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """What an image is, but for when it was built: its layers, platform, BuildKit's
    ``Created`` (which the SBOM's own date is; a cached build repeats it) and its whole
    configuration with every label but ``org.opencontainers.image.created``. That label
    is "now" on every build without SOURCE_DATE_EPOCH (publish.tags.oci_labels), so two
    builds of the same inputs differ in it alone; every other change (a layer, the
    revision, the base's digest, an ENV) is a different image here."""
    from imagespec.publish.tags import OCI

    config = dict(attrs.get("Config") or {})
    config["Labels"] = {k: v for k, v in (config.get("Labels") or {}).items() if k != OCI + "created"}
    return {"layers": (attrs.get("RootFS") or {}).get("Layers") or [], "config": config,
            "created": attrs.get("Created"), "platform": [attrs.get("Os"), attrs.get("Architecture"),
                                                          attrs.get("Variant")]}


def _image_id(client: docker.DockerClient, image: str) -> str:
    """The ID under which the engine holds a stage's image; '' when it holds none."""
    for reference in _engine_references(image):
        try:
            return str(client.images.get(reference).id)
        except Exception:  # not in the engine's store (BuildKit pulled it into its own): try the tag
            continue
    return ""


def reusable_sbom(compiled: Compiled, settings: BuildSettings, options: BuildOptions, image_id: str,
                  candidates: Sequence[str], labels: Mapping[str, str] | None = None) -> str | None:
    """The ID of an image under one of ``candidates`` (the tags an earlier build gave its
    result) whose SBOM layer was made with this SBOM's path and key (``sbom_key``) on an
    image built as ``image_id`` was: the layered image this build would make again but
    for its ``created`` label (the layer is deterministic), so it is kept as it is, with
    no scan and no layer build (#14), and its tags do not move (an X.Y.Z pushed before
    is the same digest, BP14). None when there is none: any change to what was built
    gives a new SBOM (BP16). ``labels``: the layer's own besides the SBOM's, which the
    kept image must carry too."""
    from imagespec.engine import connect

    client = connect()
    found = []
    for reference in candidates:
        try:
            found.append(client.images.get(reference).attrs)
        except Exception:  # never built, or removed since: nothing to reuse under this tag
            continue
    wanted = {**(labels or {}), LABEL_SBOM: own_sbom_path(compiled, settings)}
    mine = [attrs for attrs in found
            if all(((attrs.get("Config") or {}).get("Labels") or {}).get(k) == v for k, v in wanted.items())]
    if not mine:  # the common first build: no key to compute
        return None
    key = sbom_key(compiled, settings, options, image_id)
    for attrs in mine:
        if attrs["Config"]["Labels"].get(LABEL_SBOM_KEY) == key:
            return str(attrs["Id"])
    return None


def sbom_layered(compiled: Compiled, settings: BuildSettings, options: BuildOptions, built: BuildResult,
                 pending: str, *, want_text: bool = True) -> tuple[BuildResult, str | None, bool]:
    """``add_sbom`` with the build's tags, or, when the image under its first tag already
    holds this SBOM on this very output (``reusable_sbom``), that image with the tags
    applied. Returns (BuildResult, the SBOM's text, whether it was reused); a reused
    SBOM is read back from the image only when ``want_text`` (``--sbom FILE``)."""
    from imagespec.engine import BuildResult, connect
    from imagespec.engine.local_tags import apply_tags
    from imagespec.sbom.store import stored

    reused = reusable_sbom(compiled, settings, options, built.image_id, options.tags[:1])
    if reused is None:
        result, text = add_sbom(compiled, settings, options, built, pending)
        return result, text, False
    client = connect()
    applied = apply_tags(client, reused, options.tags)
    found = stored(reused, client=client) if want_text else None
    return BuildResult(reused, applied, built.duration_s, built.steps), found[1] if found else None, True


def store_sbom(compiled: Compiled, settings: BuildSettings, options: BuildOptions, image_id: str,
               candidates: Sequence[str] = (), labels: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """A fleet target's SBOM (imagespec.fleet.run: bake built ``image_id``, untagged): the
    same layer as ``build``'s, made by ``add_sbom`` on the image under a waiting tag, or
    the image under ``candidates`` that already holds it (``reusable_sbom``). Returns (the
    untagged image that holds it, whether it was reused): the fleet tags that one, all or
    nothing, as ``build`` does. ``options``: the target's, with its platform; ``labels``:
    the layer's besides its own (an image is reused only when it carries them too)."""
    from imagespec.engine import BuildResult, connect
    from imagespec.engine.client import engine_errors

    reused = reusable_sbom(compiled, settings, options, image_id, candidates, labels)
    if reused is not None:
        return reused, True
    pending = pending_tag(compiled)
    with engine_errors(f"tag {image_id} while its SBOM is made"):
        connect().images.get(image_id).tag(pending)
    try:
        result, _ = add_sbom(compiled, settings, options, BuildResult(image_id, (), 0.0), pending, tag=False,
                             labels=labels)
    finally:
        untag(pending)
    return result.image_id, False
