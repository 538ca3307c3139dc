"""The GitHub Actions recipe (docs/ci/github-actions.yml) run for real: its check, lint and
build-test-push steps, with the shell GitHub uses, in a new repository that holds a
configuration file beside its spec, against the local registry. Twice, the second time on
an engine without the images (a CI runner starts empty) and nothing changed: it must pass
and leave the pushed X.Y.Z where it was (BP14). Was: the configuration file was taken for a
spec (exit 2), and the second run rebuilt an image that differs in its timestamps, whose
push was refused, so the recipe failed on every run after the first."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.adopt.conftest import ROOT
from tests.lock.conftest import REGISTRY, manifest_digest, registry  # noqa: F401 - the fixture

pytestmark = pytest.mark.engine
RECIPE = ROOT / "docs" / "ci" / "github-actions.yml"
STEPS = ("Generated Dockerfiles are up to date", "Lint", "Build, test and push")
DEBIAN_SLIM = "imagespec-test/debian:bookworm-slim"


def _run(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done.stdout


def _steps(env: dict[str, str]) -> list[tuple[str, str, dict[str, str]]]:
    workflow = yaml.safe_load(RECIPE.read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    steps = {step.get("name"): step for step in job["steps"]}
    # the step's own `env:` holds GitHub expressions: PUSH is what it says on the default branch
    return [(name, steps[name]["run"], {**env, **workflow.get("env", {}), "PUSH": "--push", "RUNNER_TEMP": env["RUNNER_TEMP"]})
            for name in STEPS]


def test_the_github_recipe_passes_again_on_an_empty_runner(registry: str, tmp_path: Path) -> None:  # noqa: F811
    team = f"{REGISTRY}/isci-{secrets.token_hex(3)}"
    base = f"{team}/debian:bookworm-slim"
    app = f"{team}/app"
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    # the company's catalog, committed: a found configuration names catalogs in its repository only
    (repo / "catalog.yaml").write_text((ROOT / "bases" / "catalog.local.yaml").read_text())
    (repo / ".imagespec.yaml").write_text("catalog: catalog.yaml\nbuild: {network: host}\n")
    (repo / "app" / "imagespec.yaml").write_text(
        f"name: app\nversion: 1.0.0\nlicense: MIT\nregistry: {team}\nfinal:\n"
        f"  from: {{image: \"{base}\", family: debian}}\n  copy: [{{src: hello.txt, dest: /hello.txt}}]\n"
        "  cmd: [/bin/cat, /hello.txt]\n")
    (repo / "app" / "hello.txt").write_text("hello\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "RUNNER_TEMP": str(tmp_path)}
    env.pop("IMAGESPEC_CONFIG", None)  # the repository's own .imagespec.yaml configures it
    _run("docker", "tag", DEBIAN_SLIM, base)
    try:
        _run("docker", "push", "-q", base)
        spec = str(repo / "app" / "imagespec.yaml")
        for command in (["lock", spec], ["generate", spec]):
            _run(sys.executable, "-m", "imagespec", *command, cwd=repo)
        for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "app"]):
            subprocess.run(["git", *command], cwd=repo, env=env, check=True, capture_output=True)
        pushed = None
        for attempt in ("first run", "on an empty runner"):
            for name, script, step_env in _steps(env):
                done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=repo,
                                      env=step_env, capture_output=True, text=True, timeout=900)
                assert done.returncode == 0, f"{attempt}, step {name!r}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
            digest = manifest_digest(f"{app}:1.0.0")
            assert pushed in (None, digest)  # the X.Y.Z never moves
            pushed = digest
            tags = _run("docker", "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                        f"reference={app}").split()
            assert f"{app}:1.0.0" in tags
            _run("docker", "rmi", *tags)  # the next runner starts without them
        assert json.loads((tmp_path / "lint.json").read_text()) == []
    finally:
        subprocess.run(["docker", "rmi", base], capture_output=True, check=False)
