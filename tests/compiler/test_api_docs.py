"""docs/api.md's examples run: each fenced ``python`` block is executed from the repository
root (``python engine`` blocks only with a Docker Engine), so the documented API cannot
drift from the one imagespec exports."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from compiler_helpers import REPO

API_DOC = REPO / "docs" / "api.md"
BLOCK = re.compile(r"^```python( engine)?\n(.*?)^```$", re.M | re.S)


def blocks(engine: bool) -> list[str]:
    return [code for marker, code in BLOCK.findall(API_DOC.read_text(encoding="utf-8")) if bool(marker) == engine]


def _run(code: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(REPO)
    # the examples make their folders with tempfile.mkdtemp(), as a reader would: here in the
    # test's own folder, not left in /tmp after every run of the suite
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    exec(compile(code, str(API_DOC), "exec"), {})  # noqa: S102 - the documentation's own examples


@pytest.mark.parametrize("code", blocks(engine=False), ids=lambda code: code.splitlines()[-1][:40])
def test_api_example_runs(code: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _run(code, monkeypatch, tmp_path)


def test_the_api_doc_has_examples_of_every_job() -> None:
    text = "".join(blocks(engine=False) + blocks(engine=True))
    for job in ("generate", "check", "build", "test", "base_build", "base_check"):
        assert f"imagespec.{job}(" in text, job


@pytest.mark.engine
@pytest.mark.parametrize("code", blocks(engine=True))
def test_api_engine_example_runs(code: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _run(code, monkeypatch, tmp_path)
