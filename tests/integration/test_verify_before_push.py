"""`build --push --verify` checks the image before it pushes: an image that fails a check
is not pushed, so its X.Y.Z (which never moves, BP14) cannot name a broken image. Was:
pushed first, verified after, exit 1 with the broken 1.0.0 already in the registry."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.lock.conftest import REGISTRY, registry  # noqa: F401 - the fixture: the local registry answers
from .conftest import LOCAL_CONFIG, docker, imagespec, registry_tags


@pytest.mark.engine
def test_an_image_that_fails_verification_is_not_pushed(engine, registry: str, tmp_path: Path) -> None:  # noqa: F811
    team = f"isvp-{secrets.token_hex(3)}"
    spec = tmp_path / "imagespec.yaml"
    # sleep as PID 1 ignores SIGTERM: `docker stop` waits for SIGKILL (stop-graceful, BP2)
    spec.write_text(f"name: app\nversion: 1.0.0\nlicense: MIT\nregistry: {REGISTRY}/{team}\n"
                    "tags: {git_sha: false}\nfinal:\n  from: debian-slim\n  cmd: [/bin/sleep, infinity]\n")
    try:
        done = imagespec("build", "--config", str(LOCAL_CONFIG), "--push", "--verify", "--progress", "quiet",
                         str(spec))
        assert done.returncode == 1, done.stderr[-3000:]
        assert "not pushed: " in done.stderr and "stop-graceful" in done.stderr, done.stderr[-3000:]
        assert registry_tags(f"{team}/app") == []
        spec.write_text(spec.read_text().replace("cmd: [/bin/sleep, infinity]", "cmd: [/bin/true]\n  init: true"))
        done = imagespec("build", "--config", str(LOCAL_CONFIG), "--push", "--verify", "--progress", "quiet",
                         "--format", "json", str(spec))
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert registry_tags(f"{team}/app") == ["1", "1.0", "1.0.0", "latest"]
    finally:
        listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                        f"reference={REGISTRY}/{team}/*").stdout.split()
        if listed:
            docker("rmi", "--force", *listed, check=False)
