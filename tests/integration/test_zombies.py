"""`imagespec test` catches a PID 1 that leaves its dead children unreaped (BP3), and
`init: true` (tini) fixes the same program: the check fails, then passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import LOCAL_CONFIG, imagespec

# The app reaps its own child, but that child left a grandchild behind: an orphan,
# which the kernel hands to PID 1. When it exits, only a PID 1 that reaps (tini) frees it.
PROGRAM = ("import os, signal, sys, time\\n"
           "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\\n"
           "child = os.fork()\\n"
           "if child == 0:\\n"
           "    if os.fork() == 0:\\n        time.sleep(0.3)\\n        os._exit(0)\\n"
           "    os._exit(0)\\n"
           "os.waitpid(child, 0)\\n"
           "time.sleep(1)\\n"
           "print('forked', flush=True)\\n"
           "time.sleep(3600)\\n")
SPEC = f"""\
name: imagespec-it-zombies
tags: {{git_sha: false, semver: false, extra: [%s]}}
final:
  from: python-runtime
  init: %s
  entrypoint: [python3, -c, "{PROGRAM}"]
"""


@pytest.mark.engine
@pytest.mark.parametrize(("init", "reaped"), [("false", False), ("true", True)])
def test_zombies_are_reported_unless_an_init_reaps_them(built, tmp_path: Path, init: str, reaped: bool) -> None:
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(SPEC % (f"init-{init}", init))
    tag = built(spec)["tags"][0]
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--image", tag, "--ready-log", "forked",
                       "--format", "json", str(spec))
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["zombies-reaped"]["ok"] is reaped, checks["zombies-reaped"]
    assert (result.returncode == 0) is reaped, result.stdout[-2000:]


# A static C program on scratch with no SIGTERM handler, which leaves an orphan behind:
# as PID 1 it would ignore `docker stop` for 10 s and never reap the orphan.
ORPHANS_C = r"""
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    pid_t child = fork();
    if (child == 0) {
        if (fork() == 0) { usleep(300000); _exit(0); }
        _exit(0);
    }
    waitpid(child, NULL, 0);
    sleep(1);
    puts("forked");
    fflush(stdout);
    for (;;) pause();
}
"""
SCRATCH_SPEC = """\
name: imagespec-it-zombies-scratch
tags: {git_sha: false, semver: false, extra: [musl-tini]}
stages:
  build:
    from: gcc-build
    copy: [orphans.c]
    run: mkdir -p /out && gcc -static -O2 -o /out/orphans orphans.c
    artifacts: [/out/orphans]
final:
  from: scratch
  init: true
  copy: [{from: build, src: /out/orphans, dest: /orphans}]
  entrypoint: [/orphans]
"""


@pytest.mark.engine
def test_the_small_static_tini_on_scratch_reaps_forwards_and_stops_fast(built, tmp_path: Path) -> None:
    """The shell-less finals' tini, built against musl (issue #12: 60 KB instead of
    glibc's 708 KB), still does what BP3 asks on the engine: PID 1, the orphan reaped,
    SIGTERM forwarded to a program without a handler, so `docker stop` is quick."""
    from .conftest import docker

    (tmp_path / "orphans.c").write_text(ORPHANS_C)
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(SCRATCH_SPEC)
    summary = built(spec)
    tag = summary["tags"][0]
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--image", tag, "--ready-log", "forked",
                       "--format", "json", str(spec))
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    for name in ("pid1-init", "zombies-reaped", "stop-graceful", "runs-read-only", "process-user"):
        assert checks[name]["ok"], checks[name]
    assert result.returncode == 0, result.stdout[-2000:]
    version = docker("run", "--rm", "--network", "none", "--entrypoint", "/usr/bin/tini", tag, "--version")
    assert version.stdout.startswith("tini version 0.19"), version.stdout
    history = docker("history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", summary["image_id"]).stdout
    tini_layer = next(row for row in history.splitlines() if "/usr/bin/tini " in row.split("\t")[1]
                      and row.split("\t")[1].startswith("COPY"))
    size = tini_layer.split("\t")[0]
    assert size.endswith("kB") and float(size[:-2]) < 150, tini_layer  # glibc's tini-static: 708 kB


@pytest.mark.engine
def test_the_c_preset_stops_fast_and_reaps_a_programs_orphans(built, tmp_path: Path) -> None:
    """A held-out app (#12): a C program that spawns children and installs no SIGTERM
    handler, on the `c` preset with nothing added. Without an init it ignored `docker
    stop` for 10 s as PID 1 and left its orphans as zombies; the preset runs it under tini."""
    (tmp_path / "orphans.c").write_text(ORPHANS_C)
    spec = tmp_path / "imagespec.yaml"
    spec.write_text("extends: c\nwith: {build: 'cc -O2 -static -o orphans orphans.c', binary: orphans, name: orphans}\n"
                    "name: imagespec-it-c-orphans\ntags: {git_sha: false, semver: false, extra: [preset]}\n")
    tag = built(spec)["tags"][0]
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--image", tag, "--ready-log", "forked",
                       "--format", "json", str(spec))
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["zombies-reaped"]["ok"] and checks["stop-graceful"]["ok"], checks
    assert result.returncode == 0, result.stdout[-2000:]
