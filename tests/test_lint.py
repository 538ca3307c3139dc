"""The code itself is lint-clean under the rules pyproject.toml selects for ruff (pyflakes:
undefined names, unused imports and variables): a finding fails the suite, so none can
accumulate unseen."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests import tools

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing() -> None:
    done = subprocess.run([tools.require("ruff"), "check", "--no-cache", "--output-format", "concise",
                           "imagespec", "tests", "bench", "scripts"], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
