"""Build options for one compiled spec: its tags (BP14), labels (provenance, OCI, the
base's digest, BP13) and secrets (the CA bundle, BP10), decided at build time, never in
the Dockerfile.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fnmatch import fnmatchcase
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagespec import reference as grammar
from imagespec.compiler import Compiled
from imagespec.contract import IMAGE_OWN_LABELS, LABEL_IMAGESPEC_VERSION, LABEL_INPUTS_HASH, SECRET_ID
from imagespec.errors import SpecError
from imagespec.build_settings import BuildSettings

if TYPE_CHECKING:
    from imagespec.engine import BuildOptions


def repository(compiled: Compiled) -> str:
    spec = compiled.loaded.spec
    return grammar.full_name(spec.registry, spec.name)


def references(compiled: Compiled, settings: BuildSettings) -> tuple[str, ...]:
    """The tags a build applies. A --target build is a stage, not the spec's image: it gets
    `-t`'s tags alone, or `REPOSITORY:stage-NAME`, never a release tag (X.Y.Z, latest, the
    commit's SHA, the spec's own), which would name a toolchain image as the release."""
    from imagespec.publish import git_short_sha, tags_for

    spec = compiled.loaded.spec
    if settings.target:
        return tags_for(repository(compiled), None, None, settings.tags or (f"stage-{settings.target}",))
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
    labels |= provenance(compiled, revision)
    return _inherited_blanked(compiled) | labels


def _inherited_blanked(compiled: Compiled) -> dict[str, str]:
    """An empty value for each label of contract.IMAGE_OWN_LABELS that the final's base
    may carry and neither the Dockerfile's LABEL nor this build sets (a --label would
    override the Dockerfile's): none on scratch, which has none to pass on."""
    from imagespec.plan.model import Label

    final = compiled.plan.final
    if final.base.ref == "scratch" and not final.base.from_stage:
        return {}
    written = {key for step in final.instructions if isinstance(step, Label) for key, _ in step.items}
    return {key: "" for key in IMAGE_OWN_LABELS if key not in written}


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


def revision(compiled: Compiled) -> str | None:
    """The revision label's value: the commit of the image's inputs (``_inputs``), marked
    ``-dirty`` when those inputs have uncommitted changes, or when the build context sends
    files git does not track (a git-ignored one too): the image then holds what that commit
    does not (OCI: the label identifies the "source control revision" of what is packaged,
    and no commit is). A change elsewhere in the checkout, or to the Dockerfile and lock a
    lock cascade rewrites, is none of the image's: its label stays the commit's."""
    from imagespec.pipeline.push_rules import untracked_sent
    from imagespec.publish import git_short_sha
    from imagespec.publish.tags import inputs_uncommitted, last_change

    loaded = compiled.loaded
    head = git_short_sha(loaded.folder, mark_dirty=False)
    if head is None or loaded.path is None:
        return head
    paths, options = _inputs(compiled)
    committed = last_change(loaded.folder, paths, **options) or head
    dirty = inputs_uncommitted(loaded.folder, paths, **options) or bool(untracked_sent(compiled))
    return f"{committed}-dirty" if dirty else committed


def _inputs(compiled: Compiled) -> tuple[list[Path], dict[str, Any]]:
    """What the image's revision is the last commit of (publish.tags.last_change's
    arguments): the spec, and its context's folder but for the files made from the spec,
    so that a commit elsewhere in the repository leaves the same inputs the same image (its
    X.Y.Z can be pushed again, `imagespec test` passes, a lock cascade does not move a
    company base that did not change). HEAD's commit when git cannot say (nothing
    committed yet). The SHA tag stays HEAD's (publish.tags). Anything else a spec reads
    (templates, catalog) reaches the image's input hash."""
    from imagespec.plan.dockerignore import context_inputs

    loaded = compiled.loaded
    assert loaded.path is not None  # revision() asks only for a spec read from a file
    spec = loaded.folder / loaded.path.name
    # not what a build reads from the checkout: the Dockerfile and ignore file are made in
    # memory, and the lock's pins are in the input hash. A commit of a relocked app's lock
    # and Dockerfile (`build --push` of a lock cascade) leaves its image the one it built.
    made = [loaded.dockerfile_path, loaded.dockerignore_path, *([loaded.lock_path] if loaded.lock_path else [])]
    inputs = context_inputs(compiled.plan.dockerignore)
    if inputs is None:  # the whole context goes into the build
        return [spec, loaded.context], {"excluded": made}
    # an allow-list: only what it lets in (a commit of the folder's README is no new image);
    # a pattern that would leave out the spec itself is not applied to it
    allowed, denied = inputs
    own = os.path.relpath(spec.resolve(), loaded.context.resolve())
    kept_out = [pattern for pattern in denied if not fnmatchcase(own, pattern.removeprefix("**/"))
                and not fnmatchcase(own, pattern)]
    return [spec], {"excluded": made, "within": loaded.context, "matching": allowed, "skipping": kept_out}


def build_options(compiled: Compiled, settings: BuildSettings) -> BuildOptions:
    """The backend's options for this spec, derived from the settings: its tags and
    labels, the CA bundle secret and the secrets the spec declares."""
    from imagespec.engine import BuildOptions, Secret

    tags = references(compiled, settings)
    secrets = tuple(Secret(secret_id, path) for secret_id, path in build_secrets(compiled, settings))
    if settings.ca_bundle is not None:
        secrets = (Secret(SECRET_ID, settings.ca_bundle, optional=False), *secrets)
    return BuildOptions(tags=tags, build_args=dict(settings.build_args),
                        target=settings.target, no_cache=settings.no_cache, network=settings.network, secrets=secrets,
                        labels=_labels(compiled, revision(compiled), settings), progress=settings.progress,
                        builder=settings.builder, extra_args=settings.extra_args, dockerignore=compiled.dockerignore)
