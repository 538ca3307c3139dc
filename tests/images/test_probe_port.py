"""The HTTP probe's host port (imagespec/verify/host_port.py): runs on one machine take
turns on it, and a port another program listens on is said, never probed. Was (CI): two
test files' `imagespec test` on 127.0.0.1:8080 at once, and the second app's bind failed
("address already in use"), five checks failed for an image that was fine."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from imagespec.errors import EngineError
from imagespec.verify import host_port


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_port_another_program_listens_on_is_said_with_exit_3() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        began = time.monotonic()
        with pytest.raises(EngineError) as raised, host_port.held(port, wait_s=0.6):
            pytest.fail("the block ran with the port taken")
    assert time.monotonic() - began >= 0.6  # it waited for the port first
    assert raised.value.exit_code == 3
    assert f"127.0.0.1:{port} is in use on this host" in raised.value.message
    assert f"sport = :{port}" in (raised.value.hint or "")


def test_a_listener_on_every_address_takes_the_port_too() -> None:
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))
        listener.listen()
        with pytest.raises(EngineError), host_port.held(listener.getsockname()[1], wait_s=0.3):
            pass


def test_a_port_freed_while_waiting_is_taken() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    threading.Timer(0.5, listener.close).start()
    began = time.monotonic()
    with host_port.held(port, wait_s=10):
        waited = time.monotonic() - began
    assert 0.4 <= waited < 5, waited


def test_two_runs_on_one_port_take_turns() -> None:
    port = _free_port()
    inside: list[tuple[str, float, float]] = []

    def run(name: str) -> None:
        with host_port.held(port, wait_s=10):
            entered = time.monotonic()
            time.sleep(0.4)
            inside.append((name, entered, time.monotonic()))

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (_, _, first_left), (_, second_entered, _) = sorted(inside, key=lambda entry: entry[1])
    assert second_entered >= first_left, inside


def test_a_free_port_is_held_at_once_and_leaves_nothing_behind() -> None:
    port = _free_port()
    began = time.monotonic()
    with host_port.held(port, wait_s=10):
        pass
    assert time.monotonic() - began < 1
    # was: a lock file per port probed, left in the temporary folder (dozens per suite run)
    assert not list(Path(tempfile.gettempdir()).glob(f"imagespec-probe-port-{port}*"))
    with host_port.held(port, wait_s=0.2):  # the lock went with the run that held it
        pass
