"""Fixtures for the lock tests: the local registry (127.0.0.1:5000, scripts/start-registry.sh),
base images pushed to it under unique names (``isx15a/…-RUNID``), and their clean-up."""

from __future__ import annotations

import json
import secrets
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import tools

REGISTRY = "127.0.0.1:5000"
PYTHON_SLIM = "imagespec-test/python-slim:bookworm"
#: one id per session: parallel sessions never share (or delete) each other's repositories
RUN_ID = secrets.token_hex(3)


def run(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture(scope="session")
def registry() -> str:
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=2).close()
    except OSError as error:
        tools.unavailable(f"no registry on {REGISTRY} ({error}); scripts/start-registry.sh starts one")
    return REGISTRY


class Pushed:
    """Images built FROM the local python-slim base with one marker file, pushed to the
    registry; every local tag is removed at the end (registry repositories are unique)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.tags: list[str] = []
        self.ids: list[str] = []  # by ID too: a tag pushed again leaves the old image untagged

    def push(self, reference: str, marker: str, package: tuple[str, str] | None = None) -> str:
        """Build and push ``reference`` holding /etc/isx15a-marker = ``marker`` (and, as
        installed in dpkg's status, a ``package`` (name, version) with no files); its
        registry digest."""
        context = self.folder / secrets.token_hex(4)
        context.mkdir()
        (context / "marker").write_text(marker)
        # a title of its own, as a base `imagespec base build` makes has: the SBOM python-slim's
        # label names describes python-slim, not this image, which is then read from its files
        lines = [f"FROM {PYTHON_SLIM}", "LABEL org.opencontainers.image.title=isx15a-base",
                 "COPY marker /etc/isx15a-marker"]
        if package:
            stanza = (f"Package: {package[0]}\nStatus: install ok installed\nPriority: optional\n"
                      f"Architecture: all\nVersion: {package[1]}\nDescription: isx15a test package\n\n")
            (context / "stanza").write_text(stanza)
            lines += ["COPY stanza /tmp/stanza", "RUN cat /tmp/stanza >> /var/lib/dpkg/status && rm /tmp/stanza"]
        (context / "Dockerfile").write_text("\n".join(lines) + "\n")
        self.ids.append(run("docker", "build", "-q", "--network", "host", "-t", reference, str(context)).strip())
        self.tags.append(reference)
        run("docker", "push", "-q", reference)
        return manifest_digest(reference)

    def remove(self) -> None:
        """Every tag, then every image by ID (with the `name@digest` references a pull by
        digest gave it)."""
        for name in (*self.tags, *reversed(self.ids)):
            subprocess.run(["docker", "rmi", "-f", name], capture_output=True, timeout=120, check=False)


def manifest_digest(reference: str) -> str:
    """The digest the registry serves for ``reference`` (asked directly, not through imagespec)."""
    name, _, tag = reference.rpartition(":")
    host, _, path = name.partition("/")
    accept = ", ".join(["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                        "application/vnd.docker.distribution.manifest.list.v2+json",
                        "application/vnd.docker.distribution.manifest.v2+json"])
    request = urllib.request.Request(f"http://{host}/v2/{path}/manifests/{tag}", method="HEAD",
                                     headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Docker-Content-Digest"]


@pytest.fixture(scope="module")
def pushed(registry: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushed]:
    try:
        run("docker", "image", "inspect", PYTHON_SLIM)
    except AssertionError:
        tools.unavailable(f"{PYTHON_SLIM} is missing (run scripts/make-bases.sh)")
    images = Pushed(tmp_path_factory.mktemp("isx15a-pushed"))
    yield images
    images.remove()


def labels(reference: str) -> dict[str, str]:
    return json.loads(run("docker", "image", "inspect", "--format", "{{json .Config.Labels}}", reference)) or {}
