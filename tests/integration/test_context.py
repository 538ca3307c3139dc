"""`imagespec build` compiles in memory and filters the context with the .dockerignore
it generated, even where none is committed: nothing is written into the context."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import LOCAL_CONFIG, docker, imagespec

SPEC = """\
name: imagespec-it-context
tags: {git_sha: false, semver: false, extra: [test]}
ignore: [secret.txt, "*.log"]
final:
  from: debian-slim
  copy: [{src: ., dest: /app/}]
  cmd: [ls, -A, /app]
"""


@pytest.mark.engine
def test_generated_dockerignore_filters_the_context(engine, tmp_path: Path) -> None:
    (tmp_path / "imagespec.yaml").write_text(SPEC)
    (tmp_path / "app.txt").write_text("keep\n")
    (tmp_path / "secret.txt").write_text("never in the image\n")
    (tmp_path / "debug.log").write_text("noise\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--format", "json", str(tmp_path / "imagespec.yaml"),
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    ref = json.loads(result.stdout.strip().splitlines()[-1])["tags"][0]
    try:
        listing = docker("run", "--rm", "--network", "none", ref).stdout.split()
        assert "app.txt" in listing and "imagespec.yaml" in listing
        assert not {"secret.txt", "debug.log", ".git", "Dockerfile", ".dockerignore"} & set(listing), listing
        assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written into the context
    finally:
        docker("rmi", ref, check=False)
