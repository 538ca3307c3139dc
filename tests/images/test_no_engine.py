"""Without an engine, imagespec says so at once and says how to start one: no retries, and
an engine that takes the connection and never answers is given CONNECT_TIMEOUT_S, named
in the message. (How long these take is the benchmarks' business, not these tests'.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imagespec.engine import BuildOptions, connect, get_backend
from imagespec.engine.client import CONNECT_TIMEOUT_S
from imagespec.errors import EngineError

NOWHERE = "unix:///nonexistent.sock"


def test_connect_fails_fast_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NOWHERE)
    with pytest.raises(EngineError) as info:
        connect()
    error = info.value
    assert error.exit_code == 3
    # the system's words, not the repr requests and urllib3 wrap them in
    assert str(error) == f"cannot reach the Docker Engine at {NOWHERE}: No such file or directory"
    assert "DOCKER_HOST" in (error.hint or "")
    # a pip-installed user has no scripts/ folder: how to start dockerd first, the repo script only for a clone
    assert "`sudo systemctl start docker`, or `dockerd` where no systemd runs it" in (error.hint or "")
    assert "in a clone of imagespec, scripts/setup-engine.sh" in (error.hint or "")


def test_build_fails_fast_before_running_the_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", NOWHERE)
    with pytest.raises(EngineError) as info:
        get_backend("buildkit", display=False).build("FROM scratch\n", tmp_path, BuildOptions())
    # the engine check's words, not buildx's failure after starting a build
    assert str(info.value) == f"cannot reach the Docker Engine at {NOWHERE}: No such file or directory"


def test_a_hung_engine_is_given_the_connect_timeout_and_no_more(monkeypatch: pytest.MonkeyPatch) -> None:
    # A local listener that accepts and never answers: a hung daemon. The read timeout
    # that ends the wait is the one connect() set, named in the message.
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        monkeypatch.setenv("DOCKER_HOST", address)
        with pytest.raises(EngineError) as info:
            connect()
        assert str(info.value) == f"cannot reach the Docker Engine at {address}: no answer within {CONNECT_TIMEOUT_S} s"
        with pytest.raises(EngineError) as info:
            connect(timeout=0.2)
        assert str(info.value).endswith(": no answer within 0.2 s")


def test_a_refused_connection_is_said_in_the_systems_words(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{port}")
    with pytest.raises(EngineError) as info:
        connect()
    assert str(info.value) == f"cannot reach the Docker Engine at tcp://127.0.0.1:{port}: Connection refused"


def test_importing_the_package_does_not_import_the_sdk() -> None:
    code = ("import sys, imagespec.engine, imagespec.publish, imagespec.verify, imagespec.sbom.spdx; "
            "print('docker' in sys.modules, 'rich' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_base_build_says_no_engine_before_bootstrapping(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """--force would otherwise spend a minute in mmdebstrap before finding out."""
    from imagespec.cli import main

    monkeypatch.setenv("DOCKER_HOST", NOWHERE)
    spec = tmp_path / "slim.yaml"
    spec.write_text("base: slim\nimage: company/debian:bookworm-slim\nbootstrap: {suite: bookworm}\n")
    assert main(["base", "build", str(spec), "--force", "--logs", str(tmp_path / "logs")]) == 3
    assert "cannot reach the Docker Engine" in capsys.readouterr().err
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize("progress", [[], ["--progress", "json"], ["--progress", "plain"]])
def test_build_format_json_reports_an_unreachable_engine_in_one_document(progress: list[str], tmp_path: Path) -> None:
    """stderr was the progress stream's error event and then the CLI's error document: two
    documents, which `python -m json.tool` (or one json.loads) refuses."""
    spec = tmp_path / "imagespec.yaml"
    spec.write_text("name: app\nversion: 1.0.0\nfinal:\n  from: debian-slim\n  cmd: [sleep, infinity]\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "imagespec", "build", str(spec), "--format", "json", *progress],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "DOCKER_HOST": NOWHERE})
    assert done.returncode == 3, done.stderr
    error = json.loads(done.stderr)  # one document, or this raises
    assert error["error"] == "EngineError" and error["exit_code"] == 3
    assert error["message"] == f"cannot reach the Docker Engine at {NOWHERE}: No such file or directory"
    assert done.stdout == ""
