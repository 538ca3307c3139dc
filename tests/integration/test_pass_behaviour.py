"""What the passes promise, shown on images built by `imagespec build` on the real
engine: not the Dockerfile's text (the golden files pin that) but what the image and
the build do. The plan-level twins of these tests are tests/compiler/test_pass_meaning.py.

Every image is named imagespec-it-behaviour-<run id>-… and removed by the test.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import LOCAL_CONFIG, docker, imagespec

pytestmark = pytest.mark.engine
RUN_ID = secrets.token_hex(3)
TAGS = "tags: {git_sha: false, semver: false, extra: [test]}"


@pytest.fixture
def build(engine, tmp_path: Path) -> Iterator:
    """build(spec text, files) -> (CompletedProcess, image ref or None); removes the images."""
    refs: list[str] = []

    def run(text: str, files: dict[str, str], *extra: str) -> tuple[subprocess.CompletedProcess, str | None]:
        for name, content in files.items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(content)
        (tmp_path / "imagespec.yaml").write_text(text)
        result = imagespec("build", "--config", str(LOCAL_CONFIG), "--progress", "plain", "--format", "json", *extra,
                           str(tmp_path / "imagespec.yaml"), cwd=tmp_path)
        if result.returncode != 0:
            return result, None
        ref = json.loads(result.stdout.strip().splitlines()[-1])["tags"][0]
        refs.append(ref)
        return result, ref

    yield run
    if refs:
        docker("rmi", *dict.fromkeys(refs), check=False)


def name(what: str) -> str:
    return f"imagespec-it-behaviour-{RUN_ID}-{what}"


# -- DL4006 (set_pipefail): a failure inside a pipe fails the build ---------------------------

PIPE = """\
name: {name}
{tags}
stages:
  build:
    from: debian-slim
    run: ["mkdir -p /out && {command} && echo built > /out/ok"]
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{{from: build, src: /out, dest: /out}}]
  cmd: [cat, /out/ok]
"""


def test_a_failing_command_in_a_pipe_fails_the_build(build) -> None:
    failed, _ = build(PIPE.format(name=name("pipe"), tags=TAGS, command="false | true"), {})
    assert failed.returncode == 1, failed.stdout[-1000:] + failed.stderr[-2000:]
    assert "Traceback" not in failed.stderr
    # the same step with a pipe that succeeds builds: it was the hidden `false` that failed it
    passed, ref = build(PIPE.format(name=name("pipe"), tags=TAGS, command="echo x | cat"), {})
    assert passed.returncode == 0, passed.stderr[-2000:]
    assert docker("run", "--rm", "--network", "none", ref).stdout == "built\n"


# -- BP8/BP9 (add_nonroot_user, prepare_writable_dirs): the user owns its home and the
#    declared writable directory, on scratch (made in the helper stage) and on Debian ---------

WRITER_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* Writes a file at each argument ("~/x": under $HOME) and exits 1 at the first failure:
   a shell-less probe of what the runtime user may write (BP8, BP9). */
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        char path[4096];
        const char *home = getenv("HOME");
        if (strncmp(argv[i], "~/", 2) == 0)
            snprintf(path, sizeof path, "%s/%s", home ? home : "", argv[i] + 2);
        else
            snprintf(path, sizeof path, "%s", argv[i]);
        int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
        if (fd < 0 || write(fd, "ok\n", 3) != 3 || close(fd) != 0) {
            perror(path);
            return 1;
        }
        printf("wrote %s as uid %d\n", path, (int)getuid());
    }
    return 0;
}
"""

WRITER = """\
name: {name}
{tags}
stages:
  build:
    from: gcc-build
    copy: [writer.c]
    run: mkdir -p /out && gcc -static -O2 -o /out/writer writer.c
    artifacts: [/out/writer]
final:
  from: {final}
  user: {{uid: {uid}, name: {user}}}
  writable: [/data]
  copy: [{{from: build, src: /out/writer, dest: /usr/local/bin/writer}}]
  entrypoint: [/usr/local/bin/writer]
"""


@pytest.mark.parametrize(("final", "uid", "user"), [
    ("scratch", 65532, "nonroot"),
    ("debian-slim", 65532, "nonroot"),
    # the static base provides 65532 only: another user needs its own passwd entry and home
    ("static", 1000, "app"),
])
def test_the_user_owns_its_home_and_the_declared_writable_directory(build, final: str, uid: int, user: str) -> None:
    spec = WRITER.format(name=name(f"home-{final}"), tags=TAGS, final=final, uid=uid, user=user)
    result, ref = build(spec, {"writer.c": WRITER_C})
    assert ref, result.stderr[-3000:]
    run = ("run", "--rm", "--network", "none")
    home = docker(*run, ref, "~/probe", check=False)  # HOME comes from the image's /etc/passwd
    assert home.returncode == 0 and f"wrote /home/{user}/probe as uid {uid}" in home.stdout, home.stdout + home.stderr
    # read-only root (BP9): an anonymous volume starts as a copy of the image's directory,
    # owner included, as a Kubernetes volume prepared by the image would
    data = docker(*run, "--read-only", "-v", "/data", ref, "/data/probe", check=False)
    assert data.returncode == 0, data.stdout + data.stderr
    elsewhere = docker(*run, "--read-only", ref, "~/probe", check=False)
    assert elsewhere.returncode == 1 and "Read-only file system" in elsewhere.stderr  # the root really is read-only


@pytest.mark.parametrize("final", ["debian-slim", "scratch"])
def test_a_user_in_group_0_joins_the_root_group(build, final: str) -> None:
    """`USER 1000:0`, OpenShift's way (any uid, group root): the base's group 0 is joined,
    not made again. Was: `groupadd --gid 0` failed the build (GID '0' already exists)."""
    spec = WRITER.format(name=name(f"gid0-{final}"), tags=TAGS, final=final, uid=1000, user="app")
    spec = spec.replace("user: {uid: 1000, name: app}", "user: {uid: 1000, gid: 0, name: app}")
    result, ref = build(spec, {"writer.c": WRITER_C})
    assert ref, result.stderr[-3000:]
    assert docker("image", "inspect", "--format", "{{.Config.User}}", ref).stdout.strip() == "1000:0"
    home = docker("run", "--rm", "--network", "none", ref, "~/probe", check=False)
    assert home.returncode == 0 and "wrote /home/app/probe as uid 1000" in home.stdout, home.stdout + home.stderr
    if final == "debian-slim":
        ids = docker("run", "--rm", "--network", "none", "--entrypoint", "id", ref).stdout.strip()
        assert ids == "uid=1000(app) gid=0(root) groups=0(root)", ids


def test_a_shell_entrypoint_keeps_its_cmd_and_takes_docker_run_arguments(build) -> None:
    """`shell: true`: the script exec's the app with "$@", so the CMD stays the image's CMD
    and `docker run IMAGE ARGS` replaces it. Was: the CMD was folded into the script, and
    the arguments given to `docker run` were silently dropped."""
    spec = (f"name: {name('shell-cmd')}\n{TAGS}\nfinal:\n  from: debian-slim\n  shell: true\n"
            "  entrypoint: printf '%s|' \"home=$HOME\"\n  cmd: [a, \"b c\"]\n")
    result, ref = build(spec, {})
    assert ref, result.stderr[-3000:]
    run = ("run", "--rm", "--network", "none", ref)
    assert docker(*run).stdout == "home=/home/nonroot|a|b c|"
    assert docker(*run, "x y", "z").stdout == "home=/home/nonroot|x y|z|"


# -- BP4/BP15 (dockerignore): an allow-list context holds the declared files, never junk --------

CONTEXT = """\
name: {name}
{tags}
stages:
  build:
    from: debian-slim
    copy: [app.txt, src/]
    run: mkdir -p /out && find . -type f > /out/listing
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{{from: build, src: /out, dest: /out}}]
  cmd: [cat, /out/listing]
"""
JUNK = ("src/.env", "src/.git/HEAD", "src/__pycache__/m.cpython-311.pyc", "src/lib.pyc", "src/.venv/bin/python",
        "src/node_modules/left-pad/index.js", "src/notes.swp", ".env", ".git/HEAD")


def test_allow_list_context_holds_exactly_the_declared_files(build) -> None:
    files = {"app.txt": "app\n", "src/main.go": "package main\n", **{junk: "junk\n" for junk in JUNK}}
    result, ref = build(CONTEXT.format(name=name("context"), tags=TAGS), files)
    assert ref, result.stderr[-3000:]
    listing = docker("run", "--rm", "--network", "none", ref).stdout.split()
    assert sorted(listing) == ["./app.txt", "./src/main.go"]


# -- BP4 (order_for_cache, merge_run_steps): the dependency step is its own cache boundary ------

CACHE = """\
name: {name}
{tags}
stages:
  build:
    from: debian-slim
    dependencies:
      copy: [deps.txt]
      run: mkdir -p /deps && od -An -N8 -tx8 /dev/urandom > /deps/stamp
      downloads: {downloads}
{source}
    run: mkdir -p /out && cp /deps/stamp /out/deps && od -An -N8 -tx8 /dev/urandom > /out/build && echo {edition}
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{{from: build, src: /out, dest: /out}}]
  cmd: [cat, /out/deps, /out/build]
"""


def _stamps(ref: str) -> tuple[str, str]:
    deps, build_ = docker("run", "--rm", "--network", "none", ref).stdout.split()
    return deps, build_


@pytest.mark.parametrize("downloads", ["true", "false"])
@pytest.mark.parametrize("change", ["source", "build-command"])
def test_changing_the_source_or_build_keeps_the_dependency_step_cached(build, change: str, downloads: str) -> None:
    """Each dependency step writes a random stamp; a rebuild that reuses the step from
    the cache keeps the stamp, one that re-runs it does not. A stage without `copy:` has
    only the phase between its dependency and build steps (with downloads: false, not
    even the CA secret's mount)."""
    token = secrets.token_hex(8)  # no earlier run's cache can answer for this test
    files = {"deps.txt": f"{token}\n", "src.txt": "one\n"}
    source = "    copy: [src.txt]" if change == "source" else ""
    spec = dict(tags=TAGS, downloads=downloads, source=source)
    label = f"cache-{change}-{downloads}"
    first, ref = build(CACHE.format(**spec, name=name(f"{label}-1"), edition="one"), files)
    assert ref, first.stderr[-3000:]
    before = _stamps(ref)
    if change == "source":
        second, ref = build(CACHE.format(**spec, name=name(f"{label}-2"), edition="one"), {"src.txt": "two\n"})
    else:
        second, ref = build(CACHE.format(**spec, name=name(f"{label}-2"), edition="two"), {})
    assert ref, second.stderr[-3000:]
    after = _stamps(ref)
    assert after[0] == before[0], "the dependency step ran again: its cache was lost (BP4)"
    assert after[1] != before[1], "the build step was served from the cache after its input changed"
