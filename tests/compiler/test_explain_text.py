"""`imagespec explain` in a terminal of 80 columns: every line fits, every instruction
of the Dockerfile has its line, with where it came from and why (issue #16)."""

from __future__ import annotations

import os
import subprocess
import sys

from compiler_helpers import REPO


def test_explain_fits_80_columns_and_names_every_instruction() -> None:
    spec = REPO / "examples" / "preset-python" / "imagespec.yaml"
    done = subprocess.run([sys.executable, "-m", "imagespec", "explain", str(spec)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= 80, max(lines, key=len)
    heads = [line for line in lines if not line.startswith(" ")]
    dockerfile = (spec.parent / "Dockerfile").read_text(encoding="utf-8")
    keywords = [w.split()[0] for w in dockerfile.splitlines() if w and w[0].isalpha() and w.split()[0].isupper()]
    assert [h.split()[1] for h in heads] == keywords
    assert "templates/presets/python.yaml:" in done.stdout and "BP4" in done.stdout


def test_a_script_run_and_a_line_separator_in_a_value_show_as_the_dockerfile_has_them() -> None:
    """QA: a RUN written as a script (a command with a comment) showed as `RUN echo a # c
    && echo b`, as if the comment took the rest; a U+2028 in an ENV value split the line
    (str.splitlines splits there; BuildKit does not), and its rest read as an instruction
    of its own (`RUN touch /pwn`)."""
    from compiler_helpers import compile_text
    from imagespec.explain import explain

    spec = ("name: t\nstages:\n  build:\n    from: debian-slim\n    env: {A: \"x\\u2028RUN touch /pwn\"}\n"
            "    run: [\"echo a # c\", \"echo b\", \"echo c\"]\n    artifacts: [/out]\n"
            "  other:\n    from: debian-slim\n    run: [\"echo a\", \"cd /tmp\", \"echo b;\", \"echo c\"]\n"
            "    artifacts: [/out]\n"
            "final: {from: debian-slim, copy: [{from: build, src: /out, dest: /out}, "
            "{from: other, src: /out, dest: /other}], entrypoint: [/bin/true]}\n")
    compiled = compile_text(spec)
    shown = {line.summary for line in explain(compiled)}
    assert 'ENV A="x\\u2028RUN touch /pwn"' in shown, shown
    assert "RUN (a script) echo a # c ⏎ echo b ⏎ echo c" in shown, shown
    assert "RUN echo a && ( cd /tmp ) && ( echo b; ) && echo c" in shown, shown  # the Dockerfile's own grouping
    assert all("\n" not in line and "\u2028" not in line for line in shown)
