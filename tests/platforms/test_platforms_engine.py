"""`platforms:` on the real engine: a Go app (on a two-platform distroless base), a C app
and a Rust app (on scratch, under tini) for linux/amd64 and linux/arm64. Each build stage
cross-compiles on the build machine, and so does the tini stage (the target's musl): no
stage needs a base image of arm64; the result is one index in the local registry (127.0.0.1:5000) listing both
platforms, and each platform's image runs (arm64 under QEMU, registered by
scripts/setup-engine.sh), prints the architecture it was compiled for and passes
`imagespec test`. Each platform's image in the registry carries its own SBOM (the label
and the file, scanned from that platform's file system: the arm64 Go binary's build
information says arm64, the static base's packages are arm64's; tini and the static
program's C library where the build knows them), the same one --sbom wrote beside the
build with the platform in its name, and spdx-tools finds it valid. Several platforms
without --push are refused before anything is built."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.images.support import RUN_ID
from tests.platforms.support import (HERE, INDEX_TYPES, NAMESPACE, PLATFORMS, REPO, docker, imagespec, index_of,
                                     listed_platforms, sbom_in_registry)
from tests.sbom.validators import spdx_problems

pytestmark = pytest.mark.engine


#: what each program prints per platform (Rust names the architecture as its triple does)
PRINTED = {"go-arch": {"linux/amd64": "go-arch linux/amd64", "linux/arm64": "go-arch linux/arm64"},
           "c-arch": {"linux/amd64": "c-arch amd64", "linux/arm64": "c-arch arm64"},
           "rust-arch": {"linux/amd64": "rust-arch x86_64", "linux/arm64": "rust-arch aarch64"}}


@pytest.mark.parametrize("app", sorted(PRINTED))
def test_a_two_platform_image_is_one_index_whose_images_run_and_pass_imagespec_test(
        config: Path, session_cleanup, tmp_path: Path, app: str) -> None:  # type: ignore[no-untyped-def]
    spec = HERE / app / "imagespec.yaml"
    reference = f"{NAMESPACE}/{app}-{RUN_ID}:1.0.0"
    for platform in PLATFORMS:
        session_cleanup.image(f"{reference}-{platform.replace('/', '-')}")
    sbom = tmp_path / f"{app}.spdx.json"
    built = imagespec("build", str(spec), "--config", str(config), "--tag", reference, "--push", "--verify",
                      "--format", "json", "--progress", "plain", "--sbom", str(sbom))
    assert built.returncode == 0, built.stderr[-4000:]
    summary = json.loads(built.stdout.splitlines()[0])
    assert [p["platform"] for p in summary["platforms"]] == list(PLATFORMS)
    written = {p["platform"]: Path(p["sbom"]) for p in summary["platforms"]}
    assert written == {p: tmp_path / f"{app}.{p.replace('/', '-')}.spdx.json" for p in PLATFORMS}
    assert not sbom.exists()  # one document per platform image, none for the index
    assert reference in summary["tags"]
    verified = json.loads(built.stdout.splitlines()[1])
    assert verified["ok"], verified
    assert {c["name"].rsplit(" ", 1)[-1] for c in verified["checks"]} == {f"({p})" for p in PLATFORMS}

    document = index_of(reference)
    assert document["mediaType"] in INDEX_TYPES
    assert listed_platforms(document) == list(PLATFORMS)
    assert document["manifests"][0]["digest"] != document["manifests"][1]["digest"]

    for platform in PLATFORMS:
        arch = platform.split("/")[1]
        image = f"{reference}-{platform.replace('/', '-')}"
        assert docker("image", "inspect", "-f", "{{.Architecture}}", image).stdout.strip() == arch
        ran = docker("run", "--rm", "--network", "none", "--platform", platform, image)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == PRINTED[app][platform]
        tested = imagespec("test", str(spec), "--config", str(config), "--image", image, "--format", "json")
        assert tested.returncode == 0, tested.stdout[-2000:] + tested.stderr[-2000:]
        assert json.loads(tested.stdout)["ok"]
        check_sbom(app, reference, platform, written[platform])


def check_sbom(app: str, reference: str, platform: str, written: Path) -> None:
    """The SBOM the platform's image carries in the registry: the file --sbom wrote, valid,
    and made from that platform's own file system."""
    arch = platform.split("/")[1]
    path, document = sbom_in_registry(reference, platform)
    assert path == f"/usr/share/imagespec/sbom/{app}.spdx.json"
    assert document == json.loads(written.read_text())
    assert spdx_problems(document) == []
    purls = [r["referenceLocator"] for p in document["packages"] for r in p.get("externalRefs", [])]
    if app == "go-arch":  # its own binary's build information, and its own base's packages
        assert any(u.startswith("pkg:golang/stdlib@") and u.endswith(f"?arch={arch}") for u in purls), purls
        debs = [u for u in purls if u.startswith("pkg:deb/")]
        assert debs and all(u.endswith((f"?arch={arch}", "?arch=all")) for u in debs), debs
        return
    # a static program under tini: tini from the init stage (built for this platform), and
    # the program's C library where the build stage's image records it
    assert any(u.startswith("pkg:deb/debian/tini@") and u.endswith("?arch=source") for u in purls), purls
    libc = [u for u in purls if u.startswith("pkg:deb/debian/libc6-dev")]
    note = document["creationInfo"].get("comment", "")
    if arch == "amd64":
        assert libc and libc[0].endswith("?arch=amd64"), purls
    else:  # the arm64 cross library is installed while building: not claimed, and said so
        assert libc == [] and "libc6-dev-arm64-cross" in note and "not known" in note, (purls, note)


def test_several_platforms_without_push_are_refused_before_anything_is_built(config: Path) -> None:
    spec = HERE / "c-arch" / "imagespec.yaml"
    reference = f"{NAMESPACE}/refused-{RUN_ID}:1.0.0"
    done = imagespec("build", str(spec), "--config", str(config), "--tag", reference)
    assert done.returncode == 2, done.stderr
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if text.startswith("platforms:"))
    assert done.stderr.startswith(f"{spec.relative_to(REPO)}:{line}:1: 2 platforms make one multi-platform image"), \
        done.stderr
    assert "--push" in done.stderr and "Traceback" not in done.stderr
    for platform in PLATFORMS:
        absent = docker("image", "inspect", f"{reference}-{platform.replace('/', '-')}")
        assert absent.returncode != 0
