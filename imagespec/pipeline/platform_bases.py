"""Before a multi-platform build: every base image a stage runs on exists for each target
platform, so that a missing one fails before anything is built or tagged (BP14), not
after the first platforms built.

A stage that cross-compiles (``FROM --platform=$BUILDPLATFORM``) runs on the build
machine: its base is the build machine's, whatever the targets. Every other stage runs
on the target platform (under QEMU when it is not the machine's), so its base must be
there for it: as an engine image of that os/arch, or in its registry (an index listing
the platform, or a manifest of it), which the engine answers for.

``refuse_missing_bases`` is the one entry point: every build (one spec, one spec of several
platforms, a fleet's target) calls it, and it decides itself whether there is anything to
check (several platforms, or one not this machine's).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from imagespec import reference as grammar
from imagespec.compiler import Compiled
from imagespec.errors import Location, SpecError
from imagespec.plan import model as p
from imagespec.engine.emulation import SETUP_HINT, emulation_problem, native_platform
from imagespec.platform import KNOWN

if TYPE_CHECKING:
    import docker

    from imagespec.spec.config import Config

#: where a stage runs (``runs_on``): on each target platform, on the build machine (it
#: cross-compiles: ``FROM --platform=$BUILDPLATFORM``), or nowhere (the image does not need it)
ON_TARGET, ON_BUILD_MACHINE, UNUSED = "target", "build", "unused"


def _needed(plan: p.Plan, target: str | None) -> set[str]:
    """The stages the build runs: the final's (or ``--target``'s) and those they need."""
    stages = {stage.name: stage for stage in plan.stages}
    wanted = [target if target in stages else plan.final.name]
    seen: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name in seen or name not in stages:
            continue
        seen.add(name)
        wanted.extend(stages[name].depends_on())
    return seen


def runs_on(plan: p.Plan, stage: p.Stage) -> str:
    """Where ``stage`` of the image's build runs: ON_TARGET, ON_BUILD_MACHINE or UNUSED."""
    if stage.name not in _needed(plan, None):
        return UNUSED
    return ON_BUILD_MACHINE if stage.platform else ON_TARGET


def _on_target(plan: p.Plan, target: str | None) -> list[p.Stage]:
    """The stages the build runs on the target platform: all it needs but the cross-compiling ones."""
    seen = _needed(plan, target)
    return [stage for stage in plan.stages if stage.name in seen and not stage.platform]


def platforms_location(compiled: Compiled, config: Config) -> Location:
    """Where the effective `platforms:` was written: the spec, else the configuration."""
    document = compiled.loaded.document
    if compiled.loaded.spec.platforms or config.document is None:
        return document.location(("platforms",))
    return config.document.location(("build", "platforms"))


def running_on_target(plan: p.Plan, target: str | None) -> list[p.Stage]:
    """Of those stages, the ones whose base is an image, each base once."""
    found: dict[str, p.Stage] = {}
    for stage in _on_target(plan, target):
        if not stage.base.from_stage and stage.base.ref != "scratch":
            found.setdefault(stage.base.ref, stage)
    return list(found.values())


def _runs_commands(plan: p.Plan, target: str | None) -> p.Stage | None:
    """The first stage run on the target platform with a command in it (a RUN, a package
    install): for a platform not the machine's, QEMU runs it."""
    return next((stage for stage in _on_target(plan, target)
                 if any(isinstance(i, (p.Run, p.InstallPackages)) for i in stage.instructions)), None)


def refuse_missing_bases(compiled: Compiled, config: Config, target: str | None = None, *,
                         made_in_run: Collection[str] = ()) -> None:
    """Before a build of ``compiled`` (``target``: its --target stage): SpecError (exit 2,
    at the `platforms:` that asked, in the spec or ``config``) naming each base and
    platform the engine cannot build on, or the platform QEMU cannot run a stage's
    commands for. Nothing to check without `platforms:`, or with this machine's platform
    alone: BuildKit builds on the engine's own bases. One foreign platform is checked as
    several are: BuildKit would build on a base of this machine's platform instead, with a
    warning only. ``made_in_run``: the images (by name, ``Reference.normalized`` without a
    digest: a lock pins the spec's references) a fleet run builds before this one, whose
    platforms fleet.graph checked against what their specs build.

    Bad input rather than engine trouble: the engine and registry answered, and the fix is
    in the inputs (build that base for the platform, point the catalog at one that has it,
    cross-compile the stage, or list fewer platforms), as for a catalog name that names
    nothing."""
    platforms = compiled.plan.platforms
    if not platforms or platforms == (native_platform(),):
        return
    _refuse_missing(compiled, target, platforms_location(compiled, config), made_in_run)


def _refuse_missing(compiled: Compiled, target: str | None, where: Location, made_in_run: Collection[str]) -> None:
    from imagespec.engine import connect
    from imagespec.engine.client import engine_errors

    missing: list[str] = []
    with engine_errors("look up the base images of each platform"):
        client = connect()
        for stage in running_on_target(compiled.plan, target):
            if _name(stage.base.ref) in made_in_run:
                continue
            for platform in compiled.plan.platforms:
                reason = _absent(client, stage.base.ref, platform)
                if reason is not None:
                    missing.append(f"{stage.base.ref} ({_key(stage)}) for {platform}: {reason}")
    emulated = _runs_commands(compiled.plan, target)
    problems = [problem for platform in compiled.plan.platforms
                if emulated is not None and (problem := emulation_problem(platform)) is not None]
    if emulated is not None and problems:
        raise SpecError(f"stage `{emulated.name}` runs commands on the target platform, under QEMU for a platform not "
                        f"this machine's: {'; '.join(problems)}", location=where,
                        hint=f"{SETUP_HINT}; or cross-compile the stage (`cross_compile:`)")
    if missing:
        raise SpecError("no base image to build on: " + "; ".join(missing), location=where,
                        hint="make that base for the platform too: a base spec with `platforms: [linux/amd64, "
                             "linux/arm64]` built with `imagespec base build BASE --push` and named in the catalog "
                             "(README, \"Bases for several platforms\"); or cross-compile the stage "
                             "(`cross_compile:`), or drop the platform from `platforms:`")


def _name(ref: str) -> str:
    try:
        return grammar.parse(ref).unpinned().normalized
    except grammar.Invalid:  # a build argument in it: compared as written
        return ref


def _key(stage: p.Stage) -> str:
    """The spec key that chose the stage's base (a helper stage: its name)."""
    path = stage.origin.path
    if not path or path[0] not in ("final", "stages"):
        return stage.name
    return ".".join(str(part) for part in (path if path[-1] == "from" else (*path, "from")))


def _absent(client: docker.DockerClient, ref: str, platform: str) -> str | None:
    """None when the engine holds ``ref`` for ``platform`` or its registry has it; else why not."""
    import docker.errors as de

    try:
        parsed = grammar.parse(ref)
    except grammar.Invalid:  # a build argument in it: only the build knows what it names
        return None
    local = []
    for name in dict.fromkeys((ref, str(parsed.unpinned()))):
        try:
            image = client.images.get(name)
        except de.ImageNotFound:
            continue
        local.append(_platform_of(image.attrs))
        if local[-1] == platform:
            return None
    try:
        if client.images.get_registry_data(ref).has_platform(platform):
            return None
        answer = "its registry has it for other platforms only"
    except de.NotFound:
        answer = "its registry has no such image"
    except de.APIError as exc:  # the registry could not be asked (Docker Hub from an offline machine)
        answer = f"its registry cannot be asked ({exc.explanation or exc})"
    held = f"the engine holds it for {', '.join(local)} only" if local else "the engine does not hold it"
    return f"{held}, and {answer}"


def _platform_of(attrs: dict[str, object]) -> str:
    parts = (attrs.get("Os") or "linux", attrs.get("Architecture") or "", attrs.get("Variant") or "")
    name = "/".join(str(part) for part in parts if part)
    # the engine says linux/arm64/v8 for what an index and BuildKit call linux/arm64
    return name if name in KNOWN else name.rsplit("/", 1)[0] if name.rsplit("/", 1)[0] in KNOWN else name
