"""`imagespec test` catches a PID 1 that leaves its dead children unreaped (BP3), and
`init: true` (tini) fixes the same program: the check fails, then passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import LOCAL_CONFIG, imagespec

# The app reaps its own child, but that child left a grandchild behind: an orphan,
# which the kernel hands to PID 1. When it exits, only a PID 1 that reaps (tini) frees it.
PROGRAM = ("import os, signal, sys, time\\n"
           "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\\n"
           "child = os.fork()\\n"
           "if child == 0:\\n"
           "    if os.fork() == 0:\\n        time.sleep(0.3)\\n        os._exit(0)\\n"
           "    os._exit(0)\\n"
           "os.waitpid(child, 0)\\n"
           "time.sleep(1)\\n"
           "print('forked', flush=True)\\n"
           "time.sleep(3600)\\n")
SPEC = f"""\
name: imagespec-it-zombies
tags: {{git_sha: false, semver: false, extra: [%s]}}
final:
  from: python-runtime
  init: %s
  entrypoint: [python3, -c, "{PROGRAM}"]
"""


@pytest.mark.engine
@pytest.mark.parametrize(("init", "reaped"), [("false", False), ("true", True)])
def test_zombies_are_reported_unless_an_init_reaps_them(built, tmp_path: Path, init: str, reaped: bool) -> None:
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(SPEC % (f"init-{init}", init))
    tag = built(spec)["tags"][0]
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--image", tag, "--ready-log", "forked",
                       "--format", "json", str(spec))
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["zombies-reaped"]["ok"] is reaped, checks["zombies-reaped"]
    assert (result.returncode == 0) is reaped, result.stdout[-2000:]
