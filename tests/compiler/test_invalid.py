"""Invalid inputs by file name: invalid/<case>.yaml next to <case>.err, the exact
message the CLI prints: `file:line:col: what is wrong` and under it a `  hint:` line,
what to write instead. Each runs `imagespec generate` in a temporary copy: exit code
2, no traceback, and not a single file written. IMAGESPEC_UPDATE_GOLDEN=1 rewrites
the .err files (review the diff)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler_helpers import INVALID
from imagespec.cli import main

CASES = sorted(INVALID.glob("*.yaml"))
LOCATED = re.compile(r"^(?P<file>[^:\n]+):(?P<line>[0-9]+):(?P<col>[0-9]+): \S.*$")

REQUIRED = {  # the corpus the test plan names; each must stay
    "unknown-key", "wrong-type", "missing-name", "missing-final", "malformed-yaml", "duplicate-key",
    "bad-image-reference", "invalid-port", "invalid-signal", "artifact-not-produced", "copy-outside-context",
    "absolute-context", "stage-cycle", "unknown-stage-in-copy", "unknown-catalog-image", "packages-on-scratch",
    "shell-on-shell-less-final", "root-without-reason", "newline-in-env", "entrypoint-unbalanced-quote",
    "empty-file", "top-level-list", "control-character", "merge-key", "stage-named-final", "stage-named-scratch",
    "unknown-feature",
}


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_corpus_is_complete() -> None:
    names = {case.stem for case in CASES}
    assert REQUIRED <= names
    assert len(names) >= 20
    assert {p.stem for p in INVALID.glob("*.err")} == names, "every case needs its .err (and no stray .err)"


# every corpus of bad input: the specs' and the base specs' (tests/compiler/test_bases.py)
REPORTS = sorted(INVALID.glob("*.err")) + sorted((INVALID.parent / "invalid_bases").glob("*.err"))


@pytest.mark.parametrize("report", REPORTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_error_has_a_hint(report: Path) -> None:
    """The project's rule for bad input: each error says what is wrong, at its place in
    the file, and the line under it what to do; a new case without a hint fails here."""
    lines = report.read_text(encoding="utf-8").splitlines()
    assert lines and len(lines) % 2 == 0, f"{report.name}: every error needs one `  hint:` line under it"
    for message, hint in zip(lines[::2], lines[1::2], strict=True):
        assert re.match(rf"{re.escape(report.stem)}\.yaml:[1-9][0-9]*:[1-9][0-9]*: \S", message), message
        assert hint.startswith("  hint: ") and hint[len("  hint: "):].strip(), f"{report.name}: {message!r} has no hint"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_cli_reports_located_errors(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str], golden) -> None:
    shutil.copy(case, tmp_path / case.name)
    monkeypatch.chdir(tmp_path)
    before = _listing(tmp_path)

    code = main(["generate", case.name])  # an unexpected exception fails the test with its traceback

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert _listing(tmp_path) == before, "an invalid spec must not write anything"
    # every error of the spec (validation reports them all), each located, each hint under its error
    lines = err.splitlines()
    assert lines, err
    for i, line in enumerate(lines):
        if line.startswith("  hint: "):
            assert i > 0 and not lines[i - 1].startswith("  hint: ") and len(line) > len("  hint: ")
            continue
        match = LOCATED.match(line)
        assert match, f"not `file:line:col: message`: {line!r}"
        assert match["file"] == case.name and int(match["line"]) >= 1
    golden(case.with_suffix(".err"), err)


# The same through the installed console script, for a few cases of each origin (YAML,
# model, lowering, rendering): the real process, exit code and stderr.
@pytest.mark.parametrize("name", ["malformed-yaml", "unknown-key", "stage-cycle", "newline-in-env", "lone-surrogate"])
def test_console_script_exits_2_without_traceback(name: str, tmp_path: Path) -> None:
    case = INVALID / f"{name}.yaml"
    shutil.copy(case, tmp_path / case.name)
    before = _listing(tmp_path)
    script = Path(sys.executable).with_name("imagespec")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from imagespec.cli import run; run()"]
    env = {k: v for k, v in os.environ.items() if k != "IMAGESPEC_CONFIG"}
    done = subprocess.run([*command, "generate", case.name], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr == case.with_suffix(".err").read_text(encoding="utf-8")
    assert _listing(tmp_path) == before
