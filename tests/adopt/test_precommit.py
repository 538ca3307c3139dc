"""The hooks of .pre-commit-hooks.yaml, run by the real pre-commit in a new git
repository: it installs imagespec from this repository, as a user's pre-commit would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests import tools
from tests.adopt.conftest import ROOT

CONFIG = """repos:
  - repo: {repo}
    rev: {rev}
    hooks:
      - id: imagespec-generate
      - id: imagespec-check
      - id: imagespec-lint
"""


def git(folder: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, text=True, env=env).stdout


def test_hooks_keep_a_repository_green(project, tmp_path: Path) -> None:
    pre_commit = tools.require("pre-commit")
    folder = project("preset-go")
    git(folder, "init", "-q")
    subprocess.run([sys.executable, "-m", "imagespec", "init", str(folder)], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "imagespec", "generate", str(folder / "imagespec.yaml")], check=True,
                   capture_output=True)
    # the hooks as committed at this repository's HEAD (pre-commit clones a revision)
    rev = git(ROOT, "rev-parse", "HEAD").strip()
    (folder / ".pre-commit-config.yaml").write_text(CONFIG.format(repo=ROOT, rev=rev))
    git(folder, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([pre_commit, "run", "--color", "never", *args], cwd=folder, capture_output=True,
                              text=True, timeout=900, env=env)

    first = run("--all-files")
    assert first.returncode == 0, first.stdout + first.stderr
    # a spec change without its Dockerfile: generate rewrites it and pre-commit fails the
    # commit (files changed), check reports the stale file; after `git add`, all green
    spec = folder / "imagespec.yaml"
    spec.write_text(spec.read_text() + "  env: {MODE: production}\n" if "final:" in spec.read_text()
                    else spec.read_text() + "final:\n  env: {MODE: production}\n")
    before = (folder / "Dockerfile").read_text()
    git(folder, "add", "imagespec.yaml")
    stale = run("--files", "imagespec.yaml")
    assert stale.returncode == 1, stale.stdout
    assert "files were modified by this hook" in stale.stdout, stale.stdout
    after = (folder / "Dockerfile").read_text()
    assert after != before and 'MODE="production"' in after, after
    git(folder, "add", "-A")
    again = run("--files", "imagespec.yaml")
    assert again.returncode == 0, again.stdout + again.stderr
    # a new spec: its Dockerfile is a new, untracked file, which pre-commit alone does not
    # see as a change (stranger QA: the commit went in without it)
    (folder / "svc2").mkdir()
    (folder / "svc2/imagespec.yaml").write_text("name: svc2\nversion: 1.0.0\nfinal:\n  from: debian-slim\n"
                                                "  cmd: [sleep, infinity]\n")
    git(folder, "add", "svc2/imagespec.yaml")
    new = run("--files", "svc2/imagespec.yaml")
    assert new.returncode == 1, new.stdout + new.stderr
    assert (folder / "svc2/Dockerfile").is_file()
    git(folder, "add", "-A")
    assert run("--files", "svc2/imagespec.yaml").returncode == 0
