"""`imagespec build` compiles in memory and filters the context with the .dockerignore
it generated, even where none is committed: nothing is written into the context."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from imagespec.errors import SpecError

from .conftest import LOCAL_CONFIG, docker, imagespec

SPEC = """\
name: imagespec-it-context
tags: {git_sha: false, semver: false, extra: [test]}
ignore: [secret.txt, "*.log"]
final:
  from: debian-slim
  copy: [{src: ., dest: /app/}]
  cmd: [ls, -A, /app]
"""


@pytest.mark.engine
def test_generated_dockerignore_filters_the_context(engine, tmp_path: Path) -> None:
    (tmp_path / "imagespec.yaml").write_text(SPEC)
    (tmp_path / "app.txt").write_text("keep\n")
    (tmp_path / "secret.txt").write_text("never in the image\n")
    (tmp_path / "debug.log").write_text("noise\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--format", "json", str(tmp_path / "imagespec.yaml"),
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    ref = json.loads(result.stdout.strip().splitlines()[-1])["tags"][0]
    try:
        listing = docker("run", "--rm", "--network", "none", ref).stdout.split()
        assert "app.txt" in listing
        # the spec is an instruction for the build, never part of the application (BP6)
        assert not {"secret.txt", "debug.log", ".git", "Dockerfile", ".dockerignore", "imagespec.yaml"} & set(listing), \
            listing
        assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written into the context
    finally:
        docker("rmi", ref, check=False)


OTHER_SPEC = SPEC.replace("imagespec-it-context", "imagespec-it-context-other") + "dockerfile: Dockerfile.other\n"


def build_two_specs_from_their_committed_files(folder: Path, env: dict[str, str] | None = None) -> None:
    """Generate two specs of one folder, then let the engine read the committed files
    (`docker build -f`): each image holds the application's file alone."""
    import os
    import subprocess

    (folder / "imagespec.yaml").write_text(SPEC)
    (folder / "imagespec.other.yaml").write_text(OTHER_SPEC)
    (folder / "app.txt").write_text("keep\n")
    (folder / "secret.txt").write_text("never in the image\n")
    specs = [str(folder / "imagespec.yaml"), str(folder / "imagespec.other.yaml")]
    generated = imagespec("generate", "--config", str(LOCAL_CONFIG), *specs)
    assert generated.returncode == 0, generated.stderr
    assert imagespec("check", "--config", str(LOCAL_CONFIG), *specs).returncode == 0
    assert (folder / "Dockerfile.other.dockerignore").is_file()

    def engine(*args: str) -> str:
        done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "DOCKER_BUILDKIT": "1", **(env or {})})
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    for dockerfile in ("Dockerfile", "Dockerfile.other"):
        tag = f"imagespec-it-context-{dockerfile.lower().replace('.', '-')}:test"
        engine("build", "--network", "host", "-f", str(folder / dockerfile), "-t", tag, str(folder))
        try:
            listing = engine("run", "--rm", "--network", "none", tag).split()
        finally:
            engine("rmi", tag)
        assert listing == ["app.txt"], (dockerfile, listing)


@pytest.mark.engine
def test_committed_files_of_two_specs_in_one_folder_keep_each_other_out(engine, tmp_path: Path) -> None:
    """#11, with the engine's own reading of the committed files (`docker build -f`, not
    `imagespec build`): BuildKit takes Dockerfile.other.dockerignore for Dockerfile.other
    instead of the context's .dockerignore, and neither image holds a spec, a Dockerfile
    or an ignore file of either spec."""
    build_two_specs_from_their_committed_files(tmp_path)


BRACKETS = """\
name: imagespec-it-brackets
tags: {git_sha: false, semver: false, extra: [test]}
final:
  from: debian-slim
  copy:
    - {src: "data[1].txt", dest: /d.txt}
    - {src: "logs/*.txt", dest: /logs/}
  cmd: [/bin/cat, /d.txt, /logs/a.txt]
"""


@pytest.mark.engine
def test_a_bracket_in_a_copied_name_is_the_names_own_not_a_pattern(built, tmp_path: Path) -> None:
    """A spec's paths have the wildcards `*` and `?` only: `data[1].txt` is that file, in
    the COPY and in the ignore file's allow-list (contract.as_pattern). Was: BuildKit read
    `[1]` as a character class and copied data1.txt, or nothing with exit 0."""
    (tmp_path / "imagespec.yaml").write_text(BRACKETS)
    (tmp_path / "data[1].txt").write_text("the file named\n")
    (tmp_path / "data1.txt").write_text("what [1] would match\n")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.txt").write_text("a pattern still matches\n")
    ref = built(tmp_path / "imagespec.yaml")["tags"][0]
    assert docker("run", "--rm", "--network", "none", ref).stdout == "the file named\na pattern still matches\n"


@pytest.mark.engine
def test_a_binary_left_by_a_host_build_stays_out_of_the_c_presets_context(built, tmp_path: Path) -> None:
    """The c preset ignores its `binary` and object files: `make` in the stage found a host
    build's `hello` up to date and installed it (a dynamic host binary on scratch: exec
    failed). Here the stand-in is a script, newer than main.c, that prints something else."""
    import os
    import shutil

    project = tmp_path / "preset-c"
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples" / "preset-c", project)
    for name in ("Dockerfile", ".dockerignore"):
        (project / name).unlink(missing_ok=True)
    host_build = project / "hello"
    host_build.write_text("#!/bin/sh\necho built on the host\n")
    host_build.chmod(0o755)
    (project / "main.o").write_text("not an object\n")
    later = (project / "main.c").stat().st_mtime + 3600
    os.utime(host_build, (later, later))
    ref = built(project / "imagespec.yaml")["tags"][0]
    container = docker("run", "-d", "--network", "none", ref).stdout.strip()  # a server: it keeps running
    try:
        for _ in range(20):
            out = docker("logs", container).stdout
            if out:
                break
            time.sleep(0.25)
        assert "preset-c ready" in out and "built on the host" not in out, out
    finally:
        docker("rm", "-f", "-v", container, check=False)


PATTERNS = """\
name: imagespec-it-patterns
tags: {git_sha: false, semver: false, extra: [test]}
stages:
  build:
    from: debian-slim
    copy: ["*.txt", "conf/*.conf"]
    run: mkdir -p /out && find . -type f | sort > /out/files
    artifacts: [/out/files]
final:
  from: debian-slim
  copy: [{from: build, src: /out/files, dest: /files}]
  cmd: [/bin/cat, /files]
"""


@pytest.mark.engine
def test_a_build_stages_pattern_copies_every_match_into_its_folder(built, tmp_path: Path) -> None:
    """Was: `COPY *.txt ./*.txt`, one file named `*.txt` holding the last match."""
    (tmp_path / "imagespec.yaml").write_text(PATTERNS)
    for name in ("a.txt", "b.txt", "conf/x.conf", "conf/y.conf", "conf/z.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(name)
    ref = built(tmp_path / "imagespec.yaml")["tags"][0]
    assert docker("run", "--rm", "--network", "none", ref).stdout.split() == [
        "./a.txt", "./b.txt", "./conf/x.conf", "./conf/y.conf"]


# --- an ignore file written by hand: honoured or the build stops --------------------------

MINE = """\
name: imagespec-it-hand-ignore
tags: {git_sha: false, semver: false, extra: [test]}
final:
  from: debian-slim
  copy: [{src: ., dest: /app/}]
  cmd: [ls, -A, /app]
"""


def _project(folder: Path, spec: str = MINE) -> Path:
    (folder / "imagespec.yaml").write_text(spec)
    (folder / "app.txt").write_text("keep\n")
    (folder / "secret.env").write_text("TOKEN=never in the image\n")
    (folder / ".dockerignore").write_text("# mine\nsecret.env\n")  # no generated header: the user's
    return folder / "imagespec.yaml"


@pytest.mark.parametrize(("dockerfile", "fleet"), [("", False), ("dockerfile: Dockerfile.other\n", False), ("", True)])
def test_a_hand_written_ignore_the_build_would_not_honour_stops_it(dockerfile: str, fleet: bool,
                                                                    tmp_path: Path) -> None:
    """Was: the build handed BuildKit the spec's own ignore file and the user's
    `.dockerignore` was never read: secret.env went into the image (exit 0), also with
    `dockerfile:` elsewhere, as generate's hint said. Now exit 2 at the pattern, before
    the engine is asked anything; the hint says how to make it the spec's. A folder
    (`fleet`) is built by bake: the same check."""
    spec = _project(tmp_path, MINE + dockerfile)
    result = imagespec("build", "--config", str(LOCAL_CONFIG), str(tmp_path if fleet else spec), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    message, hint = result.stderr.splitlines()
    assert message.startswith(f"{tmp_path / '.dockerignore'}:2:1: `secret.env` keeps secret.env out of the build "
                              "context, but `imagespec build` does not read this file"), message
    assert hint.startswith("  hint: add the pattern to the spec's ignore list in imagespec.yaml "
                           '(`ignore: ["secret.env"]`)'), hint
    assert ("generate --force" in hint) is not bool(dockerfile)  # generate replaces only a file it would write


def test_a_hand_written_ignore_is_checked_against_what_the_build_sends(tmp_path: Path) -> None:
    """Only files the spec's ignore file lets in count: an allow-list that copies app.txt
    alone sends no secret.env; a later `!` exception of the user's lets a file in again;
    the spec's own `ignore:` honours the pattern. None of these is refused."""
    from imagespec.jobs.compiling import compile_one
    from imagespec.pipeline import refuse_unhonoured_ignores

    def refused(spec: Path) -> bool:
        try:
            refuse_unhonoured_ignores(compile_one(spec, LOCAL_CONFIG)[0])
        except SpecError:
            return True
        return False

    spec = _project(tmp_path)
    assert refused(spec)
    (tmp_path / "imagespec.yaml").write_text(MINE.replace("{src: ., dest: /app/}", "{src: app.txt, dest: /app/}"))
    assert not refused(spec)
    (tmp_path / "imagespec.yaml").write_text(MINE)
    (tmp_path / ".dockerignore").write_text("*.env\n!secret.env\n")
    assert not refused(spec)
    (tmp_path / ".dockerignore").write_text("secrets/\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "db.key").write_text("key\n")
    assert refused(spec)
    (tmp_path / "imagespec.yaml").write_text(MINE + "ignore: [secrets/]\n")
    assert not refused(spec)


@pytest.mark.engine
def test_a_hand_written_ignore_whose_patterns_are_the_specs_builds(built, tmp_path: Path) -> None:
    """The fix the hint gives: the pattern in `ignore:`; the user's file may stay."""
    spec = _project(tmp_path, MINE + "ignore: [secret.env]\n")
    ref = built(spec)["tags"][0]
    assert docker("run", "--rm", "--network", "none", ref).stdout.split() == ["app.txt"]


@pytest.mark.engine
def test_credentials_and_a_venv_stay_out_of_a_whole_context_copy(built, tmp_path: Path) -> None:
    """BuildKit's own reading of the default deny-list (`copy: [.]`, as the python and
    node presets copy the source): dotenv variants, npm/PyPI/netrc credentials, a
    virtualenv named venv (its pip failed `imagespec test`'s no-build-tools) and test
    caches stay out; the top-level dotenv template, which an app may read, goes in."""
    (tmp_path / "imagespec.yaml").write_text(SPEC.replace("imagespec-it-context", "imagespec-it-context-defaults")
                                             .replace('ignore: [secret.txt, "*.log"]\n', "")
                                             .replace("cmd: [ls, -A, /app]", "cmd: [find, /app, -mindepth, 1]"))
    for name in ("app.txt", ".env.example", ".env.local", ".env.production", "sub/.env.development", ".npmrc",
                 ".pypirc", ".netrc", "venv/bin/pip", "sub/venv/pyvenv.cfg", ".pytest_cache/v/x", "sub/keep.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    ref = built(tmp_path / "imagespec.yaml")["tags"][0]
    listing = sorted(docker("run", "--rm", "--network", "none", ref).stdout.split())
    assert listing == ["/app/.env.example", "/app/app.txt", "/app/sub", "/app/sub/keep.txt"], listing


DEPENDENCIES = """\
name: imagespec-it-dependency-paths
tags: {git_sha: false, semver: false, extra: [test]}
stages:
  deps:
    from: debian-slim
    dependencies:
      copy: [top.txt, reqs/prod.txt, "my reqs/a b.txt"]
      run: mkdir -p /out && cat top.txt reqs/prod.txt "my reqs/a b.txt" > /out/deps.txt
    artifacts: [/out/deps.txt]
final:
  from: debian-slim
  copy: [{from: deps, src: /out/deps.txt, dest: /deps.txt}]
  cmd: [cat, /deps.txt]
"""


@pytest.mark.engine
def test_dependency_manifests_in_folders_are_where_the_install_reads_them(built, tmp_path: Path) -> None:
    """Was: `COPY reqs/prod.txt ./`, and the python preset's `pip install --requirement
    reqs/prod.txt` failed ("Could not open requirements file"); a space in a name too."""
    (tmp_path / "imagespec.yaml").write_text(DEPENDENCIES)
    for name in ("top.txt", "reqs/prod.txt", "my reqs/a b.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name + "\n")
    ref = built(tmp_path / "imagespec.yaml")["tags"][0]
    assert docker("run", "--rm", "--network", "none", ref).stdout == "top.txt\nreqs/prod.txt\nmy reqs/a b.txt\n"
