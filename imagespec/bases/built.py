"""Bases built from a Dockerfile imagespec generates: `distroless` (an assembly stage
and a scratch final) and `spec` (an ordinary spec: the toolchains).

Each is built under a temporary tag, checked, then finished by one more small build
that adds its SBOM as a file and a label (BP16): only that image gets the base's tag,
so a failure at any step leaves the previous image tagged, never a half-made one.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from dataclasses import replace

from imagespec.bases.context import (LABEL_BASE, LABEL_BUILT, LABEL_EPOCH, LABEL_SBOM, SBOM_DIR, Run, epoch_from_env, located,
                                     rfc3339)
from imagespec.build import BuildOptions, Secret, get_backend
from imagespec.build.bootstrap import missing_package
from imagespec.build.engine import connect, engine_errors
from imagespec.build.sbom import export_rootfs, sbom_json, spdx_document
from imagespec.compiler import compile_spec
from imagespec.errors import BuildFailed, CheckFailed, SpecError
from imagespec.pipeline import _located
from imagespec.plan.distroless import TOOL, lower_distroless
from imagespec.plan.passes.mount_build_secrets import SECRET_ID
from imagespec.render.dockerfile import render_dockerfile
from imagespec.spec.base_load import LoadedBase
from imagespec.spec.catalog import templates_dir

TEMP_REPOSITORY = "imagespec-tmp/base"


def distroless_dockerfile(loaded: LoadedBase, run: Run) -> str:
    spec = loaded.base.distroless
    assert spec is not None
    assemble_in = run.resolve(loaded, spec.assemble_in, ("distroless", "assemble_in"))
    parent = None if spec.from_ == "scratch" else run.resolve(loaded, spec.from_, ("distroless", "from"))
    plan = lower_distroless(loaded.name, spec, assemble_in=assemble_in, parent=parent)
    inputs = json.dumps([loaded.base.model_dump(mode="json"), assemble_in.image, parent and parent.image], sort_keys=True)
    digest = "sha256:" + hashlib.sha256(inputs.encode()).hexdigest()[:16]
    return render_dockerfile(plan, source=loaded.path.name, inputs_hash=digest)


def _epoch(loaded: LoadedBase, run: Run) -> int | None:
    """SOURCE_DATE_EPOCH for a Dockerfile base: the environment's, else the newest of
    the bases it is built from (their packages come from that mirror state)."""
    given = epoch_from_env()
    known = [e for e in (run.epochs.get(n) or _labelled_epoch(run, loaded, n) for n in loaded.base.needs()) if e]
    epoch = given or (max(known) if known else None)
    if epoch is not None:
        run.epochs[loaded.name] = epoch
    return epoch


def _labelled_epoch(run: Run, loaded: LoadedBase, name: str) -> int | None:
    """The epoch a base built in an earlier run recorded in its label."""
    reference = run.catalog.resolve(name, location=loaded.document.location(("base",))).image
    try:
        value = (connect().images.get(reference).labels or {}).get(LABEL_EPOCH, "")
    except Exception:  # not built by imagespec, or not here: no epoch to inherit
        return None
    return int(value) if value.isdigit() else None


def _options(run: Run, *, tags: tuple[str, ...], epoch: int | None, labels: dict[str, str] | None = None,
             dockerignore: str | None = None) -> BuildOptions:
    bundle = run.options.ca_bundle
    return BuildOptions(tags=tags, build_args={"SOURCE_DATE_EPOCH": str(epoch)} if epoch else {},
                        no_cache=run.options.force, network=run.options.network, progress=run.options.progress,  # type: ignore[arg-type]
                        secrets=(Secret(SECRET_ID, bundle),) if bundle else (), labels=labels or {},
                        dockerignore=dockerignore)


def build_distroless(loaded: LoadedBase, run: Run) -> tuple[str, bool]:
    spec = loaded.base.distroless
    assert spec is not None
    epoch = _epoch(loaded, run)
    dockerfile = distroless_dockerfile(loaded, run)
    context = run.scratch(loaded.name)
    shutil.copyfile(templates_dir() / "bases" / TOOL, context / TOOL)
    os.chmod(context / TOOL, 0o755)  # COPY keeps the mode (COPY --chmod needs a newer frontend)
    temp = _temp_tag(loaded)
    try:
        get_backend(display=run.options.progress != "quiet").build(
            dockerfile, context, _options(run, tags=(temp,), epoch=epoch, dockerignore=f"*\n!{TOOL}\n"))
    except BuildFailed as failure:
        raise _missing_package(failure, loaded) or located(failure, loaded, ("distroless",)) from None
    try:
        for index, argv in enumerate(spec.verify):
            _verify(temp, tuple(argv), loaded, index)
        return _finish(loaded, run, temp, epoch)
    finally:
        _untag(temp)


def build_spec(loaded: LoadedBase, run: Run) -> tuple[str, bool]:
    app = loaded.app_spec()
    compiled = compile_spec(app, replace(run.config, catalog=run.catalog), source=loaded.path.name)
    epoch = _epoch(loaded, run)
    temp = _temp_tag(loaded)
    try:
        get_backend(display=run.options.progress != "quiet").build(
            compiled.dockerfile, app.context, _options(run, tags=(temp,), epoch=epoch, dockerignore=compiled.dockerignore))
    except BuildFailed as failure:
        raise _located(compiled, failure) from None
    try:
        return _finish(loaded, run, temp, epoch)
    finally:
        _untag(temp)


def _temp_tag(loaded: LoadedBase) -> str:
    return f"{TEMP_REPOSITORY}-{loaded.name}:{secrets.token_hex(6)}"


def _untag(reference: str) -> None:
    try:
        connect().images.remove(reference, noprune=False)
    except Exception:  # already gone, or still used by a tag: nothing of ours to clean
        pass


def _verify(reference: str, argv: tuple[str, ...], loaded: LoadedBase, index: int) -> None:
    import docker.errors

    with engine_errors(f"run {argv[0]} in {reference}"):
        try:
            connect().containers.run(reference, list(argv), network_mode="none", remove=True, stdout=True, stderr=True)
        except docker.errors.ContainerError as exc:
            output = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-5:]
            raise CheckFailed(f"{' '.join(argv)} failed in the new image (exit {exc.exit_status}): " + " | ".join(output),
                              location=loaded.document.location(("distroless", "verify", index)),
                              hint="the previous image keeps the tag; fix the packages or the check") from None


def _finish(loaded: LoadedBase, run: Run, built: str, epoch: int | None) -> tuple[str, bool]:
    """Add the SBOM (file + label) in one more layer and tag the result as the base;
    (image ID, False) when the tagged base was finished from this very build already."""
    name, reference = loaded.name, loaded.base.image
    built_id = _image_id(built)
    current = _current(reference)
    if current is not None and (current.labels or {}).get(LABEL_BUILT) == built_id and not run.options.force:
        return current.id, False
    # named after the layers' contents, not the image ID (which holds build times)
    layers = "".join(_layers(built))
    sbom = spdx_document(name=name, image=reference, packages=export_rootfs(built).packages(),
                         created=rfc3339(epoch or 0),
                         namespace=f"urn:imagespec:base:{name}:{hashlib.sha256(layers.encode()).hexdigest()[:32]}")
    context = run.scratch(f"{name}-sbom")
    target = context / SBOM_DIR.lstrip("/") / f"{name}.spdx.json"
    target.parent.mkdir(parents=True)
    target.write_text(sbom_json(sbom), encoding="utf-8")
    if epoch:  # the same mtimes every time: the same layer (diff ID) from the same SBOM
        for path in [target, *target.parents]:
            if path == context.parent:
                break
            os.utime(path, (epoch, epoch))
    labels = {LABEL_BASE: name, LABEL_BUILT: built_id, LABEL_SBOM: f"{SBOM_DIR}/{name}.spdx.json",
              "org.opencontainers.image.title": name,
              **({LABEL_EPOCH: str(epoch), "org.opencontainers.image.created": rfc3339(epoch)} if epoch else {}),
              **({"org.opencontainers.image.description": loaded.base.description} if loaded.base.description else {})}
    dockerfile = f"# The SBOM of {name} (BP16), written by imagespec base build\nFROM {built}\nCOPY usr/ /usr/\n"
    result = get_backend(display=False).build(dockerfile, context, _options(run, tags=(reference,), epoch=epoch,
                                                                              labels=labels))
    return result.image_id, True


def _current(reference: str):  # type: ignore[no-untyped-def]
    try:
        return connect().images.get(reference)
    except Exception:  # not built yet
        return None


def _layers(reference: str) -> list[str]:
    with engine_errors(f"inspect {reference}"):
        return list(connect().images.get(reference).attrs["RootFS"]["Layers"])


def _image_id(reference: str) -> str:
    with engine_errors(f"inspect {reference}"):
        return connect().images.get(reference).id


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
