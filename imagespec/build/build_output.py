"""Parsers of BuildKit's progress output into BuildEvents.

Role: turn ``--progress rawjson`` lines (buildx ≥ 0.13: one SolveStatus JSON object per
line) or ``--progress plain`` lines (older clients) into ``BuildEvent`` records, keep
each step's last log lines, and read the error trailer BuildKit prints after a failure
(``Dockerfile:12`` and the ``ERROR: …`` line). Pure: no processes, no engine.

May import: the standard library, ``imagespec.errors`` and ``imagespec.build.backend``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from imagespec.build.backend import BuildEvent, StepStatus, instruction_of

#: Lines of a failed step kept for the error message (BuildFailed.log_tail).
TAIL_LINES = 20

_CANCELED = ("context canceled", "canceled")


@dataclass
class _Step:
    index: int
    name: str
    started: datetime | None = None
    last_completed: str | None = None
    status: StepStatus | None = None
    cached: bool = False
    duration_s: float | None = None
    error: str | None = None
    partial: str = ""  # log bytes after the last newline, waiting for the rest
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))

    def final_event(self) -> BuildEvent:
        return BuildEvent(
            "step", self.index, self.name, self.status, self.cached, self.duration_s, error=self.error
        )


@dataclass(frozen=True)
class Failure:
    """What failed, as far as the progress stream and the error trailer tell."""

    step_name: str | None
    instruction: str | None
    message: str
    dockerfile_line: int | None
    log_tail: tuple[str, ...]


class _StepTable:
    """Steps by key (vertex digest or ``#N``), numbered in order of appearance."""

    def __init__(self) -> None:
        self.steps: dict[str, _Step] = {}
        self._numbered = 0
        self.trailer: list[str] = []  # non-progress lines: the error report after a failure

    def step(self, key: str, name: str) -> _Step:
        found = self.steps.get(key)
        if found is None:
            found = self.steps[key] = _Step(index=0, name=name)
        return found

    def number(self, step: _Step) -> None:
        """Give a step its ``#N`` when it first starts (BuildKit announces the whole
        graph up front, last stage first; numbering by announcement would read backwards)."""
        if not step.index:
            self._numbered += 1
            step.index = self._numbered

    def log(self, step: _Step, text: str) -> BuildEvent | None:
        """Add output to a step; returns a log event with the complete lines, if any."""
        text = step.partial + text
        *lines, step.partial = text.split("\n")
        lines = [line.rstrip("\r") for line in lines]
        if not lines:
            return None
        step.tail.extend(lines)
        return BuildEvent("log", step.index, step.name, lines=tuple(lines))

    def flush(self, step: _Step) -> BuildEvent | None:
        if not step.partial:
            return None
        return self.log(step, "\n")

    def result_steps(self) -> list[BuildEvent]:
        ended = [s for s in self.steps.values() if s.status is not None]
        return [s.final_event() for s in sorted(ended, key=lambda s: s.index)]

    def failure(self) -> Failure:
        failed = sorted((s for s in self.steps.values() if s.status == "error"), key=lambda s: s.index)
        step = failed[0] if failed else None
        line, message = parse_trailer(self.trailer)
        if step is not None and not message:
            message = simplify(step.error or "build failed")
        return Failure(
            step_name=step.name if step else None,
            instruction=instruction_of(step.name) if step else None,
            message=message or "build failed",
            dockerfile_line=line,
            log_tail=tuple(step.tail) if step else tuple(self.trailer[-TAIL_LINES:]),
        )


class RawJsonParser(_StepTable):
    """``--progress rawjson``: each line is a client.SolveStatus as JSON."""

    def feed(self, line: str) -> list[BuildEvent]:
        line = line.rstrip("\n")
        try:
            status = json.loads(line) if line.startswith("{") else None
        except json.JSONDecodeError:
            status = None
        if not isinstance(status, dict):
            if line.strip():
                self.trailer.append(line)
            return []
        events: list[BuildEvent] = []
        for vertex in status.get("vertexes") or ():
            events.extend(self._vertex(vertex))
        for log in status.get("logs") or ():
            step = self.steps.get(log.get("vertex", ""))
            if step is not None:
                event = self.log(step, _b64(log.get("data")))
                if event:
                    events.append(event)
        for warning in status.get("warnings") or ():
            step = self.steps.get(warning.get("vertex", ""))
            text = _b64(warning.get("short")).strip()
            if text:
                events.append(
                    BuildEvent("warning", step.index if step else 0, step.name if step else "", lines=(text,))
                )
        return events

    def _vertex(self, vertex: dict[str, object]) -> list[BuildEvent]:
        step = self.step(str(vertex.get("digest")), str(vertex.get("name") or ""))
        events: list[BuildEvent] = []
        started = vertex.get("started")
        completed = vertex.get("completed")
        if started or completed:
            self.number(step)
        if started and not completed and step.status != "started":
            # BuildKit re-reports a vertex when it restarts (e.g. a cache miss after a
            # probe); each (re)start is one event, repeats of the same state are not.
            step.started = _time(str(started))
            step.status = "started"
            events.append(BuildEvent("step", step.index, step.name, "started"))
        if completed and completed != step.last_completed:
            step.last_completed = str(completed)
            flushed = self.flush(step)
            if flushed:
                events.append(flushed)
            begin = _time(str(started)) if started else step.started
            end = _time(str(completed))
            step.duration_s = max(0.0, (end - begin).total_seconds()) if begin and end else None
            step.cached = bool(vertex.get("cached"))
            step.error = str(vertex["error"]) if vertex.get("error") else None
            step.status = _end_status(step.error, step.cached)
            events.append(step.final_event())
        return events


class PlainParser(_StepTable):
    """``--progress plain``: ``#N name``, ``#N 0.123 log line``, ``#N DONE 1.2s``, …"""

    _LINE = re.compile(r"^#(\d+) (.*)$")
    _LOG = re.compile(r"^(\d+\.\d+) ?(.*)$")
    _DONE = re.compile(r"^DONE (\d+(?:\.\d+)?)s$")

    def feed(self, line: str) -> list[BuildEvent]:
        line = line.rstrip("\n")
        match = self._LINE.match(line)
        if match is None:
            if line.strip():
                self.trailer.append(line)
            return []
        key, text = match.group(1), match.group(2)
        if key == "0":  # "#0 building with "default" instance …": not a step
            return []
        known = key in self.steps
        step = self.step(key, text)
        if not known:
            self.number(step)
            step.status = "started"
            return [BuildEvent("step", step.index, step.name, "started")]
        if text == step.name:  # header repeated when output of parallel steps interleaves
            return []
        done = self._DONE.match(text)
        if done or text in ("CACHED", "CANCELED") or text.startswith("ERROR"):
            events = [e for e in [self.flush(step)] if e]
            step.cached = text == "CACHED"
            step.duration_s = float(done.group(1)) if done else None
            step.error = text.partition(":")[2].strip() or text if text.startswith("ERROR") else None
            if text == "CANCELED":
                step.error = "canceled"
            step.status = _end_status(step.error, step.cached)
            return [*events, step.final_event()]
        log = self._LOG.match(text)
        if log:
            event = self.log(step, log.group(2) + "\n")
            return [event] if event else []
        return []  # status lines: "transferring context: 2B done", layer downloads


def _end_status(error: str | None, cached: bool) -> StepStatus:
    if error:
        return "canceled" if error.strip().lower().endswith(_CANCELED) else "error"
    return "cached" if cached else "done"


_DOCKERFILE_LINE = re.compile(r"^(?:\S*/)?[\w.-]*Dockerfile[\w.-]*:(\d+)$")
_PARSE_ERROR_LINE = re.compile(r"(?:parse error|error) on line (\d+)", re.IGNORECASE)
_ERROR_PREFIXES = ("failed to build: ", "failed to solve: ", "failed to solve with frontend dockerfile.v0: ")


def parse_trailer(lines: list[str]) -> tuple[int | None, str]:
    """(Dockerfile line, error message) from the text BuildKit prints after a failure.

    BuildKit shows the failing instruction's source as ``Dockerfile:12`` followed by an
    excerpt; syntax errors say ``dockerfile parse error on line 3``.
    """
    line_no: int | None = None
    message = ""
    for line in lines:
        match = _DOCKERFILE_LINE.match(line.strip())
        if match and line_no is None:
            line_no = int(match.group(1))
        if line.startswith("ERROR: ") or line.startswith("ERROR "):
            message = line.split(" ", 1)[1].strip()
    while message.startswith(_ERROR_PREFIXES):
        for prefix in _ERROR_PREFIXES:
            message = message.removeprefix(prefix)
    message = simplify(message)
    if line_no is None:
        match = _PARSE_ERROR_LINE.search(message)
        if match:
            line_no = int(match.group(1))
    return line_no, message


_PROCESS_FAILED = re.compile(
    r'^(?:process ".*" did not complete successfully|executor failed running \[.*\]): (exit code: -?\d+)$', re.S
)


def simplify(message: str) -> str:
    """``process "/bin/sh -c <the whole RUN>" did not complete successfully: exit code: 3``
    → ``exit code: 3``: the instruction is already named next to it."""
    match = _PROCESS_FAILED.match(message)
    return match.group(1) if match else message


def _b64(data: object) -> str:
    if not isinstance(data, str):
        return ""
    try:
        return base64.b64decode(data).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return ""


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _time(text: str) -> datetime | None:
    # Go prints nanoseconds; datetime keeps microseconds.
    try:
        return datetime.fromisoformat(_FRACTION.sub(r"\1", text).replace("Z", "+00:00"))
    except ValueError:
        return None
