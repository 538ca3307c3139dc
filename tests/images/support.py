"""Shared helpers for the build tests: base image names, clean-up of what a test
creates, and the test application's Dockerfile (conftest.py holds the fixtures)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from imagespec.engine.backend import BuildOptions
from imagespec.engine.buildkit_cli import BuildKitCLIBackend
from tests import tools

REPO = Path(__file__).resolve().parents[2]
APP_DIR = Path(__file__).parent / "app"
GOLANG = "imagespec-test/golang:bookworm"
SLIM = "imagespec-test/debian:bookworm-slim"
STATIC = "imagespec-test/static:nonroot"
PREFIX = "imagespec-buildtest"
#: One run id per session, so parallel sessions never share (or delete) each other's tags.
RUN_ID = secrets.token_hex(3)


def imagespec(*args: str, cwd: Path = REPO, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, with the configuration each test names (never the
    caller's $IMAGESPEC_CONFIG)."""
    env = {k: v for k, v in os.environ.items() if k != "IMAGESPEC_CONFIG"}
    return subprocess.run([sys.executable, "-m", "imagespec", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def docker(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def require_images(client, *names: str) -> None:  # type: ignore[no-untyped-def]
    """Base images come from scripts/make-bases.sh; without them, skip (or fail in CI:
    tests/tools.py's `unavailable`)."""
    import docker.errors

    missing = []
    for name in names:
        try:
            client.images.get(name)
        except docker.errors.ImageNotFound:
            missing.append(name)
    if missing:
        tools.unavailable(f"base images missing: {', '.join(missing)} (run scripts/make-bases.sh)")


class Cleanup:
    """Removes images (by reference or id) created by a test, even when it fails."""

    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.refs: list[str] = []

    def image(self, ref: str) -> str:
        self.refs.append(ref)
        return ref

    def image_id(self, image_id: str) -> str:
        """Also remove by id: a pushed image keeps a repo digest after its tags are gone."""
        return self.image(image_id)

    def name(self, what: str, tag: str = "test") -> str:
        return self.image(f"{PREFIX}/{what}-{RUN_ID}:{tag}")

    def run(self) -> None:
        import docker.errors

        for ref in reversed(self.refs):
            try:
                self.client.images.remove(ref, force=True, noprune=False)
            except docker.errors.ImageNotFound:
                pass
            except docker.errors.APIError:
                pass  # in use by another image of ours: removed with it


# The article's own example (BP7/BP10/BP11): a CGO_ENABLED=0 Go binary, copied alone
# into the final stage. GOFLAGS=-mod=mod is unnecessary: the app has no dependencies.
APP_BUILD = f"""\
FROM {GOLANG} AS build
WORKDIR /src
COPY main.go .
RUN CGO_ENABLED=0 GOCACHE=/tmp/gocache go build -trimpath -ldflags=-s -o /app main.go
"""


def build_app(client, cleanup: Cleanup, name: str, final: str) -> str:  # type: ignore[no-untyped-def]
    ref = cleanup.name(f"app-{name}")
    BuildKitCLIBackend(client).build(APP_BUILD + "\n" + final, APP_DIR, BuildOptions(tags=(ref,)))
    return ref
