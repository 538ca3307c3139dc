"""A BuildKit for buildx's `remote` driver, without a buildkitd: the engine's own.

No buildkitd binary or BuildKit image can be had here (no container registry is
reachable; Debian, PyPI and npm ship none), but dockerd embeds BuildKit and serves its
gRPC control API on the Engine API: ``POST /grpc`` upgraded to HTTP/2 cleartext (h2c), the
way buildx's docker driver reaches it (moby api/server/router/grpc). ``Bridge`` listens on
a unix socket and, for each connection, opens the engine's socket, asks for that upgrade,
checks the ``101 Switching Protocols`` and then copies bytes both ways untouched. buildx
then talks to that BuildKit through the REMOTE driver (``docker buildx create --driver
remote unix:///…``), with everything the remote driver implies: no engine image store
behind it (results leave only through exporters: ``--load`` is the docker exporter's tar,
loaded by the client; ``--push``), ``target:`` contexts kept, entitlements asked for.

The engine behind it is the second dockerd of tests/fleet/other_engine.py (containerd
image store: the docker, oci and image exporters exist there; the classic store's
BuildKit has only its own `moby` exporter), so the machine's engine is only the client
that loads the results. Test support, not product code: a real remote BuildKit is a
buildkitd (docs/fleet.md, "What was tested where").
"""

from __future__ import annotations

import shutil
import socket
import socketserver
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

#: the Engine API request that turns a connection into the engine's BuildKit gRPC stream
UPGRADE = (b"POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
           b"Content-Length: 0\r\n\r\n")
SWITCHING = b"HTTP/1.1 101 "
HEADER_LIMIT = 16 * 1024


class UpgradeRefused(ConnectionError):
    pass


def upgraded(engine_socket: str) -> socket.socket:
    """A connection to the engine's BuildKit: the engine's socket after ``POST /grpc``
    answered 101 (nothing of the HTTP/2 stream read past the answer's blank line)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(10)
    try:
        conn.connect(engine_socket)
        conn.sendall(UPGRADE)
        head = b""
        while b"\r\n\r\n" not in head:  # byte by byte: the h2 stream starts right after it
            byte = conn.recv(1)
            if not byte or len(head) > HEADER_LIMIT:
                raise UpgradeRefused(f"the engine closed or flooded the upgrade: {head[:200]!r}")
            head += byte
        if not head.startswith(SWITCHING):
            status = head.split(b"\r\n", 1)[0]
            raise UpgradeRefused(f"the engine refused POST /grpc: {status!r}")
    except BaseException:
        conn.close()
        raise
    conn.settimeout(None)
    return conn


def _copy(source: socket.socket, sink: socket.socket) -> None:
    """Bytes from ``source`` to ``sink`` until ``source`` ends; then ``sink`` is told so."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class _Splice(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        try:
            engine = upgraded(self.server.engine_socket)
        except OSError as error:
            self.server.refused.append(str(error))
            return
        with engine:
            back = threading.Thread(target=_copy, args=(engine, self.request), daemon=True)
            back.start()
            _copy(self.request, engine)
            back.join()


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, listen: str, engine_socket: str) -> None:
        self.engine_socket = engine_socket
        self.refused: list[str] = []  # why an upgrade failed (the test's message, if any)
        super().__init__(listen, _Splice)


@dataclass
class Bridge:
    """A running bridge: ``endpoint`` is what `docker buildx create --driver remote` takes."""

    folder: Path
    server: _Server
    thread: threading.Thread

    @property
    def endpoint(self) -> str:
        return f"unix://{self.folder / 'buildkitd.sock'}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def start(engine_socket: str, prefix: str) -> Bridge:
    """Listen on ``/tmp/PREFIX-…/buildkitd.sock`` (short: a unix address holds 108 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir="/tmp"))
    server = _Server(str(folder / "buildkitd.sock"), engine_socket)
    thread = threading.Thread(target=server.serve_forever, name="remote-builder-bridge", daemon=True)
    thread.start()
    return Bridge(folder, server, thread)
