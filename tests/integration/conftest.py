"""End-to-end fixtures: the real CLI against the real engine, local bases and registry.

Set up by scripts/setup-engine.sh, scripts/make-bases.sh and scripts/start-registry.sh
(.ci/run runs them). Without an engine these tests skip, unless
IMAGESPEC_REQUIRE_ENGINE is set (CI), where they fail instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import tools
from tests.docker_cli import docker  # noqa: F401 - the test files import it from here

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
LOCAL_CONFIG = ROOT / "scripts" / "local-config.yaml"


def imagespec(*args: str, env: dict | None = None, timeout: float = 900, cwd: Path | None = None):
    """Run the CLI as a user would: a separate process, its exit code and output."""
    return subprocess.run([sys.executable, "-m", "imagespec", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd or ROOT)


def registry_tags(name: str) -> list[str]:
    """The tags the local registry (tests.lock.conftest.REGISTRY) holds for ``name``; [] when
    it has no such repository."""
    import urllib.error
    import urllib.request

    from tests.lock.conftest import REGISTRY

    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/{name}/tags/list", timeout=5) as response:
            return sorted(json.load(response).get("tags") or [])
    except urllib.error.HTTPError as error:
        assert error.code == 404, error
        return []




@pytest.fixture(scope="session")
def engine() -> None:
    if docker("info", check=False, timeout=20).returncode != 0:
        tools.unavailable("no Docker Engine answers; run scripts/setup-engine.sh")


@pytest.fixture
def built(engine):
    """Build an example through `imagespec build`; removes every tag it applied, and each
    image it built that no tag names any more (a rebuild under the same tag leaves the
    earlier image untagged: one per suite run piled up)."""
    applied: list[str] = []
    images: list[str] = []

    def build(spec: Path, *extra: str) -> dict:
        result = imagespec("build", "--config", str(LOCAL_CONFIG), "--progress", "plain", "--format", "json",
                           *extra, str(spec))
        assert result.returncode == 0, result.stderr[-3000:]
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        applied.extend(summary["tags"])
        images.append(summary["image_id"])
        return summary

    yield build
    if applied:
        docker("rmi", *applied, check=False)
    if images:
        untagged = set(docker("images", "--filter", "dangling=true", "--quiet", "--no-trunc",
                              check=False).stdout.split()).intersection(images)
        if untagged:  # only untagged ones: another test's tag may name the same image
            docker("rmi", *sorted(untagged), check=False)
