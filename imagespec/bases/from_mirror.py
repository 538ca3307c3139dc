"""A `bootstrap` base: mmdebstrap from the mirror, the SBOM written into the root, then
loaded with a fixed config (reproducible image ID). Skipped when the tagged image was
made from the same inputs (its label says so), unless --force. With `platforms:`, one
root per platform (mmdebstrap --architectures; a foreign root's maintainer scripts run
under QEMU), each loaded with its architecture in the image config."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from imagespec import platform as platforms
from imagespec.bases.context import BaseBuildRun, find_image, located, rfc3339
from imagespec.contract import LABEL_BASE, LABEL_EPOCH, LABEL_INPUTS, LABEL_SBOM, SBOM_DIR
from imagespec.bootstrap.apt_sources import Release, choose_mirror, fetch_release, machine_mirror
from imagespec.bootstrap.mmdebstrap import (
    ImageConfig,
    PackageNotFound,
    RootfsRequest,
    add_file,
    bootstrap_rootfs,
    host_architecture,
    load_image,
)
from imagespec.sbom.spdx import read_rootfs, sbom_json, spdx_document
from imagespec.errors import ImageSpecError, SpecError
from imagespec.spec.read_base import LoadedBase
from imagespec.resources import templates_dir

FORMAT = 1  # bumped when the same spec would bootstrap differently


def _releases(loaded: LoadedBase, run: BaseBuildRun) -> tuple[list[str], list[Release]]:
    """The apt sources and their Release files: the suite, then -updates and -security."""
    spec = loaded.base.bootstrap
    assert spec is not None
    components = " ".join(spec.components)
    try:
        mirror = choose_mirror(spec.suite, spec=spec.mirror, configured=run.options.mirror)
        main = fetch_release(mirror, spec.suite)
    except ImageSpecError as error:
        raise located(error, loaded, ("bootstrap", "mirror" if spec.mirror else "suite")) from None
    _require_architectures(loaded, main)
    sources, releases = [f"deb {mirror} {spec.suite} {components}"], [main]
    if spec.updates:
        for suite, uri in ((f"{spec.suite}-updates", mirror),
                           (f"{spec.suite}-security", machine_mirror(f"{main.codename}-security"))):
            if uri is None:
                run.on_status(f"{loaded.name}: no source for {suite} on this machine; bootstrapping without it")
                continue
            try:
                releases.append(fetch_release(uri, suite))
            except SpecError:  # a suite without updates (testing, unstable)
                continue
            sources.append(f"deb {uri} {suite} {components}")
    return sources, releases


def _require_architectures(loaded: LoadedBase, release: Release) -> None:
    """Each platform's packages are on the mirror (a partial mirror may carry amd64 alone)."""
    if not release.architectures:  # a Release without the field: mmdebstrap finds out
        return
    for index, name in enumerate(loaded.base.platforms):
        arch = platforms.parse(name).debian_arch
        if arch not in release.architectures:
            raise SpecError(f"{name} cannot be bootstrapped: {release.mirror} has no {arch} packages for "
                            f"{release.suite} (Architectures: {' '.join(release.architectures)})",
                            location=loaded.document.location(("platforms", index)),
                            hint="choose a mirror that carries it (`mirror:`, `bases.mirror`), or drop the platform")


def _spec_inputs(loaded: LoadedBase) -> dict[str, Any]:
    """The spec as inputs; `nonroot` only when set, so the bases without it keep their key
    (and their image ID) from before the field existed."""
    spec = loaded.base.model_dump(mode="json", exclude={"description"})
    if not spec["bootstrap"]["nonroot"]:
        del spec["bootstrap"]["nonroot"]
    return spec


def _inputs_key(loaded: LoadedBase, sources: list[str], epoch: int, platform: str | None) -> str:
    hooks = templates_dir() / "bases" / "slim"
    payload = {
        "format": FORMAT,
        "spec": _spec_inputs(loaded),
        "sources": sources,
        "epoch": epoch,
        "hooks": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(hooks.iterdir())},
        # one platform's root of several; a base for the machine alone keeps its key from before
        **({"platform": platform} if platform else {}),
    }
    return "sha256:" + hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def _up_to_date(reference: str, key: str) -> str | None:
    image = find_image(reference)
    return image.id if image is not None and (image.labels or {}).get(LABEL_INPUTS) == key else None


def build_bootstrap(loaded: LoadedBase, run: BaseBuildRun, platform: str | None = None,
                    reference: str | None = None) -> tuple[str, bool]:
    """(image ID, whether it was built now). ``platform``, ``reference``: one platform's
    image of a multi-platform base."""
    spec, name, reference = loaded.base.bootstrap, loaded.name, reference or loaded.base.image
    assert spec is not None
    target = platforms.parse(platform) if platform else None
    sources, releases = _releases(loaded, run)
    # the mirror's own date: a rebuild from the same mirror state gets the same epoch
    epoch = run.options.source_date_epoch or max(r.date for r in releases)
    run.epochs[name] = epoch
    key = _inputs_key(loaded, sources, epoch, platform)
    if not run.options.force and (existing := _up_to_date(reference, key)):
        return existing, False
    work = run.scratch(name + (f"-{target.tag_suffix}" if target else ""))
    request = RootfsRequest(spec.suite, spec.variant, tuple(sources), tuple(spec.include),
                            templates_dir() / "bases" / "slim", spec.slim, epoch, nonroot=spec.nonroot,
                            architecture=target.debian_arch if target else None)
    run.on_status(f"{name}: mmdebstrap {spec.variant} {spec.suite}{f' {target.debian_arch}' if target else ''} "
                  f"from {sources[0].split()[1]} (SOURCE_DATE_EPOCH={epoch}, {rfc3339(epoch)})")
    try:
        tarball = bootstrap_rootfs(request, work / "rootfs.tar",
                                   log=run.log(name + (f"-{target.tag_suffix}" if target else "")))
    except PackageNotFound as missing:
        where = (("bootstrap", "include", spec.include.index(missing.package)) if missing.package in spec.include
                 else ("bootstrap", "variant"))
        raise SpecError(f"package '{missing.package}' is not in {spec.suite} on the mirror",
                        location=loaded.document.location(where), hint="check the name with `apt-cache policy`") from None
    with tarball.open("rb") as stream:
        packages = read_rootfs(stream).packages()
    sbom = spdx_document(name=name, image=reference, packages=packages, created=rfc3339(epoch),
                         namespace=f"urn:imagespec:base:{name}:{key.removeprefix('sha256:')}")
    sbom_path = f"{SBOM_DIR}/{name}.spdx.json"
    add_file(tarball, "." + sbom_path, sbom_json(sbom).encode(), mtime=epoch,
             new_dirs=("./usr/share/imagespec", "." + SBOM_DIR))
    labels = {LABEL_BASE: name, LABEL_INPUTS: key, LABEL_EPOCH: str(epoch), LABEL_SBOM: sbom_path,
              "org.opencontainers.image.created": rfc3339(epoch), "org.opencontainers.image.title": name,
              **({"org.opencontainers.image.description": loaded.base.description} if loaded.base.description else {})}
    arch = f" --architectures={target.debian_arch}" if target else ""
    config = ImageConfig(reference, epoch, tuple(spec.cmd), labels,
                         created_by=f"mmdebstrap --variant={spec.variant}{arch} {spec.suite} (imagespec base build)")
    image_id = load_image(tarball, config, architecture=target.architecture if target else host_architecture(),
                          variant=target.variant if target else None)
    tarball.unlink()
    return image_id, True
