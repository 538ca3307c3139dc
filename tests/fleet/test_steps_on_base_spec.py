"""An app FROM a base spec's image (it ends with `USER 65532`, BP8) that installs packages
in its final stage: the steps run as root (`USER 0` after its FROM, plan.passes
.run_steps_as_root) and the image still runs as 65532. Was: apt-get ran as 65532 and the
build failed with `Permission denied`, though generate, lint and hadolint passed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fleet.support import Fleet, docker, make_fleet
from tests.fleet.test_fleet_build import fleets  # noqa: F401 - the fixture that removes the images

pytestmark = pytest.mark.engine


def test_an_apps_packages_on_a_base_specs_image_install_as_root_and_it_runs_as_its_user(
        fleets: list[Fleet], tmp_path: Path) -> None:  # noqa: F811
    fleet = make_fleet(tmp_path / "repo", {"base": None}, base="debian-slim")
    fleets.append(fleet)
    (fleet.root / "app").mkdir()
    fleet.spec("app").write_text(
        f"name: {fleet.prefix}/app\nversion: 1.0.0-fleet\ntags: {{git_sha: false}}\n"
        f"final:\n  from: {{image: \"{fleet.image('base')}\", family: debian, user: 65532}}\n"
        "  packages: [netbase]\n  entrypoint: [/usr/bin/id, -u]\n", encoding="utf-8")
    done, records = fleet.build()
    assert done.returncode == 0, done.stderr[-3000:]
    assert {name: record["result"] for name, record in records.items()} == {"base": "built", "app": "built"}
    image = fleet.image("app")
    assert docker("run", "--rm", "--network", "none", image).stdout.strip() == "65532"
    listed = docker("run", "--rm", "--network", "none", "--entrypoint", "/bin/ls", image, "/etc/protocols")
    assert listed.stdout.strip() == "/etc/protocols"  # netbase's file: the install ran
