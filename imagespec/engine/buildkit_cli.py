"""The BuildKit backend, driven through the docker CLI.

Role: run ``docker buildx build`` (or ``DOCKER_BUILDKIT=1 docker build`` where buildx is
missing), read its progress stream (``rawjson`` where buildx ≥ 0.13 has it, else
``plain``) into BuildEvents, turn a failure into ``BuildStepFailed`` naming the
instruction, and apply tags with the SDK only after success.

Why the CLI and not the SDK: the SDK's ``images.build`` speaks only the legacy builder
(no ``RUN --mount``, no heredocs, no secrets); BuildKit's session protocol is only in
the CLI.

May import: the standard library, ``imagespec.errors`` and its own package;
``docker`` only lazily (through ``engine``).
"""

from __future__ import annotations

import functools
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path
from typing import IO, TYPE_CHECKING

from imagespec.engine.backend import BuildOptions, BuildResult, OnEvent, ignore_event
from imagespec.engine.build_output import PlainParser, RawJsonParser
from imagespec.engine.dockerfile_lines import locate
from imagespec.engine.client import START_HINT, connect, engine_address
from imagespec.engine.local_tags import apply_tags, check_references
from imagespec.errors import BuildStepFailed, EngineError, Interrupted, SpecError

if TYPE_CHECKING:  # pragma: no cover
    import docker

#: rawjson appeared in buildx 0.13.
RAWJSON_SINCE = (0, 13)
#: Seconds to let the CLI cancel the build after SIGINT (it tells BuildKit to stop the
#: running step), before SIGTERM and then SIGKILL.
_GRACE_S = (5.0, 3.0)


@dataclass(frozen=True)
class CliInfo:
    """What the docker CLI on this machine can do."""

    docker: str
    buildx: tuple[int, int] | None  # None: no buildx plugin

    @property
    def rawjson(self) -> bool:
        return self.buildx is not None and self.buildx >= RAWJSON_SINCE


def detect_cli(docker: str = "docker") -> CliInfo:
    """Find the docker CLI and its buildx version (``docker buildx version``)."""
    path = shutil.which(docker)
    if path is None:
        raise EngineError(
            "the docker CLI is not installed (needed for BuildKit builds)",
            hint="install docker-cli and docker-buildx, or use the 'legacy' backend",
        )
    return CliInfo(path, _buildx_version(path, os.environ.get("DOCKER_CONFIG", "")))


@functools.cache
def _buildx_version(path: str, docker_config: str) -> tuple[int, int] | None:
    """The buildx plugin's version as ``path`` finds it (DOCKER_CONFIG holds plugins too),
    asked once per process: a fleet builds each target's SBOM layer with a backend of
    its own, and each asking starts the docker CLI and the plugin twice."""
    del docker_config  # part of the cache key only: the CLI reads it from the environment
    try:
        done = subprocess.run(
            [path, "buildx", "version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    # "github.com/docker/buildx 0.29.1+ds1 0.29.1+ds1-4" or "… v0.12.1 <commit>"
    match = re.search(r"\sv?(\d+)\.(\d+)", done.stdout)
    if done.returncode != 0 or match is None:
        return None
    return int(match.group(1)), int(match.group(2))


class BuildKitCLIBackend:
    """Backend: BuildKit through ``docker buildx build`` (see module docstring)."""

    name = "buildkit"

    def __init__(
        self, client: docker.DockerClient | None = None, *, cli: CliInfo | None = None, transcript: IO[str] | None = None
    ) -> None:
        self._client = client
        self._cli = cli
        #: Receives the engine's progress stream as read, line by line (for bug reports
        #: and for tests that compare what imagespec shows with what BuildKit said).
        self.transcript = transcript

    @property
    def cli(self) -> CliInfo:
        if self._cli is None:
            self._cli = detect_cli()
        return self._cli

    def build(
        self,
        dockerfile: str,
        context: Path,
        options: BuildOptions,
        on_event: OnEvent = ignore_event,
    ) -> BuildResult:
        context = Path(context)
        if not context.is_dir():
            raise SpecError(f"build context {context} is not a directory")
        check_references(options.tags)
        # Fail in 2 s with a useful message rather than inside the CLI's output.
        client = self._client or connect()
        began = time.monotonic()
        with _outside(context) as scratch:
            dockerfile_path = scratch / "Dockerfile"  # named so errors read "Dockerfile:12"
            dockerfile_path.write_text(dockerfile, encoding="utf-8")
            if options.dockerignore is not None:
                (scratch / "Dockerfile.dockerignore").write_text(options.dockerignore, encoding="utf-8")
            iidfile = scratch / "iid"
            argv, env = self.command(dockerfile_path, context, options, iidfile)
            since = datetime.now(UTC)
            parser = RawJsonParser(since=since) if self.cli.rawjson else PlainParser(since=since)
            returncode = _run(argv, env, parser, on_event, self.transcript)
            image_id = iidfile.read_text().strip() if iidfile.exists() else ""
        if returncode != 0 or not image_id:
            raise build_failure(parser, returncode, dockerfile)
        try:
            tags = apply_tags(client, image_id, options.tags)
        except KeyboardInterrupt:  # apply_tags has put the previous tags back
            raise Interrupted("interrupted while tagging; no tag was changed") from None
        return BuildResult(image_id, tags, time.monotonic() - began, parser.result_steps())

    def command(
        self, dockerfile: Path, context: Path, options: BuildOptions, iidfile: Path
    ) -> tuple[list[str], dict[str, str]]:
        """The argv and environment of the build process (no ``-t``: tags come after)."""
        env = dict(os.environ)
        if self.cli.buildx is not None:
            argv = [self.cli.docker, "buildx", "build", "--load"]
            if options.builder:
                argv += ["--builder", options.builder]
        else:
            env["DOCKER_BUILDKIT"] = "1"
            argv = [self.cli.docker, "build"]
        argv += ["--progress", "rawjson" if self.cli.rawjson else "plain"]
        argv += ["--iidfile", str(iidfile), "-f", str(dockerfile), "--network", options.network]
        for key, value in sorted(options.build_args.items()):
            argv += ["--build-arg", f"{key}={value}"]
        for key, value in sorted(options.labels.items()):
            argv += ["--label", f"{key}={value}"]
        for secret in options.secrets:
            if not secret.src.is_file():
                if secret.optional:
                    continue
                raise SpecError(
                    f"secret {secret.id!r}: {secret.src} is not a file",
                    hint="point it at an existing file, or mark the secret optional",
                )
            argv += ["--secret", secret.to_flag()]
        if options.platform:
            argv += ["--platform", options.platform]
        if options.target:
            argv += ["--target", options.target]
        if options.no_cache:
            argv.append("--no-cache")
        argv += [*options.extra_args, str(context)]
        return argv, env


@contextmanager
def _outside(context: Path) -> Iterator[Path]:
    """A scratch directory that is not inside the build context (nothing is written there)."""
    with tempfile.TemporaryDirectory(prefix="imagespec-build-") as name:
        scratch = Path(name)
        if scratch.resolve().is_relative_to(context.resolve()):  # TMPDIR inside the context
            raise SpecError(f"TMPDIR {scratch.parent} is inside the build context {context}")
        yield scratch


def _run(
    argv: list[str],
    env: dict[str, str],
    parser: RawJsonParser | PlainParser,
    on_event: OnEvent,
    transcript: IO[str] | None = None,
) -> int:
    """Run the build, feeding its output to the parser and events to ``on_event``."""
    # Own process group: a terminal's Ctrl-C reaches only us, and we stop the whole
    # group (docker CLI + buildx plugin) deliberately, in order, below.
    proc = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    # Reading in a thread keeps the main thread in a timed queue wait, where a Ctrl-C
    # lands at once instead of after the next output line.
    threading.Thread(target=pump, name="imagespec-build-output", daemon=True).start()
    try:
        while True:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            if transcript is not None:
                transcript.write(line)
            for event in parser.feed(line):
                on_event(event)
        for event in parser.finish():  # the ends held back until the stream showed them final
            on_event(event)
        return proc.wait()
    except KeyboardInterrupt:
        stop_process(proc)
        raise Interrupted(
            "build interrupted; the build process was stopped and no tag was applied"
        ) from None
    except BaseException:
        stop_process(proc)
        raise


def stop_process(proc: subprocess.Popen[str]) -> None:
    """Stop the build process group: SIGINT (the CLI cancels the build), then harder."""
    for sig, grace in ((signal.SIGINT, _GRACE_S[0]), (signal.SIGTERM, _GRACE_S[1]), (signal.SIGKILL, None)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting politely
            continue


_ENGINE_DOWN = ("Cannot connect to the Docker daemon", "error during connect", "connection refused")


def build_failure(parser: RawJsonParser | PlainParser, returncode: int, dockerfile: str) -> Exception:
    failure = parser.failure()
    line = failure.dockerfile_line
    if line is None and failure.step_name:  # older clients print no "Dockerfile:12"
        line = locate(dockerfile, failure.step_name)
    if any(marker in line for line in parser.trailer for marker in _ENGINE_DOWN):
        return EngineError(
            f"cannot reach the Docker Engine at {engine_address()}: {failure.message}", hint=START_HINT
        )
    if failure.instruction:
        message = f"build failed at {failure.instruction}: {failure.message}"
    else:
        message = f"build failed (exit {returncode}): {failure.message}"
    return BuildStepFailed(
        message,
        instruction=failure.instruction,
        step=line,
        log_tail=failure.log_tail,
        hint=failing_line_hint(line),
    )


def failing_line_hint(line: int | None) -> str | None:
    """Where the failed instruction is: the Dockerfile built is compiled in memory, and
    may not be on disk (a fleet's, one never generated), so say how to see it."""
    if not line:
        return None
    return f"the failing instruction is at line {line} of the Dockerfile built (`imagespec generate SPEC -o -` prints it)"
