"""`kind: base` (README, spec reference): a spec of an image that exists to be built FROM
needs no program, and what `imagespec test` expects of it is checked without a run."""

from __future__ import annotations

from pathlib import Path

from compiler_helpers import compile_path, compile_text, parse
from imagespec.pipeline.expectations import expectations

BASE = "name: company-base\nversion: 1.0.0\nkind: base\nfinal:\n  from: debian-slim\n  env: {COMPANY: acme}\n"


def test_a_base_needs_no_entrypoint_or_cmd_and_gets_none() -> None:
    compiled = compile_text(BASE)
    assert not [c for c in parse(compiled.dockerfile) if c.cmd in ("ENTRYPOINT", "CMD")]
    assert [c.value for c in parse(compiled.dockerfile) if c.cmd == "USER"] == [("65532:65532",)]


def test_a_base_is_tested_without_a_run_and_an_app_with_one(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / "app.yaml").write_text(BASE.replace("kind: base\n", "") + "  entrypoint: [/bin/true]\n",
                                       encoding="utf-8")
    base = expectations(compile_path(tmp_path / "base.yaml"))
    assert not base.runs and base.user == "65532:65532" and base.env == {"COMPANY": "acme"}
    assert expectations(compile_path(tmp_path / "app.yaml")).runs
