"""Values mean what they say on the real engine (issue 11): a `with:` value with a space
builds as one argument, and every stop signal the compiler accepts builds on BuildKit,
while the ones it refuses at compile time are the ones BuildKit refuses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from imagespec.spec.values import stop_signal

from .conftest import LOCAL_CONFIG, docker, imagespec

APP = '#include <stdio.h>\nint main(void) { puts("hello from my app"); return 0; }\n'
SPEC = """\
extends: c
with:
  binary: "build/my app"
  build: "mkdir -p build && cc -static -O2 -o 'build/my app' main.c"
name: imagespec-it-space
tags: {git_sha: false, semver: false, extra: [test]}
"""


@pytest.mark.engine
def test_a_with_value_with_a_space_is_one_argument(engine, tmp_path: Path) -> None:
    (tmp_path / "main.c").write_text(APP)
    (tmp_path / "imagespec.yaml").write_text(SPEC)
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--format", "json", str(tmp_path / "imagespec.yaml"),
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    ref = json.loads(result.stdout.strip().splitlines()[-1])["tags"][0]
    try:
        assert docker("run", "--rm", "--network", "none", ref).stdout == "hello from my app\n"
    finally:
        docker("rmi", ref, check=False)


def _buildkit_accepts(signal: str) -> bool:
    # STOPSIGNAL is checked when the Dockerfile is converted: no image is made (cacheonly)
    done = subprocess.run(["docker", "build", "--quiet", "--output", "type=cacheonly", "-"],
                          input=f"FROM scratch\nSTOPSIGNAL {signal}\n", capture_output=True, text=True, timeout=120)
    return done.returncode == 0


def _compiler_accepts(signal: str) -> bool:
    try:
        stop_signal(signal)
    except ValueError:
        return False
    return True


@pytest.mark.engine
@pytest.mark.parametrize("signal", ["SIGTERM", "term", "SIGRTMIN+15", "SIGRTMIN+16", "SIGRTMAX-14", "SIGRTMAX-15",
                                    "SIGCLD", "SIGPOLL", "SIGSTKFLT", "SIGFOO", "1", "32", "64", "0"])
def test_the_compiler_accepts_the_stop_signals_buildkit_accepts(engine, signal: str) -> None:
    assert _compiler_accepts(signal) == _buildkit_accepts(signal)


HOSTILE = "a'b\"c $(touch /tmp/P1) `touch /tmp/P2` ; touch /tmp/P3 \\"
SAFE_FORMS = """\
parameters:
  msg: {type: string, default: hi}
stages:
  build:
    from: debian-slim
    env: {MSG: "${{ msg }}"}
    run:
      - mkdir /out && printf '%s\\n' ${{ msg }} >/out/printf
      - |
        cat <<EOF >/out/heredoc
        $MSG
        EOF
      - case ${{ msg }} in ${{ msg }}) echo matched >/out/case;; esac
      - sh -c 'printf "%s\\n" "$1"' sh ${{ msg }} >/out/shell-c
      - echo "$(printf '%s' ${{ msg }})" >/out/substitution
      - test ! -e /tmp/P1 && test ! -e /tmp/P2 && test ! -e /tmp/P3
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{from: build, src: /out, dest: /out}]
  entrypoint: [/bin/cat, /out/printf, /out/heredoc, /out/case, /out/shell-c, /out/substitution]
"""


@pytest.mark.engine
def test_a_hostile_value_runs_nothing_where_a_template_may_place_it(engine, tmp_path: Path) -> None:
    """QA: `cat <<EOF\\n${{ msg }}\\nEOF` ran the value's commands; it is refused now
    (tests/compiler/test_template_safety.py), and the forms its hint names, and the other
    places the scanner allows (a case pattern, `sh -c '…' sh ARG`, `$( )`), take the value
    as text on BuildKit: the build's last step fails if a `touch` ran."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "safe.yaml").write_text(SAFE_FORMS)
    (tmp_path / "imagespec.yaml").write_text("extends: safe\nwith:\n  msg: '" + HOSTILE.replace("'", "''") + "'\n"
                                             "name: dvh-template-contexts\ntags: {git_sha: false, semver: false, "
                                             "extra: [test]}\n")
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--format", "json", str(tmp_path / "imagespec.yaml"),
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    ref = json.loads(result.stdout.strip().splitlines()[-1])["tags"][0]
    try:
        out = docker("run", "--rm", "--network", "none", "--pull", "never", ref).stdout
        assert out == f"{HOSTILE}\n{HOSTILE}\nmatched\n{HOSTILE}\n{HOSTILE}\n"
    finally:
        docker("rmi", ref, check=False)
