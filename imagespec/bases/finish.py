"""The last steps of a Dockerfile-built base: the image is built under a temporary tag,
its `verify` commands run in it, then one more small build adds its SBOM as a file and
a label (BP16) and only that image gets the base's tag (BP14)."""

from __future__ import annotations

import hashlib
import os
import secrets

from imagespec.bases.context import BaseBuildRun, build_options, find_image, rfc3339
from imagespec.contract import LABEL_BASE, LABEL_BUILT, LABEL_EPOCH, LABEL_SBOM, SBOM_DIR
from imagespec.engine import get_backend
from imagespec.engine.client import connect, engine_errors, remove_image
from imagespec.sbom.spdx import export_rootfs, sbom_json, spdx_document
from imagespec.errors import CheckFailed
from imagespec.spec.read_base import LoadedBase

TEMP_REPOSITORY = "imagespec-tmp/base"


def temp_tag(loaded: LoadedBase) -> str:
    return f"{TEMP_REPOSITORY}-{loaded.name}:{secrets.token_hex(6)}"


def untag(reference: str) -> None:
    remove_image(reference)


def verify_in_image(reference: str, argv: tuple[str, ...], loaded: LoadedBase, index: int) -> None:
    import docker.errors

    with engine_errors(f"run {argv[0]} in {reference}"):
        try:
            connect().containers.run(reference, list(argv), network_mode="none", remove=True, stdout=True, stderr=True)
        except docker.errors.ContainerError as exc:
            output = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-5:]
            raise CheckFailed(f"{' '.join(argv)} failed in the new image (exit {exc.exit_status}): " + " | ".join(output),
                              location=loaded.document.location(("distroless", "verify", index)),
                              hint="the previous image keeps the tag; fix the packages or the check") from None


def finish(loaded: LoadedBase, run: BaseBuildRun, built: str, epoch: int | None, *, reference: str | None = None,
           platform: str | None = None) -> tuple[str, bool]:
    """Add the SBOM (file + label) in one more layer and tag the result as the base;
    (image ID, False) when the tagged base was finished from this very build already.
    ``reference``, ``platform``: one platform's image of a multi-platform base."""
    name, reference = loaded.name, reference or loaded.base.image
    built_id = _image_id(built)
    current = find_image(reference)
    if current is not None and (current.labels or {}).get(LABEL_BUILT) == built_id and not run.options.force:
        return current.id, False
    # named after the layers' contents, not the image ID (which holds build times)
    layers = "".join(_layers(built))
    sbom = spdx_document(name=name, image=reference, packages=export_rootfs(built).packages(),
                         created=rfc3339(epoch or 0),
                         namespace=f"urn:imagespec:base:{name}:{hashlib.sha256(layers.encode()).hexdigest()[:32]}")
    context = run.scratch(f"{name}-sbom" + (f"-{platform.replace('/', '-')}" if platform else ""))
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
    result = get_backend(display=False).build(dockerfile, context, build_options(run, tags=(reference,), epoch=epoch,
                                                                              labels=labels, platform=platform))
    return result.image_id, True


def _layers(reference: str) -> list[str]:
    with engine_errors(f"inspect {reference}"):
        return list(connect().images.get(reference).attrs["RootFS"]["Layers"])


def _image_id(reference: str) -> str:
    with engine_errors(f"inspect {reference}"):
        return connect().images.get(reference).id
