"""`platforms:` on the real engine: a Go app (on a two-platform distroless base) and a C
app (on scratch) for linux/amd64 and linux/arm64. Each build stage cross-compiles on the
build machine; the result is one index in the local registry (127.0.0.1:5000) listing both
platforms, and each platform's image runs (arm64 under QEMU, registered by
scripts/setup-engine.sh), prints the architecture it was compiled for and passes
`imagespec test`. Each platform's image in the registry carries its own SBOM (the label
and the file, scanned from that platform's file system: the arm64 Go binary's build
information says arm64, the static base's packages are arm64's), the same one --sbom
wrote beside the build with the platform in its name, and spdx-tools finds it valid.
Several platforms without --push are refused before anything is built."""

from __future__ import annotations

import io
import json
import os
import tarfile
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests import tools
from tests.images.support import RUN_ID
from tests.sbom.validators import spdx_problems

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
REGISTRY = "127.0.0.1:5000"
NAMESPACE = f"{REGISTRY}/imagespec-platformtest"
PLATFORMS = ("linux/amd64", "linux/arm64")
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


def imagespec(*args: str, cwd: Path = REPO, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "IMAGESPEC_CONFIG"}
    return subprocess.run([sys.executable, "-m", "imagespec", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def docker(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def _registry_answers() -> None:
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=2).close()
    except (urllib.error.URLError, OSError) as error:
        tools.unavailable(f"no registry on {REGISTRY} ({error}); scripts/start-registry.sh starts one")


def _qemu_registered() -> None:
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        tools.unavailable("QEMU is not registered for arm64 (binfmt_misc); scripts/setup-engine.sh registers it")


def index_of(reference: str) -> dict:
    """The manifest a tag names in the registry, asked for as an index (registry API)."""
    name, tag = reference.removeprefix(f"{REGISTRY}/").rsplit(":", 1)
    request = urllib.request.Request(f"http://{REGISTRY}/v2/{name}/manifests/{tag}",
                                     headers={"Accept": ", ".join(INDEX_TYPES)})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json")
SBOM_LABEL = "io.imagespec.sbom"


def registry_get(name: str, kind: str, reference: str, accept: tuple[str, ...] = ()) -> bytes:
    request = urllib.request.Request(f"http://{REGISTRY}/v2/{name}/{kind}/{reference}",
                                     headers={"Accept": ", ".join(accept)} if accept else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return bytes(response.read())


def sbom_in_registry(reference: str, platform: str) -> tuple[str, dict]:
    """(the SBOM label, the SBOM document) of one platform's image, read from the pushed
    index through the registry API alone: the index, that platform's manifest, its config
    (the label), its last layer (the file the label names)."""
    name = reference.removeprefix(f"{REGISTRY}/").rsplit(":", 1)[0]
    (entry,) = [m for m in index_of(reference)["manifests"]
                if f"{m['platform']['os']}/{m['platform']['architecture']}" == platform]
    manifest = json.loads(registry_get(name, "manifests", entry["digest"], MANIFEST_TYPES))
    config = json.loads(registry_get(name, "blobs", manifest["config"]["digest"]))
    assert config["architecture"] == platform.split("/")[1]
    path = config["config"]["Labels"][SBOM_LABEL]
    layer = registry_get(name, "blobs", manifest["layers"][-1]["digest"])
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:*") as archive:
        handle = archive.extractfile(path.lstrip("/"))
        assert handle is not None, (path, archive.getnames())
        return path, json.loads(handle.read())


def listed_platforms(document: dict) -> list[str]:
    return sorted(f"{m['platform']['os']}/{m['platform']['architecture']}" for m in document.get("manifests", []))


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, session_cleanup) -> Path:  # type: ignore[no-untyped-def]
    """The machine's catalog plus the two-platform static base, built here (only the
    arm64 base the Go app needs: its packages unpacked on this machine, no emulation)."""
    _registry_answers()
    _qemu_registered()
    work = tmp_path_factory.mktemp("platforms")
    base = work / "static.yaml"
    image = f"{NAMESPACE}/static-{RUN_ID}:nonroot"
    base.write_text((HERE / "bases" / "static.yaml").read_text().replace(f"{NAMESPACE}/static:nonroot", image))
    catalog = work / "catalog.yaml"
    built = imagespec("base", "build", str(base), "--push", "--progress", "plain",
                      "--config", str(REPO / "scripts" / "local.imagespec.yaml"), "--catalog", str(catalog))
    assert built.returncode == 0, built.stderr[-3000:]
    for platform in PLATFORMS:
        session_cleanup.image(f"{image}-{platform.replace('/', '-')}")
    assert listed_platforms(index_of(image)) == list(PLATFORMS)
    path = work / "config.yaml"
    path.write_text(f"catalog: [{REPO / 'bases' / 'catalog.local.yaml'}, {catalog}]\n"
                    "build: {network: host, ca_bundle: /etc/ssl/certs/ca-certificates.crt}\n")
    return path


@pytest.mark.parametrize(("app", "printed"), [("go-arch", "go-arch linux/{arch}"), ("c-arch", "c-arch {arch}")])
def test_a_two_platform_image_is_one_index_whose_images_run_and_pass_imagespec_test(
        config: Path, session_cleanup, tmp_path: Path, app: str, printed: str) -> None:  # type: ignore[no-untyped-def]
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
        assert ran.stdout.strip() == printed.format(arch=arch)
        tested = imagespec("test", str(spec), "--config", str(config), "--image", image, "--format", "json")
        assert tested.returncode == 0, tested.stdout[-2000:] + tested.stderr[-2000:]
        assert json.loads(tested.stdout)["ok"]

        path, document = sbom_in_registry(reference, platform)
        assert path == f"/usr/share/imagespec/sbom/{app}.spdx.json"
        assert document == json.loads(written[platform].read_text())
        assert spdx_problems(document) == []
        purls = [r["referenceLocator"] for p in document["packages"] for r in p.get("externalRefs", [])]
        if app == "go-arch":  # its own binary's build information, and its own base's packages
            assert any(u.startswith("pkg:golang/stdlib@") and u.endswith(f"?arch={arch}") for u in purls), purls
            debs = [u for u in purls if u.startswith("pkg:deb/")]
            assert debs and all(u.endswith(f"?arch={arch}") or u.endswith("?arch=all") for u in debs), debs
        else:  # the static C program: its C library where the build stage's image records it
            libc = [u for u in purls if u.startswith("pkg:deb/debian/libc6-dev")]
            note = document["creationInfo"].get("comment", "")
            if arch == "amd64":
                assert libc and libc[0].endswith("?arch=amd64"), purls
            else:  # the arm64 cross library is installed while building: not claimed, said so
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
