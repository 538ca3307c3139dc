"""Warnings about a build's input are not progress: `--progress quiet` silences the
build's progress (README "Build output"), not a `--build-arg` that no ARG declares
(BuildKit drops it with a warning lost in its own output) or a push from a dirty checkout
(the image would trace to no commit, BP14). Was: both went through the progress callback
and vanished under quiet; a fleet build did not check its --build-arg at all.

Each run stops at bad input after the warning (an unknown --target, an unknown builder,
a malformed --builder), so no engine builds anything."""

from __future__ import annotations

import subprocess
from pathlib import Path

from imagespec.cli import main

DECLARES = """name: greeter
version: 1.0.0
stages:
  build:
    from: debian-slim
    args: {GREETING: hello}
    run: mkdir -p /out && echo "$GREETING" > /out/greeting
    artifacts: [/out/greeting]
final:
  from: debian-slim
  copy: [{from: build, src: /out/greeting, dest: /greeting}]
  cmd: [/bin/cat, /greeting]
"""
PLAIN = """name: plain
version: 1.0.0
registry: 127.0.0.1:5000/team
final:
  from: {image: "127.0.0.1:5000/static:1", family: distroless, user: 65532}
  cmd: [/app]
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def test_an_undeclared_build_arg_is_said_under_progress_quiet(tmp_path: Path, capsys) -> None:
    spec = write(tmp_path / "imagespec.yaml", DECLARES)
    code = main(["build", "--progress", "quiet", "--build-arg", "GREETING=hi", "--build-arg", "NOPE=1",
                 "--target", "no-such-stage", str(spec)])
    err = capsys.readouterr().err
    assert code == 2 and "no-such-stage" in err  # stopped before the engine, after the warning
    assert warnings(err) == ["warning: --build-arg NOPE: no ARG NOPE in the Dockerfile, so it changes nothing "
                             "(its ARGs: GREETING; a spec declares them under `stages.NAME.args`)"]


def test_a_dirty_push_is_said_under_progress_quiet(tmp_path: Path, capsys) -> None:
    write(tmp_path / ".imagespec.yaml", "build: {builder: lefttest-no-such-builder}\n")
    spec = write(tmp_path / "imagespec.yaml", PLAIN)
    for args in (["init", "-q", "."], ["add", "-A"], ["commit", "-qm", "app"]):
        subprocess.run(["git", "-c", "user.email=dvp@example.com", "-c", "user.name=dvp", *args], cwd=tmp_path,
                       check=True, capture_output=True)
    write(tmp_path / "notes.txt", "not committed\n")
    code = main(["build", "--push", "--progress", "quiet", str(spec)])
    err = capsys.readouterr().err
    assert code in (2, 3), err  # the builder is unknown (exit 2), or no docker CLI answers (3)
    [warning] = warnings(err)
    assert warning.startswith("warning: pushing from a checkout with uncommitted changes (notes.txt)")


def test_a_fleet_names_the_targets_without_the_arg_once_per_arg(tmp_path: Path, capsys) -> None:
    write(tmp_path / "greeter" / "imagespec.yaml", DECLARES)
    write(tmp_path / "plain" / "imagespec.yaml", PLAIN)
    code = main(["build", "--progress", "quiet", "--build-arg", "GREETING=hi", "--build-arg", "NOPE=1",
                 "--build-arg", "NOPE=2", "--build-arg", "HTTP_PROXY=http://proxy:3128", "--builder", "bad name!",
                 str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "is not a builder name" in err
    assert warnings(err) == [
        "warning: --build-arg GREETING: no ARG GREETING in the Dockerfile of plain (of 2 targets), so it changes "
        "nothing there (a spec declares them under `stages.NAME.args`)",
        "warning: --build-arg NOPE: no ARG NOPE in any target's Dockerfile (greeter, plain), so it changes nothing "
        "there (a spec declares them under `stages.NAME.args`)"]
