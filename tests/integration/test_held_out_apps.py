"""Apps nobody here wrote a spec for (issue #12), as a stranger lays them out, through
`imagespec init`, `build` and `test` with no edit: each once failed on main."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import tools

from .conftest import LOCAL_CONFIG, docker, imagespec

APPS = Path(__file__).parent / "apps"


# the runtime bases as bases/*.yaml make them now (one layer); an engine whose bases were
# built before that wastes 1.7 MB in every app: the assertion says what to run
STALE_BASES = "bytes stored twice: rebuild the runtime bases (scripts/make-bases.sh python-runtime node-runtime)"


def dive_wasted(image: str, out: Path) -> int:
    subprocess.run([tools.require("dive"), image, "--json", str(out)], check=True, capture_output=True, timeout=300)
    return int(json.loads(out.read_text())["image"]["inefficientBytes"])


@pytest.mark.engine
def test_a_node_app_in_src_without_a_sigterm_handler(built, tmp_path: Path) -> None:
    """package.json's stale `main`, the code in src/ (run by `npm start`), a dev
    dependency, no SIGTERM handler: init took the absent index.js, and node as PID 1
    ignored `docker stop` for 10 s. Now: the right file, tini, no dev dependency, and no
    byte stored twice (the runtime base is one layer, the user is in it)."""
    app = tmp_path / "app"
    shutil.copytree(APPS / "express-dev", app)
    done = imagespec("init", str(app), "--name", "imagespec-it-heldout-node")
    assert done.returncode == 0, done.stderr
    summary = built(app / "imagespec.yaml")
    tag = summary["tags"][0]
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--image", tag, "--http-port", "3000",
                       "--format", "json", str(app / "imagespec.yaml"))
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["stop-graceful"]["ok"] and checks["pid1-init"]["ok"], checks
    assert result.returncode == 0, result.stdout[-3000:]
    listing = docker("run", "--rm", "--network", "none", "--entrypoint", "/bin/ls", tag, "/app/node_modules").stdout
    assert listing.split() == ["ms"], listing  # the dev dependency stays out (BP6)
    assert dive_wasted(summary["image_id"], tmp_path / "dive.json") == 0, STALE_BASES


@pytest.mark.engine
def test_a_python_app_in_src_run_by_uvicorn_from_the_venv(built, tmp_path: Path) -> None:
    """requirements.txt, a src/ layout, and the server named as users name it
    (`uvicorn …`, not /opt/venv/bin/uvicorn): exec failed, "uvicorn: executable file not
    found in $PATH", because the preset did not put the venv on PATH."""
    app = tmp_path / "app"
    shutil.copytree(APPS / "uvicorn-src", app)
    done = imagespec("init", str(app), "--name", "imagespec-it-heldout-python", "--port", "8000", "--entrypoint",
                     "uvicorn --app-dir src svc.app:app --host 127.0.0.1 --port 8000")
    assert done.returncode == 0, done.stderr
    assert "script app.py" not in done.stderr  # the entrypoint was given: nothing to guess about a script
    summary = built(app / "imagespec.yaml")
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--image", summary["tags"][0], "--http-port", "8000",
                       "--format", "json", str(app / "imagespec.yaml"))
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert result.returncode == 0, result.stdout[-3000:]
    assert checks["no-build-tools"]["ok"] and checks["stop-graceful"]["ok"], checks  # no pip, stops fast
    assert dive_wasted(summary["image_id"], tmp_path / "dive.json") == 0, STALE_BASES


@pytest.mark.engine
def test_an_entrypoint_script_alone(built, tmp_path: Path) -> None:
    """A folder holding only an entrypoint script was "no project imagespec knows"; now the
    service preset runs it under tini, read-only, as 65532, and it stops at once."""
    app = tmp_path / "app"
    shutil.copytree(APPS / "entry-sh", app)
    done = imagespec("init", str(app), "--name", "imagespec-it-heldout-script")
    assert done.returncode == 0, done.stderr
    summary = built(app / "imagespec.yaml")
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--image", summary["tags"][0], "--ready-log", "starting",
                       "--format", "json", str(app / "imagespec.yaml"))
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert result.returncode == 0, result.stdout[-3000:]
    assert checks["pid1-init"]["ok"] and checks["stop-graceful"]["ok"] and checks["runs-read-only"]["ok"], checks
