"""Fleets a stranger writes wrong (issue #14, tried one by one; the ones marked "was" were
bugs): each is exit 2 with one located message and a hint, and nothing is written."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagespec.cli import main

from tests.fleet.conftest import CATALOG, Write, git
from tests.fleet.test_graph import spec


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys: pytest.CaptureFixture[str], repo: Path, *args: str) -> str:
    """`imagespec bake . ARGS`: exit 2, nothing on stdout, no bake file; the error text."""
    code, out, err = run(capsys, "bake", ".", *args)
    assert code == 2 and out == "", err
    assert not (repo / "docker-bake.json").exists()
    assert "Traceback" not in err
    return err


def test_a_renamed_folder_group_that_meets_a_folder_of_that_name_is_exit_2(repo: Path, write: Write,
                                                                            capsys) -> None:  # type: ignore[no-untyped-def]
    # was: x/'s group is renamed x-group (target x has its name) and x-group/'s group took
    # its place in the bake file: x-y silently left every folder group
    write("x/imagespec.yaml", spec("isx14a-x", "debian:bookworm-slim"))
    write("x/y/imagespec.yaml", spec("isx14a-xy", "debian:bookworm-slim"))
    write("x-group/z/imagespec.yaml", spec("isx14a-xgz", "debian:bookworm-slim"))
    err = refused(capsys, repo)
    assert err.startswith("x-group/z/imagespec.yaml:1:1: group 'x-group' would be the group of two folders: that of "
                          "x/y/imagespec.yaml and that of x-group/z/imagespec.yaml"), err
    assert "hint: rename one of the folders" in err


@pytest.mark.parametrize(("first", "second"), [("Web/x.imagespec.yaml", "web/y.imagespec.yaml"),
                                               ("a/b/x.imagespec.yaml", "a-b/y.imagespec.yaml")])
def test_two_folders_with_one_group_name_are_exit_2_naming_both(repo: Path, write: Write, capsys,  # type: ignore[no-untyped-def]
                                                                first: str, second: str) -> None:
    # was: both folders' specs silently made one group `web` (`a-b`), so `docker buildx
    # bake web` built the specs of two folders
    write(first, spec("isx14a-one", "debian:bookworm-slim"))
    write(second, spec("isx14a-two", "debian:bookworm-slim"))
    err = refused(capsys, repo)
    assert "would be the group of two folders" in err and first in err and second in err, err
    assert "hint: rename one of the folders" in err


@pytest.mark.parametrize(("first", "second"), [("Web/imagespec.yaml", "web/imagespec.yaml"),
                                               ("a/b.imagespec.yaml", "a/b/imagespec.yaml"),
                                               ("a-b/imagespec.yaml", "a/b/imagespec.yaml"),
                                               ("a-/imagespec.yaml", "a/imagespec.yaml")])
def test_two_folders_with_one_target_name_are_exit_2_naming_both(repo: Path, write: Write, capsys,  # type: ignore[no-untyped-def]
                                                                  first: str, second: str) -> None:
    write(first, spec("isx14a-one", "debian:bookworm-slim"))
    write(second, spec("isx14a-two", "debian:bookworm-slim"))
    err = refused(capsys, repo)
    assert "target name" in err and first in err and second in err, err


@pytest.mark.parametrize(("platforms", "said"), [
    ("[linux/arm64/v8/x]", "platforms.0: 'linux/arm64/v8/x' is not a platform"),
    ("[linux/AMD64]", "platforms.0: unknown platform 'linux/AMD64': imagespec writes it 'linux/amd64'"),  # was: no hint
    ("[Linux/AArch64]", "imagespec writes it 'linux/arm64'"),
    ("[]", "platforms: an empty list of platforms builds for none"),  # was: built for the configuration's
    ("linux/amd64", "'platforms' must be a list, not a string"),
    ("[linux/amd64, linux/amd64]", "platform 'linux/amd64' is listed twice"),
    ("[null]", "'platforms.0' must be a string"),
])
def test_a_bad_platforms_value_is_exit_2_at_its_place(repo: Path, write: Write, capsys,  # type: ignore[no-untyped-def]
                                                      platforms: str, said: str) -> None:
    write("a/imagespec.yaml", f"platforms: {platforms}\n" + spec("isx14a-a", "debian:bookworm-slim"))
    err = refused(capsys, repo)
    assert err.startswith("a/imagespec.yaml:1:") and said in err, err


def test_an_empty_platforms_list_in_the_configuration_is_exit_2_there(repo: Path, write: Write,
                                                                       capsys) -> None:  # type: ignore[no-untyped-def]
    write(".imagespec.yaml", "build:\n  platforms: []\n")
    write("a/imagespec.yaml", spec("isx14a-a", "debian:bookworm-slim"))
    err = refused(capsys, repo)
    assert err.startswith(f"{repo / '.imagespec.yaml'}:2:3: build.platforms: an empty list of platforms"), err


def test_thousands_of_platforms_are_refused_with_twenty_messages_at_most(repo: Path, write: Write,
                                                                          capsys) -> None:  # type: ignore[no-untyped-def]
    listed = ", ".join(f"linux/x{i}" for i in range(5000))
    write("a/imagespec.yaml", f"platforms: [{listed}]\n" + spec("isx14a-a", "debian:bookworm-slim"))
    err = refused(capsys, repo)
    located = [line for line in err.splitlines() if line.startswith("a/imagespec.yaml:1:")]
    assert 1 <= len(located) <= 20 and "unknown platform 'linux/x0'" in located[0], err[:2000]
    write("a/imagespec.yaml", f"platforms: [{', '.join(['linux/amd64', 'linux/arm64'] * 5000)}]\n" +
          spec("isx14a-a", "debian:bookworm-slim"))
    assert "platform 'linux/amd64' is listed twice" in refused(capsys, repo)


def test_a_cycle_through_extends_and_from_is_located_in_the_template(repo: Path, write: Write,
                                                                     capsys) -> None:  # type: ignore[no-untyped-def]
    write("t/base.yaml", 'final:\n  from: {image: "isx14a-b:1.0.0", family: debian, user: 65532}\n')
    write("a/imagespec.yaml", "extends: ../t/base.yaml\nname: isx14a-a\nversion: 1.0.0\n"
                              "final:\n  entrypoint: [/bin/true]\n")
    write("b/imagespec.yaml", spec("isx14a-b", "isx14a-a:1.0.0"))
    err = refused(capsys, repo)
    assert err.startswith("t/base.yaml:2:3: the specs build FROM each other in a cycle: a/imagespec.yaml -> "
                          "b/imagespec.yaml -> a/imagespec.yaml"), err


def test_a_spec_from_its_own_image_through_a_build_stage_is_a_cycle(repo: Path, write: Write,
                                                                    capsys) -> None:  # type: ignore[no-untyped-def]
    write("a/imagespec.yaml", spec("isx14a-a", "debian:bookworm-slim", stage_from="isx14a-a:latest"))
    err = refused(capsys, repo)  # the compiler refuses it for one spec as for a fleet (plan.lower)
    assert err.startswith("a/imagespec.yaml:5:5: isx14a-a:latest is this spec's own image (isx14a-a): a stage "
                          "cannot start FROM the image it builds"), err


def test_an_unknown_configured_builder_is_exit_2_at_its_value_for_a_fleet_and_one_spec(  # type: ignore[no-untyped-def]
        repo: Path, write: Write, capsys, engine) -> None:
    # was: "imagespec: unknown builder …", no location, though the configuration named it
    write(".imagespec.yaml", "build:\n  builder: isx14a-no-such-builder\n")
    write("a/imagespec.yaml", spec("isx14a-a", "debian:bookworm-slim"))
    write("b/imagespec.yaml", spec("isx14a-b", "debian:bookworm-slim"))
    # one spec alike (was: "build failed (exit 1): no builder … found", no location), by the same check
    for targets in (("a", "b"), ("a/imagespec.yaml",)):
        code, out, err = run(capsys, "build", *targets, "--format", "json")
        assert code == 2 and out == "", err
        error = json.loads(err)
        assert error["location"] == f"{repo / '.imagespec.yaml'}:2:12", error
        assert error["message"].startswith("unknown builder 'isx14a-no-such-builder'"), error


def test_an_unknown_builder_flag_is_exit_2_before_anything_builds(repo: Path, write: Write, capsys,  # type: ignore[no-untyped-def]
                                                                  engine) -> None:
    write("a/imagespec.yaml", spec("isx14a-a", "debian:bookworm-slim"))
    write("b/imagespec.yaml", spec("isx14a-b", "debian:bookworm-slim"))
    code, out, err = run(capsys, "build", "a", "b", "--builder", "isx14a-no-such-builder", "--progress", "plain")
    assert code == 2 and out == "" and err.startswith("imagespec: unknown builder 'isx14a-no-such-builder'"), err
    assert "#1 " not in err


def test_push_without_a_registry_says_so_once_for_one_spec_and_for_a_fleet(repo: Path, write: Write, capsys,  # type: ignore[no-untyped-def]
                                                                           engine) -> None:
    # one message for both (pipeline.refuse_nowhere_to_push): the fleet had a copy of its own
    write("a/imagespec.yaml", spec("isx14a-a", "debian:bookworm-slim"))
    write("b/imagespec.yaml", spec("isx14a-b", "debian:bookworm-slim"))
    for args in (("a/imagespec.yaml",), ("a", "b")):
        code, out, err = run(capsys, "build", *args, "--push", "--progress", "plain")
        assert code == 2 and out == "", err
        assert err.startswith("a/imagespec.yaml:1:1: --push: nothing to push to: the spec has no `registry`"), err
        assert "#1 " not in err


def test_a_stale_bake_file_fails_check_with_json_ok_false_and_the_bake_command_as_the_fix(
        repo: Path, write: Write, capsys) -> None:  # type: ignore[no-untyped-def]
    # was: `--format json` said "ok": true beside exit 1 and the stale bake file, and the
    # hint said `imagespec generate`, which does not write a bake file (check stayed red)
    write("a b/imagespec.yaml", spec("isx14a-a", "debian:bookworm-slim"))
    assert main(["generate", "a b"]) == 0
    write("docker-bake.json", "{}\n")
    code, out, err = run(capsys, "check", "a b", "--bake", "docker-bake.json", "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert report["ok"] is False and [item["file"] for item in report["stale"]] == ["docker-bake.json"], report
    code, out, err = run(capsys, "check", "a b", "--bake", "docker-bake.json")
    assert code == 1 and "hint: run `imagespec bake 'a b' -o docker-bake.json --force` (docker-bake.json has no " \
                         "generated mark, so bake replaces it only with --force) and commit the result" in err, err
    assert main(["bake", "a b", "-o", "docker-bake.json", "--force"]) == 0
    assert main(["check", "a b", "--bake", "docker-bake.json"]) == 0
    # checked against some of the specs it was baked from: not "bake these alone into it"
    # (was: that hint, which would drop the other targets)
    write("c/imagespec.yaml", spec("isx14a-c", "debian:bookworm-slim"))
    assert main(["generate", "c"]) == 0 and main(["bake", ".", "-o", "docker-bake.json", "--force"]) == 0
    code, out, err = run(capsys, "check", "c", "--bake", "docker-bake.json")
    assert code == 1 and "docker-bake.json has target(s) these specs do not make: a-b" in err, err
    assert "hint: check docker-bake.json against every spec it was baked from" in err and "imagespec bake" not in err
    assert main(["check", ".", "--bake", "docker-bake.json"]) == 0


def test_a_hand_written_bake_file_gets_a_fix_that_replaces_it(repo: Path, write: Write,
                                                              capsys) -> None:  # type: ignore[no-untyped-def]
    # was: the hint named `imagespec bake a -o docker-bake.json`, which refuses a file
    # without the generated mark (exit 1), so following it left check red
    write("a/imagespec.yaml", spec("isx14a-a", "debian:bookworm-slim"))
    assert main(["generate", "a"]) == 0
    write("docker-bake.json", '{"target": {}}\n')
    code, out, err = run(capsys, "check", "a", "--bake", "docker-bake.json")
    assert code == 1 and "hint: run `imagespec bake a -o docker-bake.json --force` (docker-bake.json has no " \
                         "generated mark" in err, err
    assert main(["bake", "a", "-o", "docker-bake.json", "--force"]) == 0
    assert main(["check", "a", "--bake", "docker-bake.json"]) == 0


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_check_bake_of_stdout_is_exit_2_not_a_missing_file(repo: Path, write: Write, capsys,  # type: ignore[no-untyped-def]
                                                           fmt: str) -> None:
    # was: `--bake -` compared a file named '-' (exit 1, every line "added") and the hint
    # said `imagespec bake a -o -`, which prints the file instead of writing one
    write("a/imagespec.yaml", spec("isx14a-a", "debian:bookworm-slim"))
    assert main(["generate", "a"]) == 0
    code, out, err = run(capsys, "check", "a", "--bake", "-", "--format", fmt)
    assert code == 2 and "--bake names the committed bake file" in err and "+{" not in out, (out, err)
    assert "Traceback" not in err


def test_a_stale_bake_file_shows_only_the_lines_that_changed(repo: Path, write: Write,
                                                             capsys) -> None:  # type: ignore[no-untyped-def]
    # was: on a bake file of 200 lines or more, unchanged lines (`}`, `"network": "host"`,
    # seen in every target) shown removed and added again: difflib's autojunk
    for letter in "abcdefghijklmn":
        write(f"{letter}/imagespec.yaml", spec(f"isx14a-{letter}", "debian:bookworm-slim"))
    assert main(["generate", "."]) == 0 and main(["bake", ".", "-o", "docker-bake.json"]) == 0
    assert len((repo / "docker-bake.json").read_text().splitlines()) >= 200  # where autojunk starts
    write("e/imagespec.yaml", spec("isx14a-e", "debian:bookworm-slim").replace("1.0.0", "1.1.0"))
    assert main(["generate", "e"]) == 0
    code, out, err = run(capsys, "check", ".", "--bake", "docker-bake.json", "--format", "json")
    assert code == 1, err
    (stale,) = [item for item in json.loads(out)["stale"] if item["file"] == "docker-bake.json"]
    changed = [line for line in stale["diff"].splitlines()[2:] if line[:1] in "+-"]
    # the version label and the tags 1.0.0 and 1.0 (was: 12 lines, `1` and `latest` among them)
    assert len(changed) == 6, stale["diff"]
    assert all("1.0" in line for line in changed if line[0] == "-"), stale["diff"]
    assert all("1.1" in line for line in changed if line[0] == "+"), stale["diff"]


def two_versions(write: Write, *, old_run: str = "sleep 0", git_sha: bool = False) -> None:
    """old/ and new/: versions 1.0.0 and 1.1.0 of one image (README, "Fleets": they may
    share the moving tags); the older one's build stage runs ``old_run``."""
    for folder, version, run_ in (("old", "1.0.0", old_run), ("new", "1.1.0", "sleep 0")):
        write(f"{folder}/imagespec.yaml", f"name: isx14a-two\nversion: {version}\n"
              f"tags: {{git_sha: {'true' if git_sha else 'false'}}}\n"
              f"stages:\n  s:\n    from: debian-slim\n    run: [{run_}, mkdir -p /o, touch /o/{version}]\n"
              f"    artifacts: [/o]\nfinal:\n  from: debian-slim\n  copy: [{{from: s, src: /o, dest: /o}}]\n"
              "  cmd: [/bin/true]\n")


def test_the_moving_tags_two_versions_share_are_the_newest_ones_in_the_bake_file(
        repo: Path, write: Write, capsys) -> None:  # type: ignore[no-untyped-def]
    # was: both targets listed :1 and :latest, and bake (or imagespec build) left them on
    # whichever build ended last, the older release as often as not (BP14)
    write(".imagespec.yaml", f"catalog: {CATALOG}\n")
    two_versions(write)
    code, out, err = run(capsys, "bake", ".", "-o", "-")
    assert code == 0, err
    targets = json.loads(out)["target"]
    assert targets["new"]["tags"] == ["isx14a-two:1.1.0", "isx14a-two:1.1", "isx14a-two:1", "isx14a-two:latest"]
    assert targets["old"]["tags"] == ["isx14a-two:1.0.0", "isx14a-two:1.0"]


def test_a_tag_two_specs_share_with_no_newer_one_is_exit_2(repo: Path, write: Write,
                                                           capsys) -> None:  # type: ignore[no-untyped-def]
    # no `version:`, one extra tag: nothing says which of the two `isx14a-x:edge` names
    for folder in ("a", "b"):
        write(f"{folder}/imagespec.yaml", "name: isx14a-x\ntags: {extra: [edge]}\n"
              "final:\n  from: {image: \"debian:bookworm-slim\", family: debian}\n  cmd: [/bin/true]\n")
    err = refused(capsys, repo)
    assert err.startswith("a/imagespec.yaml:1:1: this spec and b/imagespec.yaml both tag isx14a-x:edge, and no version "
                          "says which image it names (versions: none, none)"), err
    assert "hint: give each spec its own name" in err


def test_the_newest_version_keeps_the_moving_and_git_sha_tags_whichever_build_ends_last(
        repo: Path, write: Write, capsys, engine, remove_images: list[str]) -> None:  # type: ignore[no-untyped-def]
    # was: the older release, whose build ends last, took :1, :latest and the commit's tag
    write(".imagespec.yaml", f"catalog: {CATALOG}\nbuild:\n  network: host\n")
    two_versions(write, old_run=f"sleep 4.{uuid.uuid4().int % 10**6:06d}", git_sha=True)  # never cached: ends last
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "two versions")
    sha = git(repo, "rev-parse", "--short=12", "HEAD").strip()
    moving = ["isx14a-two:1", "isx14a-two:latest", f"isx14a-two:{sha}"]
    remove_images += ["isx14a-two:1.0.0", "isx14a-two:1.0", "isx14a-two:1.1.0", "isx14a-two:1.1", *moving]
    code, out, err = run(capsys, "build", ".", "--jobs", "2", "--progress", "plain", "--format", "json")
    assert code == 0, err
    records = {r["target"]: r for r in json.loads(out)["targets"]}
    assert records["old"]["tags"] == ["isx14a-two:1.0.0", "isx14a-two:1.0"], records["old"]
    assert records["new"]["tags"] == ["isx14a-two:1.1.0", "isx14a-two:1.1", *moving], records["new"]
    ids = {ref: docker_id(ref) for ref in ["isx14a-two:1.0.0", "isx14a-two:1.1.0", *moving]}
    assert {ids[ref] for ref in moving} == {ids["isx14a-two:1.1.0"]} != {ids["isx14a-two:1.0.0"]}, ids


def docker_id(reference: str) -> str:
    done = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", reference], capture_output=True,
                          text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("command", [("bake", "."), ("generate", "."), ("lint", "a/imagespec.yaml")])
def test_a_spec_link_that_leads_nowhere_is_named_as_found_with_its_target(
        repo: Path, write: Write, capsys, command: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    # was: "gone.yaml: no such file: a/imagespec.yaml", the missing target as the location
    (repo / "a").mkdir()
    (repo / "a" / "imagespec.yaml").symlink_to("../gone.yaml")
    write("b/imagespec.yaml", spec("isx14a-b", "debian:bookworm-slim"))
    code, out, err = run(capsys, *command)
    assert code == 2 and out == "", err
    assert err == ("a/imagespec.yaml: a symbolic link to gone.yaml, which does not exist\n"
                   "  hint: point the link at an existing file, or remove it\n"), err
    assert not (repo / "docker-bake.json").exists() and not (repo / "b" / "Dockerfile").exists()


def test_a_record_folder_where_the_record_file_goes_leaves_no_temporary_file(tmp_path: Path) -> None:
    # was: each run left a .fleet-state-XXXX file in the cache folder
    from imagespec.fleet.records import STATE_FILE, Record, read_state, write_state

    (tmp_path / STATE_FILE).mkdir()
    write_state(tmp_path, [Record("a", "/x/a/imagespec.yaml", "built")])
    assert read_state(tmp_path) == {} and sorted(p.name for p in tmp_path.iterdir()) == [STATE_FILE]


@pytest.mark.parametrize("text", ["\xff{garbage", '{"format": 1, "specs": []}', "[]", '{"format": 1, "specs": {"/a": 7}}'])
def test_a_corrupted_record_file_counts_as_no_previous_run_and_is_replaced(tmp_path: Path, text: str) -> None:
    from imagespec.fleet.records import STATE_FILE, Record, read_state, to_rerun, write_state

    (tmp_path / STATE_FILE).write_text(text, encoding="utf-8")
    assert to_rerun(["/a"], read_state(tmp_path)) == {"/a"}
    write_state(tmp_path, [Record("a", "/a", "built")])
    assert read_state(tmp_path) == {"/a": "built"}


@pytest.fixture
def immutable(repo: Path) -> Iterator[Path]:
    """A folder of the repository nobody, root included, can write in (`chattr +i`: root
    ignores file modes). In the repository: generate -o writes nowhere else."""
    folder = repo / "locked"
    folder.mkdir()
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {done.stderr.strip()}")
    yield folder
    subprocess.run(["chattr", "-i", str(folder)], capture_output=True, check=True)


@pytest.mark.parametrize("command", ["bake", "generate"])
def test_an_output_in_a_folder_that_cannot_be_written_is_exit_2_with_a_hint(
        repo: Path, write: Write, capsys, immutable: Path, command: str) -> None:  # type: ignore[no-untyped-def]
    # was: exit 1 (a failed check, by the README's codes) and no hint
    write("a/imagespec.yaml", spec("isx14a-a", "debian:bookworm-slim"))
    target = immutable / ("docker-bake.json" if command == "bake" else "Dockerfile")
    code, out, err = run(capsys, command, "a/imagespec.yaml" if command == "generate" else "a", "-o", str(target))
    assert code == 2 and out == "", err
    assert err == (f"{target}: cannot write this file: Operation not permitted\n"
                   "  hint: name a file in a folder you can write to, or make this one writable\n"), err
    assert list(immutable.iterdir()) == []


def test_an_engine_that_does_not_answer_is_exit_3_saying_why(repo: Path, write: Write, capsys,  # type: ignore[no-untyped-def]
                                                              monkeypatch: pytest.MonkeyPatch, engine) -> None:
    # was: "cannot inspect the BuildKit builder: exit 0" (buildx exits 0 and says why in its Error field)
    write("a/imagespec.yaml", spec("isx14a-a", "debian:bookworm-slim"))
    write("b/imagespec.yaml", spec("isx14a-b", "debian:bookworm-slim"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{repo / 'no-engine.sock'}")
    code, out, err = run(capsys, "build", ".", "--progress", "plain")
    assert code == 3 and out == "", err
    assert err.startswith(f"imagespec: cannot inspect the BuildKit builder: Cannot connect to the Docker daemon at "
                          f"unix://{repo / 'no-engine.sock'}"), err
    assert "hint: is the engine running?" in err and "#1 " not in err


def test_a_spec_path_longer_than_a_file_name_builds(repo: Path, write: Write, capsys, engine,  # type: ignore[no-untyped-def]
                                                     remove_images: list[str]) -> None:
    # was: a traceback (OSError: File name too long) from the run's scratch folder named
    # after the target, whose name is the spec's whole path; bake itself takes the name
    write(".imagespec.yaml", f"catalog: {CATALOG}\nbuild:\n  network: host\n")
    folder = "/".join(["a" * 120, "b" * 120, "c" * 120])
    write(f"{folder}/imagespec.yaml", "name: isx14a-long\nversion: 1.0.0\ntags: {git_sha: false}\n"
          "final:\n  from: debian-slim\n  cmd: [/bin/true]\n")
    remove_images += [f"isx14a-long:{tag}" for tag in ("1.0.0", "1.0", "1", "latest")]
    code, out, err = run(capsys, "build", ".", "--progress", "plain", "--format", "json")
    assert code == 0, err
    record, = json.loads(out)["targets"]
    assert record["target"] == folder.replace("/", "-") and len(record["target"]) > 255, record
    assert record["result"] == "built" and record["tags"][0] == "isx14a-long:1.0.0", record


@pytest.mark.parametrize("specs", [("a/imagespec.yaml",), (".",)])
def test_effective_with_an_output_file_is_exit_2_not_a_file_left_unwritten(
        repo: Path, write: Write, capsys, specs: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    # was: exit 0, the merged specs printed and -o FILE silently not written
    write("a/imagespec.yaml", spec("isx14a-a", "debian:bookworm-slim"))
    write("b/imagespec.yaml", spec("isx14a-b", "debian:bookworm-slim"))
    code, out, err = run(capsys, "generate", *specs, "--effective", "-o", "merged.yaml")
    assert code == 2 and out == "" and not (repo / "merged.yaml").exists(), err
    assert err == ("imagespec: --effective prints the merged spec: it does not write -o merged.yaml\n"
                   "  hint: redirect it: `imagespec generate SPEC --effective > merged.yaml`\n"), err
    code, out, err = run(capsys, "generate", *specs, "--effective", "-o", "-")
    assert code == 0 and out.startswith("# a/imagespec.yaml: the spec with its `extends` chain merged in\n"), err


def test_a_spec_named_against_the_file_name_rule_is_said_skipped(repo: Path, write: Write,
                                                                capsys) -> None:  # type: ignore[no-untyped-def]
    # was: imagespec.yml and Imagespec.yaml were silently left out of the fleet
    write("a/imagespec.yaml", spec("isx14a-a", "debian:bookworm-slim"))
    write("b/imagespec.yml", spec("isx14a-b", "debian:bookworm-slim"))
    write("c/Web.Imagespec.yaml", spec("isx14a-c", "debian:bookworm-slim"))
    write("d/notes.yaml", "not a spec\n")
    assert run(capsys, "generate", "a")[0] == 0  # bake would say a/Dockerfile is not generated yet
    code, out, err = run(capsys, "bake", ".", "-o", "-")
    assert code == 0 and list(json.loads(out)["target"]) == ["a"], err
    assert err == ("skipped b/imagespec.yml: a spec in a folder is named imagespec.yaml or NAME.imagespec.yaml (name "
                   "the file on the command line to use it as it is)\n"
                   "skipped c/Web.Imagespec.yaml: a spec in a folder is named imagespec.yaml or NAME.imagespec.yaml "
                   "(name the file on the command line to use it as it is)\n"), err
    code, out, err = run(capsys, "bake", ".", "b/imagespec.yml", "-o", "-")  # named: a spec after all
    assert code == 0 and list(json.loads(out)["target"]) == ["a", "b-imagespec"], err
    assert "skipped b/" not in err and "skipped c/Web.Imagespec.yaml" in err, err
    code, out, err = run(capsys, "bake", "b", "-o", "-")
    assert code == 2 and out == "" and err.startswith("b: no spec in folder b\n"), err
    assert err.endswith("; b/imagespec.yml was left out: a spec in a folder is named imagespec.yaml or "
                        "NAME.imagespec.yaml (name the file on the command line to use it as it is)\n"), err


def test_a_spec_name_on_a_fifo_or_a_folder_is_said_skipped(repo: Path, write: Write,
                                                          capsys) -> None:  # type: ignore[no-untyped-def]
    # was: left out without a word, and "no spec in folder b" beside b/imagespec.yaml
    import os

    write("a/imagespec.yaml", spec("isx14a-a", "debian:bookworm-slim"))
    (repo / "b").mkdir()
    os.mkfifo(repo / "b" / "imagespec.yaml")  # reading it would wait for a writer for ever
    (repo / "c" / "web.imagespec.yaml").mkdir(parents=True)
    code, out, err = run(capsys, "bake", ".", "-o", "-")
    assert code == 0 and list(json.loads(out)["target"]) == ["a"], err
    assert "skipped b/imagespec.yaml: not a regular file (a FIFO, socket or device, or a link to one)\n" in err, err
    assert "skipped c/web.imagespec.yaml: a folder, not a spec file (it is searched as a folder)\n" in err, err
    code, out, err = run(capsys, "bake", "b", "-o", "-")
    assert code == 2 and err.startswith("b: no spec in folder b\n"), err
    assert "; b/imagespec.yaml was left out: not a regular file" in err, err


def test_every_broken_spec_of_a_fleet_is_reported_in_one_run(repo: Path, write: Write,
                                                             capsys) -> None:  # type: ignore[no-untyped-def]
    # was: only the first broken spec, so a template change that broke forty specs took
    # forty runs to see
    write("a/imagespec.yaml", spec("isx14b-a", "debian:bookworm-slim").replace("final:\n  from:", "final:\n  fromm:"))
    write("b/imagespec.yaml", spec("isx14b-b", "debian:bookworm-slim"))
    write("c/imagespec.yaml", spec("isx14b-c", "debian:bookworm-slim").replace("  entrypoint: [/bin/true]\n", ""))
    write("d/imagespec.yaml", "name: isx14b-d\nversion: [1\n")
    err = refused(capsys, repo)
    located = [line.split(":", 3)[:3] for line in err.splitlines() if not line.startswith("  hint:")]
    assert [where[0] for where in located] == ["a/imagespec.yaml", "c/imagespec.yaml", "d/imagespec.yaml"], err
    assert "unknown key 'fromm'" in err and "hint: did you mean 'from'?" in err
    assert "needs an `entrypoint` or a `cmd`" in err
    code, out, err = run(capsys, "build", ".", "--format", "json")
    assert code == 2 and out == ""
    report = json.loads(err)
    assert [e["location"].split(":")[0] for e in report["errors"]] == ["a/imagespec.yaml", "c/imagespec.yaml",
                                                                       "d/imagespec.yaml"]
    assert report["exit_code"] == 2 and report["more"] == 0


def test_a_broken_configuration_under_every_spec_is_said_once(repo: Path, write: Write,
                                                              capsys) -> None:  # type: ignore[no-untyped-def]
    write(".imagespec.yaml", "build:\n  netwrk: host\n")
    for name in ("a", "b", "c"):
        write(f"{name}/imagespec.yaml", spec(f"isx14b-{name}", "debian:bookworm-slim"))
    err = refused(capsys, repo)
    assert len(err.splitlines()) == 2 and err.startswith(f"{repo / '.imagespec.yaml'}:2:3: "), err


def test_a_from_naming_a_moving_tag_two_versions_share_builds_on_the_newest(
        repo: Path, write: Write, capsys) -> None:  # type: ignore[no-untyped-def]
    # was: exit 2, "isx14a-two:1 is built by both …: ambiguous", though the newest version
    # alone gets the tag (BP14); an X.Y.Z tag still names its own version
    write(".imagespec.yaml", f"catalog: {CATALOG}\n")
    two_versions(write)
    write("app/imagespec.yaml", spec("isx14a-app", "isx14a-two:1"))
    write("pinned/imagespec.yaml", spec("isx14a-pinned", "isx14a-two:1.0.0"))
    code, out, err = run(capsys, "bake", ".", "-o", "-")
    assert code == 0, err
    targets = json.loads(out)["target"]
    assert targets["app"]["contexts"] == {"isx14a-two:1": "target:new"}
    assert targets["pinned"]["contexts"] == {"isx14a-two:1.0.0": "target:old"}
    # two specs of one version leave the tag without an owner: the X.Y.Z clash that causes it
    # is said (it also made app's FROM ambiguous, which was all that was said)
    write("old/imagespec.yaml", (repo / "old/imagespec.yaml").read_text().replace("1.0.0", "1.1.0"))
    err = refused(capsys, repo)
    assert err.startswith("old/imagespec.yaml:1:1: old/imagespec.yaml and new/imagespec.yaml both tag "
                          "isx14a-two:1.1.0: an X.Y.Z tag names one image (BP14)"), err


@pytest.mark.parametrize("where", ["one spec", "two specs"])
def test_two_secret_ids_one_bake_variable_would_name_are_exit_2(repo: Path, write: Write, capsys,  # type: ignore[no-untyped-def]
                                                                  where: str) -> None:
    # was: both read IMAGESPEC_SECRET_PIP_INDEX, so both got one file, silently
    ids = {"a": ["pip-index", "pip_index"]} if where == "one spec" else {"a": ["pip-index"], "b": ["pip_index"]}
    for folder, declared in ids.items():
        write(f"{folder}/imagespec.yaml", f"secrets: [{', '.join('{id: ' + i + '}' for i in declared)}]\n"
              + spec(f"isx14c-{folder}", "debian:bookworm-slim"))
    err = refused(capsys, repo)
    assert "secrets 'pip-index' (a/imagespec.yaml) and 'pip_index' would both be read from the bake variable " \
           "IMAGESPEC_SECRET_PIP_INDEX" in err, err
    assert "hint: rename one of the ids" in err
    # one id in two specs is one secret
    write("a/imagespec.yaml", "secrets: [{id: pip-index}]\n" + spec("isx14c-a", "debian:bookworm-slim"))
    write("b/imagespec.yaml", "secrets: [{id: pip-index}]\n" + spec("isx14c-b", "debian:bookworm-slim"))
    assert run(capsys, "bake", ".", "-o", "-")[0] == 0


def test_a_spec_linked_from_outside_the_repository_is_named_where_the_link_is(
        repo: Path, write: Write, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # was: the fleet's root became the common folder of the repository and the link's
    # target (/tmp), and every target's name changed ("b" became "tmp-…-repo-b")
    write("b/imagespec.yaml", spec("isx14d-b", "debian:bookworm-slim"))
    outside = tmp_path / "outside" / "spec.yaml"
    outside.parent.mkdir()
    outside.write_text(spec("isx14d-c", "debian:bookworm-slim"))
    (repo / "c.imagespec.yaml").symlink_to(outside)
    code, out, err = run(capsys, "bake", ".", "c.imagespec.yaml", "-o", "-")  # named: found, it is not read
    assert code == 0, err
    assert sorted(json.loads(out)["target"]) == ["b", "c"]
    code, out, err = run(capsys, "bake", ".", "-o", "-")
    assert code == 0 and sorted(json.loads(out)["target"]) == ["b"], err
    assert "skipped c.imagespec.yaml: a link to a file outside the repository" in err
    # a spec and a link to it in the fleet: one target, named after the spec
    (repo / "a").mkdir()
    (repo / "a" / "imagespec.yaml").symlink_to(repo / "b" / "imagespec.yaml")
    code, out, err = run(capsys, "bake", ".", "c.imagespec.yaml", "-o", "-")
    assert code == 0 and sorted(json.loads(out)["target"]) == ["b", "c"], err
    assert "skipped a/imagespec.yaml: the same file as b/imagespec.yaml, built once" in err


def test_two_links_to_one_spec_give_one_target_whatever_the_order(  # type: ignore[no-untyped-def]
        repo: Path, write: Write, capsys) -> None:
    """Was: the first argument's link won (`bake one two` and `bake two one` built two
    contexts under one tag), and the other was dropped without a word."""
    write("real/imagespec.yaml", spec("isx14d-r", "debian:bookworm-slim"))
    for folder in ("one", "two"):
        (repo / folder).mkdir()
        (repo / folder / "imagespec.yaml").symlink_to(repo / "real" / "imagespec.yaml")
    assert run(capsys, "generate", "one")[0] == 0  # else bake says one/Dockerfile is not generated yet
    for order in (("one", "two"), ("two", "one")):
        code, out, err = run(capsys, "bake", *order, "-o", "-")
        assert code == 0 and list(json.loads(out)["target"]) == ["one"], err
        assert err == ("skipped two/imagespec.yaml: the same file as one/imagespec.yaml, built once (a link to a spec "
                       "is that spec)\n")


def test_a_spec_named_through_a_linked_folder_and_as_itself_is_named_as_itself(  # type: ignore[no-untyped-def]
        repo: Path, write: Write, capsys) -> None:
    """Was: `list pay services` named the spec pay/api/imagespec.yaml (first in sorted order)
    and said services/payments/api/imagespec.yaml, the file itself, was skipped as a link."""
    write("services/payments/api/imagespec.yaml", spec("isx14d-api", "debian:bookworm-slim"))
    (repo / "pay").symlink_to(repo / "services" / "payments")
    code, out, err = run(capsys, "list", "pay", "services")
    assert code == 0 and out == "services/payments/api/imagespec.yaml\n", (out, err)
    assert err == ("skipped pay/api/imagespec.yaml: the same file as services/payments/api/imagespec.yaml, built "
                   "once (a link to a spec is that spec)\n")


def test_one_spec_named_twice_without_a_link_is_not_said_to_be_a_link(  # type: ignore[no-untyped-def]
        repo: Path, write: Write, capsys) -> None:
    """Was: "(a link to a spec is that spec)" for any second name of one file, an absolute
    and a relative path to it too (fleet QA)."""
    write("one/imagespec.yaml", spec("isx14d-one", "debian:bookworm-slim"))
    code, out, err = run(capsys, "list", str(repo / "one" / "imagespec.yaml"), "one")
    assert code == 0 and len(out.splitlines()) == 1, (out, err)
    assert err.endswith("built once (one spec, named twice)\n") and "link" not in err, err
