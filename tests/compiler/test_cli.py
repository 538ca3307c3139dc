"""The command line, through `imagespec.cli.main` (the function the console script
calls): output, exit codes, files written, and reproducibility across folders."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler_helpers import EXAMPLES, REPO, compile_path, parse
from imagespec.cli import main

EXAMPLE = REPO / "examples" / "nginx-debian"
LOCATION = re.compile(r"^.+:[0-9]+:[0-9]+$")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A temporary copy of an example (spec, sources and committed files)."""
    folder = tmp_path / "nginx-debian"
    shutil.copytree(EXAMPLE, folder)
    return folder


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- generate ------------------------------------------------------------------------------

def test_generate_to_stdout_prints_the_dockerfile_and_writes_nothing(example: Path, capsys) -> None:
    before = _listing(example)
    code, out, err = run(capsys, "generate", "-o", "-", str(example / "imagespec.yaml"))
    assert (code, err) == (0, "")
    assert out == (EXAMPLE / "Dockerfile").read_text(encoding="utf-8")
    assert _listing(example) == before


def test_generate_writes_both_files_then_reports_them_unchanged(example: Path, capsys, monkeypatch) -> None:
    (example / "Dockerfile").unlink()
    (example / ".dockerignore").unlink()
    monkeypatch.chdir(example)
    code, out, err = run(capsys, "generate", "imagespec.yaml")
    assert code == 0 and out == ""
    assert err.splitlines() == [f"wrote {example / 'Dockerfile'}", f"wrote {example / '.dockerignore'}"]
    for name in ("Dockerfile", ".dockerignore"):
        assert (example / name).read_bytes() == (EXAMPLE / name).read_bytes()
        assert (example / name).stat().st_mode & 0o777 == 0o644
    assert not list(example.glob(".*.tmp")), "a temporary file was left behind"

    code, _, err = run(capsys, "generate", "imagespec.yaml")
    assert code == 0
    assert err.splitlines() == [f"unchanged {example / 'Dockerfile'}", f"unchanged {example / '.dockerignore'}"]


def test_generate_is_all_or_nothing_across_specs(example: Path, tmp_path: Path, capsys) -> None:
    (example / "Dockerfile").unlink()
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nfinal: {from: scratch}\n", encoding="utf-8")
    code, _, err = run(capsys, "generate", str(example / "imagespec.yaml"), str(bad))
    assert code == 2 and "needs an `entrypoint` or a `cmd`" in err
    assert not (example / "Dockerfile").exists()


def test_generate_reports_an_unwritable_target_without_traceback(example: Path, capsys) -> None:
    (example / "Dockerfile").unlink()
    (example / "Dockerfile").mkdir()  # a directory where the Dockerfile goes
    code, out, err = run(capsys, "generate", str(example / "imagespec.yaml"))
    assert code == 2 and out == ""  # a directory where a file goes is the user's input to fix
    assert err == (f"{example / 'Dockerfile'}: cannot read this file: it is a directory\n"
                   "  hint: name a file, not a folder\n")


def test_generate_o_a_folder_says_o_names_the_file(example: Path, capsys) -> None:
    """Was: "DIR: cannot read this file: it is a directory", as if -o were read."""
    (example / "out").mkdir()
    code, out, err = run(capsys, "generate", str(example / "imagespec.yaml"), "-o", str(example / "out"))
    assert code == 2 and out == ""
    assert err == (f"{example / 'out'}: -o: this is a folder, and -o names the Dockerfile to write\n"
                   f"  hint: name the file, e.g. `-o {example / 'out' / 'Dockerfile'}`, or `-o -` to print it\n")
    assert list((example / "out").iterdir()) == []


@pytest.mark.parametrize("kind", ["fifo", "device"])
@pytest.mark.parametrize("command", [["generate", "imagespec.yaml", "-o"], ["schema", "-o"], ["bake", ".", "-o"]])
def test_a_device_or_fifo_is_never_replaced_by_a_written_file(example: Path, kind: str, command: list[str]) -> None:
    """`-o /dev/null` run as root replaced the null device with a regular file (the write
    is a temporary file renamed over the target), and `-o FIFO` blocked reading it to
    compare: both are bad input now, nothing read or written. Made in tmp_path: a
    regression here must not break this machine's /dev/null."""
    import os
    import stat

    target = example / "special"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a null device of our own (tests run as root)
    done = subprocess.run([sys.executable, "-m", "imagespec", *command, str(target)], cwd=example,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"{target}: cannot write this file: it is not a regular file"), done.stderr
    assert "hint: name a regular file" in done.stderr and "Traceback" not in done.stderr
    mode = target.lstat().st_mode
    assert stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISCHR(mode)
    assert not list(example.glob(".special.*"))


# --- check ---------------------------------------------------------------------------------

def test_check_passes_on_every_example(capsys) -> None:
    code, out, err = run(capsys, "check", *map(str, EXAMPLES))
    assert code == 0, out + err
    assert err == f"{len(EXAMPLES)} spec(s) up to date\n"


def test_check_fails_with_a_unified_diff_when_a_dockerfile_was_edited(example: Path, capsys) -> None:
    dockerfile = example / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("EXPOSE 8080", "EXPOSE 9090"), encoding="utf-8")
    code, out, err = run(capsys, "check", str(example / "imagespec.yaml"))
    assert code == 1
    assert f"--- {dockerfile} (committed)\n" in out and f"+++ {dockerfile} (from " in out
    assert "\n-EXPOSE 9090\n" in out and "\n+EXPOSE 8080\n" in out and "\n@@ " in out
    assert err.splitlines() == ["imagespec: 1 generated file(s) out of date",
                                "  hint: run `imagespec generate` and commit the result"]

    code, out, err = run(capsys, "check", "--format", "json", str(example / "imagespec.yaml"))
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert [item["file"] for item in report["stale"]] == [str(dockerfile)]
    assert "+EXPOSE 8080" in report["stale"][0]["diff"]
    assert json.loads(err)["exit_code"] == 1


def test_check_names_a_stale_file_as_it_names_its_spec(example: Path, capsys, monkeypatch) -> None:
    """From the spec's folder both are relative, as `bake` names its file (was: the spec
    relative, the Dockerfile absolute, in the JSON report and the diff's header)."""
    dockerfile = example / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("EXPOSE 8080", "EXPOSE 9090"), encoding="utf-8")
    monkeypatch.chdir(example)
    code, out, _ = run(capsys, "check", "--format", "json", "imagespec.yaml")
    assert code == 1
    assert [(item["spec"], item["file"]) for item in json.loads(out)["stale"]] == [("imagespec.yaml", "Dockerfile")]
    code, out, _ = run(capsys, "check", "imagespec.yaml")
    assert code == 1 and out.startswith("--- Dockerfile (committed)\n+++ Dockerfile (from imagespec.yaml)\n"), out


def test_check_json_on_fresh_files(example: Path, capsys) -> None:
    code, out, _ = run(capsys, "check", "--format", "json", str(example / "imagespec.yaml"))
    assert code == 0 and json.loads(out) == {"ok": True, "stale": [], "locks": []}


def test_check_hints_force_only_where_a_dockerfile_lost_its_header(example: Path, capsys) -> None:
    """Was: "run `imagespec generate`", which then refused the header-less file (exit 1)."""
    dockerfile = example / "Dockerfile"
    text = dockerfile.read_text(encoding="utf-8")
    dockerfile.write_text("\n".join(line for line in text.splitlines() if not line.startswith("#")) + "\n",
                          encoding="utf-8")
    code, _, err = run(capsys, "check", str(example / "imagespec.yaml"))
    assert code == 1
    assert err.splitlines()[1] == (f"  hint: run `imagespec generate --force` ({dockerfile} lost the generated header "
                                   "or is a link, so generate replaces it only with --force) and commit the result")
    assert run(capsys, "generate", str(example / "imagespec.yaml"))[0] == 1  # as the hint says
    assert run(capsys, "generate", "--force", str(example / "imagespec.yaml"))[0] == 0
    assert run(capsys, "check", str(example / "imagespec.yaml"))[0] == 0


@pytest.mark.parametrize("generated", ["Dockerfile", ".dockerignore"])
def test_check_never_reads_what_a_committed_link_at_a_generated_file_leads_to(example: Path, tmp_path: Path,
                                                                               generated: str, capsys) -> None:
    """Was: `Dockerfile -> /etc/shadow` committed (git stores links) put that file's lines
    into check's diff, on the CI machine, as root. The link is stale (generate replaces the
    link itself, with --force: someone put it there), and its target is never read."""
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-LINE-1\nSECRET-LINE-2\n", encoding="utf-8")
    link = example / generated
    link.unlink()
    link.symlink_to(secret)
    for fmt in ("text", "json"):
        code, out, err = run(capsys, "check", "--format", fmt, str(example / "imagespec.yaml"))
        assert code == 1
        assert "SECRET-LINE" not in out + err
        assert f"a symbolic link, to '{secret}', not read" in out + err
    assert run(capsys, "generate", str(example / "imagespec.yaml"))[0] == 1  # not replaced unasked
    assert run(capsys, "generate", "--force", str(example / "imagespec.yaml"))[0] == 0
    assert not link.is_symlink() and secret.read_text(encoding="utf-8").startswith("SECRET-LINE-1")
    assert run(capsys, "check", str(example / "imagespec.yaml"))[0] == 0


def test_check_does_not_block_on_a_fifo_at_a_generated_file(example: Path, capsys) -> None:
    """Was: check opened it to compare and waited for a writer for ever."""
    import os

    (example / "Dockerfile").unlink()
    os.mkfifo(example / "Dockerfile")
    code, out, err = run(capsys, "check", str(example / "imagespec.yaml"))
    assert code == 1 and "(a FIFO, device or socket, not read" in out + err


@pytest.mark.parametrize("command", ["lint", "check"])
@pytest.mark.parametrize("flags", [[], ["--no-such-flag"]])
def test_lint_and_check_json_on_bad_input_is_a_document_on_stdout(tmp_path: Path, capsys, command: str,
                                                                  flags: list[str]) -> None:
    """`lint --format json > lint.json` on bad input (exit 2) left an empty file: the
    error report was on stderr. The message for people stays there."""
    spec = _spec(tmp_path, "name: app\nfinal:\n  from: debian-slim\n  stop_signal: SIGKILL\n  entrypoint: [/app]\n")
    code, out, err = run(capsys, command, "--format", "json", spec, *flags)
    assert code == 2
    report = json.loads(out)
    assert report["exit_code"] == 2 and report["hint"]
    if flags:
        assert report["message"] == "No such option '--no-such-flag'." and report["location"] is None
        assert err.startswith("imagespec: No such option '--no-such-flag'.\n  hint: "), err
    else:
        assert report["location"] == f"{spec}:4:16" and "'SIGKILL' is not a signal" in report["message"]
        assert err.startswith(f"{spec}:4:16: final.stop_signal: 'SIGKILL' is not a signal"), err
        assert "\n  hint: the engine knows SIGTERM" in err


# --- schema --------------------------------------------------------------------------------

def test_schema_prints_json_and_writes_it(tmp_path: Path, capsys) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["title"] == "imagespec spec v1" and "name" in schema["required"]
    assert schema["then"] == {"required": ["final"]}  # final is required unless the spec extends a template
    target = tmp_path / "schema.json"
    assert run(capsys, "schema", "-o", str(target))[0] == 0
    assert target.read_text(encoding="utf-8") == out


# --- explain -------------------------------------------------------------------------------

def test_explain_json_gives_every_instruction_a_location_and_its_practices(capsys) -> None:
    code, out, _ = run(capsys, "explain", "--format", "json", str(EXAMPLE / "imagespec.yaml"))
    assert code == 0
    lines = json.loads(out)
    compiled = compile_path(EXAMPLE / "imagespec.yaml")
    assert len(lines) == len(parse(compiled.dockerfile))  # one line per instruction, FROM included
    for line in lines:
        assert line["locations"] and all(LOCATION.match(where) for where in line["locations"]), line
        # the spec itself, or the preset it extends (templates/presets/service.yaml)
        assert all(where.split(":")[0].endswith((f"{EXAMPLE.name}/imagespec.yaml", "presets/service.yaml"))
                   for where in line["locations"])
    by_kind = {}
    for line in lines:
        by_kind.setdefault(line["instruction"].split()[0], []).append(line)
    (apt,) = [line for line in by_kind["RUN"] if "apt-get install" in line["instruction"]]
    assert {"BP5", "BP11"} <= set(apt["practices"])
    assert "BP8" in by_kind["USER"][0]["practices"]
    assert "BP2" in by_kind["ENTRYPOINT"][0]["practices"]
    assert "BP2" in by_kind["STOPSIGNAL"][0]["practices"]
    assert any(where.endswith(":11:3") for where in apt["locations"])  # `packages:` in the spec


@pytest.mark.parametrize(("start", "pid1"), [("  entrypoint: [/app]\n  cmd: [--fast]", "the application is PID 1"),
                                             ("  init: true\n  entrypoint: [/app]\n  cmd: [--fast]", "tini is PID 1"),
                                             ("  init: true\n  cmd: [/app]", "tini is PID 1")])
def test_explain_says_which_process_is_pid_1(capsys, tmp_path: Path, start: str, pid1: str) -> None:
    """Stranger QA: under `init: true` explain said "the application is PID 1"; tini is."""
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(f"name: app\nversion: 1.0.0\nfinal:\n  from: debian-slim\n{start}\n", encoding="utf-8")
    code, out, _ = run(capsys, "explain", "--format", "json", str(spec))
    assert code == 0
    starts = [line for line in json.loads(out) if line["instruction"].split()[0] in ("ENTRYPOINT", "CMD")]
    assert starts and all(pid1 in line["why"] for line in starts), starts


def test_explain_text_shows_the_table(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    code, out, _ = run(capsys, "explain", str(EXAMPLE / "imagespec.yaml"))
    assert code == 0
    assert "ENTRYPOINT" in out and "BP5 BP6 BP11" in out and "imagespec.yaml:11:3" in out


@pytest.mark.parametrize("columns", ["80", "250"])
def test_explain_names_every_stage_whole(capsys, monkeypatch, columns: str) -> None:
    """Was: `imagespec-ro` for the helper stage of a scratch final (cut to 12 characters)."""
    monkeypatch.setenv("COLUMNS", columns)
    spec = str(REPO / "examples" / "go-hello" / "imagespec.yaml")
    code, out, _ = run(capsys, "explain", spec)
    assert code == 0
    stages = {line.split()[0] for line in out.splitlines() if not line.startswith(" ")}
    assert stages == {"imagespec-rootfs", "build", "final"}, stages
    assert max(len(line) for line in out.splitlines()) <= int(columns)
    code, out, _ = run(capsys, "explain", "--format", "json", spec)
    assert code == 0 and {line["stage"] for line in json.loads(out)} == {"imagespec-rootfs", "build", "final"}


# --- lint ----------------------------------------------------------------------------------

def _spec(tmp_path: Path, text: str) -> str:
    path = tmp_path / "imagespec.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_lint_exits_0_with_only_warnings(tmp_path: Path, capsys) -> None:
    spec = _spec(tmp_path, "name: app\nfinal:\n  from: {image: 'debian:latest', family: debian}\n"
                           "  entrypoint: [/app]\n")
    code, out, _ = run(capsys, "lint", spec)
    assert code == 0
    assert "warning: IS001 (BP13)" in out and "warning: IS004 (BP16)" in out and "error" not in out


def test_lint_exits_1_on_an_error_and_speaks_json(tmp_path: Path, capsys) -> None:
    spec = _spec(tmp_path, "name: app\nversion: 1.0.0\nlicense: MIT\nfinal:\n  from: debian-slim\n"
                           "  env:\n    API_TOKEN: abc\n  entrypoint: [/app]\n")
    code, out, err = run(capsys, "lint", spec)
    assert code == 1
    assert f"{spec}:7:5: error: IS002 (BP15): 'API_TOKEN' looks like a secret written into the image" in out
    assert err == "imagespec: 1 error(s)\n"
    code, out, _ = run(capsys, "lint", "--format", "json", spec)
    assert code == 1
    assert json.loads(out) == [{"location": f"{spec}:7:5", "level": "error", "rule": "IS002", "practice": "BP15",
                                "message": "'API_TOKEN' looks like a secret written into the image",
                                "hint": "pass secrets at run time, or at build time as a BuildKit secret; "
                                        "ENV stays in the image"}]


# --- configuration: one file repoints every image (BP12, BP15) -----------------------------

CONFIG = """\
images:
  go-build: {image: "registry.example.com/base/golang:1.22", family: debian}
  debian-slim: {image: "registry.example.com/base/debian:12-slim", family: debian}
  gcc-build: {image: "registry.example.com/base/gcc:12", family: debian}
  cc: {image: "registry.example.com/base/distroless-cc:12", family: distroless, user: 65532}
"""


def _froms(dockerfile: str) -> list[str]:
    return [c.value[0] for c in parse(dockerfile) if c.cmd.upper() == "FROM"]


@pytest.mark.parametrize("how", ["--config", "IMAGESPEC_CONFIG"])
def test_one_config_file_repoints_every_image(how: str, tmp_path: Path, capsys, monkeypatch) -> None:
    config = tmp_path / "company.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    specs = [REPO / "examples" / name / "imagespec.yaml" for name in ("go-hello", "nginx-debian", "c-tool")]
    args = ["--config", str(config)] if how == "--config" else []
    if how == "IMAGESPEC_CONFIG":
        monkeypatch.setenv("IMAGESPEC_CONFIG", str(config))
    for spec in specs:
        default = _froms(compile_path(spec).dockerfile) if how == "--config" else None
        code, out, err = run(capsys, "generate", "-o", "-", *args, str(spec))
        assert code == 0, err
        stages = {c.value[2] for c in parse(out) if c.cmd.upper() == "FROM"}
        images = [ref for ref in _froms(out) if ref not in stages and ref != "scratch"]
        assert images and all(ref.startswith("registry.example.com/base/") for ref in images), images
        if default is not None:
            assert not any(ref.startswith("registry.example.com/") for ref in default)
        assert 'org.opencontainers.image.base.name="registry.example.com/base/' in out or "FROM scratch" in out


# --- reproducibility -----------------------------------------------------------------------

def test_same_spec_in_different_folders_gives_identical_bytes(tmp_path: Path, capsys, monkeypatch) -> None:
    first, second = tmp_path / "a" / "app", tmp_path / "b" / "deeper" / "checkout" / "app"
    for folder in (first, second):
        shutil.copytree(EXAMPLE, folder)
        (folder / "Dockerfile").unlink()
    monkeypatch.chdir(first)  # relative path, from the spec's folder
    assert run(capsys, "generate", "imagespec.yaml")[0] == 0
    monkeypatch.chdir(tmp_path)  # absolute path, from elsewhere
    assert run(capsys, "generate", str(second / "imagespec.yaml"))[0] == 0
    assert (first / "Dockerfile").read_bytes() == (second / "Dockerfile").read_bytes()
    assert (first / "Dockerfile").read_bytes() == (EXAMPLE / "Dockerfile").read_bytes()
    assert (first / "Dockerfile").read_text().startswith("# Generated by imagespec from imagespec.yaml.")


def test_header_names_the_spec_relative_to_the_dockerfile(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "svc"
    shutil.copytree(EXAMPLE, folder)
    spec = folder / "imagespec.yaml"
    spec.write_text(spec.read_text() + "dockerfile: build/Dockerfile\n", encoding="utf-8")
    assert run(capsys, "generate", str(spec))[0] == 0
    assert (folder / "build" / "Dockerfile").read_text().startswith(
        "# Generated by imagespec from ../imagespec.yaml.")
    # not the context's own Dockerfile: its ignore file is beside it, named after it (BuildKit reads it first)
    assert (folder / "build" / "Dockerfile.dockerignore").read_text().startswith(
        "# Generated by imagespec from ../imagespec.yaml.")
    # generate -o FILE: named relative to where it is written
    assert run(capsys, "generate", "-o", str(folder / "out" / "deep" / "Dockerfile"), str(spec))[0] == 0
    assert (folder / "out" / "deep" / "Dockerfile").read_text().startswith(
        "# Generated by imagespec from ../../imagespec.yaml.")


DISTROLESS_SPEC = """\
extends: python-distroless
name: preset-python-distroless
dockerfile: Dockerfile.distroless
"""


def test_two_specs_in_one_folder_each_get_their_own_ignore_file(tmp_path: Path, capsys) -> None:
    """#11: both specs wrote the one .dockerignore, so `check` failed right after `generate`
    and each let the other's Dockerfile into its image. A Dockerfile other than the
    context's `Dockerfile` gets `<Dockerfile>.dockerignore` beside it (BuildKit reads it
    instead of `.dockerignore`), and each keeps every spec, Dockerfile and ignore file out."""
    folder = tmp_path / "app"
    shutil.copytree(REPO / "examples" / "preset-python", folder)
    (folder / "imagespec.distroless.yaml").write_text(DISTROLESS_SPEC, encoding="utf-8")
    specs = [str(folder / "imagespec.yaml"), str(folder / "imagespec.distroless.yaml")]
    assert run(capsys, "generate", *specs)[0] == 0
    assert run(capsys, "check", *specs)[0] == 0
    ignores = {name: (folder / name).read_text().splitlines() for name in (".dockerignore",
                                                                            "Dockerfile.distroless.dockerignore")}
    assert ignores["Dockerfile.distroless.dockerignore"][0] == "# Generated by imagespec from imagespec.distroless.yaml."
    for lines in ignores.values():
        assert {"imagespec*.yaml", "Dockerfile", "Dockerfile.*", ".dockerignore", "*.dockerignore"} <= set(lines)


def test_a_spec_outside_the_usual_names_still_keeps_itself_out(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "app"
    shutil.copytree(REPO / "examples" / "preset-python", folder)
    spec = folder / "imagespec.yaml"
    renamed = spec.rename(folder / "build-spec.yaml")
    renamed.write_text(renamed.read_text() + "dockerfile: docker/Containerfile\n", encoding="utf-8")
    assert run(capsys, "generate", str(renamed))[0] == 0
    lines = (folder / "docker" / "Containerfile.dockerignore").read_text().splitlines()
    assert lines[-3:] == ["build-spec.yaml", "docker/Containerfile", "docker/Containerfile.dockerignore"]


def test_console_script_runs(tmp_path: Path) -> None:
    """The installed entry point itself: exit code and output of a real process."""
    script = Path(sys.executable).with_name("imagespec")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "imagespec"]
    done = subprocess.run([*command, "generate", "-o", "-", str(EXAMPLE / "imagespec.yaml")], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (EXAMPLE / "Dockerfile").read_text(encoding="utf-8")


def test_check_skips_configuration_files_a_glob_picks_up(capsys) -> None:
    """`imagespec check examples/**/*.yaml` also matches `.imagespec.yaml`: it is skipped
    with a notice, and a configuration file alone is a usage error."""
    company = REPO / "examples" / "company"
    code, _, err = run(capsys, "check", str(company / ".imagespec.yaml"), str(company / "billing" / "imagespec.yaml"))
    assert code == 0 and "skipped" in err and "1 spec(s) up to date" in err
    code, _, err = run(capsys, "check", str(company / ".imagespec.yaml"))
    assert code == 2 and "no spec among the files given" in err


# --- build's flags --------------------------------------------------------------------------
@pytest.mark.parametrize(("arg", "said"), [("=1", "--build-arg =…: the name before '=' is empty"),
                                           ("MY VAR=1", "--build-arg MY VAR=…: 'MY VAR' is not a valid variable name")])
def test_a_build_arg_without_a_valid_name_is_exit_2_before_the_engine_is_asked(
        example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], arg: str, said: str) -> None:
    """Was: "build failed (exit 1): invalid key-value pair", from BuildKit, after the compile."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # the engine asked would be exit 3
    code, _, err = run(capsys, "build", str(example / "imagespec.yaml"), "--build-arg", arg)
    assert code == 2, err
    assert said in err and "hint: write NAME=VALUE" in err, err


def test_a_dockerfile_path_through_a_file_is_bad_input_and_nothing_is_written(example: Path, capsys) -> None:
    """QA: `dockerfile: imagespec.yaml/Dockerfile` was exit 1, "File exists" (the folder
    could not be made), as if the engine or the disk had failed."""
    spec = example / "imagespec.yaml"
    spec.write_text("dockerfile: imagespec.yaml/Dockerfile\n" + spec.read_text(encoding="utf-8"), encoding="utf-8")
    before = _listing(example)
    code, _, err = run(capsys, "generate", str(spec))
    assert code == 2, err
    assert "imagespec.yaml/Dockerfile: cannot write this file: a part of its path is a file, not a folder" in err
    assert _listing(example) == before
