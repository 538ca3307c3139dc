"""The engine tests here share tests/images' rules: they skip without an engine unless
IMAGESPEC_REQUIRE_ENGINE is set (CI), and remove what they made. ``config``: the
machine's catalog plus the two-platform bases of tests/platforms/bases, which
scripts/make-test-bases.sh builds once per machine and pushes to the local registry
(tests/platforms/catalog.local.yaml): `static` and the busybox `shell` (each platform's
packages unpacked on this machine, no emulation), `slim` (bootstrapped for both
platforms, the arm64 root's maintainer scripts under QEMU) and `probe` (a spec base on
slim, its RUN under QEMU for arm64). Like bases/, they stay: the next run finds them
up to date."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests import tools
from tests.images.conftest import client, cleanup, pytest_collection_modifyitems, session_cleanup
from tests.platforms.support import HERE, NAMESPACE, PLATFORMS, REPO, index_of, listed_platforms
from tests.platforms.support import qemu_registered, registry_answers

__all__ = ["cleanup", "client", "config", "pytest_collection_modifyitems", "session_cleanup"]

#: what scripts/make-test-bases.sh writes
CATALOG = HERE / "catalog.local.yaml"
#: each base of tests/platforms/bases -> its tag there
BASES = {"static": "nonroot", "shell": "busybox", "slim": "bookworm", "probe": "bookworm"}


def base_image(name: str, tag: str) -> str:
    """The reference of tests/platforms/bases/NAME.yaml's image (its index in the registry)."""
    return f"{NAMESPACE}/{name}:{tag}"


def _machine_bases(work: Path) -> Path:
    """The config naming the machine's catalog and the platform tests' (checked: every
    base listed and its index of both platforms in the registry)."""
    registry_answers()
    qemu_registered()
    if not CATALOG.is_file():
        tools.unavailable(f"{CATALOG.relative_to(REPO)} is missing: run scripts/make-test-bases.sh")
    listed = (yaml.safe_load(CATALOG.read_text()) or {}).get("images") or {}
    missing = sorted(set(BASES) - set(listed))
    if missing:
        tools.unavailable(f"{CATALOG.relative_to(REPO)} lacks {', '.join(missing)}: run scripts/make-test-bases.sh")
    for name, tag in BASES.items():
        assert listed[name]["image"].startswith(base_image(name, tag) + "@"), listed[name]
        assert listed_platforms(index_of(base_image(name, tag))) == list(PLATFORMS), name
    path = work / "config.yaml"
    path.write_text(f"catalog: [{REPO / 'bases' / 'catalog.local.yaml'}, {CATALOG}]\n"
                    "build: {network: host, ca_bundle: /etc/ssl/certs/ca-certificates.crt}\n")
    return path


@pytest.fixture(scope="session")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _machine_bases(tmp_path_factory.mktemp("platforms"))
