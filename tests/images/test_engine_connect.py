"""connect() negotiates the API version once per engine in a process, on the real engine:
negotiating is a /version request, for which dockerd runs `runc --version` and
`docker-init --version`, and a fleet's target connected about nine times (#14: ~0.4 s of
dockerd's CPU per target). Later clients reuse the version and still ping the engine; an
engine named otherwise (DOCKER_HOST) negotiates its own."""

from __future__ import annotations

import pytest

from imagespec.errors import EngineError

pytestmark = pytest.mark.engine


def test_the_api_version_is_negotiated_once_per_engine(client, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from docker.api.client import APIClient

    from imagespec.engine import client as engine_client

    monkeypatch.setattr(engine_client, "_NEGOTIATED", {})
    asked: list[str] = []
    negotiate = APIClient._retrieve_server_version

    def counted(api: APIClient) -> str:
        asked.append(api.base_url)
        return str(negotiate(api))

    monkeypatch.setattr(APIClient, "_retrieve_server_version", counted)
    first, second = engine_client.connect(), engine_client.connect()
    assert len(asked) == 1
    assert second.api.api_version == first.api.api_version == client.api.api_version
    assert second.images.list() is not None  # the reused version is one the engine speaks

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/imagespec-test.sock")
    with pytest.raises(EngineError, match="cannot reach the Docker Engine at unix:///nonexistent"):
        engine_client.connect()
    assert len(asked) == 2  # not the other engine's version: this one was asked (and did not answer)
