"""Running an image once and observing it from the host.

Role: the engine side of ``imagespec test``. Runs the image the hardened way (read-only
root with a tmpfs per declared writable directory — BP9; no network, or the host
network bound to loopback when an HTTP probe is asked for), waits until it is ready,
looks at its processes through the host's /proc (we run beside the engine as root, so
this works for shell-less images too; ``docker top`` is the fallback for a remote
engine), times ``docker stop``, and lists the image's files by exporting a created,
never-started container. Every container is named ``imagespec-verify-…`` and removed.

May import: the standard library, ``imagespec.errors``, ``imagespec.contract``, ``imagespec.platform``, its own
package and ``imagespec.engine`` (the connection, whether a platform is emulated here);
``docker`` only lazily.
"""

from __future__ import annotations

import contextlib
import io
import re
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagespec.contract import writable_tmpfs
from imagespec.engine.client import engine_errors, remove_container
from imagespec.verify import files, host_port
from imagespec.verify.checks import Process
from imagespec.verify.files import FileSystem
from imagespec.verify.model import Expectations

if TYPE_CHECKING:  # pragma: no cover
    import docker
    from _typeshed import WriteableBuffer

#: Without a readiness signal, how long a container must stay up to count as running.
SETTLE_S = 1.0
#: The same for another platform's image, run under QEMU: its programs start about ten
#: times slower (measured here: apt 11x, pip 6x), and a SIGTERM sent before the program
#: has installed its handler is lost (PID 1 ignores it by default), so `docker stop`
#: would wait for SIGKILL and blame the program (BP2). A program that exits stops the wait.
EMULATED_SETTLE_S = 10.0


@dataclass
class Observation:
    """What one smoke run showed."""

    ran: bool = False  # the container started
    running: bool = False  # …and was still up when it was ready (or settled)
    exit_code: int | None = None
    start_error: str | None = None
    ready: tuple[bool, str] | None = None  # only when a probe was asked for
    pid1: Process | None = None
    children: list[Process] = field(default_factory=list)
    passwd: str = ""
    stop_elapsed_s: float | None = None
    stop_exit_code: int | None = None
    logs_tail: str = ""
    zombies: list[int] | None = None  # pids in state Z below PID 1; None when not observable


def run_and_observe(client: docker.DockerClient, image: str, exp: Expectations, *, stop_timeout: int) -> Observation:
    """Run the image once and observe it; with an HTTP probe, on the host network, holding
    the probe's port (host_port) from before the container starts until it is gone."""
    with host_port.held(exp.http_port) if exp.http_port else contextlib.nullcontext():
        return _observe(client, image, exp, stop_timeout)


def _observe(client: docker.DockerClient, image: str, exp: Expectations, stop_timeout: int) -> Observation:
    import docker.errors  # lazy

    seen = Observation()
    name = f"imagespec-verify-{secrets.token_hex(4)}"
    with engine_errors(f"inspect {image}"):
        attrs = client.images.get(image).attrs  # asked once: its user and its platform
    # each writable directory's tmpfs is owned by the user the image runs as (its USER)
    tmpfs = writable_tmpfs(attrs.get("Config", {}).get("User") or None)
    with engine_errors(f"run {image}"):
        container = client.containers.create(
            image,
            command=list(exp.run_args) or None,
            name=name,
            read_only=True,
            tmpfs=dict.fromkeys(exp.writable, tmpfs),
            network_mode="host" if exp.http_port else "none",
            labels={"org.imagespec.verify": "1"},
        )
    try:
        try:
            container.start()
        except docker.errors.APIError as error:  # e.g. entrypoint not found: a finding, not an engine fault
            seen.start_error = str(getattr(error, "explanation", None) or error)
            return seen
        seen.ran = True
        seen.running, seen.ready = _wait_ready(container, exp, _settle_s(attrs))
        container.reload()
        state = container.attrs["State"]
        if state.get("Running"):
            seen.pid1, seen.children, seen.passwd = _processes(container, int(state["Pid"]))
            seen.zombies = _zombies(int(state["Pid"]))
            began = time.monotonic()
            with engine_errors(f"stop {name}"):
                container.stop(timeout=stop_timeout)
            seen.stop_elapsed_s = time.monotonic() - began
            container.reload()
            seen.stop_exit_code = container.attrs["State"].get("ExitCode")
        else:
            seen.running = False
            seen.exit_code = state.get("ExitCode")
        # enough for the error line above a stack (runner.last_output), not a whole log
        seen.logs_tail = container.logs(tail=60).decode("utf-8", "replace")
        return seen
    finally:
        with engine_errors(f"remove {name}"):
            remove_container(container)


def _settle_s(attrs: dict[str, Any]) -> float:
    """How long a program without a readiness signal is given to start: longer when the
    image is another platform's, emulated here."""
    from imagespec import platform as platforms
    from imagespec.engine.emulation import runs_natively
    from imagespec.reference import Invalid

    name = "/".join(part for part in (attrs.get("Os"), attrs.get("Architecture"), attrs.get("Variant")) if part)
    try:
        platforms.parse(name)
    except Invalid:  # a platform imagespec does not build for: nothing known about its speed
        return SETTLE_S
    return SETTLE_S if runs_natively(name) else EMULATED_SETTLE_S


def _wait_ready(container: docker.models.containers.Container, exp: Expectations,
                settle_s: float = SETTLE_S) -> tuple[bool, tuple[bool, str] | None]:
    """(still running, readiness outcome or None when no probe was asked for)."""
    deadline = time.monotonic() + (exp.ready_timeout_s if (exp.ready_log or exp.http_port) else settle_s)
    log_ok = exp.ready_log is None
    http_ok = exp.http_port is None
    http_detail = ""
    pattern = re.compile(exp.ready_log) if exp.ready_log else None
    while True:
        container.reload()
        running = bool(container.attrs["State"].get("Running"))
        if pattern is not None and not log_ok:
            log_ok = bool(pattern.search(container.logs().decode("utf-8", "replace")))
        if exp.http_port and not http_ok and running:
            http_ok, http_detail = _http_probe(exp.http_port)
        done = log_ok and http_ok
        if not running or time.monotonic() >= deadline or (done and (exp.ready_log or exp.http_port)):
            break
        time.sleep(0.1)
    if exp.ready_log is None and exp.http_port is None:
        return running, None
    parts = []
    if exp.ready_log is not None:
        parts.append(f"log {'showed' if log_ok else 'never showed'} /{exp.ready_log}/")
    if exp.http_port is not None:
        parts.append(http_detail or f"nothing answered on 127.0.0.1:{exp.http_port}")
    if not (log_ok and http_ok):
        parts.append(f"within {exp.ready_timeout_s:g}s" if running else "before the container exited")
    return running, (log_ok and http_ok, "; ".join(parts))


def _http_probe(port: int) -> tuple[bool, str]:
    import urllib.error  # lazy: costly at import, needed only for HTTP probes
    import urllib.request

    url = f"http://127.0.0.1:{port}/"
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
            return True, f"GET {url} → {response.status}"
    except urllib.error.HTTPError as error:  # an HTTP answer: the server is up
        return error.code < 500, f"GET {url} → {error.code}"
    except (urllib.error.URLError, OSError):
        return False, ""


# -- processes --------------------------------------------------------------------------


def _processes(container: docker.models.containers.Container, pid: int) -> tuple[Process | None, list[Process], str]:
    proc = Path("/proc")
    root = proc / str(pid)
    if pid and root.exists():
        pid1 = _read_process(root)
        children = [p for p in (_read_process(d) for d in _children(proc, pid)) if p is not None]
        try:
            passwd = (root / "root/etc/passwd").read_text(errors="replace")
        except OSError:
            passwd = ""
        return pid1, children, passwd
    return _from_top(container)


def _zombies(pid: int) -> list[int] | None:
    """Descendants of the container's PID 1 that died and were never reaped (BP3).
    Sampled twice, a second apart: a zombie that its parent reaps at once is not one."""
    proc = Path("/proc")
    if not pid or not (proc / str(pid)).exists():
        return None

    def sample() -> set[int]:
        found, todo = set(), [pid]
        while todo:
            current = todo.pop()
            for child in _children(proc, current):
                try:
                    state = (child / "stat").read_text().rsplit(")", 1)[1].split()[0]
                except OSError:
                    continue
                if state == "Z":
                    found.add(int(child.name))
                todo.append(int(child.name))
        return found

    first = sample()
    if not first:
        return []
    time.sleep(1.0)
    return sorted(first & sample())


def _read_process(path: Path) -> Process | None:
    try:
        argv = tuple(a for a in (path / "cmdline").read_bytes().decode("utf-8", "replace").split("\0") if a)
        status = (path / "status").read_text()
    except OSError:  # exited meanwhile
        return None
    ids = {k: v.split() for k, v in (line.split(":", 1) for line in status.splitlines() if ":" in line)}
    uid = [int(value) for value in ids["Uid"][:3]]  # real, effective, saved (then the fs uid)
    return Process(int(path.name), argv, uid[0], int(ids["Gid"][0]), euid=uid[1], suid=uid[2])


def _children(proc: Path, pid: int) -> list[Path]:
    listed = proc / str(pid) / "task" / str(pid) / "children"
    try:  # CONFIG_PROC_CHILDREN: exact and cheap
        return [proc / c for c in listed.read_text().split()]
    except OSError:
        pass
    found = []
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(entry)
    return found


def _from_top(container: docker.models.containers.Container) -> tuple[Process | None, list[Process], str]:
    """Remote engine: ``docker top`` (ps on the engine's host) gives pid, ppid, uid, argv."""
    with engine_errors("docker top"):
        top = container.top(ps_args="-o pid,ppid,ruid,euid,suid,gid,args")
    rows = [dict(zip(top["Titles"], row, strict=False)) for row in top.get("Processes") or ()]
    if not rows:
        return None, [], ""
    pids = {r["PID"] for r in rows}
    root = next((r for r in rows if r["PPID"] not in pids), rows[0])

    def process(row: dict[str, str]) -> Process:
        command = row.get("COMMAND") or row.get("CMD") or ""
        return Process(int(row["PID"]), tuple(command.split()), int(row["RUID"]), int(row["GID"]),
                       euid=int(row["EUID"]), suid=int(row["SUID"]))

    return process(root), [process(r) for r in rows if r["PPID"] == root["PID"]], ""


# -- file system --------------------------------------------------------------------------


def image_files(client: docker.DockerClient, image: str, read: str | None = None, *,
                layers: Sequence[str] = (), cache: Path | None = None) -> FileSystem:
    """Every path in the image's flattened file system, from a created (never started)
    container's export: works for images without a shell or even a command. ``read``:
    an absolute path whose bytes to keep on the way (None when it is not a regular file
    of the image). On the same pass: the set-user-ID and set-group-ID files, and the
    executables that are shells by their content (a renamed dash is one: BP6).
    ``layers``: the image's diff IDs, under which ``cache`` remembers what the pass saw
    (files.remembered), as the build's own SBOM scan did for the images it made: then
    only ``read`` is read, with no export."""
    import tarfile  # lazy: only ``imagespec test`` needs it

    known = files.remembered(cache, layers)
    if known is not None:
        known.content = _one_file(client, image, read) if read else None
        return known
    reader = files.FilesReader(read)
    name = f"imagespec-verify-fs-{secrets.token_hex(4)}"
    with engine_errors(f"export {image}"):
        container = client.containers.create(image, entrypoint=["/imagespec-never-runs"], name=name, network_mode="none")
        try:
            stream = io.BufferedReader(_ChunkReader(container.export()), buffer_size=1 << 20)
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for member in archive:
                    reader.visit(member, partial(archive.extractfile, member))
        finally:
            remove_container(container)
    if not reader.unread:
        files.remember(cache, layers, reader.seen)
    return reader.seen


def _one_file(client: docker.DockerClient, image: str, path: str) -> bytes | None:
    """The bytes of one regular file of ``image`` (None: not one, or bigger than files.MAX_READ)."""
    import tarfile  # lazy

    import docker.errors

    name = f"imagespec-verify-fs-{secrets.token_hex(4)}"
    with engine_errors(f"read {path} from {image}"):
        container = client.containers.create(image, entrypoint=["/imagespec-never-runs"], name=name, network_mode="none")
        try:
            try:
                chunks, _ = container.get_archive(path)
            except docker.errors.NotFound:
                return None
            stream = io.BufferedReader(_ChunkReader(chunks), buffer_size=1 << 20)
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                member = archive.next()
                if member is None or not member.isfile() or member.size > files.MAX_READ:
                    return None
                handle = archive.extractfile(member)
                return handle.read() if handle else None
        finally:
            remove_container(container)


class _ChunkReader(io.RawIOBase):
    """A raw stream over the SDK's chunk iterator, for tarfile's stream mode."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        view = memoryview(buffer).cast("B")  # tarfile hands a bytearray or a memoryview
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count
