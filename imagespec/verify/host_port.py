"""The host port an HTTP probe needs, held for the run that probes it.

Role: ``imagespec test --http-port N`` runs the image on the host network (the engine
here has no bridge to publish a port through), so the port is the host's. Two runs
probing one port at once (a CI runner's jobs side by side) would fail each other's
bind, and a program already listening there would answer the probe in the app's place,
a pass for an app that never started. So a run holds the port: a lock per port
makes the runs of this machine take turns, and the port must be free of any other
listener before the container starts; one that stays taken is said, naming the port.

May import: the standard library and ``imagespec.errors``.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import time
from collections.abc import Iterator

from imagespec.errors import EngineError

#: How long a run waits for the port: another run's probe ends within its stop timeout
#: (10 s) and a few seconds of checks; what holds it longer is not another run.
WAIT_S = 60.0
_POLL_S = 0.25


@contextlib.contextmanager
def held(port: int, wait_s: float = WAIT_S) -> Iterator[None]:
    """The port, free and this run's, until the block ends (EngineError, exit 3, when it
    stays taken for ``wait_s``)."""
    deadline = time.monotonic() + wait_s
    with _turn(port, deadline):
        while _taken(port):
            if time.monotonic() >= deadline:
                raise EngineError(
                    f"127.0.0.1:{port} is in use on this host (for {wait_s:g} s): the HTTP probe runs the image on "
                    "the host network, where the app could not bind it and the probe would reach what listens there",
                    hint=f"stop what listens on port {port} (`ss -ltnp 'sport = :{port}'` names it), or run the "
                         "app on another port and probe that one (--http-port)")
            time.sleep(_POLL_S)
        yield


@contextlib.contextmanager
def _turn(port: int, deadline: float) -> Iterator[None]:
    """This machine's runs probing ``port``, one at a time: the lock is a name in Linux's
    abstract socket namespace, which the kernel frees with the socket (a killed run holds
    nothing) and which leaves no file behind (a lock file per port probed piled up in
    /tmp). Where there is no such namespace, the free-port check alone."""
    lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        while True:
            try:
                lock.bind(f"\0imagespec-probe-port-{port}")
                break
            except OSError as error:
                if error.errno != errno.EADDRINUSE or time.monotonic() >= deadline:
                    break  # no abstract namespace here, or still held: the free-port check says what holds it
                time.sleep(_POLL_S)
        yield
    finally:
        lock.close()  # and with it the name


def _taken(port: int) -> bool:
    """Whether something listens on the port (a bind fails with EADDRINUSE; SO_REUSEADDR
    lets a port whose last connections linger in TIME_WAIT count as free, as the app's own
    server would). A port this user may not bind (below 1024) is the app's to try."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False
