"""Each tool the suite runs is there and works (`--version`), found the way
scripts/test.sh provides it (tests/tools.py): a fresh machine with only what .ci/run
installs must pass, so nothing may rely on a tool installed elsewhere by hand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import tools


@pytest.mark.parametrize("name", sorted(tools.TOOLS))
def test_tool_runs(name: str) -> None:
    path = tools.require(name)
    done = subprocess.run([path, *tools.TOOLS[name].version_args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{path} {' '.join(tools.TOOLS[name].version_args)}: {done.stdout}{done.stderr}"


def test_tini_static_is_installed() -> None:
    tools.require_file(tools.TINI_STATIC, tools.ENGINE)


def test_venv_tools_are_found_without_the_venv_on_path() -> None:
    """The regression of issue #17: `.venv/bin/python -m pytest` with PATH reduced to the
    system folders still finds hadolint (it lives beside the interpreter)."""
    system = os.pathsep.join(p for p in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
                             if Path(p).is_dir() and Path(p) != Path(sys.executable).parent)
    code = "from tests import tools; print(tools.find('hadolint') or '')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": system}, cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr
    found = done.stdout.strip()
    if not found:
        tools.unavailable("hadolint is neither beside this interpreter nor in the system folders"
                          " (run the suite from the venv scripts/test.sh makes)")
