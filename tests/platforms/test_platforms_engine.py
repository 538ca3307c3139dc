"""`platforms:` on the real engine: a Go app (on a two-platform distroless base) and a C
app (on scratch) for linux/amd64 and linux/arm64. Each build stage cross-compiles on the
build machine; the result is one index in the local registry (127.0.0.1:5000) listing both
platforms, and each platform's image runs (arm64 under QEMU, registered by
scripts/setup-engine.sh), prints the architecture it was compiled for and passes
`imagespec test`. Several platforms without --push are refused before anything is built."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests import tools
from tests.images.support import RUN_ID

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
        config: Path, session_cleanup, app: str, printed: str) -> None:  # type: ignore[no-untyped-def]
    spec = HERE / app / "imagespec.yaml"
    reference = f"{NAMESPACE}/{app}-{RUN_ID}:1.0.0"
    for platform in PLATFORMS:
        session_cleanup.image(f"{reference}-{platform.replace('/', '-')}")
    built = imagespec("build", str(spec), "--config", str(config), "--tag", reference, "--push", "--verify",
                      "--format", "json", "--progress", "plain")
    assert built.returncode == 0, built.stderr[-4000:]
    summary = json.loads(built.stdout.splitlines()[0])
    assert [p["platform"] for p in summary["platforms"]] == list(PLATFORMS)
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
