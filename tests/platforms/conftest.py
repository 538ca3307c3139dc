"""The engine tests here share tests/images' rules: they skip without an engine unless
IMAGESPEC_REQUIRE_ENGINE is set (CI), and remove what they made. ``config``: the
machine's catalog plus the two-platform static base, built once for the session;
``emulated_config``: the machine's catalog plus the two-platform bootstrap base `slim`
and the spec base `probe` on it, whose arm64 builds run under QEMU (built only when a
test asks for them: the arm64 bootstrap is the slowest base here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.images.conftest import client, cleanup, pytest_collection_modifyitems, session_cleanup
from tests.images.support import RUN_ID
from tests.platforms.support import HERE, NAMESPACE, PLATFORMS, REPO, imagespec, index_of, listed_platforms
from tests.platforms.support import qemu_registered, registry_answers

__all__ = ["cleanup", "client", "config", "emulated_config", "pytest_collection_modifyitems", "session_cleanup"]


def base_image(name: str, tag: str) -> str:
    """This session's reference of tests/platforms/bases/NAME.yaml's image."""
    return f"{NAMESPACE}/{name}-{RUN_ID}:{tag}"


def build_bases(work: Path, bases: dict[str, str], session_cleanup) -> Path:  # type: ignore[no-untyped-def]
    """`imagespec base build --push` of tests/platforms/bases/NAME.yaml (NAME -> its tag),
    each image renamed for this session; the config naming the machine's catalog and theirs."""
    paths = []
    for name in bases:
        text = (HERE / "bases" / f"{name}.yaml").read_text()
        for other, other_tag in bases.items():  # the images, never the catalog names bases refer to
            text = text.replace(f"{NAMESPACE}/{other}:{other_tag}", base_image(other, other_tag))
        paths.append(work / f"{name}.yaml")
        paths[-1].write_text(text)
    catalog = work / "catalog.yaml"
    built = imagespec("base", "build", *map(str, paths), "--push", "--progress", "plain", "--logs", str(work / "logs"),
                      "--config", str(REPO / "scripts" / "local-config.yaml"), "--catalog", str(catalog))
    for name, tag in bases.items():
        for platform in PLATFORMS:
            session_cleanup.image(f"{base_image(name, tag)}-{platform.replace('/', '-')}")
    assert built.returncode == 0, built.stderr[-3000:]
    for name, tag in bases.items():
        assert listed_platforms(index_of(base_image(name, tag))) == list(PLATFORMS)
    path = work / "config.yaml"
    path.write_text(f"catalog: [{REPO / 'bases' / 'catalog.local.yaml'}, {catalog}]\n"
                    "build: {network: host, ca_bundle: /etc/ssl/certs/ca-certificates.crt}\n")
    return path


@pytest.fixture(scope="session")
def config(tmp_path_factory: pytest.TempPathFactory, session_cleanup) -> Path:  # type: ignore[no-untyped-def]
    """The machine's catalog plus the two-platform static base, built here (only the
    arm64 base the Go app needs: its packages unpacked on this machine, no emulation)."""
    registry_answers()
    qemu_registered()
    return build_bases(tmp_path_factory.mktemp("platforms"), {"static": "nonroot"}, session_cleanup)


@pytest.fixture(scope="session")
def emulated_config(tmp_path_factory: pytest.TempPathFactory, session_cleanup) -> Path:  # type: ignore[no-untyped-def]
    """The machine's catalog plus `slim` (bootstrapped for both platforms, the arm64 root's
    maintainer scripts under QEMU) and `probe` (a spec base on slim, one build per platform
    FROM slim's index, its RUN under QEMU for arm64), both pushed as indexes."""
    registry_answers()
    qemu_registered()
    return build_bases(tmp_path_factory.mktemp("emulated"), {"slim": "bookworm", "probe": "bookworm"}, session_cleanup)
