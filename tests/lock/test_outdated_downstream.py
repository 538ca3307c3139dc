"""`outdated` names a spec built on a stale spec's image, whatever made that one stale:
a lock made for other inputs or no lock at all, not only a moved base (README: a spec
is outdated when "an image a spec builds on is itself stale"). On the local registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagespec.cli import main
from tests.lock.conftest import RUN_ID, Pushed

pytestmark = pytest.mark.engine


def spec(name: str, base: str, env: str = "") -> str:
    return (f"name: isx15a/{name}\nversion: 1.0.0\nregistry: 127.0.0.1:5000\n"
            f"final:\n  from: {{image: \"{base}\", family: debian, user: 65532}}\n  entrypoint: [/app]\n{env}")


def outdated(capsys: pytest.CaptureFixture[str], repo: Path) -> tuple[int, dict[str, list[str]]]:
    code = main(["outdated", "--format", "json", str(repo / "base"), str(repo / "apps" / "tools")])
    report = json.loads(capsys.readouterr().out)
    return code, {Path(s["spec"]).parent.name: s["reasons"] for s in report["stale"]}


def test_a_spec_on_a_stale_specs_image_is_outdated_too(pushed: Pushed, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    root = f"127.0.0.1:5000/isx15a/droot-{RUN_ID}:1"
    company = f"127.0.0.1:5000/isx15a/dbase-{RUN_ID}:1.0.0"  # what base/ builds, pushed as it was
    pushed.push(root, "downstream root")
    pushed.push(company, "downstream base")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "base").mkdir()
    (repo / "apps" / "tools").mkdir(parents=True)
    (repo / "base" / "imagespec.yaml").write_text(spec(f"dbase-{RUN_ID}", root))
    (repo / "apps" / "tools" / "imagespec.yaml").write_text(spec(f"dtools-{RUN_ID}", company))
    assert main(["lock", str(repo / "base"), str(repo / "apps" / "tools")]) == 0
    capsys.readouterr()
    assert outdated(capsys, repo) == (0, {})

    (repo / "base" / "imagespec.yaml").write_text(spec(f"dbase-{RUN_ID}", root, "  env: {CHANGED: '1'}\n"))
    code, stale = outdated(capsys, repo)
    assert code == 1 and stale.keys() == {"base", "tools"}, stale
    assert stale["base"][0].startswith("the lock is stale: made for other inputs")
    assert stale["tools"] == [f"builds on {repo}/base/imagespec.yaml, which is stale (its lock is stale)"]

    (repo / "base" / "imagespec.lock.yaml").unlink()
    code, stale = outdated(capsys, repo)
    assert code == 1 and stale["tools"] == [f"builds on {repo}/base/imagespec.yaml, which is stale (no lock file)"], stale
