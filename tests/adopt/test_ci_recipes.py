"""The CI recipes in docs/ci/ pass the validators their platforms' users run: actionlint
for the GitHub Actions workflow, GitLab's CI schema (vendored by check-jsonschema) for
the GitLab job. A broken copy of each fails, so the validators are really looking."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

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


# paths a repository may hold, and which of them fleet discovery takes as specs
SAMPLE = ("imagespec.yaml", "a/imagespec.yaml", "a/api.imagespec.yaml", "a/..imagespec.yaml", "a/.#api.imagespec.yaml",
          "api.imagespec.yml",
          "a/imagespec.yml", "Imagespec.yaml", ".imagespec.yaml", "a/.imagespec.yaml", "a/imagespec.yaml.bak",
          "a/myimagespec.yaml", "a/Dockerfile", ".github/imagespec.yaml", "a/.hidden/x.imagespec.yaml",
          "node_modules/p/imagespec.yaml", "a/vendor/imagespec.yaml", "venv/imagespec.yaml",
          "a/__pycache__/imagespec.yaml", "lib/site-packages/imagespec.yaml", "vendored/imagespec.yaml")


def _discovered(tmp_path: Path) -> list[str]:
    """The SAMPLE paths `imagespec check DIR` and the other fleet commands take as specs."""
    from imagespec.fleet.discover import specs_in

    for path in SAMPLE:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("name: x\n")
    return sorted(str(spec.relative_to(tmp_path)) for spec in specs_in(tmp_path))


def test_the_hooks_take_the_files_fleet_discovery_takes(tmp_path: Path) -> None:
    """A commit of .imagespec.yaml alone ran the hooks on it (`no spec among the files given`,
    exit 2), and the hooks took `imagespec.yml`, which `imagespec check .` skips: one rule."""
    import re

    import yaml

    expected = _discovered(tmp_path)
    assert expected == ["a/api.imagespec.yaml", "a/imagespec.yaml", "imagespec.yaml", "vendored/imagespec.yaml"]
    hooks = yaml.safe_load((DOCS.parents[1] / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    for hook in hooks:
        taken = sorted(path for path in SAMPLE
                       if re.search(hook["files"], path) and not re.search(hook.get("exclude", "^$"), path))
        assert taken == expected, hook["id"]


@pytest.mark.parametrize("recipe", ["github-actions.yml", "gitlab-ci.yml"])
def test_the_recipes_leave_finding_specs_to_imagespec(recipe: str) -> None:
    """The recipes found specs with a glob of their own (`git ls-files '*imagespec.yaml'`),
    which took `myimagespec.yaml` and specs in vendor/ and hidden folders, and named a
    committed link leading out of the checkout, which a named file is read through: each
    command now takes the folder, or `imagespec list` (the rule's own) for the build loop."""
    text = (DOCS / recipe).read_text(encoding="utf-8")
    assert "ls-files" not in text and "imagespec.yaml" not in text
    for command in ("check .", "lint . --format json", "outdated .", "list -z . | while"):
        assert f"imagespec {command}" in text, command


def test_list_prints_what_fleet_discovery_takes(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    from imagespec.cli import main

    expected = _discovered(tmp_path / "repo")
    (tmp_path / "repo" / "a" / "out.imagespec.yaml").symlink_to(tmp_path / "secret.yaml")
    (tmp_path / "secret.yaml").write_text("password: hunter2\n")
    assert main(["list", "-z", str(tmp_path / "repo")]) == 0
    out, err = capsysbinary.readouterr()
    assert [str(Path(path).relative_to(tmp_path / "repo")) for path in out.decode().split("\0")[:-1]] == expected
    assert b"skipped " in err and b"out.imagespec.yaml: a link to a file outside the repository" in err
    assert b"hunter2" not in out + err
