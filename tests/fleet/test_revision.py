"""An image's revision label is the last commit that changed its spec, lock or context
(pipeline.options.revision), so a commit elsewhere in the repository leaves the same
inputs the same image: its X.Y.Z is pushed again without a tag conflict (BP14), for a
fleet and for one spec, and `imagespec test` still passes. Was: every commit made every
spec a new image (the label was HEAD's), so the shipped CI recipe, which builds and
pushes every spec on each merge, failed from the second merge on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.fleet.support import docker, imagespec, make_fleet
from tests.fleet.test_fleet_build import REGISTRY, fleets  # noqa: F401 - the fixture that removes the images

pytestmark = pytest.mark.engine


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(root), *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def _label(image: str) -> tuple[str, str]:
    found = docker("image", "inspect", "--format",
                   '{{.Id}} {{index .Config.Labels "org.opencontainers.image.revision"}}', image).stdout.split()
    return found[0], found[1]


def test_a_commit_elsewhere_leaves_the_image_and_its_pushed_version_as_they_were(fleets, tmp_path: Path) -> None:  # noqa: F811
    fleet = make_fleet(tmp_path / "repo", {"base": None, "app": None}, registry=REGISTRY, base="static")
    fleets.append(fleet)
    _git(fleet.root, "init", "-q", "-b", "main")
    _git(fleet.root, "add", "-A")
    _git(fleet.root, "commit", "-q", "-m", "fleet")
    first = _git(fleet.root, "rev-parse", "--short=12", "HEAD")
    done, _ = fleet.build("--push")
    assert done.returncode == 0, done.stderr[-3000:]
    built = {name: _label(fleet.image(name)) for name in ("base", "app")}
    assert {revision for _, revision in built.values()} == {first}

    (fleet.root / "NOTES.md").write_text("a commit that touches no spec\n")
    (fleet.root / "app" / "README.md").write_text("nor does a file the app's ignore file keeps out\n")
    # nor do the files made from a spec (the build makes them in memory): a lock cascade
    # commits relocked apps' locks and Dockerfiles, and their images stay the ones it built
    made = imagespec("generate", str(fleet.spec("app")), "--config", str(fleet.config))
    assert made.returncode == 0 and (fleet.root / "app" / "Dockerfile").is_file(), made.stderr
    _git(fleet.root, "add", "-A")
    _git(fleet.root, "commit", "-q", "-m", "notes and generated files")
    done, records = fleet.build("--push")  # the fleet: every X.Y.Z pushed again, the same digest
    assert done.returncode == 0, done.stderr[-3000:]
    assert {name: _label(fleet.image(name)) for name in records} == built
    one = imagespec("build", str(fleet.spec("app")), "--config", str(fleet.config), "--push", "--progress", "quiet",
                    "--format", "json")  # one spec, as the CI recipe does
    assert one.returncode == 0, one.stderr[-3000:]
    assert json.loads(one.stdout)["image_id"] == built["app"][0]
    checked = imagespec("test", str(fleet.spec("app")), "--config", str(fleet.config), "--format", "json")
    revision = [c for c in json.loads(checked.stdout)["checks"] if c["name"] == "config-labels"]
    assert revision and revision[0]["ok"], checked.stdout[-2000:]

    fleet.write("app", token="changed")  # a change to the app: its own commit is its revision
    _git(fleet.root, "commit", "-q", "-am", "app changed")
    done, _ = fleet.build()
    assert done.returncode == 0, done.stderr[-3000:]
    assert _label(fleet.image("app"))[1] == _git(fleet.root, "rev-parse", "--short=12", "HEAD")
    assert _label(fleet.image("base")) == built["base"]
