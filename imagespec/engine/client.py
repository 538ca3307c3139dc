"""Connection to the Docker Engine, and the one place where SDK errors are translated.

Role: open a docker SDK client quickly (or fail within CONNECT_TIMEOUT_S with a message
that says how to start an engine) and map docker/requests exceptions to imagespec's error tree where
they enter (httpx's ``map_httpcore_exceptions`` pattern).

May import: the standard library, ``imagespec.errors``, and ``docker``/``requests`` —
the latter two only inside functions, so that ``import imagespec`` stays fast: a command
that never talks to the engine (``generate``) does not pay for the SDK (BENCHMARKS.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from imagespec.errors import EngineError, ImageMissing, SpecError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import docker

#: Seconds allowed for the first contact (version negotiation + ping), so that an engine
#: that accepts but never answers is reported at once ("no answer within 1.5 s"). A daemon that
#: does not answer in this time is reported as unreachable rather than waited for.
CONNECT_TIMEOUT_S = 1.5
#: Seconds allowed per API call once connected: pushes, saves and exports of large
#: images are slow, and the SDK applies this per request.
OPERATION_TIMEOUT_S = 600

#: the seconds urllib3 names when a read timed out
_READ_TIMEOUT = re.compile(r"read timeout=([0-9.]+)")

# said to a user who installed the wheel (no scripts/ folder) as well as to a clone's
START_HINT = (
    "start the engine (`sudo systemctl start docker`, or `dockerd` where no systemd runs it; Docker Desktop: "
    "open it), or set DOCKER_HOST to an engine that runs; in a clone of imagespec, scripts/setup-engine.sh "
    "installs and starts one"
)


def engine_address(environ: Mapping[str, str] | None = None) -> str:
    """The address the SDK and the docker CLI will use, for messages."""
    env = os.environ if environ is None else environ
    return env.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


#: The API version negotiated with each engine in this process, by what names the engine
#: (``_engine_key``). Negotiating asks the daemon's /version, for which dockerd runs `runc
#: --version` and `docker-init --version` (~40 ms of its CPU each time), and a fleet's
#: target connects about nine times: once per engine is enough.
_NEGOTIATED: dict[tuple[str | None, ...], str] = {}


def _engine_key(host: str | None) -> tuple[str | None, ...]:
    """What decides which engine (and API version) a client talks to: ``host``, else the
    environment the SDK reads (DOCKER_HOST, DOCKER_CONTEXT)."""
    return (host, *(os.environ.get(name) for name in ("DOCKER_HOST", "DOCKER_CONTEXT")))


def connect(*, timeout: float = CONNECT_TIMEOUT_S, host: str | None = None) -> docker.DockerClient:
    """A docker SDK client for the engine named by the environment (DOCKER_HOST, …), or
    for the engine at ``host`` (a docker context's address: a fleet's builder).

    Raises EngineError within ``timeout`` seconds when nothing answers.
    """
    import docker  # lazy: see module docstring

    key = _engine_key(host)
    version = _NEGOTIATED.get(key, "auto")
    with engine_errors("connect" if host is None else f"connect to {host}"):
        # "auto" negotiates the API version, i.e. it already talks to the daemon; the
        # ping checks a known engine still answers. The short timeout bounds that first contact.
        client = docker.from_env(timeout=timeout, version=version) if host is None else \
            docker.DockerClient(base_url=host, timeout=timeout, version=version)
        client.ping()
    _NEGOTIATED.setdefault(key, client.api.api_version)
    # Later calls (push, export) legitimately take long: widen the per-request timeout.
    client.api.timeout = OPERATION_TIMEOUT_S
    return client


def remove_image(reference: str, *, only_untagged: bool = False, client: Any = None) -> None:
    """Remove an image of ours (``only_untagged``: only when no tag names it) from the local
    engine, or ``client``'s; one still in use (or already gone) is left as it is."""
    import docker.errors

    try:
        client = client or connect()
        if only_untagged and client.images.get(reference).tags:
            return
        client.images.remove(reference, noprune=False)
    except docker.errors.APIError:  # in use by a container or another image, or gone
        pass


def remove_container(container: Any) -> None:
    """Remove a container imagespec created (to export, read or probe an image), with its
    anonymous volumes: an image's VOLUMEs (the writable folders, BP9) each get one when
    the container is created, and ``remove`` without ``v`` leaves them in the engine, one
    per scan and probe, for ever."""
    container.remove(force=True, v=True)


@contextmanager
def engine_errors(action: str) -> Iterator[None]:
    """Translate docker SDK / requests exceptions raised inside the block.

    ``action`` says what was being done ("push 127.0.0.1:5000/app:1.0.0"), so that the
    message is useful without a traceback.
    """
    try:
        yield
    except (EngineError, SpecError):
        raise
    except Exception as exc:  # noqa: BLE001 - filtered below, re-raised when foreign
        translated = translate(exc, action)
        if translated is None:
            raise
        raise translated from exc


def translate(exc: BaseException, action: str) -> Exception | None:
    """The imagespec error for a docker SDK/requests exception, or None if not ours."""
    import docker.errors as de  # lazy
    import requests.exceptions as rq  # lazy; a dependency of docker

    address = engine_address()
    if isinstance(exc, de.ImageNotFound):
        return ImageMissing(
            f"{action}: no such image ({_explanation(exc)})",
            hint="build it first (`imagespec build`), or check the name and tag",
        )
    if isinstance(exc, de.APIError):
        # The daemon answered: it runs, but refused or failed the request.
        return EngineError(f"{action}: the engine answered {exc.status_code}: {_explanation(exc)}")
    if isinstance(exc, (rq.ConnectionError, rq.Timeout)) or (
        isinstance(exc, de.DockerException) and not isinstance(exc, de.APIError)
    ):
        return EngineError(
            f"cannot reach the Docker Engine at {address}: {_short(exc)}",
            hint=START_HINT,
        )
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return EngineError(f"cannot reach the Docker Engine at {address}: {exc}", hint=START_HINT)
    return None


def _explanation(exc: Any) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc)


def _short(exc: BaseException) -> str:
    """Why the engine could not be reached, in the system's words ("No such file or
    directory", "Connection refused"): the operating system's error that requests and
    urllib3 wrap several levels deep, in causes and in arguments; else the innermost part
    of the message."""
    found = _os_error(exc, set())
    if found is not None:
        return found.strerror or str(found)
    text = str(exc)
    # urllib3's "HTTPConnectionPool(host=…, port=…): Read timed out. (read timeout=1.5)":
    # an engine that took the connection and never answered
    waited = _READ_TIMEOUT.search(text)
    if waited is not None:
        return f"no answer within {waited.group(1)} s"
    for marker in ("Caused by ", "Error while fetching server API version: "):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    return text.strip(" ()'\"") or type(exc).__name__


def _os_error(exc: BaseException, seen: set[int]) -> OSError | None:
    """The innermost OSError with a system error number under ``exc``, depth first."""
    if id(exc) in seen:
        return None
    seen.add(id(exc))
    inner = [exc.__cause__, exc.__context__, getattr(exc, "reason", None), *exc.args]
    for nested in inner:
        if isinstance(nested, BaseException):
            found = _os_error(nested, seen)
            if found is not None:
                return found
    return exc if isinstance(exc, OSError) and exc.errno is not None else None