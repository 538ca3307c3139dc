"""`imagespec init` on copies of the examples with their spec and generated files removed,
as a user with an existing project runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
#: each preset's example app; python-distroless shares `python`'s files, so it is chosen by flag
PRESET_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("preset-*"))
#: what a user adds on the command line where the files cannot tell (README "imagespec init")
FLAGS = {"preset-python-distroless": ["--preset", "python-distroless"],
         "preset-node-distroless": ["--preset", "node-distroless"]}
GENERATED = ("imagespec.yaml", "Dockerfile", ".dockerignore", "Dockerfile.dockerignore")


def run_init(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imagespec", "init", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def original(example: str) -> dict:
    return yaml.safe_load((EXAMPLES / example / "imagespec.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def project(tmp_path: Path):
    """A copy of an example app as it was before imagespec: no spec, no generated files."""

    def copy(example: str) -> Path:
        folder = tmp_path / example
        shutil.copytree(EXAMPLES / example, folder)
        for name in GENERATED:
            (folder / name).unlink(missing_ok=True)
        return folder

    return copy


# the engine and `built` fixtures of the end-to-end tests (the real CLI on the local bases)
from tests.integration.conftest import built, engine  # noqa: E402,F401
