"""The failure paths of the main job, for real: no engine, a failing RUN, a tag
conflict on push. Each ends in one clear message and its own exit code."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests import tools
from tests.leftovers import processes_with, untagged

from .conftest import LOCAL_CONFIG, docker, imagespec

FAILING = """\
name: imagespec-it-fails
version: 0.0.1
stages:
  build:
    from: debian-slim
    run:
      - echo step one
      - echo about to fail && exit 7
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{from: build, src: /out, dest: /out}]
  cmd: [sleep, "1"]
"""


def test_no_engine_is_exit_3_with_the_systems_words(tmp_path: Path) -> None:
    spec = Path(__file__).resolve().parents[2] / "examples" / "go-hello" / "imagespec.yaml"
    result = imagespec("build", "--config", str(LOCAL_CONFIG), str(spec),
                       env={"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"})
    assert result.returncode == 3, result.stderr
    assert f"cannot reach the Docker Engine at unix://{tmp_path}/no-such.sock: No such file or directory" \
        in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.engine
def test_failing_run_names_the_instruction_and_the_spec_line(engine, tmp_path: Path) -> None:
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(FAILING)
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--progress", "plain", str(spec), cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()
    message = "\n".join(last[-30:])
    assert "exit 7" in message  # the failing instruction is named
    assert "imagespec.yaml:7:" in message or "imagespec.yaml:8:" in message, message  # its spec location
    assert "Traceback" not in result.stderr
    leftovers = docker("images", "-q", "imagespec-it-fails").stdout.strip()
    assert leftovers == ""  # no tag applied for a failed build


def _registry_up() -> bool:
    try:
        urllib.request.urlopen("http://127.0.0.1:5000/v2/", timeout=3)
    except OSError:
        return False
    return True


@pytest.mark.engine
def test_push_refuses_to_move_an_immutable_tag(engine, tmp_path: Path) -> None:
    if not _registry_up():
        tools.unavailable("no registry on 127.0.0.1:5000; run scripts/start-registry.sh")
    run_id = str(time.time_ns())
    spec = tmp_path / "imagespec.yaml"
    # int(): a leading zero (1.0.066850) is not semantic versioning
    base = f"""\
name: imagespec-it-push
registry: 127.0.0.1:5000/imagespec-it
version: 1.0.{int(run_id[-6:])}
tags: {{git_sha: false}}
final:
  from: debian-slim
  env: {{RUN: "{run_id}", VARIANT: "%s"}}
  cmd: [sleep, "1"]
"""
    spec.write_text(base % "a")
    first = imagespec("build", "--config", str(LOCAL_CONFIG), "--push", "--format", "json", str(spec), cwd=tmp_path)
    tags = []
    try:
        assert first.returncode == 0, first.stderr[-2000:]
        summary = json.loads(first.stdout.strip().splitlines()[-1])
        tags += summary["tags"]
        assert summary["pushed"], summary
        spec.write_text(base % "b")  # same version, different image
        second = imagespec("build", "--config", str(LOCAL_CONFIG), "--push", str(spec), cwd=tmp_path)
        assert second.returncode == 1, second.stderr[-2000:]
        assert "sha256:" in second.stderr and "--force" in second.stderr, second.stderr[-2000:]
        # its tags went back to the first image, and the refused one, nobody's, with them
        assert untagged("imagespec-it-push") == []
        forced = imagespec("build", "--config", str(LOCAL_CONFIG), "--push", "--force", "--format", "json", str(spec),
                           cwd=tmp_path)
        assert forced.returncode == 0, forced.stderr[-2000:]
    finally:
        subprocess.run(["docker", "rmi", "-f", *tags], capture_output=True)
        # the first image lost its tags to the forced one but keeps its pushed digest
        _remove_digests("127.0.0.1:5000/imagespec-it/imagespec-it-push")


def _remove_digests(repository: str) -> None:
    """What is left of ``repository`` after its tags went: images known by a pushed digest."""
    left = docker("images", "--digests", "--format", "{{.Repository}}@{{.Digest}}", repository, check=False)
    found = [ref for ref in left.stdout.split() if not ref.endswith("@<none>")]
    if found:
        docker("rmi", *found, check=False)


@pytest.mark.engine
def test_a_quiet_push_of_one_spec_prints_its_tags_and_nothing_else(engine, tmp_path: Path) -> None:
    """README: quiet "prints nothing unless the build fails". Was: `SBOM: read from…`, all of
    docker push's progress and the `built …` line on stderr (a fleet's push was quiet)."""
    if not _registry_up():
        tools.unavailable("no registry on 127.0.0.1:5000; run scripts/start-registry.sh")
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(f"name: imagespec-it-quiet\nregistry: 127.0.0.1:5000/imagespec-it\nversion: 1.0.{time.time_ns() % 10**6}\n"
                    "tags: {git_sha: false}\nfinal:\n  from: debian-slim\n  cmd: [sleep, '1']\n")
    done = imagespec("build", "--config", str(LOCAL_CONFIG), "--push", "--progress", "quiet", str(spec), cwd=tmp_path)
    tags = done.stdout.split()
    try:
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stderr == "" and len(tags) == 4 and all(t.startswith("127.0.0.1:5000/") for t in tags), done
    finally:
        subprocess.run(["docker", "rmi", "-f", *tags], capture_output=True)


MERGED_FAILS = """\
name: imagespec-it-merged-fails
version: 0.0.1
stages:
  build:
    from: debian-slim
    run:
      - echo step one
      - %s
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{from: build, src: /out, dest: /out}]
  cmd: [sleep, "1"]
"""


def _build_fails(tmp_path: Path, text: str) -> str:
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(text)
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--progress", "plain", str(spec), cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return result.stderr


def _reported_at(stderr: str) -> str:
    """The spec location the error line starts with (`…/imagespec.yaml:8:9: build failed …`)."""
    line = next(line for line in reversed(stderr.splitlines()) if "build failed at" in line)
    return line.split("imagespec.yaml:", 1)[1].split(":", 1)[0]


@pytest.mark.engine
def test_a_missing_program_in_a_merged_run_names_its_own_spec_line(engine, tmp_path: Path) -> None:
    stderr = _build_fails(tmp_path, MERGED_FAILS % "imagespec-no-such-tool --version")
    assert _reported_at(stderr) == "8", stderr[-2000:]  # the second command's line, not the RUN's first


@pytest.mark.engine
def test_an_unnamed_failure_in_a_merged_run_lists_the_lines_it_may_be(engine, tmp_path: Path) -> None:
    stderr = _build_fails(tmp_path, MERGED_FAILS % '"false"')
    hint = next(line for line in stderr.splitlines() if line.strip().startswith("hint: one of the commands"))
    assert "imagespec.yaml:7:" in hint and "imagespec.yaml:8:" in hint, stderr[-2000:]
    assert _reported_at(stderr) == "6", stderr[-2000:]  # the `run:` key holding both, not one guessed line


SAME_LINE_TWICE = """\
name: imagespec-it-same-line
version: 0.0.1
stages:
  bad:
    from: debian-slim
    env: {FLAG: "no"}
    run:
      - mkdir -p /out && test "$FLAG" = yes
    artifacts: [/out]
  good:
    from: debian-slim
    env: {FLAG: "yes"}
    run:
      - mkdir -p /out && test "$FLAG" = yes
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{from: good, src: /out, dest: /good}, {from: bad, src: /out, dest: /bad}]
  cmd: [sleep, "1"]
"""


@pytest.mark.engine
def test_identical_run_lines_in_two_stages_fail_at_their_own_spec_line(engine, tmp_path: Path) -> None:
    stderr = _build_fails(tmp_path, SAME_LINE_TWICE)
    assert _reported_at(stderr) == "8", stderr[-2000:]  # stage `bad`'s run, not `good`'s (line 14)


HEREDOC_FAILS = """\
name: imagespec-it-heredoc-fails
version: 0.0.1
features: [heredoc]
stages:
  build:
    from: debian-slim
    run:
      - |
        mkdir -p /out
        echo made /out
      - test -f /out/missing
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{from: build, src: /out, dest: /out}]
  cmd: [sleep, "1"]
"""


@pytest.mark.engine
def test_a_failure_in_a_merged_heredoc_run_is_named_by_its_trace(engine, tmp_path: Path) -> None:
    stderr = _build_fails(tmp_path, HEREDOC_FAILS)
    assert "+ test -f /out/missing" in stderr  # set -ex traced it: the last command run
    assert _reported_at(stderr) == "11", stderr[-2000:]  # the second command, not the first (line 8)


USER_BASE = """\
name: imagespec-it-ubase
version: 1.0.0
final:
  from: debian-slim
  cmd: [/bin/true]
"""
USER_APP = """\
name: imagespec-it-uapp
version: 1.0.0
final:
  from: {image: "imagespec-it-ubase:1.0.0", family: debian%s}
  cmd: [/usr/bin/id, -u]
"""


@pytest.mark.engine
def test_an_app_making_a_user_its_base_has_is_pointed_at_its_from_with_the_fix(engine, tmp_path: Path) -> None:
    """BP8: one `imagespec build` of an app FROM an image imagespec built (its user 65532
    made there) fails at the useradd step; the failure names `final.from`, where the fix
    goes, and says it; with the fix the app runs as the base's user."""
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "imagespec.yaml").write_text(USER_BASE)
    try:
        done = imagespec("build", "--config", str(LOCAL_CONFIG), "--progress", "quiet", "base/imagespec.yaml",
                         cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        stderr = _build_fails(tmp_path, USER_APP % "")
        assert _reported_at(stderr) == "4", stderr[-2000:]  # final.from, not the `final:` the step came from
        assert "already exists" in stderr
        hint = next(line for line in stderr.splitlines() if line.strip().startswith("hint: the base image already"))
        assert "`user: 65532` in `final.from`" in hint, hint
        assert docker("images", "-q", "imagespec-it-uapp").stdout.strip() == ""
        (tmp_path / "imagespec.yaml").write_text(USER_APP % ", user: 65532")
        done = imagespec("build", "--config", str(LOCAL_CONFIG), "--progress", "quiet", "imagespec.yaml", cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        ran = docker("run", "--rm", "--network", "none", "imagespec-it-uapp:1.0.0")
        assert ran.stdout.strip() == "65532", ran.stderr
    finally:
        for repo in ("imagespec-it-uapp", "imagespec-it-ubase"):
            tags = docker("images", "--format", "{{.Repository}}:{{.Tag}}", repo).stdout.split()
            if tags:
                docker("rmi", "--force", *tags)


@pytest.mark.engine
def test_testing_a_spec_never_built_points_at_its_name_with_the_build_command(engine, tmp_path: Path) -> None:
    """`imagespec test SPEC` before `imagespec build SPEC`: the tag it reads comes from the
    spec's `name:` and `version:`, so that is where the message points, and the hint is the
    build command with the same spec and configuration."""
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(FAILING.replace("imagespec-it-fails", "imagespec-it-never-built"))
    result = imagespec("test", str(spec), "--config", str(LOCAL_CONFIG), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    first, hint = result.stderr.strip().splitlines()[:2]
    assert first.startswith("imagespec.yaml:1:1: inspect imagespec-it-never-built:0.0.1: no such image"), first
    assert hint.strip() == (f"hint: build it first: `imagespec build {spec} --config {LOCAL_CONFIG}` (it tags the image "
                            "from `name:` and `version:`), or name the image to test with --image")
    given = imagespec("test", str(spec), "--image", "imagespec-it-never-built:9.9.9", "--config", str(LOCAL_CONFIG),
                      cwd=tmp_path)
    assert given.returncode == 2 and given.stderr.startswith("imagespec: inspect imagespec-it-never-built:9.9.9: ")
    assert "Traceback" not in result.stderr + given.stderr


def test_an_unknown_target_stage_is_bad_input_naming_the_stages(tmp_path: Path) -> None:
    """Was: exit 1, BuildKit's "target stage could not be found" after the build started."""
    spec = Path(__file__).resolve().parents[2] / "examples" / "go-hello" / "imagespec.yaml"
    result = imagespec("build", "--config", str(LOCAL_CONFIG), str(spec), "--target", "buld",
                       env={"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"})  # refused before the engine
    assert result.returncode == 2, result.stderr
    assert "--target 'buld': no stage of that name" in result.stderr
    assert "hint: did you mean 'build'?" in result.stderr and "final" in result.stderr


def test_a_target_stage_is_never_pushed(tmp_path: Path) -> None:
    """Was (stranger QA): `--target build --push` pushed the Go toolchain stage as the
    release's X.Y.Z and moved latest, past every policy of the final."""
    spec = Path(__file__).resolve().parents[2] / "examples" / "go-hello" / "imagespec.yaml"
    result = imagespec("build", "--config", str(LOCAL_CONFIG), str(spec), "--target", "build", "--push",
                       env={"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"})  # refused before the engine
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("imagespec: --push: a --target build is the stage 'build', not the spec's image, "
                                    "and is never pushed\n"), result.stderr
    assert "tagged go-hello:stage-build, or -t's tags" in result.stderr, result.stderr


def test_a_target_stage_gets_a_stage_tag_and_no_release_tag(engine, tmp_path: Path) -> None:
    """A stage is not the release: its build leaves X.Y.Z, latest and the spec's tags
    where they were, and is tagged REPOSITORY:stage-NAME (or with -t's tags alone)."""
    spec = tmp_path / "imagespec.yaml"
    spec.write_text("name: imagespec-it-stage\nversion: 1.2.3\nstages:\n  build:\n    from: debian-slim\n"
                    "    run: [\"echo built > /built\"]\n    artifacts: [/built]\nfinal:\n  from: static\n  copy: [{from: build, src: /built, "
                    "dest: /built}]\n  cmd: [/built]\n")
    try:
        result = imagespec("build", "--config", str(LOCAL_CONFIG), str(spec), "--target", "build", "--progress",
                           "quiet", "--format", "json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["tags"] == ["imagespec-it-stage:stage-build"]
        named = imagespec("build", "--config", str(LOCAL_CONFIG), str(spec), "--target", "build", "-t",
                          "imagespec-it-stage:debug", "--progress", "quiet", "--format", "json", cwd=tmp_path)
        assert json.loads(named.stdout)["tags"] == ["imagespec-it-stage:debug"], named.stderr
        listed = docker("images", "--format", "{{.Tag}}", "imagespec-it-stage").stdout.split()
        assert sorted(listed) == ["debug", "stage-build"]
        ran = docker("run", "--rm", "--pull", "never", "--network", "none", "imagespec-it-stage:debug", "cat", "/built")
        assert ran.stdout == "built\n"
    finally:  # every tag of the repository: a regression would have applied the release's
        left = docker("images", "--format", "{{.Repository}}:{{.Tag}}", "imagespec-it-stage").stdout.split()
        if left:
            docker("rmi", *left, check=False)


def test_a_ready_log_that_is_not_a_regex_is_bad_input_before_any_container(tmp_path: Path) -> None:
    """Was: a traceback (re.error), exit 1, once the container had started."""
    spec = Path(__file__).resolve().parents[2] / "examples" / "go-hello" / "imagespec.yaml"
    result = imagespec("test", "--config", str(LOCAL_CONFIG), str(spec), "--ready-log", "(",
                       env={"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"})
    assert result.returncode == 2, result.stderr
    assert "--ready-log '(' is not a regular expression" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("port", ["99999", "0", "-5"])
def test_an_http_port_out_of_range_is_bad_input_before_any_container(tmp_path: Path, port: str) -> None:
    """Was: a container started, 10 s of waiting for an answer on no port, exit 1."""
    spec = Path(__file__).resolve().parents[2] / "examples" / "go-hello" / "imagespec.yaml"
    result = imagespec("test", "--config", str(LOCAL_CONFIG), str(spec), "--http-port", port,
                       env={"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"})
    assert result.returncode == 2, result.stderr
    assert "'--http-port'" in result.stderr and "1<=x<=65535" in result.stderr


@pytest.mark.parametrize("image", ["NOT VALID", "app@sha256:abc", "app:1\nname: x"])
def test_an_invalid_image_to_test_is_bad_input_from_the_reference_grammar(tmp_path: Path, image: str) -> None:
    """Was: exit 3 with the engine's 400 (the engine asked first); as `build -t 'BAD TAG'`."""
    spec = Path(__file__).resolve().parents[2] / "examples" / "go-hello" / "imagespec.yaml"
    no_engine = {"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}
    for args in (("--image", image, str(spec)), (image,)):
        result = imagespec("test", "--config", str(LOCAL_CONFIG), *args, env=no_engine)
        assert result.returncode == 2, result.stderr
        flag = "--image" if len(args) > 1 else "IMAGE"
        assert result.stderr.startswith(f"imagespec: {flag}: "), result.stderr
        assert len(result.stderr.splitlines()) == 2 and "\n  hint: " in result.stderr, result.stderr


@pytest.mark.engine
def test_a_failed_step_of_a_preset_is_reported_at_the_spec_that_extends_it(engine, tmp_path: Path) -> None:
    """The c preset's `install -D -m 0755 ${{ binary }} …` with the default binary `app`
    where make builds bin/wc (QA): was reported at templates/presets/c.yaml:22:5 only."""
    (tmp_path / "wc.c").write_text("int main(void) { return 0; }\n")
    (tmp_path / "Makefile").write_text("bin/wc: wc.c\n\tmkdir -p bin\n\t$(CC) -static -o $@ wc.c\n")
    stderr = _build_fails(tmp_path, "extends: c\nname: imagespec-it-preset-step\nversion: 0.0.1\n")
    assert "install: cannot stat 'app'" in stderr, stderr[-2000:]
    assert _reported_at(stderr) == "1", stderr[-2000:]  # the spec's `extends: c`
    hint = next(line for line in stderr.splitlines() if line.strip().startswith("hint: the failed step is the template's"))
    assert "presets/c.yaml:24:" in hint and "`with: {binary: …, name: …}`" in hint, hint


SLOW = """\
name: imagespec-it-sigterm-{which}
version: 0.0.1
stages:
  build:
    from: debian-slim
    run:
      - mkdir -p /out && sleep 120 && echo {marker} > /out/done
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{{from: build, src: /out, dest: /out}}]
  cmd: [sleep, "1"]
"""


def _terminated_mid_step(folder: Path, markers: list[str], *args: str) -> tuple[int, str]:
    """Start `imagespec build ARGS` in ``folder``, send it SIGTERM (what a cancelled CI job
    or `docker stop` sends) once every marker's step runs, and return its exit code and
    stderr after making sure those steps' processes ended."""
    import signal
    import sys

    err = folder / "stderr.txt"
    with err.open("w") as stderr:
        child = subprocess.Popen([sys.executable, "-m", "imagespec", "build", "--config", str(LOCAL_CONFIG),
                                  "--progress", "plain", *args], stdout=subprocess.DEVNULL, stderr=stderr,
                                 stdin=subprocess.DEVNULL, cwd=folder)
        try:
            deadline = time.monotonic() + 300
            while not all(processes_with(m) for m in markers):
                assert child.poll() is None, err.read_text()[-3000:]
                assert time.monotonic() < deadline, "the sleeping steps never started: " + err.read_text()[-3000:]
                time.sleep(0.3)
            began = time.monotonic()
            child.send_signal(signal.SIGTERM)
            code = child.wait(timeout=60)
            stopped_in = time.monotonic() - began
        finally:
            if child.poll() is None:
                child.kill()
    deadline = time.monotonic() + 15
    while any(processes_with(m) for m in markers) and time.monotonic() < deadline:
        time.sleep(0.2)
    # without the handler Python died at once and the build, in a session of its own, ran on
    assert [m for m in markers if processes_with(m)] == [], "a build step outlived the run"
    assert stopped_in < 30, stopped_in
    return code, err.read_text()


def _tags_of(*names: str) -> list[str]:
    listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    return [ref for ref in listed if ref.rsplit(":", 1)[0].endswith(names)]


@pytest.mark.engine
def test_sigterm_stops_the_build_as_ctrl_c_does(engine, tmp_path: Path) -> None:
    """Exit 143 (128 + SIGTERM), the build process and its step stopped, no tag applied,
    no waiting SBOM tag left."""
    marker = f"imagespec-sigterm-{secrets.token_hex(4)}"
    (tmp_path / "imagespec.yaml").write_text(SLOW.format(which="one", marker=marker))
    code, err = _terminated_mid_step(tmp_path, [marker], str(tmp_path / "imagespec.yaml"))
    assert code == 143, err[-3000:]
    assert "Traceback" not in err
    assert "interrupted" in err.lower(), err[-2000:]
    assert _tags_of("imagespec-it-sigterm-one") == []


@pytest.mark.engine
def test_sigterm_stops_every_build_of_a_fleet(engine, tmp_path: Path) -> None:
    """Both targets' bake processes (each in a session of its own) stop with the run."""
    markers = [f"imagespec-sigterm-{which}-{secrets.token_hex(4)}" for which in ("a", "b")]
    for which, marker in zip(("a", "b"), markers, strict=True):
        (tmp_path / which).mkdir()
        (tmp_path / which / "imagespec.yaml").write_text(SLOW.format(which=which, marker=marker))
    code, err = _terminated_mid_step(tmp_path, markers, "--jobs", "2", str(tmp_path))
    assert code == 143, err[-3000:]
    assert "Traceback" not in err
    assert _tags_of("imagespec-it-sigterm-a", "imagespec-it-sigterm-b") == []
