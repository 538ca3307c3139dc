"""`imagespec explain` in a terminal of 80 columns: every line fits, every instruction
of the Dockerfile has its line, with where it came from and why (issue #16)."""

from __future__ import annotations

import os
import subprocess
import sys

from compiler_helpers import REPO


def test_explain_fits_80_columns_and_names_every_instruction() -> None:
    spec = REPO / "examples" / "preset-python" / "imagespec.yaml"
    done = subprocess.run([sys.executable, "-m", "imagespec", "explain", str(spec)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= 80, max(lines, key=len)
    heads = [line for line in lines if not line.startswith(" ")]
    dockerfile = (spec.parent / "Dockerfile").read_text(encoding="utf-8")
    keywords = [w.split()[0] for w in dockerfile.splitlines() if w and w[0].isalpha() and w.split()[0].isupper()]
    assert [h.split()[1] for h in heads] == keywords
    assert "templates/presets/python.yaml:" in done.stdout and "BP4" in done.stdout
