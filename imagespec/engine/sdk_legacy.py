"""The fallback backend: the engine's legacy builder through the docker SDK.

Role: build where no docker CLI/BuildKit client exists (e.g. a remote engine reached
only through the SDK). The legacy builder knows neither ``RUN --mount`` (cache, secret)
nor heredocs, so such Dockerfiles are refused up front with a clear message rather
than failing halfway. ``forcerm=True`` so that a failed step leaves no container behind.

May import: the standard library, ``imagespec.errors`` and its own package;
``docker`` only lazily (through ``engine``).
"""

from __future__ import annotations

import re
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from imagespec.engine.backend import BuildEvent, BuildOptions, BuildResult, OnEvent, StepStatus, ignore_event
from imagespec.engine.build_output import TAIL_LINES
from imagespec.engine.buildkit_cli import _outside, failing_line_hint
from imagespec.engine.dockerfile_lines import instruction_lines
from imagespec.engine.client import connect, engine_errors
from imagespec.engine.local_tags import apply_tags, check_references
from imagespec.errors import BuildStepFailed, Interrupted, SpecError

if TYPE_CHECKING:  # pragma: no cover
    import docker

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_MOUNT = re.compile(r"^\s*RUN\s+(?:--\w+(?:=\S+)?\s+)*--mount[=\s]", re.IGNORECASE)
_HEREDOC = re.compile(r"^\s*(?:RUN|COPY|ADD)\s.*<<-?\s*[\"']?[A-Za-z_][\w]*[\"']?", re.IGNORECASE)


def unsupported_features(dockerfile: str) -> list[str]:
    """Dockerfile features the legacy builder cannot build, with their line numbers."""
    problems = []
    for number, line in enumerate(dockerfile.splitlines(), start=1):
        if _MOUNT.match(line):
            problems.append(f"line {number}: RUN --mount")
        elif _HEREDOC.match(line):
            problems.append(f"line {number}: heredoc")
    return problems


class SdkLegacyBackend:
    """Backend: ``client.api.build`` with the legacy builder (see module docstring)."""

    name = "legacy"

    def __init__(self, client: docker.DockerClient | None = None) -> None:
        self._client = client

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
        self._refuse_unsupported(dockerfile, options)
        check_references(options.tags)
        client = self._client or connect()
        lines = instruction_lines(dockerfile)
        began = time.monotonic()
        steps: list[BuildEvent] = []
        try:
            image_id = self._stream(client, dockerfile, context, options, on_event, lines, steps)
        except KeyboardInterrupt:
            # Closing the request makes the daemon cancel the build; tags were not touched.
            raise Interrupted("build interrupted; no tag was applied") from None
        if not image_id:
            raise BuildStepFailed("build finished without an image id (legacy builder)")
        tags = apply_tags(client, image_id, options.tags)
        return BuildResult(image_id, tags, time.monotonic() - began, steps)

    def _stream(
        self,
        client: docker.DockerClient,
        dockerfile: str,
        context: Path,
        options: BuildOptions,
        on_event: OnEvent,
        lines: list[int],
        steps: list[BuildEvent],
    ) -> str:
        """Run the build, reporting events; returns the image id ("" if none was reported)."""
        current: BuildEvent | None = None
        current_began = 0.0
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        image_id = ""

        def finish(status: StepStatus, error: str | None = None) -> None:
            nonlocal current
            if current is None:
                return
            ended = BuildEvent(
                "step", current.index, current.name, status,
                cached=status == "cached", duration_s=time.monotonic() - current_began, error=error,
            )
            steps.append(ended)
            on_event(ended)
            current = None

        with _outside(context) as scratch:
            path = scratch / "Dockerfile"
            path.write_text(dockerfile, encoding="utf-8")
            # An absolute dockerfile outside the context is sent inside the upload tar
            # by the SDK: the user's context directory is not written to.
            with engine_errors("build (legacy builder)"):
                stream = client.api.build(
                    path=str(context),
                    dockerfile=str(path),
                    rm=True,
                    forcerm=True,
                    decode=True,
                    pull=False,
                    nocache=options.no_cache,
                    buildargs=dict(options.build_args),
                    labels=dict(options.labels),
                    target=options.target,
                    network_mode=options.network,
                )
                cached = False
                for chunk in stream:
                    if "error" in chunk:
                        message = str(chunk.get("error", "")).strip()
                        instruction = current.instruction if current else None
                        number = current.index if current else 0
                        finish("error", message)
                        step_line = lines[number - 1] if 0 < number <= len(lines) else None
                        raise BuildStepFailed(
                            f"build failed at {instruction}: {message}" if instruction else f"build failed: {message}",
                            instruction=instruction,
                            step=step_line,
                            log_tail=tuple(tail),
                            hint=failing_line_hint(step_line),
                        )
                    if "aux" in chunk and "ID" in chunk["aux"]:
                        image_id = chunk["aux"]["ID"]
                    for text in str(chunk.get("stream", "")).splitlines():
                        match = _STEP.match(text)
                        if match:
                            finish("cached" if cached else "done")
                            cached = False
                            index, total, instruction = match.groups()
                            current = BuildEvent("step", int(index), f"[{index}/{total}] {instruction}", "started")
                            current_began = time.monotonic()
                            tail.clear()
                            on_event(current)
                        elif text.strip() == "---> Using cache":
                            cached = True
                        elif text.strip().startswith(("--->", "Removing intermediate container", "Successfully")):
                            continue
                        elif current is not None and text.strip():
                            tail.append(text)
                            on_event(BuildEvent("log", current.index, current.name, lines=(text,)))
                finish("cached" if cached else "done")
        return image_id

    @staticmethod
    def _refuse_unsupported(dockerfile: str, options: BuildOptions) -> None:
        problems = unsupported_features(dockerfile)
        if problems:
            raise SpecError(
                "the legacy builder cannot build this Dockerfile: " + ", ".join(problems),
                hint="use the BuildKit backend (`--backend buildkit`; needs docker-cli and docker-buildx)",
            )
        if options.platform:
            raise SpecError(
                f"the legacy builder cannot build for a platform ({options.platform}): "
                "it knows no $BUILDPLATFORM and cannot cross-compile",
                hint="use the BuildKit backend (`--backend buildkit`; needs docker-cli and docker-buildx)",
            )
        needed = [s.id for s in options.secrets if not (s.optional and not s.src.is_file())]
        if needed:
            raise SpecError(
                f"the legacy builder cannot pass build secrets ({', '.join(needed)})",
                hint="use the BuildKit backend, or mark the secrets optional",
            )
        if options.extra_args:
            raise SpecError("extra build arguments need the BuildKit backend", hint="use `--backend buildkit`")
