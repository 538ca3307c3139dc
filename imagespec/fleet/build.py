"""From a loaded fleet (fleet.model) to what the executor (fleet.run) builds.

Role: each target's build as `imagespec build` of its spec would make it: the settings
from the flags and the target's own configuration, its full tags (with the git-sha tag
the committed bake file leaves out), this build's labels (revision, created, the base's
digest) and secret files, and the one-image failure mapping (pipeline.locate_failure),
so that a failed target is reported at its spec line.

May import: ``imagespec.pipeline``, ``imagespec.settings`` and below.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagespec.errors import BuildFailed, ImageSpecError, SpecError, each_or_together
from imagespec.fleet.run import BuildJob, Locate, StoreSbom
from imagespec.fleet import shared_tags
from imagespec.plan.model import Run

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.fleet.model import Fleet, Target
    from imagespec.plan.model import Plan
    from imagespec.engine import BuildOptions
    from imagespec.build_settings import BuildSettings
    from imagespec.settings import Environment


def build_jobs(fleet: Fleet, env: Environment, options: Mapping[str, Any]) -> list[BuildJob]:
    """One BuildJob per target of ``fleet``. ``options``: build_settings' keyword arguments
    (flags); a `--secret` no spec of the fleet declares is bad input (exit 2)."""
    from imagespec import pipeline
    from imagespec.build_settings import build_settings
    from imagespec.fleet import links
    from imagespec.pipeline import remembering

    settings_of = {}

    def job_of(target: Target) -> BuildJob:
        settings = settings_of[target.name] = build_settings(target.config, env, **options)
        job = _job(target, settings)
        # its parents' images are made in this run: fleet.graph checked their platforms
        made = frozenset(links.name(reference) for reference in fleet.contexts(target.name))
        pipeline.refuse_missing_bases(target.compiled, target.config, settings.target, made_in_run=made)
        pipeline.refuse_unhonoured_ignores(target.compiled)
        return job

    with remembering():  # one git checkout and one digest per base for the whole fleet
        jobs = each_or_together(list(fleet), job_of)  # every target's bad input in one run
        # the git-sha tag (not in the fleet's tags) of two versions of one image from one
        # commit: the newest keeps it, as fleet.graph settled the moving tags
        claims = {job.name: shared_tags.Claim(job.tags, target.version, target.tags_at)
                  for job, target in zip(jobs, fleet, strict=True)}
        lost = shared_tags.withheld(claims)
        jobs = [_job(fleet.targets[job.name], settings_of[job.name], lost[job.name]) if lost[job.name] else job
                for job in jobs]
    given = {secret_id for secret_id, _ in options.get("secrets", ())}
    declared = {s.id for target in fleet for s in target.compiled.loaded.spec.secrets}
    for secret_id in sorted(given - declared):
        raise SpecError(f"--secret {secret_id}: no spec of the fleet declares it",
                        hint=f"declared: {', '.join(sorted(declared)) or 'none'}; add `secrets: [{{id: {secret_id}}}]` "
                             "to the specs that need it")
    return jobs


def build_job(target: Target, env: Environment, options: Mapping[str, Any]) -> BuildJob:
    """One target's BuildJob (``options`` as build_jobs's), e.g. for a target compiled again
    after its lock moved during the run."""
    from imagespec.build_settings import build_settings

    return _job(target, build_settings(target.config, env, **options))


def _job(target: Target, settings: BuildSettings, withheld: frozenset[str] = frozenset()) -> BuildJob:
    """``withheld``: tags a newer version in this run keeps, besides the fleet's (Target.withheld)."""
    from imagespec import pipeline

    declared = {s.id for s in target.compiled.loaded.spec.secrets}
    own = dataclasses.replace(settings, secrets=tuple(s for s in settings.secrets if s[0] in declared))
    options = pipeline.build_options(target.compiled, own)
    lost = target.withheld | withheld
    options = dataclasses.replace(options, tags=tuple(t for t in options.tags if t not in lost)) if lost else options
    read = [s for s in options.secrets if s.src.is_file() or not s.optional]
    secrets = [s.to_flag() for s in read]
    overrides = {"labels": dict(sorted(options.labels.items())), "secret": secrets,
                 "args": dict(sorted(options.build_args.items())), "network": options.network}
    compiled = target.compiled
    if settings.push:
        pipeline.refuse_push(compiled, target.config, options.tags)
    platform_tags, index_tags = _platform_images(target, own, options.tags)
    sbom = None if settings.target else _sbom_step(target, own, options, platform_tags)
    facts = json.dumps(pipeline.sbom_settings(compiled, own, options)) if sbom else ""
    return BuildJob(target.name, str(target.real), compiled.dockerfile, compiled.dockerignore, options.tags,
                    _locator(target), overrides, platform_tags, index_tags,
                    secret_files=tuple(str(s.src) for s in read), sbom=sbom,
                    sbom_path=pipeline.own_sbom_path(compiled, own) if sbom else None, facts=facts,
                    caches=_cache_mounts(compiled.plan), on_build_machine=_on_build_machine(target))


def _on_build_machine(target: Target) -> frozenset[str]:
    """The FROM references of the target's stages that run on the build machine (they
    cross-compile): fleet.bake_file gives such a reference the parent's index, not one
    platform's image."""
    from imagespec.pipeline.platform_bases import ON_BUILD_MACHINE

    return frozenset(use.ref for use in target.bases if use.runs == ON_BUILD_MACHINE)


def _cache_mounts(plan: Plan) -> frozenset[str]:
    """The ids of the cache mounts of the plan's RUN steps: a mount without ``id`` is
    BuildKit's by its target path, shared by every build on the builder that mounts it."""
    return frozenset(m.id or m.target for stage in plan.stages for step in stage.instructions
                     if isinstance(step, Run) for m in step.mounts if m.kind == "cache")


def _platform_images(target: Target, settings: BuildSettings, tags: tuple[str, ...]) -> tuple[dict[str, str],
                                                                                               tuple[str, ...]]:
    """Several platforms: each one's image tag and the index's tags, as `imagespec build`
    of the spec names them; without --push, bad input at the `platforms:` (nothing builds)."""
    from imagespec import pipeline
    from imagespec.publish.index import platform_tag

    platforms = target.compiled.plan.platforms
    if len(platforms) < 2:
        return {}, ()
    references = pipeline.index_references(target.compiled, settings, tags,
                                           pipeline.platforms_location(target.compiled, target.config))
    return {platform: platform_tag(references[0], platform) for platform in platforms}, references


def _sbom_step(target: Target, settings: BuildSettings, options: BuildOptions,
               platform_tags: Mapping[str, str]) -> StoreSbom:
    """The SBOM layer of this target's images, by the one-image build's code
    (pipeline.store_sbom, BP16); a platform's image is scanned as that platform's (the C
    library its static programs were linked with), as `imagespec build` does. The image
    the target's tag names (a platform's: its ``TAG-os-arch``) is reused when its layer
    was made on this very bake output (pipeline.sbom_layer.reusable_sbom)."""
    from imagespec import pipeline

    only = target.compiled.plan.platforms[0] if len(target.compiled.plan.platforms) == 1 else None

    def store(image_id: str, platform: str, labels: Mapping[str, str]) -> tuple[str, bool]:
        mine = dataclasses.replace(options, platform=platform or only)
        candidates = (platform_tags[platform],) if platform else options.tags[:1]
        return pipeline.store_sbom(target.compiled, settings, mine, image_id, candidates, labels)

    return store


def _locator(target: Target) -> Locate:
    """The one-image failure mapping for this target's spec (and its configuration's catalog)."""
    from imagespec import pipeline

    def locate(failure: BuildFailed) -> ImageSpecError:
        return pipeline.locate_failure(target.compiled, failure, target.config.catalog)

    return locate


def definition_for(fleet: Fleet, folder: Path) -> dict[str, Any]:
    """The bake definition `imagespec bake` writes, for a file in ``folder``."""
    from imagespec.fleet.bake import definition

    return definition(fleet, folder)
