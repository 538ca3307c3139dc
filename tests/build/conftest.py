"""Fixtures for the build tests.

Engine tests (``@pytest.mark.engine``) skip when no Docker Engine answers — unless
IMAGESPEC_REQUIRE_ENGINE is set (CI sets it), in which case they run and fail, so a
broken engine set-up can never pass as "skipped". Everything they create is named
``imagespec-buildtest…`` and removed at the end of the session.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagespec.build.backend import BuildOptions
from imagespec.build.buildkit_cli import BuildKitCLIBackend
from imagespec.build.engine import connect
from imagespec.errors import EngineError

APP_DIR = Path(__file__).parent / "app"
GOLANG = "imagespec-test/golang:bookworm"
SLIM = "imagespec-test/debian:bookworm-slim"
STATIC = "imagespec-test/static:nonroot"
PREFIX = "imagespec-buildtest"
#: One run id per session, so parallel sessions never share (or delete) each other's tags.
RUN_ID = secrets.token_hex(3)


def _engine_error() -> str | None:
    try:
        connect().close()
    except EngineError as error:
        return str(error)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("IMAGESPEC_REQUIRE_ENGINE") or not any(i.get_closest_marker("engine") for i in items):
        return
    problem = _engine_error()
    if problem:
        skip = pytest.mark.skip(reason=f"no Docker Engine ({problem}); set IMAGESPEC_REQUIRE_ENGINE=1 to fail instead")
        for item in items:
            if item.get_closest_marker("engine"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def client():  # type: ignore[no-untyped-def]
    client = connect()
    yield client
    client.close()


def require_images(client, *names: str) -> None:  # type: ignore[no-untyped-def]
    """Base images come from scripts/make-bases.sh; without them, skip (or fail in CI)."""
    import docker.errors

    missing = []
    for name in names:
        try:
            client.images.get(name)
        except docker.errors.ImageNotFound:
            missing.append(name)
    if missing:
        message = f"base images missing: {', '.join(missing)} (run scripts/make-bases.sh)"
        if os.environ.get("IMAGESPEC_REQUIRE_ENGINE"):
            pytest.fail(message)
        pytest.skip(message)


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


@pytest.fixture
def cleanup(client) -> Iterator[Cleanup]:  # type: ignore[no-untyped-def]
    tracker = Cleanup(client)
    yield tracker
    tracker.run()


@pytest.fixture(scope="session")
def session_cleanup(client) -> Iterator[Cleanup]:  # type: ignore[no-untyped-def]
    tracker = Cleanup(client)
    yield tracker
    tracker.run()


# The article's own example (BP7/BP10/BP11): a CGO_ENABLED=0 Go binary, copied alone
# into the final stage. GOFLAGS=-mod=mod is unnecessary: the app has no dependencies.
APP_BUILD = f"""\
FROM {GOLANG} AS build
WORKDIR /src
COPY main.go .
RUN CGO_ENABLED=0 GOCACHE=/tmp/gocache go build -trimpath -ldflags=-s -o /app main.go
"""


@pytest.fixture(scope="session")
def app_images(client, session_cleanup) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The test app in three finals, built once per session (the Go stage is cached):
    good (scratch, exec form, USER 65532), shell-form CMD on Debian as root, and
    scratch without USER (root)."""
    require_images(client, GOLANG, SLIM)
    finals = {
        "good": 'FROM scratch\nCOPY --from=build /app /app\nUSER 65532:65532\nENTRYPOINT ["/app"]\n',
        "shell-form": f"FROM {SLIM}\nCOPY --from=build /app /app\nCMD echo starting && /app\n",
        "root": 'FROM scratch\nCOPY --from=build /app /app\nENTRYPOINT ["/app"]\n',
    }
    return {name: build_app(client, session_cleanup, name, final) for name, final in finals.items()}


def build_app(client, cleanup: Cleanup, name: str, final: str) -> str:  # type: ignore[no-untyped-def]
    ref = cleanup.name(f"app-{name}")
    BuildKitCLIBackend(client).build(APP_BUILD + "\n" + final, APP_DIR, BuildOptions(tags=(ref,)))
    return ref
