"""The package type-checks under the mypy settings in pyproject.toml ([tool.mypy]): an error
fails the suite with mypy's own report, so none can accumulate unseen (#13). Every
`# type: ignore[code]` left in imagespec/ names its error code and says why, and an
ignore that no longer silences anything is itself an error (warn_unused_ignores)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests import tools

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_nothing() -> None:
    # the package list and the settings come from pyproject.toml; no cache: a stale one can hide an error
    done = subprocess.run([tools.require("mypy"), "--no-incremental", "--cache-dir", "/dev/null"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_type_ignore_names_its_code_and_reason() -> None:
    bare = []
    for path in sorted((ROOT / "imagespec").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "type: ignore" in line and not re.search(r"type: ignore\[[a-z-]+(, *[a-z-]+)*\] *(#|-|:) *\w", line):
                bare.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert bare == [], "a `# type: ignore[code]` needs a reason after it"
