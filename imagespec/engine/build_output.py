"""Parsers of BuildKit's progress output into BuildEvents.

Role: turn ``--progress rawjson`` lines (buildx ≥ 0.13: one SolveStatus JSON object per
line) or ``--progress plain`` lines (older clients) into ``BuildEvent`` records, keep
each step's last log lines, and read the error trailer BuildKit prints after a failure
(``Dockerfile:12`` and the ``ERROR: …`` line). Pure: no processes, no engine, no clock.

Whatever order BuildKit reports in, each step yields one ``started`` event, its log
lines, then exactly one terminal event (its final state, held back until settled); a
step's duration covers its merged (started, completed) intervals from the build's own
start on. Call ``finish()`` when the stream ends.

May import: the standard library, ``imagespec.errors`` and ``imagespec.engine.backend``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from imagespec.engine.backend import BuildEvent, StepStatus, instruction_of

#: Lines of a failed step kept for the error message (BuildFailed.log_tail).
TAIL_LINES = 20

_CANCELED = ("context canceled", "canceled")


@dataclass
class _Step:
    index: int
    name: str
    status: StepStatus | None = None
    cached: bool = False
    duration_s: float | None = None
    error: str | None = None
    #: A terminal state not shown yet: BuildKit often completes a vertex and starts it
    #: again at once (a cache probe, then the real run or a cache load), so the end is
    #: only final once the next update leaves the step alone (see ``_StepTable``).
    pending: bool = False
    #: The terminal event went out; a later restart only updates the final state.
    closed: bool = False
    intervals: dict[str, tuple[datetime | None, datetime | None]] = field(default_factory=dict)
    #: per output stream (1 stdout, 2 stderr): log bytes after its last newline, waiting for
    #: the rest. One buffer for both glued a shell's trace onto the program's output
    #: (`+ made /out` then `echo made /out`) whenever the two wrote at once.
    partial: dict[int, str] = field(default_factory=dict)
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
    """Steps by key (vertex digest or ``#N``), numbered in order of appearance.

    The events it emits keep BuildKit's plain-format contract per step, whatever order
    the engine reports in: one ``started``, then its log lines, then exactly one
    terminal event (done, cached, error or canceled). A step's end is held back
    (``pending``) until an update about other steps, or the end of the stream, shows
    that it did not restart; a restart in between merges into the same step.
    """

    def __init__(self, *, since: datetime | None = None) -> None:
        self.steps: dict[str, _Step] = {}
        self._numbered = 0
        self.trailer: list[str] = []  # non-progress lines: the error report after a failure
        #: When this build began: BuildKit shares a vertex between concurrent builds and
        #: reports it with the first build's times; only the time spent in this build counts.
        self.since = since

    def step(self, key: str, name: str) -> _Step:
        found = self.steps.get(key)
        if found is None:
            found = self.steps[key] = _Step(index=0, name=name)
        return found

    def open(self, step: _Step) -> list[BuildEvent]:
        """The step's start event, the first time it shows up (started, ended or with output)."""
        if step.index:
            return []
        self._numbered += 1  # numbered when it first starts: BuildKit announces the graph backwards
        step.index = self._numbered
        step.status = "started"
        return [BuildEvent("step", step.index, step.name, "started")]

    def restart(self, step: _Step) -> list[BuildEvent]:
        """The step (re)starts: an end held back was not the last one."""
        if step.pending:
            step.pending, step.status = False, "started"
        return self.open(step)

    def end(self, step: _Step, status: StepStatus, *, cached: bool, error: str | None) -> list[BuildEvent]:
        """The step reached a terminal state; shown when settled (``settle``)."""
        events = self.open(step)
        flushed = self.flush(step)
        events += [flushed] if flushed else []
        step.status, step.cached, step.error = status, cached, error
        step.pending = not step.closed
        return events

    def settle(self, keep: Collection[str] = (), *, only: Collection[str] | None = None) -> list[BuildEvent]:
        """Terminal events of the pending steps (of ``only``, if given), except those in
        ``keep`` and those that may still restart (``_may_restart``)."""
        ready = [
            (key, s)
            for key, s in self.steps.items()
            if s.pending and key not in keep and (key in only if only is not None else not self._may_restart(key))
        ]
        events = []
        for _, step in sorted(ready, key=lambda item: item[1].index):
            step.pending, step.closed = False, True
            events.append(step.final_event())
        return events

    def finish(self) -> list[BuildEvent]:
        """At the end of the stream: partial lines and every end still held back."""
        events = [e for s in self.steps.values() if (e := self.flush(s))]
        return events + self.settle(only=list(self.steps))

    def _may_restart(self, key: str) -> bool:
        """Whether a pending end needs more than an update about other steps to be final."""
        return False

    def log(self, step: _Step, text: str, stream: int = 1) -> BuildEvent | None:
        """Add output of one stream to a step; returns a log event with the complete
        lines, if any."""
        text = step.partial.get(stream, "") + text
        *lines, step.partial[stream] = text.split("\n")
        lines = [line.rstrip("\r") for line in lines]
        if not lines:
            return None
        step.tail.extend(lines)
        return BuildEvent("log", step.index, step.name, lines=tuple(lines))

    def flush(self, step: _Step) -> BuildEvent | None:
        lines: list[str] = []
        for stream in sorted(step.partial):
            if step.partial[stream]:
                event = self.log(step, "\n", stream)
                lines += event.lines if event else ()
        return BuildEvent("log", step.index, step.name, lines=tuple(lines)) if lines else None

    def busy_seconds(self) -> float | None:
        """Seconds in which BuildKit worked on at least one step of this build (their
        intervals merged, from ``since`` on); None when the format carries no times."""
        return _merged_seconds([span for s in self.steps.values() for span in s.intervals.values()], self.since)

    def result_steps(self) -> list[BuildEvent]:
        ended = [s for s in self.steps.values() if s.status not in (None, "started")]
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
    """``--progress rawjson``: each line is a client.SolveStatus as JSON.

    Sources (a FROM image, the build context: vertices without inputs) restart after
    other steps have moved, seen up to two updates later: the cache probe ends, then
    the transfer or the cache load runs. Their end is final once a step that uses them
    starts, or at the end of the stream; ends of sources nothing uses (the frontend's own
    loads) and of every other step are final at the next update that leaves them alone.
    """

    def __init__(self, *, since: datetime | None = None) -> None:
        super().__init__(since=since)
        self._inputs: dict[str, tuple[str, ...]] = {}
        self._users: dict[str, list[str]] = {}  # source digest -> digests of the steps using it

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
        vertexes = [v for v in status.get("vertexes") or () if isinstance(v, dict)]
        # an update about vertices settles the ends it does not touch (statuses and
        # logs alone say nothing about restarts)
        events = self.settle({str(v.get("digest")) for v in vertexes}) if vertexes else []
        for vertex in vertexes:
            events.extend(self._vertex(vertex))
        for log in status.get("logs") or ():
            step = self.steps.get(log.get("vertex", ""))
            if step is not None:
                events += self.open(step)
                stream = log.get("stream")
                event = self.log(step, _b64(log.get("data")), stream if isinstance(stream, int) else 1)
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
        key = str(vertex.get("digest"))
        step = self.step(key, str(vertex.get("name") or ""))
        self._note_inputs(key, vertex.get("inputs"))
        started, completed = vertex.get("started"), vertex.get("completed")
        if not (started or completed):
            return []  # announced: the graph, before anything runs
        # a step that runs has its inputs' results: their ends are final (and shown first)
        events = self.settle(only=self._inputs.get(key, ()))
        if started:
            step.intervals[str(started)] = (_time(str(started)), _time(str(completed)) if completed else None)
        if not completed:
            return events + self.restart(step)
        step.duration_s = _merged_seconds(step.intervals.values(), self.since)
        # "exit code: 3" for the whole RUN text: the step's name already shows it
        error = simplify(str(vertex["error"])) if vertex.get("error") else None
        cached = bool(vertex.get("cached"))
        return events + self.end(step, _end_status(error, cached), cached=cached, error=error)

    def _note_inputs(self, key: str, inputs: object) -> None:
        if key in self._inputs or not isinstance(inputs, list):
            return
        self._inputs[key] = tuple(str(i) for i in inputs)
        for source in self._inputs[key]:
            self._users.setdefault(source, []).append(key)

    def _may_restart(self, key: str) -> bool:
        users = self._users.get(key, [])
        is_source = not self._inputs.get(key)
        return is_source and bool(users) and not any(self.steps[u].index for u in users if u in self.steps)


class PlainParser(_StepTable):
    """``--progress plain``: ``#N name``, ``#N 0.123 log line``, ``#N DONE 1.2s``, …"""

    _LINE = re.compile(r"^#(\d+) (.*)$")
    _LOG = re.compile(r"^(\d+\.\d+) ?(.*)$")
    _DONE = re.compile(r"^DONE (\d+(?:\.\d+)?)s$")

    def feed(self, line: str) -> list[BuildEvent]:
        line = line.rstrip("\n")
        match = self._LINE.fullmatch(line)
        if match is None:
            if line.strip():
                self.trailer.append(line)
            return []
        key, text = match.group(1), match.group(2)
        if key == "0":  # "#0 building with "default" instance …": not a step
            return []
        events = self.settle({key})  # a line about another step: this one's end was final
        step = self.step(key, text)
        if text == step.name:  # (re)start, or the header repeated when parallel output interleaves
            return events + self.restart(step)
        events += self.open(step)
        done = self._DONE.fullmatch(text)
        if done or text in ("CACHED", "CANCELED") or text.startswith("ERROR"):
            error = simplify(text.partition(":")[2].strip() or text) if text.startswith("ERROR") else None
            if text == "CANCELED":
                error = "canceled"
            if done:  # BuildKit's own figure (this client reports no times)
                step.duration_s = float(done.group(1))
            cached = text == "CACHED"
            return events + self.end(step, _end_status(error, cached), cached=cached, error=error)
        log = self._LOG.fullmatch(text)
        if log:
            event = self.log(step, log.group(2) + "\n")
            events += [event] if event else []
        return events  # status lines ("transferring context: 2B done", layer downloads) are not shown


def _merged_seconds(intervals: Iterable[tuple[datetime | None, datetime | None]], since: datetime | None) -> float | None:
    """Seconds covered by a step's (started, completed) intervals, each counted once and
    only from ``since`` on (BuildKit's tty view merges intervals the same way)."""
    spans = sorted((max(a, since) if since else a, b) for a, b in intervals if a and b)
    total, reach = 0.0, None
    for begin, end in spans:
        if reach is not None and begin < reach:
            begin = reach
        if end > begin:
            total += (end - begin).total_seconds()
            reach = end
    return total if spans else None


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
