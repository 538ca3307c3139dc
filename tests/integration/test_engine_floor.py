"""The compatibility floor: the examples that ask for no newer frontend feature build
and pass `imagespec test` on Debian bookworm's Engine 20.10 (BuildKit 0.8, Dockerfile
frontend 1.2), with no `# syntax=` line, cache mounts and the CA secret included.

Runs beside the current engine through scripts/engine-floor.sh; marked `floor` so a
quick local run can deselect it (`-m "not floor"`)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from .conftest import EXAMPLES, LOCAL_CONFIG, ROOT, imagespec
from .test_context import build_two_specs_from_their_committed_files
from .test_examples import PROBES

SCRIPT = ROOT / "scripts" / "engine-floor.sh"
FLOOR_EXAMPLES = ("c-tool", "nginx-debian", "odd-values", "python-web", "worker-init")
BASES = ("imagespec-test/debian:bookworm-slim", "imagespec-test/gcc:bookworm", "imagespec-test/cc:nonroot",
         "imagespec-test/python:bookworm", "imagespec-test/python-slim:bookworm")


@pytest.fixture(scope="module")
def floor(engine):
    # stop it afterwards only if this test started it: a developer's own floor stays up
    was_running = subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True, timeout=60).returncode == 0
    started = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=600)
    if started.returncode != 0:
        pytest.fail(f"the Engine 20.10 floor did not start:\n{started.stdout[-2000:]}\n{started.stderr[-2000:]}")
    env = {"DOCKER_HOST": "unix:///run/imagespec-floor/docker.sock"}
    loaded = subprocess.run(["bash", str(SCRIPT), "load", *BASES], capture_output=True, text=True, timeout=900)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    version = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                             text=True, env={**os.environ, **env}).stdout.strip()
    assert version.startswith("20.10"), version
    yield env
    if not was_running:
        subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, timeout=120)


@pytest.mark.engine
@pytest.mark.floor
@pytest.mark.parametrize("name", FLOOR_EXAMPLES)
def test_example_builds_on_engine_20_10(floor, name: str) -> None:
    spec = EXAMPLES / name / "imagespec.yaml"
    assert "features:" not in spec.read_text()
    assert not (EXAMPLES / name / "Dockerfile").read_text().startswith("# syntax")
    tag = f"imagespec-floor/{name}:test"
    applied = [tag]
    try:
        result = imagespec("build", "--config", str(LOCAL_CONFIG), "--progress", "plain", "--format", "json",
                           "--tag", tag, str(spec), env=floor)
        assert result.returncode == 0, result.stderr[-3000:]
        applied = json.loads(result.stdout.strip().splitlines()[-1])["tags"]
        if name in PROBES:
            verified = imagespec("test", "--config", str(LOCAL_CONFIG), "--image", tag, *PROBES[name], str(spec),
                                 env=floor)
            assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-1000:]
    finally:
        subprocess.run(["docker", "rmi", *applied], capture_output=True, env={**os.environ, **floor})


@pytest.mark.engine
@pytest.mark.floor
def test_a_distroless_base_builds_on_engine_20_10_with_the_same_root_layer(floor, tmp_path) -> None:
    """`imagespec base build` on the floor: the generated Dockerfile builds with BuildKit 0.8,
    and rebuilt without cache the root's layer is the same. (Only the SBOM layer differs
    there: BuildKit 0.8 stamps the directories a COPY creates with the build time; the
    current engine keeps the context's, so there the whole image ID repeats.)"""
    reference = "imagespec-floor/base-root:test"
    spec = tmp_path / "root.yaml"
    spec.write_text(f"imagespec: 1\nbase: floor-root\nimage: {reference}\n"
                    "distroless: {assemble_in: debian-slim, packages: [base-files, netbase, tzdata, ca-certificates]}\n")
    docker = {**os.environ, **floor}
    layers = []
    try:
        for _ in range(2):
            built = imagespec("base", "build", str(spec), "--force", "--config", str(LOCAL_CONFIG), "--progress",
                              "quiet", env=floor)
            assert built.returncode == 0, built.stderr[-3000:]
            inspected = subprocess.run(["docker", "image", "inspect", reference, "-f", "{{json .RootFS.Layers}}"],
                                       capture_output=True, text=True, env=docker)
            layers.append(json.loads(inspected.stdout))
        assert layers[0][0] == layers[1][0], "the root file system layer repeats on Engine 20.10"
        user = subprocess.run(["docker", "image", "inspect", reference, "-f", "{{.Config.User}}"],
                              capture_output=True, text=True, env=docker).stdout.strip()
        assert user == "65532:65532"
    finally:
        subprocess.run(["docker", "rmi", reference], capture_output=True, env=docker)


@pytest.mark.engine
@pytest.mark.floor
def test_engine_20_10_reads_the_ignore_file_named_after_the_dockerfile(floor, tmp_path) -> None:
    """BuildKit 0.8 already prefers `<Dockerfile>.dockerignore` beside the Dockerfile to the
    context's .dockerignore: two specs of one folder keep each other's files out there too."""
    build_two_specs_from_their_committed_files(tmp_path, floor)
