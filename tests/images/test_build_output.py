"""Parsing BuildKit's progress streams, from output recorded on a real engine (fixtures/)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, UTC
from pathlib import Path

import pytest

from imagespec.engine.backend import BuildEvent
from imagespec.engine.build_output import PlainParser, RawJsonParser, parse_trailer, simplify

FIXTURES = Path(__file__).parent / "fixtures"
FAILING_RUN = (
    'RUN for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; '
    'do echo "line $i"; done; echo "go: build failed" >&2; exit 3'
)


def feed(parser: RawJsonParser | PlainParser, name: str) -> list[BuildEvent]:
    events: list[BuildEvent] = []
    for line in (FIXTURES / name).read_text().splitlines(keepends=True):
        events += parser.feed(line)
    return events


def dockerfile_steps(parser: RawJsonParser | PlainParser) -> list[tuple[str, str | None, bool]]:
    return [(s.name, s.status, s.cached) for s in parser.result_steps() if not s.internal]


@pytest.mark.parametrize(("name", "parser"), [("ok-first.rawjson.txt", RawJsonParser), ("ok.plain.txt", PlainParser)])
def test_successful_build_steps_in_order(name: str, parser: type[RawJsonParser | PlainParser]) -> None:
    p = parser()
    events = feed(p, name)
    names = [n for n, _, _ in dockerfile_steps(p)]
    assert names == [
        "[build 1/4] FROM docker.io/imagespec-test/debian:bookworm-slim",
        '[build 2/4] RUN echo "compiling step one" && echo "second line"',
        "[build 3/4] COPY input.txt /src/input.txt",
        "[build 4/4] RUN wc -c /src/input.txt > /out.txt",
        "[stage-1 2/2] COPY --from=build /out.txt /out.txt",
    ]
    run = next(s for s in p.result_steps() if s.name.startswith("[build 2/4]"))
    assert run.status == "done" and not run.cached and run.duration_s is not None and run.duration_s > 0
    assert run.instruction == 'RUN echo "compiling step one" && echo "second line"'
    logs = [line for e in events if e.kind == "log" and e.index == run.index for line in e.lines]
    assert logs == ["compiling step one", "second line"]
    started = [e for e in events if e.kind == "step" and e.status == "started" and e.index == run.index]
    assert len(started) == 1
    assert [s.index for s in p.result_steps()] == sorted(s.index for s in p.result_steps())


def test_cached_rebuild_marks_steps_cached() -> None:
    p = RawJsonParser()
    feed(p, "ok-cached.rawjson.txt")
    statuses = {name.split("] ")[1]: (status, cached) for name, status, cached in dockerfile_steps(p)}
    assert statuses['RUN echo "compiling step one" && echo "second line"'] == ("cached", True)
    assert statuses["COPY --from=build /out.txt /out.txt"] == ("cached", True)


@pytest.mark.parametrize(("name", "parser"), [("fail.rawjson.txt", RawJsonParser), ("fail.plain.txt", PlainParser)])
def test_failure_names_instruction_line_and_tail(name: str, parser: type[RawJsonParser | PlainParser]) -> None:
    p = parser()
    feed(p, name)
    failure = p.failure()
    assert failure.instruction == FAILING_RUN
    assert failure.dockerfile_line == 3
    assert failure.message == "exit code: 3"
    assert len(failure.log_tail) == 20
    assert "line 25" in failure.log_tail and "line 1" not in failure.log_tail
    if parser is RawJsonParser:  # stderr comes as its own stream there, after stdout here
        assert failure.log_tail[-1] == "go: build failed"


def test_canceled_siblings_are_not_the_failure() -> None:
    # A missing COPY source: BuildKit cancels the sibling COPY ("context canceled").
    digest_ok, digest_bad = "sha256:aa", "sha256:bb"
    lines = [
        {"vertexes": [{"digest": digest_ok, "name": "[1/2] COPY a.txt /a.txt", "started": "2026-01-01T00:00:00.1Z"}]},
        {"vertexes": [{"digest": digest_bad, "name": "[2/2] COPY missing.txt /b", "started": "2026-01-01T00:00:00.1Z",
                       "completed": "2026-01-01T00:00:00.2Z", "error": '"/missing.txt": not found'}]},
        {"vertexes": [{"digest": digest_ok, "name": "[1/2] COPY a.txt /a.txt", "started": "2026-01-01T00:00:00.1Z",
                       "completed": "2026-01-01T00:00:00.3Z", "error": "context canceled: context canceled"}]},
    ]
    p = RawJsonParser()
    for record in lines:
        p.feed(json.dumps(record))
    for line in ["Dockerfile:3", "ERROR: failed to build: failed to solve: failed to compute cache key: x not found"]:
        p.feed(line)
    assert [s.status for s in p.result_steps()] == ["canceled", "error"]
    failure = p.failure()
    assert failure.instruction == "COPY missing.txt /b"
    assert failure.dockerfile_line == 3
    assert failure.message == "failed to compute cache key: x not found"


def test_partial_log_lines_are_joined_and_flushed_at_completion() -> None:
    p = RawJsonParser()
    vertex = {"digest": "sha256:cc", "name": "[1/1] RUN x", "started": "2026-01-01T00:00:00Z"}
    p.feed(json.dumps({"vertexes": [vertex]}))

    def log(text: str) -> list[BuildEvent]:
        data = base64.b64encode(text.encode()).decode()
        return p.feed(json.dumps({"logs": [{"vertex": "sha256:cc", "stream": 1, "data": data}]}))

    assert log("hel") == []
    assert [e.lines for e in log("lo\nwor")] == [("hello",)]
    events = p.feed(json.dumps({"vertexes": [vertex | {"completed": "2026-01-01T00:00:01.5Z"}]}))
    events += p.finish()  # a step's end is final once the stream ends (or other steps move)
    assert [(e.kind, e.lines or e.status) for e in events] == [("log", ("wor",)), ("step", "done")]
    assert events[-1].duration_s == pytest.approx(1.5)


def test_the_two_streams_are_lines_of_their_own() -> None:
    """A shell's `set -x` trace (stderr) and the program's output (stdout) written at once
    reach BuildKit in pieces: each stream's lines are joined on their own. Was: one buffer
    for both, so `+ echo made /out` and `made /out` came out as `+ made /out` and
    `echo made /out`, and the failing command's trace could be lost (a flaky CI test)."""
    p = RawJsonParser()
    vertex = {"digest": "sha256:cc", "name": "[1/1] RUN x", "started": "2026-01-01T00:00:00Z"}
    p.feed(json.dumps({"vertexes": [vertex]}))

    def log(stream: int, text: str) -> list[BuildEvent]:
        data = base64.b64encode(text.encode()).decode()
        return p.feed(json.dumps({"logs": [{"vertex": "sha256:cc", "stream": stream, "data": data}]}))

    lines = [line for piece in ((2, "+ "), (1, "made /out\n"), (2, "echo made /out\n+ test -f /out/missing"))
             for event in log(*piece) for line in event.lines]
    events = p.feed(json.dumps({"vertexes": [vertex | {"completed": "2026-01-01T00:00:01Z", "error": "exit code: 1"}]}))
    lines += [line for event in events + p.finish() if event.kind == "log" for line in event.lines]
    assert lines == ["made /out", "+ echo made /out", "+ test -f /out/missing"]


def test_trailer_parse_error_and_legacy_messages() -> None:
    line, message = parse_trailer(["ERROR: failed to solve: dockerfile parse error on line 7: unknown instruction: FOO"])
    assert (line, message) == (7, "dockerfile parse error on line 7: unknown instruction: FOO")
    assert simplify("executor failed running [/bin/sh -c exit 1]: exit code: 1") == "exit code: 1"
    assert simplify("something else: exit code: 1") == "something else: exit code: 1"


def test_non_json_noise_goes_to_the_trailer() -> None:
    p = RawJsonParser()
    assert p.feed("WARNING: something\n") == []
    assert p.feed("{not json\n") == []
    assert p.trailer == ["WARNING: something", "{not json"]


def _contract(events: list[BuildEvent]) -> dict[int, list[str]]:
    """Per step, what it reported in order: 'started', 'log', then one terminal status."""
    seen: dict[int, list[str]] = {}
    for event in events:
        if event.kind == "step":
            seen.setdefault(event.index, []).append(str(event.status))
        elif event.kind == "log":
            seen.setdefault(event.index, []).append("log")
    for index, order in seen.items():
        assert order[0] == "started", (index, order)
        assert order[-1] in ("done", "cached", "error", "canceled"), (index, order)
        assert set(order[1:-1]) <= {"log"}, (index, order)  # one start, one end, output between
    return seen


@pytest.mark.parametrize(
    ("name", "parser"),
    [
        ("ok-first.rawjson.txt", RawJsonParser),
        ("ok-cached.rawjson.txt", RawJsonParser),
        ("fail.rawjson.txt", RawJsonParser),
        ("shared-second.rawjson.txt", RawJsonParser),
        ("parallel-cached.rawjson.txt", RawJsonParser),
        ("ok.plain.txt", PlainParser),
        ("fail.plain.txt", PlainParser),
    ],
)
def test_each_step_starts_once_then_ends_once(name: str, parser: type[RawJsonParser | PlainParser]) -> None:
    """BuildKit completes vertices and starts them again (a cache probe, then the run or
    a cache load): `load build definition` is reported done, started, done."""
    p = parser()
    events = feed(p, name) + p.finish()
    assert sorted(_contract(events)) == [s.index for s in p.result_steps()]
    # the end shown is the step's final state: no restart came after it
    shown = sorted((e for e in events if e.kind == "step" and e.status != "started"), key=lambda e: e.index)
    assert shown == p.result_steps()


def test_a_source_restarting_after_other_steps_moved_ends_once_with_both_intervals() -> None:
    """`load build context` (parallel-cached) ends, a FROM ends, then the context starts
    again: its end is final only once a step that uses it (a COPY) starts."""
    p = RawJsonParser()
    events = feed(p, "parallel-cached.rawjson.txt") + p.finish()
    context = next(s for s in p.result_steps() if s.name == "[internal] load build context")
    ends = [e for e in events if e.kind == "step" and e.index == context.index and e.status != "started"]
    assert ends == [context] and context.duration_s == pytest.approx(0.0115, abs=0.0005)  # .663-.663 + .664-.675
    copy = next(s for s in p.result_steps() if s.name.endswith("COPY input.txt /in.txt"))
    order = [(e.index, e.status) for e in events if e.kind == "step"]
    assert order.index((context.index, "done")) < order.index((copy.index, "started"))


def test_a_vertex_done_then_loaded_from_cache_ends_once_as_cached() -> None:
    p = RawJsonParser()
    events = feed(p, "fail.rawjson.txt") + p.finish()
    base = next(s for s in p.result_steps() if "FROM" in s.name)
    ends = [e.status for e in events if e.kind == "step" and e.index == base.index and e.status != "started"]
    assert ends == ["cached"] and base.cached


def test_a_vertex_shared_with_an_earlier_build_counts_only_this_builds_time() -> None:
    """BuildKit runs identical vertices of concurrent builds once and reports the first
    build's start time to both: the second build (fixtures/README.md) began at 21:31:40.714
    and took 3.2 s, but its RUN vertex says it started at 21:31:38.784."""
    began = datetime(2026, 12, 1, 21, 31, 40, 714007, tzinfo=UTC)
    run = next(s for s in _steps(RawJsonParser(since=began)) if "RUN" in s.name)
    assert run.duration_s == pytest.approx(43.370 - 40.714, abs=0.01)
    unbounded = next(s for s in _steps(RawJsonParser()) if "RUN" in s.name)
    assert unbounded.duration_s == pytest.approx(43.370 - 38.784, abs=0.01)  # what was shown before


def _steps(p: RawJsonParser) -> list[BuildEvent]:
    feed(p, "shared-second.rawjson.txt")
    p.finish()
    return p.result_steps()
