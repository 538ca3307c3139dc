"""`--build-arg` reaches the ARG a spec declares; one no ARG declares is said (stderr,
naming the ARGs there are), since BuildKit ignores it silently in its progress output."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import LOCAL_CONFIG, docker, imagespec

SPEC = """\
name: dvc-it-build-args
version: 0.0.1
tags: {git_sha: false, semver: false, extra: [test]}
stages:
  build:
    from: debian-slim
    args: {GREETING: hello}
    run: mkdir -p /out && echo "$GREETING" > /out/greeting
    artifacts: [/out/greeting]
final:
  from: debian-slim
  copy: [{from: build, src: /out/greeting, dest: /greeting}]
  cmd: [/bin/cat, /greeting]
"""


@pytest.mark.engine
def test_an_undeclared_build_arg_is_warned_about_and_a_declared_one_used(engine, tmp_path: Path) -> None:
    (tmp_path / "imagespec.yaml").write_text(SPEC)
    built = imagespec("build", "--config", str(LOCAL_CONFIG), "--progress", "plain", str(tmp_path / "imagespec.yaml"),
                      "--build-arg", "GREETING=bonjour", "--build-arg", "NOPE=1")
    try:
        assert built.returncode == 0, built.stderr[-3000:]
        assert ("warning: --build-arg NOPE: no ARG NOPE in the Dockerfile, so it changes nothing (its ARGs: GREETING;"
                in built.stderr), built.stderr[-3000:]
        assert "--build-arg GREETING" not in built.stderr
        ran = docker("run", "--rm", "--pull", "never", "--network", "none", "dvc-it-build-args:test")
        assert ran.stdout == "bonjour\n"
    finally:
        docker("rmi", "dvc-it-build-args:test", check=False)
