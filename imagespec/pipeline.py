"""The main job: compile a spec, then build, tag, verify and push its image.

Joins the compiler (pure) to the engine (imagespec.engine); the only module besides
the CLI that knows both. Decides the build-time facts the Dockerfile must not
hold: tags (BP14), created/revision labels, the CA bundle secret.

May import: both halves and imagespec.settings (it sits at the top, below jobs).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

from imagespec import reference as grammar
from imagespec.compiler import Compiled
from imagespec.errors import BuildFailed, BuildStepFailed, Location, SpecError
from imagespec.plan import model as p
from imagespec.contract import LABEL_IMAGESPEC_VERSION, LABEL_INPUTS_HASH, LABEL_SBOM, LABEL_WRITABLE, SECRET_ID
from imagespec.build_settings import BuildSettings
from imagespec.spec.catalog import Catalog
from imagespec.spec.files import CONFIG_NAME

if TYPE_CHECKING:
    from imagespec.engine import BuildOptions, BuildResult
    from imagespec.engine.backend import Backend
    from imagespec.sbom.component import Component
    from imagespec.sbom.document import App
    from imagespec.sbom.dpkg import Package
    from imagespec.sbom.scan import Scan
    from imagespec.publish.index import Index, PlatformImage
    from imagespec.spec.config import Config
    from imagespec.render.line_map import Command, Placed
    from imagespec.verify import Expectations


def repository(compiled: Compiled) -> str:
    spec = compiled.loaded.spec
    return f"{spec.registry.rstrip('/')}/{spec.name}" if spec.registry else spec.name


def references(compiled: Compiled, settings: BuildSettings) -> tuple[str, ...]:
    from imagespec.publish import git_short_sha, tags_for

    spec = compiled.loaded.spec
    sha = git_short_sha(compiled.loaded.folder) if spec.tags.git_sha else None
    version = spec.version if spec.tags.semver else None
    extra = (*spec.tags.extra, *settings.tags)
    return tags_for(repository(compiled), version, sha, extra)


def build_secrets(compiled: Compiled, settings: BuildSettings) -> list[tuple[str, Path]]:
    """Sources for the spec's declared secrets: --secret first, then the configuration's
    `build.secrets: {id: file}`. A declared secret with no source is left out: its steps
    run without it, as on a machine that does not need it."""
    declared = [s.id for s in compiled.loaded.spec.secrets]
    given = dict(settings.secrets)
    for secret_id in given:
        if secret_id not in declared and secret_id != SECRET_ID:
            raise SpecError(f"--secret {secret_id}: the spec declares no such secret",
                            location=compiled.loaded.document.location(("secrets",)),
                            hint=f"declared: {', '.join(declared) or 'none'}; add `secrets: [{{id: {secret_id}}}]`")
    chosen = []
    for secret_id in declared:
        source = given.get(secret_id) or settings.configured_secrets.get(secret_id)
        if source:
            chosen.append((secret_id, source))
    return chosen


def imagespec_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("imagespec")
    except PackageNotFoundError:  # run from a source tree without installing
        return "0+unknown"


def final_base(compiled: Compiled) -> tuple[str | None, str | None]:
    """(name, digest) of the final stage's base image: the name as the spec wrote it, the
    digest its lock pinned (None without a lock); (None, None) for scratch or a stage."""
    final = compiled.plan.final
    if final.base.ref == "scratch" or final.base.from_stage:
        return None, None
    parsed = grammar.parse(final.base.ref)
    return str(parsed.unpinned()), parsed.digest


def provenance(compiled: Compiled, revision: str | None) -> dict[str, str]:
    """The labels that say what an image was built from: base digest (when locked), source
    revision, the spec's input hash and imagespec's version."""
    from imagespec.publish.tags import OCI

    _, digest = final_base(compiled)
    labels = {LABEL_INPUTS_HASH: compiled.image_inputs, LABEL_IMAGESPEC_VERSION: imagespec_version()}
    if digest:
        labels[OCI + "base.digest"] = digest
    if revision:
        labels[OCI + "revision"] = revision
    return labels


def _labels(compiled: Compiled, revision: str | None, settings: BuildSettings) -> dict[str, str]:
    from imagespec.publish import oci_labels

    spec = compiled.loaded.spec
    base, pinned = final_base(compiled)
    labels = oci_labels(title=spec.name, description=spec.description, version=spec.version, revision=revision,
                        source=spec.source, licenses=spec.license, base_name=base,
                        base_digest=pinned or _base_digest(base),
                        environ={"SOURCE_DATE_EPOCH": settings.source_date_epoch} if settings.source_date_epoch else {})
    return labels | provenance(compiled, revision)


#: While ``remembering()`` runs: base reference -> _base_digest's answer
_base_digests: ContextVar[dict[str, str | None] | None] = ContextVar("imagespec_base_digests", default=None)


@contextmanager
def remembering() -> Iterator[None]:
    """Build options for many specs at once (a fleet): the git checkout's state and each
    base's digest are asked once for all of them, not once per spec."""
    from imagespec.publish.tags import one_checkout

    token = _base_digests.set({})
    try:
        with one_checkout():
            yield
    finally:
        _base_digests.reset(token)


def _base_digest(base: str | None) -> str | None:
    """The base's digest when the engine has it (BP13: know which images use which base)."""
    if base is None:
        return None
    known = _base_digests.get()
    if known is None:
        return _ask_base_digest(base)
    if base not in known:
        known[base] = _ask_base_digest(base)
    return known[base]


def _ask_base_digest(base: str) -> str | None:
    from imagespec.engine import connect

    try:
        image = connect().images.get(base)
    except Exception:  # not pulled yet or no engine: the build itself will say so
        return None
    digests = image.attrs.get("RepoDigests") or []
    return digests[0].split("@", 1)[1] if digests else image.id


def build_options(compiled: Compiled, settings: BuildSettings) -> BuildOptions:
    """The backend's options for this spec, derived from the settings: its tags and
    labels, the CA bundle secret and the secrets the spec declares."""
    from imagespec.engine import BuildOptions, Secret
    from imagespec.publish import git_short_sha

    tags = references(compiled, settings)
    secrets = tuple(Secret(secret_id, path) for secret_id, path in build_secrets(compiled, settings))
    if settings.ca_bundle is not None:
        secrets = (Secret(SECRET_ID, settings.ca_bundle, optional=False), *secrets)
    revision = git_short_sha(compiled.loaded.folder, mark_dirty=False)
    return BuildOptions(tags=tags, build_args=dict(settings.build_args),
                        target=settings.target, no_cache=settings.no_cache, network=settings.network, secrets=secrets,
                        labels=_labels(compiled, revision, settings), progress=settings.progress,
                        builder=settings.builder, extra_args=settings.extra_args, dockerignore=compiled.dockerignore)


def up_to_date(compiled: Compiled, settings: BuildSettings) -> tuple[str, tuple[str, ...]] | None:
    """(image ID, tags) when building again would change nothing the image records: every
    tag the build would apply names one image whose base digest is the lock's, whose input
    hash is the spec's, whose revision is this clean checkout's, built by this imagespec
    (no rebuild loop on a base that did not move), and that carries its SBOM. None without a lock (nothing pins what
    the bases are), outside git, in a dirty tree, with --no-cache, or when any tag or label
    differs. The input hash covers every stage's pinned base, so a moved build-stage base
    (go-build under a scratch final) rebuilds too."""
    from imagespec.engine import connect
    from imagespec.publish import git_short_sha

    locked = compiled.inputs_hash != compiled.lock_inputs  # some base was pinned by the lock
    revision = git_short_sha(compiled.loaded.folder)
    if not locked or revision is None or revision.endswith("-dirty") or settings.no_cache:
        return None
    wanted = provenance(compiled, revision)
    tags = references(compiled, settings)
    try:
        client = connect()
        images = [client.images.get(tag) for tag in tags]
    except Exception:  # not built (or not tagged) yet, or no engine: the build says which
        return None
    if len({image.id for image in images}) != 1:
        return None
    labels = images[0].attrs.get("Config", {}).get("Labels") or {}
    # an image without its own SBOM (BP16; one built before the fleet stored them, whose
    # label is its base's, inherited) is built again, from the cache, so that it has one
    with_sbom = bool(settings.target) or labels.get(LABEL_SBOM) == own_sbom_path(compiled, settings)
    return (images[0].id, tags) if with_sbom and all(labels.get(key) == value for key, value in wanted.items()) else None


def build(compiled: Compiled, settings: BuildSettings, on_status: Callable[[str], None] = lambda _: None, *,
          catalog: Catalog | None = None, backend: Backend | None = None) -> tuple[BuildResult, dict[str, str], str | None]:
    """Build, store the SBOM in the image, tag (and push): returns (BuildResult, pushed
    digests, the SBOM's text or None). ``catalog`` (the configuration's) lets a base that
    cannot be pulled be traced to its entry. One platform in `platforms:` is an ordinary
    build for that platform; several are ``build_platforms``'s (an SBOM each). A
    ``--target`` build is a stage, not the image the spec describes: it gets no SBOM.
    ``backend``: the engine seam (default: ``settings.backend``'s), which a caller or a
    test may hand in."""
    from imagespec.engine import get_backend
    from imagespec.publish import push_tags

    options = build_options(compiled, settings)
    if compiled.plan.platforms:
        options = dataclasses.replace(options, platform=compiled.plan.platforms[0])
    tags = options.tags
    if settings.push:
        _refuse_nowhere_to_push(compiled, tags)
    pending = None if settings.target else _pending_tag(compiled)
    try:
        result = (backend or get_backend(settings.backend)).build(
            compiled.dockerfile, compiled.loaded.context,
            dataclasses.replace(options, tags=(pending,)) if pending else options)
    except BuildFailed as failure:
        raise locate_failure(compiled, failure, catalog) from None
    sbom = None
    if pending:
        on_status("SBOM: reading the image's file system (BP16)")
        try:
            result, sbom = add_sbom(compiled, settings, options, result, pending)
        finally:
            _untag(pending)
    pushed: dict[str, str] = {}
    if settings.push:
        pushed = push_tags(tags, force=settings.force, on_status=on_status)
    return result, pushed, sbom


def _pending_tag(compiled: Compiled) -> str:
    """Where the image waits for its SBOM layer: the real tags go to the image that has
    it, all or nothing, so a failed SBOM step moves no tag."""
    import secrets

    return f"imagespec-sbom-pending/{compiled.loaded.spec.name}:{secrets.token_hex(6)}"


def _untag(reference: str) -> None:
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
    return App(spec.name, spec.version or "", spec.license or "", image)


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
    from imagespec.platform import KNOWN
    from imagespec.plan.passes import rootfs
    from imagespec.plan.passes.add_init import STAGE as INIT, TINI
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

    pending = _pending_tag(compiled)
    with engine_errors(f"tag {image_id} while its SBOM is made"):
        connect().images.get(image_id).tag(pending)
    try:
        result, text = add_sbom(compiled, settings, options, BuildResult(image_id, (), 0.0), pending, tag=False)
    finally:
        _untag(pending)
    return result.image_id, text


def _refuse_nowhere_to_push(compiled: Compiled, tags: tuple[str, ...]) -> None:
    if not compiled.loaded.spec.registry and not any(grammar.parse(t).domain for t in tags):
        raise SpecError("nothing to push to: the spec has no `registry`", location=compiled.loaded.document.location(("name",)),
                        hint="set `registry: host:port/team` in the spec, or pass --tag host/name:tag")


def index_references(compiled: Compiled, settings: BuildSettings, tags: tuple[str, ...],
                     where: Location | None) -> tuple[str, ...]:
    """The tags that name a multi-platform image's index: those with a registry (the index
    exists only in one; the spec's own name when --tag names the registry cannot name it).
    Without --push, or with no such tag, bad input (``where``: the `platforms:`)."""
    references = tuple(tag for tag in tags if grammar.parse(tag).domain)
    if not settings.push:
        raise SpecError(f"{len(compiled.plan.platforms)} platforms make one multi-platform image (an index), which "
                        "the engine's image store cannot hold: it is pushed to a registry or not made", location=where,
                        hint="pass --push (with the spec's `registry:` or --tag registry/name:tag), or build one "
                             "platform by listing only it in `platforms:`")
    if not references:
        _refuse_nowhere_to_push(compiled, references)
    return references


def platforms_location(compiled: Compiled, config: Config) -> Location:
    """Where the effective `platforms:` was written: the spec, else the configuration."""
    document = compiled.loaded.document
    if compiled.loaded.spec.platforms or config.document is None:
        return document.location(("platforms",))
    return config.document.location(("build", "platforms"))


def build_platforms(compiled: Compiled, settings: BuildSettings, on_status: Callable[[str], None] = lambda _: None, *,
                    catalog: Catalog | None = None, where: Location | None = None,
                    ) -> tuple[tuple[PlatformImage, ...], tuple[BuildResult, ...], Index, tuple[str | None, ...]]:
    """Several platforms: one build per platform (``--platform``; the cross-compiling
    stages run natively, the rest under QEMU), each with its own SBOM layer (scanned from
    that platform's file system) and tagged ``TAG-os-arch`` locally, then all pushed and
    joined into one index under the spec's tags. Returns (platform images, their build
    results, the Index, each platform's SBOM text, None for a --target build). ``where``: the `platforms:` that asked
    for it (spec or configuration).

    The engine's classic image store cannot hold an index, so the image must go to a
    registry: without --push nothing is built. Nothing is pushed until every platform
    has built, and no immutable tag moves (BP14)."""
    from imagespec.engine import get_backend
    from imagespec.publish import push_tags
    from imagespec.publish.index import PlatformImage, create_index, platform_tag, refuse_moving

    platforms = compiled.plan.platforms
    options = build_options(compiled, settings)
    references = index_references(compiled, settings, options.tags, where)
    backend = get_backend(settings.backend)
    built, results, sboms = [], [], []
    for platform in platforms:
        tag = platform_tag(references[0], platform)
        on_status(f"building {platform} as {tag}")
        mine = dataclasses.replace(options, tags=(tag,), platform=platform)
        pending = None if settings.target else _pending_tag(compiled)  # a stage gets no SBOM, as in `build`
        try:
            result = backend.build(compiled.dockerfile, compiled.loaded.context,
                                   dataclasses.replace(mine, tags=(pending,)) if pending else mine)
        except BuildFailed as failure:
            located = locate_failure(compiled, failure, catalog)
            located.message = f"{platform}: {located.message}"
            raise located from None
        sbom = None
        if pending:
            on_status(f"SBOM of {platform}: reading its file system (BP16)")
            try:
                result, sbom = add_sbom(compiled, settings, mine, result, pending)
            finally:
                _untag(pending)
        built.append(PlatformImage(platform, result.image_id, tag, duration_s=result.duration_s))
        results.append(result)
        sboms.append(sbom)
    if not settings.force:
        refuse_moving(references, [image.image_id for image in built])
    digests = push_tags([image.tag for image in built], force=settings.force, on_status=on_status)
    pushed = [dataclasses.replace(image, digest=digests[image.tag]) for image in built]
    return tuple(pushed), tuple(results), create_index(references, pushed, on_status=on_status), tuple(sboms)


def locate_failure(compiled: Compiled, failure: BuildFailed, catalog: Catalog | None = None) -> BuildFailed:
    """Point a failed step back at the spec line that produced it, through the renderer's
    line map (render/line_map.py); a base image that cannot be pulled, at the spec key
    and catalog entry that named it."""
    explained = explain_pull_failure(compiled, failure, catalog)
    if explained is not None:
        return explained
    line = getattr(failure, "step", None)
    placed = compiled.line_map().instruction_at(line) if line else None
    if placed is not None:
        _point_at_commands(compiled, failure, placed, _failed_commands(placed, getattr(failure, "log_tail", ())))
    return failure


def _failed_commands(placed: Placed, log_tail: tuple[str, ...]) -> tuple[Command, ...]:
    """The commands of a failed RUN that may have failed. BuildKit says which RUN and its
    exit code, not which `&&` item: the shell's own words narrow it down (a program it
    could not run, the heredoc's last `set -x` trace); otherwise it is any of them."""
    from imagespec.engine.shell_messages import last_traced, program_not_run, runs_program

    program = program_not_run(log_tail) or (last_traced(log_tail) if placed.form == "heredoc" else None)
    named = tuple(c for c in placed.commands if program and runs_program(c.text, program))
    return named or placed.commands


def _point_at_commands(compiled: Compiled, failure: BuildFailed, placed: Placed, commands: tuple[Command, ...]) -> None:
    """One spec line when the failed command is known; else the spec key holding them all
    and every line it may be, rather than a wrong single line (BP11 merged them)."""
    document = compiled.loaded.document
    origins = tuple(dict.fromkeys(c.origin for c in commands)) or (placed.origin,)
    if len(origins) == 1:
        failure.location = document.location(origins[0].path)
        return
    paths = [o.path for o in origins]
    common = next((paths[0][:n] for n in range(min(map(len, paths)), 0, -1)
                   if all(path[:n] == paths[0][:n] for path in paths)), placed.origin.path)
    failure.location = document.location(common)
    where = ", ".join(str(document.location(path)) for path in paths)
    failure.hint = "; ".join(filter(None, (
        f"one of the commands merged into this RUN failed, at {where} (BuildKit reports the RUN and its exit "
        "code, not which `&&` command): the step's last output may tell which", failure.hint)))


# -- a base image the engine cannot pull ------------------------------------------------
# BuildKit fails such a build at `[internal] load metadata for docker.io/library/golang:…`
# (or at the stage's FROM) with the resolver's error. The reader needs what imagespec knows
# and BuildKit does not: which spec key chose the image, which catalog entry (and file)
# maps that name to the reference, and how to repoint it (BP12: one configuration names
# every image of a company).
_PULLING = re.compile(r"(?:\[internal\] )?load metadata for (\S+)|FROM (?:--platform=\S+ )?(\S+)")
_REQUEST = re.compile(r'.*failed to do request: \w+ "[^"]*": (.+)', re.S)


def normalized(reference: str) -> str:
    """``golang:1.22`` → ``docker.io/library/golang:1.22``, as BuildKit names it."""
    try:
        return grammar.parse(reference).normalized
    except grammar.Invalid:  # not a reference BuildKit could have pulled: compared as it is
        return reference


def failed_base(failure: BuildFailed) -> str | None:
    """The image reference a failed step was pulling, if that is what failed."""
    match = _PULLING.fullmatch(getattr(failure, "instruction", None) or "")
    return (match[1] or match[2]).split(" AS ")[0] if match else None


def explain_pull_failure(compiled: Compiled, failure: BuildFailed, catalog: Catalog | None) -> BuildFailed | None:
    """A failure that names the spec key and catalog entry of an unpullable base, or None."""
    reference = failed_base(failure)
    if reference is None:
        return None
    path = _spec_key(compiled, normalized(reference))
    if path is None:
        return None
    chosen = _from_value(compiled, path)
    key = ".".join(path)
    image = reference
    if isinstance(chosen, str):
        entry_image, entry = _catalog_entry(compiled, catalog, chosen)
        image = entry_image or reference
        named = f"`{key}: {chosen}` is catalog entry `{chosen}`" + (f" ({entry})" if entry else "")
        repoint = f"`images: {{{chosen}: {{image: REF, family: …}}}}` or `catalog: FILE`"
    else:
        named = f"`{key}` names it directly"
        repoint = "`images:` entries or `catalog: FILE`, then `from: NAME`"
    return BuildStepFailed(
        f"base image {image} cannot be pulled: {_reason(failure, (reference, normalized(reference), image))}",
        instruction=getattr(failure, "instruction", None),
        step=getattr(failure, "step", None),
        log_tail=getattr(failure, "log_tail", ()),
        location=compiled.loaded.document.location(path),
        hint=f"{named}; point the catalog at images this engine has or can pull: {repoint} in {CONFIG_NAME} "
        "(beside the spec or in a parent folder), or --config FILE / $IMAGESPEC_CONFIG",
    )


def _spec_key(compiled: Compiled, reference: str) -> tuple[str, ...] | None:
    """``("stages", "build", "from")`` or ``("final", "from")``: the spec key whose stage
    starts from ``reference`` (spec stages first: the final's helper stages reuse bases)."""
    spec = compiled.loaded.spec
    for stage in compiled.plan.stages:
        if stage.base.from_stage or normalized(stage.base.ref) != reference:
            continue
        if stage.final:
            return ("final", "from")
        if stage.name in spec.stages:
            return ("stages", stage.name, "from")
    return None


def _from_value(compiled: Compiled, path: tuple[str, ...]) -> object:
    spec = compiled.loaded.spec
    return spec.final.from_ if path[0] == "final" else spec.stages[path[1]].from_


def _catalog_entry(compiled: Compiled, catalog: Catalog | None, name: str) -> tuple[str | None, str | None]:
    """(image, where it is defined) of catalog entry ``name``: the spec's own `images:`
    win over the configuration's catalog, as when the spec compiled."""
    spec, document = compiled.loaded.spec, compiled.loaded.document
    if name in spec.images:
        return spec.images[name].image, str(document.location(("images", name)))
    entry = catalog.entries.get(name) if catalog else None
    if entry is None:
        return None, None
    return entry.image.image, str(entry.origin) if entry.origin != Location("") else None


def _reason(failure: BuildFailed, references: tuple[str, ...]) -> str:
    """The resolver's own words, without the reference repeated and the request it made:
    ``not found``, ``dial tcp: lookup registry-1.docker.io …: no such host``."""
    text = failure.message.removeprefix(f"build failed at {getattr(failure, 'instruction', '')}: ")
    prefixes = [f"{ref}: " for ref in references] + [f"failed to resolve source metadata for {ref}: " for ref in references]
    while any(text.startswith(prefix) for prefix in prefixes):
        text = next(text.removeprefix(prefix) for prefix in prefixes if text.startswith(prefix))
    match = _REQUEST.fullmatch(text)
    return match[1] if match else text


def expectations(compiled: Compiled, *, http_port: int | None = None, ready_log: str | None = None,
                 size_budget: int | None = None) -> Expectations:
    """What `imagespec test` checks, derived from the plan (BP2, BP3, BP6-BP9)."""
    from imagespec.verify import Expectations
    from imagespec.verify.build_tools import allowed_by_packages

    plan, spec = compiled.plan, compiled.loaded.spec
    final = plan.final
    entrypoint = next((i.argv for i in final.instructions if isinstance(i, p.Entrypoint)), None)
    cmd = next((i.argv for i in final.instructions if isinstance(i, p.Cmd)), None)
    labels = dict(next((i.items for i in final.instructions if isinstance(i, p.Label)), ()))
    from imagespec.publish import git_short_sha

    # provenance is set at build time: the image must carry the values this spec, its lock and
    # this checkout give now (a mismatch is an image built from something else)
    labels |= provenance(compiled, git_short_sha(compiled.loaded.folder, mark_dirty=False))
    ports = next((i.ports for i in final.instructions if isinstance(i, p.Expose)), ())
    stop = next((i.signal for i in final.instructions if isinstance(i, p.StopSignal)), None)
    rt = plan.runtime
    return Expectations(user=f"{rt.uid}:{rt.gid}" if rt.uid else "0", entrypoint=entrypoint, cmd=cmd,
                        ports=tuple(ports), env=dict(spec.final.env), labels=labels, writable=rt.writable,
                        init=rt.init, shell_expected=final.base.has_shell, stop_signal=stop,
                        allowed_tools=allowed_by_packages(spec.final.packages),
                        shell_entrypoint=rt.shell_entrypoint,
                        size_budget_bytes=size_budget, http_port=http_port, ready_log=ready_log)


def expectations_from_image(reference: str, *, http_port: int | None = None, ready_log: str | None = None,
                            size_budget: int | None = None) -> Expectations:
    """Expectations for an image without its spec: what its own config and labels declare.
    Any non-root user (BP8); tini when the entrypoint starts with it (BP3); tmpfs for the
    directories the `io.imagespec.writable` label names (BP9)."""
    from imagespec.verify import Expectations
    from imagespec.engine import connect
    from imagespec.engine.client import engine_errors

    with engine_errors(f"inspect {reference}"):
        config = connect().images.get(reference).attrs.get("Config") or {}
    labels = config.get("Labels") or {}
    entrypoint = tuple(config.get("Entrypoint") or ())
    writable = tuple(d for d in (labels.get(LABEL_WRITABLE) or "").split(",") if d)
    init = bool(entrypoint) and entrypoint[0].rsplit("/", 1)[-1] in ("tini", "tini-static", "docker-init")
    return Expectations(user=None, writable=writable, init=init, http_port=http_port, ready_log=ready_log,
                        size_budget_bytes=size_budget)


__all__ = ["build", "build_options", "expectations", "references", "repository"]
