"""The build seam: what to build with (options), what a build reports (events, result),
and the one interface every backend implements.

Role: plain data and a Protocol — no engine access. Backends live one per module
(``buildkit_cli``, ``sdk_legacy``); cross-cutting behaviour (progress display) wraps a
Backend instead of living inside each one (see ``progress``).

May import: the standard library, ``imagespec.errors`` and ``imagespec.contract``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal, Protocol

from imagespec.contract import DEFAULT_NETWORK
from imagespec.errors import SpecError

ProgressMode = Literal["auto", "plain", "json", "quiet"]
StepStatus = Literal["started", "done", "cached", "error", "canceled"]
EventKind = Literal["step", "log", "warning"]

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Secret:
    """A BuildKit secret: a file handed to ``RUN --mount=type=secret,id=…`` steps only.

    It never lands in a layer or in the history (BP11/BP15), unlike a build-arg or COPY.
    """

    id: str
    src: Path
    #: An optional secret whose file is missing is left out of the build instead of
    #: failing it: the Dockerfile mounts it with the default ``required=false``, so the
    #: same build works on a machine without, e.g., a corporate CA bundle.
    optional: bool = False

    def __post_init__(self) -> None:
        if not self.id or any(c in self.id for c in ",= "):
            raise SpecError(f"invalid secret id {self.id!r}", hint="use letters, digits, '-', '_' and '.'")
        object.__setattr__(self, "src", Path(self.src))

    def to_flag(self) -> str:
        return f"id={self.id},src={self.src}"


@dataclass(frozen=True)
class BuildOptions:
    """How to build (as opposed to what: the Dockerfile). Mirrors ``docker buildx build`` flags.

    ``tags`` are full references; they are applied only after a successful build, all or
    nothing. ``network`` defaults to DEFAULT_NETWORK. ``labels`` become ``--label``.
    """

    tags: tuple[str, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    target: str | None = None
    no_cache: bool = False
    network: str = DEFAULT_NETWORK
    secrets: tuple[Secret, ...] = ()
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    progress: ProgressMode = "auto"
    extra_args: tuple[str, ...] = ()
    builder: str | None = None
    #: The .dockerignore for this Dockerfile; written beside it as Dockerfile.dockerignore,
    #: which BuildKit reads before the context's own .dockerignore. None: the context's.
    dockerignore: str | None = None
    #: ``--platform os/arch[/variant]``: the one platform this build makes (a multi-platform
    #: image is one build per platform, joined into an index by imagespec.publish.index)
    platform: str | None = None

    def __post_init__(self) -> None:
        # Freeze the mappings too: options are shared between the display and the backend.
        object.__setattr__(self, "build_args", MappingProxyType(dict(self.build_args)))
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "secrets", tuple(self.secrets))
        object.__setattr__(self, "extra_args", tuple(self.extra_args))
        if self.progress not in ("auto", "plain", "json", "quiet"):
            raise SpecError(f"unknown progress mode {self.progress!r}", hint="use auto, plain, json or quiet")


@dataclass(frozen=True)
class BuildEvent:
    """One thing a build reported.

    ``kind="step"``: a step (BuildKit vertex / legacy "Step N/M") changed ``status``;
    ``duration_s`` is set once it finished. ``kind="log"``: output ``lines`` of the step.
    ``kind="warning"``: a BuildKit warning (lint rule, deprecated syntax) in ``lines``.
    ``index`` numbers steps in the order they first appeared (BuildKit's ``#N``).
    """

    kind: EventKind
    index: int
    name: str
    status: StepStatus | None = None
    cached: bool = False
    duration_s: float | None = None
    lines: tuple[str, ...] = ()
    error: str | None = None

    @property
    def internal(self) -> bool:
        """Bookkeeping steps (``[internal] load …``, exporting) rather than Dockerfile ones."""
        return self.name.startswith("[internal]") or not self.name.startswith("[")

    @property
    def instruction(self) -> str:
        """The Dockerfile instruction of the step: ``[build 3/5] RUN x`` → ``RUN x``."""
        return instruction_of(self.name)

    def to_dict(self) -> dict[str, object]:
        if self.kind == "step":
            return {
                "event": "step",
                "index": self.index,
                "name": self.name,
                "status": self.status,
                "cached": self.cached,
                "duration_s": None if self.duration_s is None else round(self.duration_s, 3),
                **({"error": self.error} if self.error else {}),
            }
        return {"event": self.kind, "index": self.index, "name": self.name, "lines": list(self.lines)}


def instruction_of(step_name: str) -> str:
    if step_name.startswith("[") and "] " in step_name:
        return step_name.split("] ", 1)[1]
    return step_name


@dataclass
class BuildResult:
    """A finished, successful build: the image id, the tags applied, and each step's end state."""

    image_id: str
    tags: tuple[str, ...]
    duration_s: float
    steps: list[BuildEvent] = field(default_factory=list)

    @property
    def cached_steps(self) -> int:
        """Steps the engine marked cached, as it reported them (BuildKit's CACHED lines)."""
        return sum(1 for s in self.steps if s.cached)

    def to_dict(self) -> dict[str, object]:
        return {
            "event": "result",
            "image_id": self.image_id,
            "tags": list(self.tags),
            "duration_s": round(self.duration_s, 3),
            "steps": [s.to_dict() for s in self.steps],
        }


OnEvent = Callable[[BuildEvent], None]


class Backend(Protocol):
    """Builds a Dockerfile (given as text) with a context directory.

    Contract: the Dockerfile text is never written into ``context``; tags in
    ``options.tags`` are applied only if the build succeeded (all or nothing); failures
    raise ``BuildFailed`` (with ``log_tail``/``step`` when known), a lost engine
    ``EngineError``, Ctrl-C ``Interrupted`` after the build process has stopped.
    """

    name: str

    def build(
        self,
        dockerfile: str,
        context: Path,
        options: BuildOptions,
        on_event: OnEvent = ...,
    ) -> BuildResult: ...


def ignore_event(event: BuildEvent) -> None:
    """The default ``on_event``: builds need no listener."""
