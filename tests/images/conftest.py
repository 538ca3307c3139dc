"""Fixtures for the build tests.

Engine tests (``@pytest.mark.engine``) skip when no Docker Engine answers — unless
IMAGESPEC_REQUIRE_ENGINE is set (CI sets it), in which case they run and fail, so a
broken engine set-up can never pass as "skipped". Everything they create is named
``imagespec-buildtest…`` and removed at the end of the test or session.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from imagespec.engine.client import connect
from imagespec.errors import EngineError
from tests import tools
from tests.images.support import GOLANG, RUN_ID, SLIM, Cleanup, build_app, require_images


def _engine_error() -> str | None:
    try:
        connect().close()
    except EngineError as error:
        return str(error)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The one skip that does not go through tools.unavailable: it marks many tests at
    # collection, and it never happens under IMAGESPEC_REQUIRE_ENGINE (CI), where an
    # absent engine fails each engine test at its `client` fixture instead.
    if tools.required() or not any(i.get_closest_marker("engine") for i in items):
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
    # this run's own images: without the label, identical builds of another worker or run
    # are one image ID, and a check for this run's containers of it would see theirs
    own = f'LABEL org.imagespec.test-run="{RUN_ID}"\n'
    return {name: build_app(client, session_cleanup, name, final + own) for name, final in finals.items()}
