"""`kind: base`: a company base spec, an image that exists to be built FROM, needs no
`entrypoint` or `cmd`, and `imagespec build --verify` and `imagespec test` check its user,
labels and files without running it, while the app built FROM it is run as usual. Was: such
a spec was refused without a program ("the final stage needs an `entrypoint` or a `cmd`"),
so bench/fleet.py's company base carried a `cmd` no one runs, which `imagespec test` then ran."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from tests.integration.conftest import LOCAL_CONFIG, docker, imagespec
from tests.leftovers import remove_untagged

pytestmark = pytest.mark.engine
RUN_CHECKS = {"runs-read-only", "pid1-app", "process-user", "stop-graceful"}


def test_a_base_spec_is_checked_without_being_run_and_its_app_is_run(engine, tmp_path: Path) -> None:
    prefix = f"iskb-{secrets.token_hex(3)}"
    (tmp_path / "app").mkdir()
    (tmp_path / "imagespec.yaml").write_text(
        f"name: {prefix}-base\nversion: 1.0.0\nlicense: MIT\nkind: base\ntags: {{git_sha: false}}\nfinal:\n"
        "  from: debian-slim\n  env: {COMPANY: acme}\n  labels: {com.example.team: platform}\n")
    (tmp_path / "app" / "imagespec.yaml").write_text(
        f"name: {prefix}-app\nversion: 1.0.0\nlicense: MIT\ntags: {{git_sha: false}}\nfinal:\n"
        f"  from: {{image: \"{prefix}-base:1.0.0\", family: debian, user: 65532}}\n"
        "  entrypoint: [/usr/bin/sleep, infinity]\n  init: true\n")
    tags = [f"{prefix}-{name}:{tag}" for name in ("base", "app") for tag in ("1.0.0", "1.0", "1", "latest")]
    try:
        alone = imagespec("build", "--config", str(LOCAL_CONFIG), "--progress", "quiet", "--verify",
                          str(tmp_path / "imagespec.yaml"))
        assert alone.returncode == 0, alone.stdout[-3000:] + alone.stderr[-3000:]
        built = imagespec("build", "--config", str(LOCAL_CONFIG), "--progress", "quiet", str(tmp_path))
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        tested = imagespec("test", "--config", str(LOCAL_CONFIG), "--format", "json", str(tmp_path))
        assert tested.returncode == 0, tested.stdout[-4000:] + tested.stderr[-2000:]
        reports = {report["image"]: report for report in json.loads(tested.stdout)}
        base = {check["name"]: check for check in reports[f"{prefix}-base:1.0.0"]["checks"]}
        assert {name for name, check in base.items() if check["skipped"]} == RUN_CHECKS, base
        assert {"config-user", "config-env", "config-labels", "sbom"} <= {
            name for name, check in base.items() if check["ok"] and not check["skipped"]}, base
        app = {check["name"]: check for check in reports[f"{prefix}-app:1.0.0"]["checks"]}
        assert all(app[name]["ok"] and not app[name]["skipped"] for name in RUN_CHECKS), app
        config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", f"{prefix}-base:1.0.0").stdout)
        assert config["User"] == "65532:65532" and config["Labels"]["com.example.team"] == "platform"
    finally:
        docker("rmi", *tags, check=False)
        remove_untagged(f"{prefix}-")  # the base built alone, whose tags the fleet's build took
