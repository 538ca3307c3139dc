"""The spec `imagespec init` writes builds and passes `imagespec test` with no edit, for
every preset's example app (its own spec and generated files removed first)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.adopt.conftest import FLAGS, PRESET_EXAMPLES
from tests.integration.conftest import LOCAL_CONFIG, imagespec
from tests.integration.test_examples import PROBES

#: java-maven's example builds offline from Debian's packaged plugins, which only its
#: hand-written spec lists (README "imagespec init"): not built here.
BUILT = [name for name in PRESET_EXAMPLES if name != "preset-java-maven"]


@pytest.mark.engine
@pytest.mark.parametrize("example", BUILT)
def test_init_spec_builds_and_passes_imagespec_test(project, built, example: str) -> None:
    folder = project(example)
    name = f"imagespec-inittest-{example}"
    done = subprocess.run([sys.executable, "-m", "imagespec", "init", str(folder), "--name", name,
                           *FLAGS.get(example, [])], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    spec = folder / "imagespec.yaml"
    summary = built(spec)
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--image", summary["tags"][0], "--format", "json",
                       *PROBES[example], str(spec))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    checks = {c["name"] for c in json.loads(result.stdout)["checks"] if c["ok"] and not c["skipped"]}
    assert {"process-user", "pid1-app", "stop-graceful", "zombies-reaped"} <= checks
