"""What the platform tests share: the CLI and docker as processes, the local registry's
API (an index's platforms, a platform image's SBOM), and the checks that skip without a
registry or QEMU."""

from __future__ import annotations

import io
import json
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

from tests import tools
from tests.images.support import REPO, docker, imagespec  # noqa: F401 (the platform tests import them from here)

HERE = Path(__file__).resolve().parent
REGISTRY = "127.0.0.1:5000"
NAMESPACE = f"{REGISTRY}/imagespec-platformtest"
PLATFORMS = ("linux/amd64", "linux/arm64")
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json")
SBOM_LABEL = "io.imagespec.sbom"


def registry_answers() -> None:
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=2).close()
    except (urllib.error.URLError, OSError) as error:
        tools.unavailable(f"no registry on {REGISTRY} ({error}); scripts/start-registry.sh starts one")


def qemu_registered() -> None:
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
