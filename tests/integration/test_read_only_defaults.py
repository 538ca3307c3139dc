"""Read-only by default, working by default (BP9): a preset app passes `imagespec test`
with no `writable` line of its own, and the directories the preset declares are
writable under a plain `docker run --read-only` (a VOLUME each), not only under the
tmpfs mounts `imagespec test` adds. Flask under gunicorn, from PyPI through the CA
bundle: gunicorn needs a temporary directory for its worker heartbeat files."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .conftest import LOCAL_CONFIG, docker, imagespec

SPEC = """\
extends: python
name: isdr-flask
tags: {git_sha: false, semver: false, extra: [test]}
final:
  ports: [8080]
  entrypoint: [/opt/venv/bin/gunicorn, --bind, "127.0.0.1:8080", --workers, "2", "app:app"]
"""
APP = """\
import tempfile

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    with tempfile.TemporaryFile() as f:  # a write under the read-only root
        f.write(b"wrote a temporary file")
        f.seek(0)
        return f.read()
"""
GET = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/').read().decode())"


@pytest.fixture(scope="module")
def flask_image(tmp_path_factory) -> tuple[str, Path]:
    app = tmp_path_factory.mktemp("flask")
    (app / "imagespec.yaml").write_text(SPEC)
    (app / "app.py").write_text(APP)
    (app / "requirements.txt").write_text("flask==3.0.3\ngunicorn==23.0.0\n")
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--format", "json",
                       "--ca-bundle", "/etc/ssl/certs/ca-certificates.crt", str(app / "imagespec.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    ref = json.loads(result.stdout.strip().splitlines()[-1])["tags"][0]
    yield ref, app / "imagespec.yaml"
    docker("rmi", ref, check=False)


@pytest.mark.engine
def test_a_python_preset_app_passes_imagespec_test_without_a_writable_line(engine, flask_image) -> None:
    ref, spec = flask_image
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--image", ref, "--format", "json",
                       "--http-port", "8080", str(spec))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.engine
def test_declared_directories_are_writable_under_a_plain_read_only_run(engine, flask_image) -> None:
    """No tmpfs, no volume flag: only what the image itself declares."""
    name = "isdr-flask-read-only"
    docker("rm", "-f", "-v", name, check=False)
    docker("run", "-d", "--rm", "--name", name, "--read-only", "--network", "none", flask_image[0])
    try:
        out = ""
        for _ in range(40):  # the workers are up once they answer
            time.sleep(0.5)
            done = docker("exec", name, "/opt/venv/bin/python3", "-c", GET, check=False)
            out = done.stdout + done.stderr
            if done.returncode == 0:
                break
        assert out.strip() == "wrote a temporary file", out + docker("logs", name, check=False).stderr[-2000:]
        mounts = json.loads(docker("inspect", "--format", "{{json .Mounts}}", name).stdout)
        assert [(m["Type"], m["Destination"]) for m in mounts] == [("volume", "/tmp")]
    finally:
        docker("rm", "-f", "-v", name, check=False)


WRITER = """\
name: isdr-writer
tags: {git_sha: false, semver: false, extra: [test]}
final:
  from: debian-slim
  writable: [/var/cache/app]
  cmd: [/bin/sh, -c, "touch /var/cache/app/made && exec sleep 60"]
"""


@pytest.mark.engine
def test_imagespec_test_mounts_each_writable_directory_for_the_apps_user(engine, tmp_path: Path) -> None:
    """The smoke run's tmpfs is the app user's (contract.writable_tmpfs): the engine mounts
    it as root's 0755 whatever the image's folder, and the app's write failed with
    Permission denied (runs-read-only: exited with 1)."""
    (tmp_path / "imagespec.yaml").write_text(WRITER)
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--format", "json", str(tmp_path / "imagespec.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    ref = json.loads(result.stdout.strip().splitlines()[-1])["tags"][0]
    try:
        tested = imagespec("test", "--config", str(LOCAL_CONFIG), "--format", "json", str(tmp_path / "imagespec.yaml"))
        checks = {check["name"]: check for check in json.loads(tested.stdout)["checks"]}
        assert checks["runs-read-only"]["ok"], checks["runs-read-only"]
    finally:
        docker("rmi", ref, check=False)


@pytest.mark.engine
def test_the_containers_imagespec_makes_leave_no_volume_behind(engine, tmp_path: Path, monkeypatch) -> None:
    """A writable directory is a VOLUME (BP9), so every container of the image gets an
    anonymous volume when it is created: the SBOM scan's, the SBOM and package readers'
    and `imagespec test`'s. They were removed without theirs, a volume per scan and probe
    left in the engine for ever (1,016 on this machine after a few weeks of tests)."""
    from docker.models.containers import ContainerCollection

    from imagespec.engine import connect
    from imagespec.sbom.store import image_packages, scan_image, stored
    from imagespec.verify.model import Expectations
    from imagespec.verify.probe import image_files, run_and_observe

    (tmp_path / "imagespec.yaml").write_text(WRITER.replace("isdr-writer", "isdr-volumes"))
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--format", "json", str(tmp_path / "imagespec.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    ref = json.loads(result.stdout.strip().splitlines()[-1])["tags"][0]
    volumes: dict[str, list[str]] = {}
    real = ContainerCollection.create

    def create(self, image, command=None, **kwargs):  # type: ignore[no-untyped-def]
        container = real(self, image, command, **kwargs)
        volumes[container.id] = [m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume"]
        return container

    monkeypatch.setattr(ContainerCollection, "create", create)
    client = connect()
    try:
        scan_image(ref, client=client)
        assert stored(ref, client=client) is not None
        assert image_packages(ref, ["base-files"], client=client)
        image_files(client, ref)
        # no writable expectation, so no tmpfs covers the VOLUME (as `imagespec test IMAGE`)
        run_and_observe(client, ref, Expectations(), stop_timeout=2)
    finally:
        docker("rmi", ref, check=False)
    made = [name for names in volumes.values() for name in names]
    assert len(volumes) == 5 and len(made) == 5, volumes  # one VOLUME in each container
    left = [name for name in made if docker("volume", "inspect", name, check=False).returncode == 0]
    assert left == [], f"volumes left behind: {left}"
