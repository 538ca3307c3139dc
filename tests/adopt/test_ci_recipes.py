"""The CI recipes in docs/ci/ pass the validators their platforms' users run: actionlint
for the GitHub Actions workflow, GitLab's CI schema (vendored by check-jsonschema) for
the GitLab job. A broken copy of each fails, so the validators are really looking."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests import tools

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci"


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tools.require("actionlint"), "-no-color", str(path)], capture_output=True, text=True,
                          timeout=120)


def gitlab_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tools.require("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_github_workflow_passes_actionlint(tmp_path: Path) -> None:
    workflow = DOCS / "github-actions.yml"
    done = actionlint(workflow)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(workflow.read_text().replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    needs: nothing"))
    assert actionlint(broken).returncode == 1


def test_gitlab_job_passes_gitlabs_schema(tmp_path: Path) -> None:
    job = DOCS / "gitlab-ci.yml"
    done = gitlab_schema(job)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / ".gitlab-ci.yml"
    broken.write_text(job.read_text().replace("when: always", "when: sometimes"))
    assert gitlab_schema(broken).returncode == 1


def test_the_hooks_take_specs_and_never_the_configuration_file() -> None:
    """A commit of .imagespec.yaml alone ran the hooks on it: `no spec among the files given`, exit 2."""
    import re

    import yaml

    hooks = yaml.safe_load((DOCS.parents[1] / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    for hook in hooks:
        taken = [path for path in ("imagespec.yaml", "a/imagespec.yaml", "a/api.imagespec.yaml", "api.imagespec.yml",
                                   ".imagespec.yaml", "a/.imagespec.yaml", "a/imagespec.yaml.bak", "a/Dockerfile")
                 if re.search(hook["files"], path)]
        assert taken == ["imagespec.yaml", "a/imagespec.yaml", "a/api.imagespec.yaml", "api.imagespec.yml"], hook["id"]
