"""`outdated` asks the registry once per distinct base across all the specs it is given:
500 specs on 20 bases make at most 20 requests (#15), counted by the client against the
real registry on 127.0.0.1:5000."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagespec.cli import main
from tests.lock.conftest import RUN_ID, Pushed

pytestmark = pytest.mark.engine

SPECS, BASES = 500, 20


def test_500_specs_on_20_bases_take_20_requests(pushed: Pushed, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    bases = [f"127.0.0.1:5000/isx15a/budget-{RUN_ID}:b{i}" for i in range(BASES)]
    for base in bases:
        pushed.push(base, "budget")  # one image under 20 tags: 20 distinct references
    specs = []
    for i in range(SPECS):
        folder = tmp_path / f"s{i:03d}"
        folder.mkdir()
        (folder / "imagespec.yaml").write_text(
            f"name: isx15a/budget-{i}\ntags: {{git_sha: false}}\n"
            f"final:\n  from: {{image: \"{bases[i % BASES]}\", family: debian}}\n  entrypoint: [/app]\n")
        specs.append(str(folder / "imagespec.yaml"))

    assert main(["lock", "--format", "json", *specs]) == 0
    locked = json.loads(capsys.readouterr().out)
    assert len(locked["written"]) == SPECS
    assert locked["requests"] <= 2 * BASES  # a manifest and its config per base: for the digests and the age

    assert main(["outdated", "--format", "json", *specs]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["specs"] == SPECS and report["bases"] == BASES
    assert report["requests"] == BASES, report["requests"]

    pushed.push(bases[3], "budget moved")  # one base moves: 25 specs on it
    assert main(["outdated", "--format", "json", *specs]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["requests"] == BASES and len(report["stale"]) == SPECS // BASES
    assert [m["image"] for m in report["moved"]] == [bases[3]] and report["moved"][0]["affected"] == SPECS // BASES
