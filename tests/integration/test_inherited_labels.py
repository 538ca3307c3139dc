"""An image built FROM another inherits its labels, and Docker cannot remove one: an app
on a company base claimed the base's description, licence, revision and base digest, and
to be a base itself (`io.imagespec.base`: a stranger QA's finding, BP13/BP14: the labels
are how an image is traced). Each label that describes one image alone and that this
build does not set is blanked; those it sets are its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import LOCAL_CONFIG, docker, imagespec

pytestmark = pytest.mark.engine

BASE = "imagespec-it-labelled-base:1"
APP = "imagespec-it-label-app"
PARENT = {
    "org.opencontainers.image.description": "the company's base",
    "org.opencontainers.image.licenses": "LicenseRef-company",
    "org.opencontainers.image.source": "https://example.com/company/base",
    "org.opencontainers.image.revision": "0123456789abcdef",
    "org.opencontainers.image.base.digest": "sha256:" + "1" * 64,
    "io.imagespec.base": "company-base",
    "io.imagespec.base.built": "sha256:" + "2" * 64,
    "com.example.team": "platform",  # not an image's own: an app may well inherit it
}


def test_an_app_does_not_inherit_its_bases_identity(engine, tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base/Dockerfile").write_text("FROM imagespec-test/debian:bookworm-slim\n")
    labels = [arg for key, value in PARENT.items() for arg in ("--label", f"{key}={value}")]
    docker("build", "-q", "--network", "host", "-t", BASE, *labels, str(tmp_path / "base"))
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(f"name: {APP}\nversion: 2.0.0\nfinal:\n  from: {{image: \"{BASE}\", family: debian}}\n"
                    "  cmd: [sleep, infinity]\n")
    try:
        built = imagespec("build", "--config", str(LOCAL_CONFIG), str(spec), "--progress", "quiet", "--format",
                          "json", cwd=tmp_path)
        assert built.returncode == 0, built.stderr
        got = json.loads(docker("inspect", "--format", "{{json .Config.Labels}}", f"{APP}:2.0.0").stdout)
        for key in ("description", "licenses", "source", "revision"):  # outside git: no revision
            assert got[f"org.opencontainers.image.{key}"] == "", (key, got)
        assert got["io.imagespec.base"] == got["io.imagespec.base.built"] == ""
        assert got["org.opencontainers.image.base.digest"] != PARENT["org.opencontainers.image.base.digest"]
        assert got["org.opencontainers.image.title"] == APP and got["org.opencontainers.image.version"] == "2.0.0"
        assert got["com.example.team"] == "platform"
    finally:
        left = docker("images", "--format", "{{.Repository}}:{{.Tag}}", APP).stdout.split()
        docker("rmi", *left, BASE, check=False)
