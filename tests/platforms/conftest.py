"""The engine tests here share tests/images' rules: they skip without an engine unless
IMAGESPEC_REQUIRE_ENGINE is set (CI), and remove what they made. ``config``: the
machine's catalog plus the two-platform static base, built once for the session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.images.conftest import client, cleanup, pytest_collection_modifyitems, session_cleanup
from tests.images.support import RUN_ID
from tests.platforms.support import HERE, NAMESPACE, PLATFORMS, REPO, imagespec, index_of, listed_platforms
from tests.platforms.support import qemu_registered, registry_answers

__all__ = ["cleanup", "client", "config", "pytest_collection_modifyitems", "session_cleanup"]


@pytest.fixture(scope="session")
def config(tmp_path_factory: pytest.TempPathFactory, session_cleanup) -> Path:  # type: ignore[no-untyped-def]
    """The machine's catalog plus the two-platform static base, built here (only the
    arm64 base the Go app needs: its packages unpacked on this machine, no emulation)."""
    registry_answers()
    qemu_registered()
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
