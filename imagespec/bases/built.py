"""Bases built from a Dockerfile imagespec generates: `distroless` (an assembly stage
and a scratch final) and `spec` (an ordinary spec: the toolchains).

Each is built under a temporary tag, checked, then finished (bases/finish.py) by one
more small build that adds its SBOM: only that image gets the base's tag, so a failure
at any step leaves the previous image tagged, never a half-made one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import replace

from imagespec import platform as platforms
from imagespec.bases.context import BaseBuildRun, build_options, find_image, located
from imagespec.contract import LABEL_EPOCH
from imagespec.bases.finish import finish, temp_tag, untag, verify_in_image
from imagespec.engine import get_backend
from imagespec.bootstrap.mmdebstrap import missing_package
from imagespec.compiler import compile_spec
from imagespec.errors import BuildFailed, SpecError
from imagespec.pipeline import locate_failure
from imagespec.plan.distroless import TOOL, lower_distroless
from imagespec.render.dockerfile import render_dockerfile
from imagespec.spec.read_base import LoadedBase
from imagespec.resources import templates_dir


def distroless_dockerfile(loaded: LoadedBase, run: BaseBuildRun, platform: str | None = None) -> str:
    spec = loaded.base.distroless
    assert spec is not None
    assemble_in = run.resolve(loaded, spec.assemble_in, ("distroless", "assemble_in"))
    parent = None if spec.from_ == "scratch" else run.resolve(loaded, spec.from_, ("distroless", "from"))
    plan = lower_distroless(loaded.name, spec, assemble_in=assemble_in, parent=parent,
                            platform=platforms.parse(platform) if platform else None)
    written = loaded.base.model_dump(mode="json")
    if not written["platforms"]:
        del written["platforms"]  # a base for the build machine alone: the same hash as before the field
    inputs = json.dumps([written, assemble_in.image, parent and parent.image, *([platform] if platform else [])],
                        sort_keys=True)
    digest = "sha256:" + hashlib.sha256(inputs.encode()).hexdigest()[:16]
    return render_dockerfile(plan, source=loaded.path.name, inputs_hash=digest)


def _epoch(loaded: LoadedBase, run: BaseBuildRun) -> int | None:
    """SOURCE_DATE_EPOCH for a Dockerfile base: the environment's, else the newest of
    the bases it is built from (their packages come from that mirror state)."""
    given = run.options.source_date_epoch
    known = [e for e in (run.epochs.get(n) or _labelled_epoch(run, loaded, n) for n in loaded.base.needs()) if e]
    epoch = given or (max(known) if known else None)
    if epoch is not None:
        run.epochs[loaded.name] = epoch
    return epoch


def _labelled_epoch(run: BaseBuildRun, loaded: LoadedBase, name: str) -> int | None:
    """The epoch a base built in an earlier run recorded in its label."""
    reference = run.catalog.resolve(name, location=loaded.document.location(("base",))).image
    image = find_image(reference)  # None: not here yet, no epoch to inherit
    value = (image.labels or {}).get(LABEL_EPOCH, "") if image is not None else ""
    return int(value) if value.isdigit() else None


def build_distroless(loaded: LoadedBase, run: BaseBuildRun, platform: str | None = None,
                     reference: str | None = None) -> tuple[str, bool]:
    """``platform``, ``reference``: one platform's image of a multi-platform base."""
    spec = loaded.base.distroless
    assert spec is not None
    epoch = _epoch(loaded, run)
    dockerfile = distroless_dockerfile(loaded, run, platform)
    context = run.scratch(loaded.name + (f"-{platform.replace('/', '-')}" if platform else ""))
    shutil.copyfile(templates_dir() / "bases" / TOOL, context / TOOL)
    os.chmod(context / TOOL, 0o755)  # COPY keeps the mode (COPY --chmod needs a newer frontend)
    temp = temp_tag(loaded)
    try:
        get_backend(display=run.options.progress != "quiet").build(
            dockerfile, context, build_options(run, tags=(temp,), epoch=epoch, dockerignore=f"*\n!{TOOL}\n",
                                               platform=platform))
    except BuildFailed as failure:
        raise _missing_package(failure, loaded) or located(failure, loaded, ("distroless",)) from None
    try:
        for index, argv in enumerate(spec.verify):
            verify_in_image(temp, tuple(argv), loaded, index)
        return finish(loaded, run, temp, epoch, reference=reference, platform=platform)
    finally:
        untag(temp)


def build_spec(loaded: LoadedBase, run: BaseBuildRun, platform: str | None = None,
               reference: str | None = None) -> tuple[str, bool]:
    """``platform``, ``reference``: one platform's image of a multi-platform base, built
    FROM the parent's index (BuildKit picks that platform's image from it); the steps of a
    stage that does not cross-compile run under QEMU where the platform is not the machine's."""
    app = loaded.app_spec()
    compiled = compile_spec(app, replace(run.config, catalog=run.catalog), source=loaded.path.name)
    epoch = _epoch(loaded, run)
    temp = temp_tag(loaded)
    try:
        get_backend(display=run.options.progress != "quiet").build(
            compiled.dockerfile, app.context, build_options(run, tags=(temp,), epoch=epoch,
                                                            dockerignore=compiled.dockerignore, platform=platform))
    except BuildFailed as failure:
        located_failure = locate_failure(compiled, failure)
        if platform:
            located_failure.message = f"{platform}: {located_failure.message}"
        raise located_failure from None
    try:
        return finish(loaded, run, temp, epoch, reference=reference, platform=platform)
    finally:
        untag(temp)


def _missing_package(failure: BuildFailed, loaded: LoadedBase) -> SpecError | None:
    """apt's "Unable to locate package X" in a failed assembly step: the spec's mistake."""
    spec = loaded.base.distroless
    text = "\n".join((*getattr(failure, "log_tail", ()), failure.message))
    package = missing_package(text)
    if spec is None or package is None:
        return None
    where = ("distroless", "packages", spec.packages.index(package)) if package in spec.packages else ("distroless", "packages")
    return SpecError(f"package '{package}' does not exist in the mirror the assembly image uses",
                     location=loaded.document.location(where), hint="check the name with `apt-cache policy NAME`")


__all__ = ["build_distroless", "build_spec", "distroless_dockerfile"]
