"""Rendering build events: plain lines, JSON lines, quiet, and the live view (no engine)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from imagespec.engine.backend import BuildEvent, BuildOptions, BuildResult
from imagespec.engine.progress import ProgressBackend, ProgressDisplay, resolve_mode
from imagespec.errors import BuildStepFailed

RUN = "[build 2/3] RUN go build ./..."
EVENTS = [
    BuildEvent("step", 1, "[internal] load build definition from Dockerfile", "done", duration_s=0.01),
    BuildEvent("step", 2, "[build 1/3] FROM imagespec-test/golang:bookworm", "cached", cached=True, duration_s=0.0),
    BuildEvent("step", 3, RUN, "started"),
    BuildEvent("log", 3, RUN, lines=("compiling", "linking")),
    BuildEvent("warning", 0, "", lines=("FromAsCasing: 'as' and 'FROM' keywords' casing do not match",)),
    BuildEvent("step", 3, RUN, "done", duration_s=1.25),
]
RESULT = BuildResult("sha256:abc", ("team/app:1.0.0", "team/app:latest"), 2.5, [EVENTS[1], EVENTS[5]])


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def render(mode: str, stream: io.StringIO | None = None) -> str:
    stream = stream or io.StringIO()
    with ProgressDisplay(mode, stream=stream) as display:  # type: ignore[arg-type]
        for event in EVENTS:
            display(event)
        display.result(RESULT)
    return stream.getvalue()


def test_plain_lines() -> None:
    assert render("plain").splitlines() == [
        "#1 [internal] load build definition from Dockerfile",  # a start line even when
        "#1 DONE 0.0s  [internal] load build definition from Dockerfile",  # the end comes first
        "#2 [build 1/3] FROM imagespec-test/golang:bookworm",
        "#2 CACHED  [build 1/3] FROM imagespec-test/golang:bookworm",
        f"#3 {RUN}",
        "#3 | compiling",
        "#3 | linking",
        "! warning: FromAsCasing: 'as' and 'FROM' keywords' casing do not match",
        f"#3 DONE 1.2s  {RUN}",
        "=> built sha256:abc in 2.5s (1 of 2 steps cached): team/app:1.0.0, team/app:latest",
    ]


def test_json_lines_are_machine_readable() -> None:
    records = [json.loads(line) for line in render("json").splitlines()]
    assert records[1] == {
        "event": "step", "index": 2, "name": "[build 1/3] FROM imagespec-test/golang:bookworm",
        "status": "cached", "cached": True, "duration_s": 0.0,
    }
    assert records[3] == {"event": "log", "index": 3, "name": RUN, "lines": ["compiling", "linking"]}
    assert records[5]["status"] == "done" and records[5]["duration_s"] == 1.25
    assert records[-1]["event"] == "result" and records[-1]["tags"] == ["team/app:1.0.0", "team/app:latest"]


def test_quiet_prints_nothing() -> None:
    assert render("quiet") == ""


def test_auto_is_plain_off_a_terminal_and_live_on_one() -> None:
    assert resolve_mode("auto", io.StringIO()) == "plain"
    assert resolve_mode("auto", TTY()) == "live"
    assert resolve_mode("json", TTY()) == "json"


def test_live_view_shows_dockerfile_steps_and_the_summary() -> None:
    out = render("auto", TTY())
    assert "go build" in out and "built sha256:abc" in out
    assert "load build definition" not in out  # bookkeeping steps only while they run


class FailingBackend:
    name = "fake"

    def build(self, dockerfile: str, context: Path, options: BuildOptions, on_event=None) -> BuildResult:  # type: ignore[no-untyped-def]
        assert on_event is not None
        on_event(EVENTS[2])
        raise BuildStepFailed(
            "build failed at RUN go build ./...: exit code: 1", instruction="RUN go build ./...", step=12,
            log_tail=("main.go:3: undefined: x",),
        )


@pytest.mark.parametrize("mode", ["plain", "json", "quiet"])
def test_backend_wrapper_reports_failures_and_forwards_events(mode: str, tmp_path: Path) -> None:
    stream = io.StringIO()
    seen: list[BuildEvent] = []
    backend = ProgressBackend(FailingBackend(), stream=stream)
    with pytest.raises(BuildStepFailed):
        backend.build("FROM scratch", tmp_path, BuildOptions(progress=mode), seen.append)  # type: ignore[arg-type]
    assert seen == [EVENTS[2]]
    out = stream.getvalue()
    if mode in ("plain", "quiet"):  # quiet keeps the one thing a failed CI build is read for
        assert out.splitlines()[-2:] == ["=> last output of the failing step:", "   | main.go:3: undefined: x"]
    else:
        error = json.loads(out.splitlines()[-1])
        assert error["event"] == "error" and error["step"] == 12 and error["instruction"] == "RUN go build ./..."
