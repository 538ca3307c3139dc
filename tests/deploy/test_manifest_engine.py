"""The Compose service `imagespec manifest` writes, run for real with `docker compose`:
the app comes up under its user with a read-only root, no capabilities and no privilege
escalation, writes only to its declared directories, and stops on its own signal within
the grace period (exit 0, not SIGKILL's 137). The network is `none` (an override file):
these machines must not create bridge networks."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import tools
from tests.integration.conftest import EXAMPLES, docker

# nginx writes /var/lib/nginx and /tmp (its declared writable directories); preset-go
# runs on the shell-less static base
CASES = ["nginx-debian", "preset-go"]
OVERRIDE = """services:
  {name}:
    network_mode: none
    ports: !reset []
"""


def compose(project: str, *args: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    flags = [arg for f in files for arg in ("-f", str(f))]
    return subprocess.run(["docker", "compose", "-p", project, *flags, *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.engine
@pytest.mark.parametrize("example", CASES)
def test_compose_service_runs_the_image_as_built(built, example: str, tmp_path: Path) -> None:
    spec = EXAMPLES / example / "imagespec.yaml"
    image = built(spec)["tags"][0]
    service = tmp_path / "compose.yaml"
    done = subprocess.run([sys.executable, "-m", "imagespec", "manifest", str(spec), "--format", "compose",
                           "--image", image, "-o", str(service)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    if compose("x", "version", files=[]).returncode != 0:
        tools.unavailable("docker compose is missing: install with scripts/setup-engine.sh (docker-compose)")
    name = next(iter(json.loads(compose("x", "config", "--format", "json", files=[service]).stdout)["services"]))
    override = tmp_path / "override.yaml"
    override.write_text(OVERRIDE.format(name=name))
    project = f"imagespec-manifesttest-{secrets.token_hex(3)}"
    files = [service, override]
    try:
        up = compose(project, "up", "-d", files=files)
        assert up.returncode == 0, up.stderr
        container = compose(project, "ps", "-q", files=files).stdout.strip()
        time.sleep(2)
        state = json.loads(docker("inspect", container).stdout)[0]
        assert state["State"]["Running"], docker("logs", container, check=False).stderr
        host = state["HostConfig"]
        assert state["Config"]["User"] == "65532:65532"
        assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
        assert host["SecurityOpt"] == ["no-new-privileges:true"] and host["NetworkMode"] == "none"
        writable = json.loads(docker("image", "inspect", image).stdout)[0]["Config"]["Labels"].get("io.imagespec.writable")
        assert sorted(host.get("Tmpfs") or {}) == sorted(writable.split(",") if writable else [])
        if writable and example == "nginx-debian":  # the app's user writes in each (BP9); static has no shell
            for path in writable.split(","):
                wrote = docker("exec", container, "/bin/sh", "-c", f"touch '{path}/imagespec-probe'", check=False)
                assert wrote.returncode == 0, f"{path}: {wrote.stderr}"
        began = time.monotonic()
        stop = compose(project, "stop", files=files)
        assert stop.returncode == 0, stop.stderr
        assert time.monotonic() - began < 10
        assert json.loads(docker("inspect", container).stdout)[0]["State"]["ExitCode"] == 0
    finally:
        compose(project, "down", "--volumes", files=files)
