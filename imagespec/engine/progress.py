"""Showing a build's progress: a live per-step view on a terminal, plain lines in CI,
JSON lines for machines, or nothing.

Role: ``ProgressDisplay`` renders BuildEvents; ``ProgressBackend`` wraps any Backend so
that every backend gets the same display without knowing about it (cross-cutting
behaviour stays outside backends). Output goes to stderr by default, so stdout stays
free for results.

JSON lines (``--progress json``), one object per line::

    {"event": "step", "index": 3, "name": "[build 2/4] RUN go build ./...",
     "status": "started|done|cached|error|canceled", "cached": false, "duration_s": 1.234}
    {"event": "log", "index": 3, "name": "…", "lines": ["…"]}
    {"event": "warning", "index": 0, "name": "", "lines": ["…"]}
    {"event": "result", "image_id": "sha256:…", "tags": […], "duration_s": …, "steps": […]}
    {"event": "error", "error": "BuildStepFailed", "message": "…", "step": 12, …}

May import: the standard library, ``rich``, ``imagespec.errors``, ``imagespec.engine.backend``.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Literal

from imagespec.engine.backend import (
    Backend,
    BuildEvent,
    BuildOptions,
    BuildResult,
    OnEvent,
    ProgressMode,
    ignore_event,
)
from imagespec.errors import ImageSpecError

if TYPE_CHECKING:  # pragma: no cover
    from rich.live import Live
    from rich.table import Table

Rendering = Literal["live", "plain", "json", "quiet"]

_MARK = {"done": "DONE", "cached": "CACHED", "error": "ERROR", "canceled": "CANCELED"}


def resolve_mode(mode: ProgressMode, stream: IO[str]) -> Rendering:
    """``auto`` is the live view on a terminal and plain lines anywhere else (CI logs)."""
    if mode == "auto":
        isatty = getattr(stream, "isatty", None)
        return "live" if isatty is not None and isatty() else "plain"
    return mode


class ProgressDisplay:
    """Renders events; use as a context manager (the live view needs start/stop)."""

    def __init__(self, mode: ProgressMode = "auto", *, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.rendering = resolve_mode(mode, self.stream)
        self._live: Live | None = None
        self._steps: dict[int, BuildEvent] = {}
        self._logs: dict[int, deque[str]] = {}
        self._started_at: dict[int, float] = {}
        self._opened: set[int] = set()  # plain: steps whose start line is out
        self._closed: set[int] = set()  # plain: steps whose DONE/CACHED/ERROR line is out

    def __enter__(self) -> ProgressDisplay:
        if self.rendering == "live":
            from rich.console import Console  # lazy: only a live display pays for rich
            from rich.live import Live

            console = Console(file=self.stream, stderr=self.stream is sys.stderr)
            self._live = Live(_LiveView(self), console=console, refresh_per_second=8, transient=False)
            self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __call__(self, event: BuildEvent) -> None:
        if event.kind == "step":
            self._steps[event.index] = event
            if event.status == "started":
                self._started_at[event.index] = time.monotonic()
        elif event.kind == "log":
            self._logs.setdefault(event.index, deque(maxlen=5)).extend(event.lines)
        if self.rendering == "plain":
            self._write_plain(event)
        elif self.rendering == "json":
            self._write_json(event.to_dict())

    def result(self, result: BuildResult) -> None:
        if self.rendering == "json":
            self._write_json(result.to_dict())
        elif self.rendering in ("plain", "live"):
            self._after_live()
            tags = ", ".join(result.tags) or "no tags"
            cached = f"{result.cached_steps} of {len(result.steps)} steps cached"
            self._print(f"=> built {result.image_id} in {result.duration_s:.1f}s ({cached}): {tags}")

    def failed(self, error: ImageSpecError) -> None:
        if self.rendering == "json":
            self._write_json({"event": "error", **error.to_dict()})
            # said once: under --format json the CLI prints no second error document after it
            error.reported = True
            return
        self._after_live()
        # quiet too: a failed build's last output is what a CI log is read for
        tail = getattr(error, "log_tail", ())
        if tail:
            self._print("=> last output of the failing step:")
            for line in tail:
                self._print(f"   | {line}")

    def _after_live(self) -> None:
        if self._live is not None:  # final frame first, then the summary below it
            self._live.stop()
            self._live = None

    def _write_plain(self, event: BuildEvent) -> None:
        """BuildKit's plain format per step: one start line, its output, then exactly one
        DONE/CACHED/ERROR/CANCELED line; kept here too, whatever order a backend reports in."""
        if event.kind in ("step", "log") and event.index and event.index not in self._opened:
            self._opened.add(event.index)
            self._print(f"#{event.index} {event.name}")
        if event.kind == "step":
            if event.status in _MARK and event.index not in self._closed:
                self._closed.add(event.index)
                # BuildKit's own duration (merged intervals, within this build) on DONE only
                duration = f" {event.duration_s:.1f}s" if event.duration_s is not None and event.status == "done" else ""
                error = f": {event.error}" if event.error and event.status == "error" else ""
                self._print(f"#{event.index} {_MARK[event.status]}{duration}{error}  {event.name}")
        elif event.kind == "log":
            for line in event.lines:
                self._print(f"#{event.index} | {line}")
        else:
            for line in event.lines:
                self._print(f"! warning: {line}")

    def _write_json(self, record: dict[str, object]) -> None:
        self._print(json.dumps(record, ensure_ascii=False))

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


class _LiveView:
    """The live view's renderable: rebuilt from the display's state on each refresh."""

    def __init__(self, display: ProgressDisplay) -> None:
        self.display = display

    def __rich__(self) -> Table:
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 1))
        table.add_column(width=8)
        table.add_column(justify="right", width=7)
        table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        now = time.monotonic()
        for index, step in sorted(self.display._steps.items()):
            running = step.status == "started"
            if step.internal and not running and step.status != "error":
                continue  # bookkeeping steps only while they run
            if running:
                elapsed = now - self.display._started_at.get(index, now)
                table.add_row(Text("running", style="yellow"), f"{elapsed:.1f}s", step.name)
                for line in self.display._logs.get(index, ()):
                    table.add_row("", "", Text(f"│ {line}", style="dim"))
            else:
                style = {"cached": "cyan", "done": "green", "error": "bold red"}.get(step.status or "", "dim")
                duration = f"{step.duration_s:.1f}s" if step.duration_s is not None and not step.cached else ""
                table.add_row(Text(_MARK.get(step.status or "", "?").lower(), style=style), duration, step.name)
        return table


class ProgressBackend:
    """A Backend that shows progress per ``options.progress`` around another Backend."""

    def __init__(self, inner: Backend, *, stream: IO[str] | None = None) -> None:
        self.inner = inner
        self.stream = stream
        self.name = inner.name

    def build(
        self,
        dockerfile: str,
        context: Path,
        options: BuildOptions,
        on_event: OnEvent = ignore_event,
    ) -> BuildResult:
        with ProgressDisplay(options.progress, stream=self.stream) as display:

            def both(event: BuildEvent) -> None:
                display(event)
                on_event(event)

            try:
                result = self.inner.build(dockerfile, context, options, both)
            except ImageSpecError as error:
                display.failed(error)
                raise
            display.result(result)
            return result
