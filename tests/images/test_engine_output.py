"""What a person and a CI log see of REAL builds, in every progress mode (issue #18).

Each test builds a small Dockerfile on the local Debian base (uncached with --no-cache,
cached after a warm-up, and failing), captures what imagespec prints in one mode and the
engine's own rawjson stream beside it, and checks BuildKit's plain-format contract: one
start line per step, its output, then exactly one DONE/CACHED/ERROR/CANCELED line; step
durations within the build's; the cached count BuildKit reported; the failing step's last
output lines present (quiet mode too).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from imagespec.engine.backend import BuildOptions, BuildResult
from imagespec.engine.buildkit_cli import BuildKitCLIBackend
from imagespec.engine.progress import ProgressBackend
from imagespec.errors import BuildStepFailed
from tests.images.support import RUN_ID, SLIM, Cleanup, require_images

pytestmark = pytest.mark.engine

MODES = ["plain", "quiet", "json", "auto"]  # auto: the stream is not a terminal, as in CI

# RUN_ID in the first step: this session's first build of it cannot come from the cache.
OK = f"""\
FROM {SLIM} AS build
RUN echo "compiling {RUN_ID}" && echo "second line"
RUN echo "linking" > /out.txt

FROM {SLIM}
COPY --from=build /out.txt /out.txt
CMD ["cat", "/out.txt"]
"""
FAIL = f"""\
FROM {SLIM}
RUN echo "{RUN_ID}"
RUN for i in $(seq 1 30); do echo "line $i"; done; echo "cc: error: undefined x"; exit 3
"""


@dataclass
class Seen:
    """One build: what imagespec printed, what the engine streamed, how it ended."""

    output: str
    raw: str
    result: BuildResult | None = None
    error: BuildStepFailed | None = None


def _build(dockerfile: str, mode: str, context: Path, cleanup: Cleanup, *, no_cache: bool = False) -> Seen:
    raw, output = io.StringIO(), io.StringIO()
    backend = ProgressBackend(BuildKitCLIBackend(transcript=raw), stream=output)
    options = BuildOptions(tags=(cleanup.name("output", mode),), progress=mode, no_cache=no_cache)  # type: ignore[arg-type]
    try:
        result = backend.build(dockerfile, context, options)
    except BuildStepFailed as error:
        return Seen(output.getvalue(), raw.getvalue(), error=error)
    # by id too: the modes share a tag, so a later build's takes it and left this one untagged
    cleanup.image_id(result.image_id)
    return Seen(output.getvalue(), raw.getvalue(), result=result)


def _buildkit_vertices(raw: str) -> dict[str, dict[str, object]]:
    """Each vertex's last reported state, as BuildKit's own display keeps it."""
    final: dict[str, dict[str, object]] = {}
    for line in raw.splitlines():
        if line.startswith("{"):
            for vertex in json.loads(line).get("vertexes") or ():
                if vertex.get("started") or vertex.get("completed"):
                    final[vertex["digest"]] = vertex
    return final


def _buildkit_cached(raw: str) -> int:
    return sum(1 for v in _buildkit_vertices(raw).values() if v.get("cached"))


_START = re.compile(r"#(\d+) (\S.*)")
_LOG = re.compile(r"#(\d+) \| (.*)")
_END = re.compile(r"#(\d+) (DONE|CACHED|ERROR|CANCELED)(?: (\d+\.\d)s)?(?::.*?)?  \S.*")
_SUMMARY = re.compile(r"=> built sha256:[0-9a-f]{64} in (\d+\.\d)s \((\d+) of (\d+) steps cached\): .*")


def _check_plain(seen: Seen, vertices: int | None = -1) -> list[tuple[str, str, str | None]]:
    """Every step: start, output, one end; returns (step, end, duration) in print order.
    ``vertices``: how many steps BuildKit ran (-1: count them in ``seen.raw``)."""
    state: dict[str, str] = {}  # step -> "open" | "closed"
    ends: list[tuple[str, str, str | None]] = []
    for line in seen.output.splitlines():
        if line.startswith(("=>", "   | ", "! warning: ")):
            continue
        if (end := _END.fullmatch(line)) is not None:
            assert state.get(end[1]) == "open", f"end before start, or a second end: {line!r}"
            state[end[1]] = "closed"
            ends.append((end[1], end[2], end[3]))
        elif (log := _LOG.fullmatch(line)) is not None:
            assert state.get(log[1]) == "open", f"output outside its step: {line!r}"
        elif (start := _START.fullmatch(line)) is not None:
            assert start[1] not in state, f"a second start line: {line!r}"
            state[start[1]] = "open"
        else:
            pytest.fail(f"unexpected line {line!r}")
    assert state and set(state.values()) == {"closed"}, "a step without its end"
    if vertices is not None:
        expected = len(_buildkit_vertices(seen.raw)) if vertices == -1 else vertices
        assert len(ends) == expected, "one line per vertex BuildKit ran"
    return ends


def _check_success_plain(seen: Seen) -> None:
    ends = _check_plain(seen)
    summary = _SUMMARY.fullmatch(seen.output.splitlines()[-1])
    assert summary is not None, seen.output
    total = float(summary[1])
    assert all(float(d) <= total for _, _, d in ends if d), f"a step longer than the build ({total}s)"
    cached = sum(1 for _, end, _ in ends if end == "CACHED")
    assert int(summary[2]) == cached == _buildkit_cached(seen.raw)
    assert int(summary[3]) == len(ends)


def _check_json(seen: Seen) -> list[dict[str, object]]:
    records = [json.loads(line) for line in seen.output.splitlines()]
    order: dict[int, list[str]] = {}
    for record in records:
        if record["event"] == "step":
            order.setdefault(int(record["index"]), []).append(str(record["status"]))
        elif record["event"] == "log":
            statuses = order.get(int(record["index"]))
            assert statuses == ["started"], f"output outside its step: {record}"
    for index, statuses in order.items():
        assert statuses[0] == "started" and len(statuses) == 2, f"step {index}: {statuses}"
        assert statuses[1] in ("done", "cached", "error", "canceled")
    assert len(order) == len(_buildkit_vertices(seen.raw))
    return records


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("output-context")
    (folder / "input.txt").write_text("hello\n")
    return folder


@pytest.fixture(scope="module")
def warm(client, context: Path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """OK built once, so that later builds of it come from the cache."""
    require_images(client, SLIM)
    cleanup = Cleanup(client)
    seen = _build(OK, "quiet", context, cleanup)
    assert seen.result is not None, seen.output
    yield
    cleanup.run()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cache", ["uncached", "cached"])
def test_successful_build_output(mode: str, cache: str, warm: None, context: Path, cleanup: Cleanup) -> None:
    seen = _build(OK, mode, context, cleanup, no_cache=cache == "uncached")
    assert seen.result is not None, seen.output
    steps = seen.result.steps
    assert seen.result.cached_steps == _buildkit_cached(seen.raw)
    assert all(s.duration_s is None or s.duration_s <= seen.result.duration_s for s in steps)
    run = next(s for s in steps if "compiling" in s.name)
    assert run.cached == (cache == "cached")  # --no-cache runs it; a warm rebuild does not
    if mode in ("plain", "auto"):
        _check_success_plain(seen)
        if cache == "uncached":
            assert f"#{run.index} | compiling {RUN_ID}" in seen.output.splitlines()
    elif mode == "json":
        records = _check_json(seen)
        result = records[-1]
        assert result["event"] == "result"
        assert all((s["duration_s"] or 0) <= result["duration_s"] for s in result["steps"])  # type: ignore[union-attr]
        assert sum(bool(s["cached"]) for s in result["steps"]) == _buildkit_cached(seen.raw)  # type: ignore[union-attr]
    else:
        assert seen.output == ""


@pytest.mark.parametrize("mode", MODES)
def test_failed_build_output_ends_with_the_failing_steps_last_lines(
    mode: str, client, context: Path, cleanup: Cleanup  # type: ignore[no-untyped-def]
) -> None:
    require_images(client, SLIM)
    seen = _build(FAIL, mode, context, cleanup)
    assert seen.error is not None, seen.output
    # one stream (stdout): BuildKit gets stdout and stderr separately, in no fixed order
    assert seen.error.log_tail[-2:] == ("line 30", "cc: error: undefined x") and "line 1" not in seen.error.log_tail
    if mode == "json":
        records = _check_json(seen)
        assert records[-1]["event"] == "error"
        assert "cc: error: undefined x" in records[-1]["log_tail"]  # type: ignore[operator]
        return
    lines = seen.output.splitlines()
    excerpt = lines.index("=> last output of the failing step:")
    assert lines[excerpt + 1:] == [f"   | {line}" for line in seen.error.log_tail]
    assert "   | line 30" in lines
    if mode in ("plain", "auto"):
        ends = _check_plain(seen)
        assert [end for _, end, _ in ends].count("ERROR") == 1
        failed = next(line for line in lines if re.match(r"#\d+ ERROR", line))
        assert re.fullmatch(r"#\d+ ERROR: exit code: 3  \[3/3\] RUN for i in .*", failed), failed
    else:
        assert lines[:excerpt] == []  # quiet: only the excerpt


def test_a_step_shared_with_a_concurrent_build_is_not_longer_than_the_build(
    client, context: Path, cleanup: Cleanup  # type: ignore[no-untyped-def]
) -> None:
    """BuildKit runs a step two concurrent builds share once, and tells the second build
    the first one's start time: `#2 DONE 4.6s` under `built … in 3.2s`, unless only the
    time within this build is counted."""
    import threading
    import time

    require_images(client, SLIM)
    dockerfile = f'FROM {SLIM}\nRUN echo "shared {RUN_ID}-{time.time_ns()}"; sleep 4; echo end\n'
    first = threading.Thread(target=_build, args=(dockerfile, "quiet", context, cleanup))
    first.start()
    try:
        time.sleep(2)  # the shared RUN is running when the second build asks for it
        seen = _build(dockerfile, "plain", context, cleanup)
    finally:
        first.join()
    assert seen.result is not None, seen.output
    shared = next(v for v in _buildkit_vertices(seen.raw).values() if "RUN" in str(v["name"]))
    assert not shared.get("cached")  # shared while running, not loaded from the cache
    _check_success_plain(seen)


SPEC = f"""\
name: imagespec-buildtest/output-cli-{RUN_ID}
tags: {{semver: false, git_sha: false, extra: [test]}}
stages:
  build:
    from: debian-slim
    run: echo "building {RUN_ID}" && echo done > /out.txt
    artifacts: [/out.txt]
final:
  from: debian-slim
  copy:
    - {{from: build, src: /out.txt, dest: /out.txt}}
  cmd: [cat, /out.txt]
"""


@pytest.mark.parametrize("no_cache", [[], ["--no-cache"]], ids=["first", "no-cache"])
def test_the_cli_in_ci_plain_output_to_a_file(
    no_cache: list[str], client, tmp_path: Path, cleanup: Cleanup  # type: ignore[no-untyped-def]
) -> None:
    """As the issue's user ran it: `imagespec build --progress plain … 2> build.log`."""
    import subprocess
    import sys

    require_images(client, SLIM)
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(SPEC)
    cleanup.image(f"imagespec-buildtest/output-cli-{RUN_ID}:test")
    log = tmp_path / "build.log"
    config = Path(__file__).parents[2] / "scripts" / "local-config.yaml"
    with log.open("w") as stderr:
        done = subprocess.run([sys.executable, "-m", "imagespec", "build", "--progress", "plain", "--config", str(config),
                               *no_cache, str(spec)], stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=300)
    text = log.read_text()
    assert done.returncode == 0, text
    lines = text.splitlines()
    built = next(i for i, line in enumerate(lines) if line.startswith("=> built "))
    ends = _check_plain(Seen("\n".join(lines[: built + 1]), raw=""), vertices=None)
    total = float(_SUMMARY.fullmatch(lines[built])[1])  # type: ignore[index]
    assert all(float(d) <= total for _, _, d in ends if d)
    assert f"| building {RUN_ID}" in text
