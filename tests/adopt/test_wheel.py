"""README's install for a user's own project: a wheel built from a clone, installed
without root into a fresh venv, runs `init` and `generate` with the templates it ships
(the presets, the catalog and the Dockerfile template live outside the package folder
and are force-included into the wheel)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.adopt.conftest import ROOT


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=600, cwd=cwd)


def test_wheel_installs_and_compiles_a_project(project, tmp_path: Path) -> None:
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT))
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("imagespec-*.whl")
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", str(venv)).returncode == 0
    installed = run(str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel))
    assert installed.returncode == 0, installed.stderr[-2000:]
    cli = str(venv / "bin" / "imagespec")
    folder = project("preset-node")
    assert run(cli, "init", str(folder)).returncode == 0
    done = run(cli, "generate", str(folder / "imagespec.yaml"))
    assert done.returncode == 0, done.stderr
    dockerfile = (folder / "Dockerfile").read_text(encoding="utf-8")
    assert "npm ci --omit=dev" in dockerfile and 'ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/server.js"]' in dockerfile
    # the same text as from this checkout: the wheel's templates are these templates
    here = run(sys.executable, "-m", "imagespec", "generate", "-o", "-", str(folder / "imagespec.yaml"))
    assert here.stdout.replace(str(folder), "") == dockerfile.replace(str(folder), "")
