"""imagespec.jobs.building: build one spec's image (one platform, or several as an index)
and verify an image against what its spec promises (``test``).

May import: as imagespec.jobs; the engine only inside functions.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from imagespec.errors import ImageMissing, Location, SpecError, each_or_together
from imagespec.jobs.compiling import compile_one, configured_builder, image_option
from imagespec.notes import OnNote, ignore
from imagespec.settings import read_environment, scans_cache

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.compiler import Compiled
    from imagespec.engine import BuildResult
    from imagespec.build_settings import BuildSettings
    from imagespec.engine.backend import Backend
    from imagespec.pipeline.image import BeforePush
    from imagespec.publish.index import Index, PlatformImage
    from imagespec.spec.config import Config
    from imagespec.verify import Report

@dataclass(frozen=True)
class Built:
    """``result``: the image built; for several platforms, the index: its digest as the
    id, the spec's tags (in the registry only) and the builds' total time, with each
    platform's own image in ``platforms``."""

    result: BuildResult
    pushed: dict[str, str]  # reference -> digest, for each tag pushed (none without --push)
    compiled: Compiled
    config: Config
    platforms: tuple[PlatformImage, ...] = ()
    index: Index | None = None
    sbom: str | None = None  # the SBOM stored in the image (None for a --target build, or a reused one without --sbom)
    #: several platforms: each one's SBOM file written for --sbom (sbom_file_for)
    sbom_files: dict[str, Path] = field(default_factory=dict)
    up_to_date: bool = False  # not built: the image already records this lock and these inputs
    #: built, and the SBOM layer the tagged image held for this very build output was kept
    #: (no scan, no layer build: pipeline.sbom_layer.sbom_layered); ``sbom`` is read only for --sbom
    sbom_reused: bool = False
    report: Report | None = None  # --verify's, when asked

    @property
    def image(self) -> str:
        """The reference to test: its first tag, else its ID."""
        return self.result.tags[0] if self.result.tags else self.result.image_id

    @property
    def images(self) -> tuple[str, ...]:
        """Every image to test: each platform's local tag, or the one image."""
        return tuple(image.tag for image in self.platforms) or (self.image,)


def platforms_origin(compiled: Compiled, config: Config) -> Location:
    """Where the effective `platforms:` was written: the spec, else the configuration."""
    from imagespec.pipeline import platforms_location

    return platforms_location(compiled, config)


class NotPushed(Exception):
    """--verify found the image broken before its push: nothing was pushed."""

    def __init__(self, report: Report) -> None:
        super().__init__(report.image)
        self.report = report


def build(spec: Path, *, config: Path | None = None, on_status: OnNote = ignore, sbom: Path | None = None,
          backend: Backend | None = None, verify: bool = False, on_warning: OnNote | None = None,
          **options: Any) -> Built:
    """Compile ``spec`` in memory and build, tag and (``push=True``) push its image on the
    engine, with its SBOM stored in it (and written to ``sbom`` too, when given).
    ``options`` are ``imagespec.build_settings.build_settings``'s (tags, build_args, target,
    no_cache, push, force, progress, ca_bundle, secrets, sbom_format). ``backend``: the
    engine seam (imagespec.engine.Backend) to build with instead of the settings' one.
    ``verify``: check the image as `imagespec test` does (``Built.report``); with push,
    before anything is pushed: a failed check raises NotPushed, and the registry keeps
    what it had (an X.Y.Z never names an image that failed). ``on_warning``: what is said
    of the input (a --build-arg no ARG declares, a push from a dirty checkout), which is not
    progress: a caller that silences ``on_status`` still hears it (None: ``on_status``)."""
    from imagespec import pipeline
    from imagespec.build_settings import build_settings
    from imagespec.pipeline.platform_bases import refuse_missing_bases

    compiled, loaded_config = compile_one(spec, config)
    settings = build_settings(loaded_config, read_environment(), **options)
    warn = on_warning or on_status
    for said in pipeline.undeclared_arg_warnings(compiled, settings.build_args):
        warn(said)
    pipeline.refuse_unhonoured_ignores(compiled)
    if sbom is not None:  # every file --sbom would write, checked before anything builds
        from imagespec.output import refuse_unwritable
        from imagespec.sbom.diff import refuse_replacing

        several = compiled.plan.platforms if len(compiled.plan.platforms) > 1 else ()
        for path in [sbom_file_for(sbom, platform) for platform in several] or [sbom]:
            refuse_unwritable(path, option="--sbom")
            refuse_replacing(path)
    if sbom is not None and settings.target:
        raise SpecError("--sbom: a --target build is a stage, not the spec's image, and has no SBOM",
                        hint="drop --target, or drop --sbom")
    _refuse_unknown_target(compiled, settings.target)
    if settings.target and settings.push:
        raise SpecError(f"--push: a --target build is the stage {settings.target!r}, not the spec's image, and is "
                        "never pushed", hint="drop --target to build and push the spec's image; --target builds a "
                        f"stage to run here (tagged {pipeline.references(compiled, settings)[0]}, or -t's tags)")
    if settings.push:  # before anything builds, or an up-to-date image is pushed
        pipeline.refuse_push(compiled, loaded_config, pipeline.references(compiled, settings))
        if warning := pipeline.dirty_push_warning(compiled.loaded.folder, pipeline.untracked_sent(compiled)):
            warn(warning)
    if backend is None:  # the builder is buildx's: a backend given by the caller chose its own
        configured_builder(loaded_config)
    reports: list[Report] = []

    def verified(images: tuple[tuple[str, str], ...]) -> Report:
        """Each (platform, local tag) checked; one spec's single image is the report itself."""
        report = verify_platforms(compiled, loaded_config, images, stage=bool(settings.target)) \
            if len(compiled.plan.platforms) > 1 else \
            verify_compiled(compiled, loaded_config, images[0][1], stage=bool(settings.target))
        reports.append(report)
        return report

    def check(images: tuple[tuple[str, str], ...]) -> None:
        if verified(images).failed:
            raise NotPushed(reports[-1])

    before_push = check if verify and settings.push else None
    if len(compiled.plan.platforms) > 1:
        built = _build_platforms(compiled, loaded_config, settings, on_status, sbom, before_push)
    else:
        refuse_missing_bases(compiled, loaded_config, settings.target)
        # the checkout (HEAD, its state, the revision of the spec's inputs) is asked once: the
        # up-to-date check and the build's tags and labels read the same answers
        with pipeline.remembering():
            built = _build_one(compiled, loaded_config, settings, on_status, sbom, backend, before_push)
    if verify and not reports:  # not pushed: checked once built
        verified(tuple((i.platform, i.tag) for i in built.platforms) or (("", built.image),))
    return dataclasses.replace(built, report=reports[0]) if reports else built


def _build_one(compiled: Compiled, loaded_config: Config, settings: BuildSettings, on_status: OnNote,
               sbom: Path | None, backend: Backend | None, before_push: BeforePush | None) -> Built:
    from imagespec import pipeline

    current = None if settings.force else pipeline.up_to_date(compiled, settings)
    if current is not None:
        from imagespec.engine import BuildResult
        from imagespec.publish import push_tags
        from imagespec.sbom.store import stored

        image_id, tags = current
        kept = stored(image_id) if sbom is not None else None  # the one it already carries: it is that image
        text = kept[1] if kept else None
        if settings.push and before_push is not None:
            before_push((("", tags[0]),))
        pushed = push_tags(tags, force=False, on_status=on_status) if settings.push else {}
        built = Built(BuildResult(image_id, tags, 0.0), pushed, compiled, loaded_config, sbom=text, up_to_date=True)
    else:
        result, pushed, text, reused = pipeline.build(compiled, settings, on_status=on_status,
                                                      catalog=loaded_config.catalog, backend=backend,
                                                      want_sbom=sbom is not None, before_push=before_push)
        built = Built(result, pushed, compiled, loaded_config, sbom=text, sbom_reused=reused)
    if sbom is not None and text is not None:
        from imagespec.output import write_atomically

        write_atomically({sbom: text})
    return built


def sbom_file_for(path: Path, platform: str) -> Path:
    """Where --sbom FILE puts one platform's SBOM in a multi-platform build: FILE with the
    platform inserted before its suffix (``app.spdx.json`` → ``app.linux-arm64.spdx.json``),
    one document per platform image, as each image stores its own."""
    tag = platform.replace("/", "-")
    name = path.name
    suffix = next((s for s in (".spdx.json", ".cdx.json", ".json") if name.endswith(s) and name != s), "")
    return path.with_name(f"{name.removesuffix(suffix)}.{tag}{suffix}" if suffix else f"{name}.{tag}")


def _build_platforms(compiled: Compiled, config: Config, settings: Any, on_status: OnNote,
                     sbom: Path | None, before_push: BeforePush | None) -> Built:
    """Several platforms: built, pushed and joined into one index; or, when the registry's
    index is what that would make again (pipeline.current_index), that index, its
    platforms' images pulled and named by the spec's other tags (``up_to_date``)."""
    from imagespec import pipeline
    from imagespec.engine import BuildResult
    from imagespec.output import write_atomically

    # the checkout is asked once: the up-to-date check and the build's tags and labels agree
    with pipeline.remembering():
        current = pipeline.current_index(compiled, settings)
        if current is not None:
            images, index = pipeline.keep_index(compiled, settings, current, on_status, before_push=before_push)
            results: tuple[BuildResult, ...] = ()
            texts = _stored_sboms(images) if sbom else tuple(None for _ in images)
        else:
            images, results, index, texts = pipeline.build_platforms(compiled, settings, on_status=on_status,
                                                                     catalog=config.catalog,
                                                                     config=config, before_push=before_push)
    pushed = dict.fromkeys(index.references, index.digest)
    if current is None:  # each platform's image too, when this run pushed it
        pushed = {image.tag: image.digest or "" for image in images} | pushed
    total = BuildResult(index.digest, index.references, sum(r.duration_s for r in results),
                        [step for r in results for step in r.steps])
    files = {image.platform: sbom_file_for(sbom, image.platform) for image in images} if sbom else {}
    if files:
        write_atomically({files[image.platform]: text for image, text in zip(images, texts, strict=True)
                          if text is not None})
    return Built(total, pushed, compiled, config, images, index, sbom_files=files, up_to_date=current is not None)


def _stored_sboms(images: Sequence[PlatformImage]) -> tuple[str | None, ...]:
    """The SBOM each platform's image carries (an image found up to date is that image)."""
    from imagespec.sbom.store import stored

    return tuple((kept[1] if (kept := stored(image.image_id)) else None) for image in images)


def verify_compiled(compiled: Compiled, config: Config, image: str, *, size_budget: int | None = None,
                    http_port: int | None = None, ready_log: str | None = None, stage: bool = False) -> Report:
    """Check ``image`` against what ``compiled``'s spec promises; the size budget defaults
    to the spec's policies, which --size-budget may lower, never raise (policies only tighten).
    ``stage``: built with --target (a stage has no SBOM to check)."""
    from imagespec import pipeline
    from imagespec.compiler import effective_policies
    from imagespec.verify import verify
    from imagespec.verify.checks import readable_size

    effective = effective_policies(compiled.loaded, config)
    # a policy's size_budget is bytes once validated (its validator reads "25MB"), though typed int | str
    policy = cast("int | None", effective.policies.size_budget)
    if size_budget is not None and policy is not None and size_budget > policy:
        raise SpecError(f"--size-budget {readable_size(size_budget)} is larger than the policy `size_budget` "
                        f"({readable_size(policy)}) set at {effective.set_at(('policies', 'size_budget'))}",
                        hint="policies only tighten: --size-budget may lower the budget, never raise it")
    budget = policy if size_budget is None else size_budget
    return verify(image, pipeline.expectations(compiled, size_budget=budget, http_port=http_port, ready_log=ready_log,
                                               stage=stage), files_cache=scans_cache(read_environment()))


def test(target: str, *, image: str | None = None, config: Path | None = None, http_port: int | None = None,
         ready_log: str | None = None, size_budget: int | None = None) -> Report:
    """Verify a built image against a spec file (``image``: default, the spec's first
    tag), or an image reference against its own config and labels."""
    from imagespec import pipeline

    spec = Path(target)
    if image is not None:  # before a build or a container starts: the engine's 400 is no hint
        image_option("--image", image, local=True)
    if not spec.is_file():
        if spec.suffix in (".yaml", ".yml") or image:
            raise SpecError(f"no such spec: {target}", hint="give a spec file, or an image reference alone")
        image_option("IMAGE", target, local=True)
        from imagespec.verify import verify

        return verify(target, pipeline.expectations_from_image(target, size_budget=size_budget, http_port=http_port,
                                                               ready_log=ready_log),
                      files_cache=scans_cache(read_environment()))
    compiled, loaded_config = compile_one(spec, config)
    return _test_compiled(compiled, loaded_config, target, image=image, config=config, http_port=http_port,
                          ready_log=ready_log, size_budget=size_budget)


def _refuse_unknown_target(compiled: Compiled, target: str | None) -> None:
    """--target names a stage of the Dockerfile built: bad input (exit 2) before BuildKit
    answers "target stage could not be found" as a failed build."""
    import difflib

    stages = [stage.name for stage in compiled.plan.stages if stage.name]
    if target is None or target in stages:
        return
    close = difflib.get_close_matches(target, stages, n=1)
    raise SpecError(f"--target {target!r}: no stage of that name",
                    hint=(f"did you mean {close[0]!r}? " if close else "") + f"the stages: {', '.join(stages)}")


def test_specs(specs: Sequence[Path], *, config: Path | None = None, http_port: int | None = None,
               ready_log: str | None = None, size_budget: int | None = None) -> list[Report]:
    """Verify each spec's image (its first tag), in order. Every spec is compiled first, so
    that all those that do not compile are reported together before any image is run."""
    compiled = each_or_together(specs, lambda path: compile_one(path, config))
    return [_test_compiled(one, loaded_config, str(path), image=None, config=config, http_port=http_port,
                           ready_log=ready_log, size_budget=size_budget)
            for path, (one, loaded_config) in zip(specs, compiled, strict=True)]


def _test_compiled(compiled: Compiled, loaded_config: Config, target: str, *, image: str | None,
                   config: Path | None, http_port: int | None, ready_log: str | None,
                   size_budget: int | None) -> Report:
    from imagespec import pipeline
    from imagespec.build_settings import BuildSettings

    reference = image or pipeline.references(compiled, BuildSettings())[0]
    with _built_first(compiled, [target, *(["--config", str(config)] if config else [])], given=image is not None):
        if image is None and len(compiled.plan.platforms) > 1:
            from imagespec.publish.index import platform_tag

            images = tuple((platform, platform_tag(reference, platform)) for platform in compiled.plan.platforms)
            return verify_platforms(compiled, loaded_config, images, size_budget=size_budget, http_port=http_port,
                                    ready_log=ready_log)
        return verify_compiled(compiled, loaded_config, reference, size_budget=size_budget, http_port=http_port,
                               ready_log=ready_log)


@contextmanager
def _built_first(compiled: Compiled, build_args: list[str], *, given: bool) -> Iterator[None]:
    """The spec's own image not in the engine: a spec not built yet (or built under other
    tags). Said at the spec's `name:`, which with `version:` makes the tag tested, with the
    command that builds it (``build_args``: the spec and configuration this test was given);
    an image named with --image is the user's own word."""
    try:
        yield
    except ImageMissing as missing:
        if given:
            raise
        raise ImageMissing(missing.message, location=compiled.loaded.document.location(("name",)),
                           hint=f"build it first: `imagespec build {shlex.join(build_args)}` (it tags the image from "
                                "`name:` and `version:`), or name the image to test with --image") from None


def verify_platforms(compiled: Compiled, config: Config, images: Sequence[tuple[str, str]], *,
                     size_budget: int | None = None, http_port: int | None = None,
                     ready_log: str | None = None, stage: bool = False) -> Report:
    """Each platform's image (``images``: (platform, reference) pairs) against the spec,
    another platform's under QEMU, in one report whose checks each name their platform."""
    import dataclasses

    from imagespec.verify import Report

    checks, duration = [], 0.0
    for platform, image in images:
        report = verify_compiled(compiled, config, image, size_budget=size_budget, http_port=http_port,
                                 ready_log=ready_log, stage=stage)
        checks += [dataclasses.replace(check, name=f"{check.name} ({platform})") for check in report.checks]
        duration += report.duration_s
    return Report(", ".join(image for _, image in images), checks, duration)


test.__test__ = False  # type: ignore[attr-defined]  # pytest: not a test function, though named so
