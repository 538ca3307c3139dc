"""A rebuild only where something changed (BP4): a change to the final stage's metadata
(env, labels, ports, user, cmd, healthcheck) re-runs no build-stage step. The build
stages copy source, never the spec or the generated files, and nothing in them is
derived from final metadata. Proven on the engine from BuildKit's own step states
(`imagespec build --progress json`, parsed by imagespec/engine/build_output.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.leftovers import remove_untagged

from .conftest import EXAMPLES, LOCAL_CONFIG, docker, imagespec

def _write(spec: Path, text: str, preset: str) -> None:
    """The example's spec under a name of this test's own (no tag of the committed
    examples is touched), tagged only `test`."""
    lines = [line for line in text.splitlines() if not line.startswith(("name:", "version:"))]
    spec.write_text("\n".join((*lines, f"name: isdr-rebuild-{preset}",
                                "tags: {git_sha: false, semver: false, extra: [test]}", "")))


def _steps(spec: Path, *extra: str) -> tuple[dict, list[dict]]:
    """Build; the summary (tags, image id) and BuildKit's final state of every step."""
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--progress", "json", "--format", "json", *extra,
                       str(spec))
    assert result.returncode == 0, result.stderr[-3000:]
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    steps = next(e["steps"] for e in reversed(events) if e.get("event") == "result")
    return json.loads(result.stdout.strip().splitlines()[-1]), steps


def _rerun_build_steps(steps: list[dict]) -> list[str]:
    """Steps of a build stage (every stage but `final`) that BuildKit ran again. A FROM
    is resolved, never run or cached: it is left out."""
    return [s["name"] for s in steps
            if s["name"].startswith("[") and not s["name"].startswith(("[internal]", "[final "))
            and not s["name"].split("] ", 1)[-1].startswith("FROM ") and not s["cached"]]


FINAL_EXTRA = "\nfinal:\n  labels: {com.example.team: payments}\n  cmd: [--verbose]\n  env: {GREETING: hello}\n"


@pytest.mark.engine
@pytest.mark.parametrize(("preset", "changes"), [
    # one cold build per preset (the go one is the slowest here): each change is made to
    # the original spec and built on the cache the previous builds left
    ("go", [("127.0.0.1:8080", "127.0.0.1:9090"),  # final.env only
            ("  ports: [8080]", "  ports: [8080]\n  labels: {com.example.team: payments}")]),  # a label only
    ("c", [("license: MIT", "license: MIT" + FINAL_EXTRA)]),  # env, label and cmd at once
    ("rust", [("  ports: [8080]", "  ports: [8080, 9090]\n  labels: {com.example.team: payments}")]),
], ids=["go", "c", "rust"])
def test_final_metadata_change_reruns_no_build_stage_step(engine, tmp_path: Path, preset: str,
                                                          changes: list[tuple[str, str]]) -> None:
    app = tmp_path / "app"
    shutil.copytree(EXAMPLES / f"preset-{preset}", app)
    spec = app / "imagespec.yaml"
    original = spec.read_text()
    _write(spec, original, preset)
    first, cold = _steps(spec, "--no-cache")
    try:
        assert _rerun_build_steps(cold), cold  # the build stage ran (else the test proves nothing)
        before = first["image_id"]
        for old, new in changes:
            assert old in original
            _write(spec, original.replace(old, new, 1), preset)
            again, warm = _steps(spec)
            assert again["image_id"] != before, (old, new)  # the change did reach the image
            assert _rerun_build_steps(warm) == [], (new, [(s['name'], s['status']) for s in warm])
            before = again["image_id"]
    finally:
        docker("rmi", *first["tags"], check=False)
        remove_untagged(f"isdr-rebuild-{preset}")  # each change's build took the tag of the one before
