"""Which files are specs (imagespec.fleet.discover) and the target names they get."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

import pytest

from imagespec.cli import main
from imagespec.errors import SpecError
from imagespec.fleet import discover
from imagespec.fleet.names import group_of, name_of, spec_path

from tests.fleet.conftest import Write

SPEC = "name: {name}\nversion: 1.0.0\nfinal: {{from: static, copy: [{{src: x, dest: /x}}], entrypoint: [/x]}}\n"


def test_folders_are_searched_by_the_rule_sorted_and_each_spec_once(repo: Path, write: Write) -> None:
    for path in ("b/imagespec.yaml", "a/imagespec.yaml", "a/api.imagespec.yaml", "a/deep/er/imagespec.yaml",
                 "a/.hidden/imagespec.yaml", "a/node_modules/x/imagespec.yaml", "a/.venv/imagespec.yaml",
                 "a/notes.yaml", "a/imagespec.yml", "a/.imagespec.yaml", "a/x.imagespec.yaml.bak"):
        write(path, SPEC.format(name="x"))
    found = discover([Path("b"), Path("a"), Path("a/imagespec.yaml"), Path("./a")])
    assert [p.as_posix() for p in found] == ["a/api.imagespec.yaml", "a/deep/er/imagespec.yaml", "a/imagespec.yaml",
                                            "b/imagespec.yaml"]


def test_a_file_named_on_the_command_line_is_taken_whatever_its_name(repo: Path, write: Write) -> None:
    write("apps/go/preset.yaml", SPEC.format(name="x"))
    assert discover([Path("apps/go/preset.yaml")]) == [Path("apps/go/preset.yaml")]


def test_a_folder_without_a_spec_is_bad_input(repo: Path, write: Write) -> None:
    write("empty/notes.yaml", "a: 1\n")
    with pytest.raises(SpecError, match="no spec in folder empty"):
        discover([Path("empty")])
    with pytest.raises(SpecError, match="no such spec or folder: missing"):
        discover([Path("missing")])
    # there, but neither a file nor a folder (was: "no such spec or folder: /dev/null")
    with pytest.raises(SpecError, match="not a regular file or a folder: /dev/null"):
        discover([Path("/dev/null")])


@pytest.mark.parametrize("command", ["generate", "check", "lint", "bake", "test"])
def test_every_fleet_command_answers_a_folder_without_spec_with_exit_2(
        command: str, repo: Path, write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    write("empty/readme.md", "nothing\n")
    write("ok/imagespec.yaml", SPEC.format(name="ok"))
    assert main([command, "ok", "empty"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("empty: no spec in folder empty") and "hint: a spec is a file named imagespec.yaml" in err
    assert not (repo / "ok" / "Dockerfile").exists() and not (repo / "docker-bake.json").exists()


def test_generate_and_check_take_folders(repo: Path, write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    write("svc/a/imagespec.yaml", SPEC.format(name="a"))
    write("svc/b.imagespec.yaml", SPEC.format(name="b") + "dockerfile: b.Dockerfile\n")
    assert main(["generate", "svc"]) == 0
    assert (repo / "svc/a/Dockerfile").is_file() and (repo / "svc/b.Dockerfile").is_file()
    assert main(["check", "svc"]) == 0
    assert "2 spec(s) up to date" in capsys.readouterr().err


@pytest.mark.parametrize(("path", "target", "group"), [
    ("examples/company/billing/imagespec.yaml", "examples-company-billing", "examples-company"),
    ("svc/api.imagespec.yaml", "svc-api", "svc"),
    ("Web.App/imagespec.yaml", "web-app", None),
    ("imagespec.yaml", "root", None),
    ("bench/apps/go/preset.yaml", "bench-apps-go-preset", "bench-apps-go"),
    # a folder with none of bake's characters keeps a name of its own (it was dropped: `root`)
    ("ü/imagespec.yaml", "x" + hashlib.sha256("ü".encode()).hexdigest()[:8], None),
    ("apps/日本/imagespec.yaml", "apps-x" + hashlib.sha256("日本".encode()).hexdigest()[:8], "apps"),
])
def test_target_and_group_names_come_from_the_spec_path(path: str, target: str, group: str | None) -> None:
    fleet_path = spec_path(Path("/r") / path, Path("/r"))
    assert name_of(fleet_path) == target
    assert group_of(fleet_path) == group
    assert name_of(PurePosixPath(".")) == "root"


def test_test_of_several_specs_takes_no_image(repo: Path, write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    write("a/imagespec.yaml", SPEC.format(name="a"))
    write("b/imagespec.yaml", SPEC.format(name="b"))
    assert main(["test", "a", "b", "--image", "isx14a-x:1"]) == 2
    assert "--image names the image of one SPEC" in capsys.readouterr().err


def test_a_file_that_is_not_a_spec_is_exit_2_at_its_line(repo: Path, write: Write,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    write("ok/imagespec.yaml", SPEC.format(name="ok"))
    write("compose.yaml", "services:\n  web: {image: x}\n")
    assert main(["bake", "ok", "compose.yaml"]) == 2
    assert capsys.readouterr().err.startswith("compose.yaml:1:1: missing required key 'name'")
    assert not (repo / "docker-bake.json").exists()


def test_a_fifo_named_like_a_spec_is_not_a_spec_and_never_read(repo: Path, write: Write) -> None:
    # redteam: `mkfifo a/x.imagespec.yaml`; `imagespec bake .` hung for ever reading it
    import os

    write("a/imagespec.yaml", SPEC.format(name="x"))
    os.mkfifo(repo / "a" / "x.imagespec.yaml")
    assert [p.as_posix() for p in discover([Path(".")])] == ["a/imagespec.yaml"]


def test_a_hidden_file_is_no_spec_as_a_hidden_folder_is_not_searched(repo: Path, write: Write,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """QA: Emacs's lock file `.#api.imagespec.yaml` (a link that leads nowhere while the spec
    is edited) was taken as a spec, and every fleet command failed on it."""
    write("a/api.imagespec.yaml", SPEC.format(name="api"))
    (repo / "a" / ".#api.imagespec.yaml").symlink_to("root@host.1234:1700000000")
    write("a/.old.imagespec.yaml", SPEC.format(name="old"))
    assert discover([Path("a")]) == [Path("a/api.imagespec.yaml")]
    assert main(["list", "a"]) == 0
    out, err = capsys.readouterr()
    assert out == "a/api.imagespec.yaml\n" and err == ""  # not a near miss to note either


def test_list_refuses_a_link_that_leads_nowhere_as_every_other_fleet_command_does(
        repo: Path, write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    """QA: `list` printed a dangling link and a loop of links (exit 0) that `generate`,
    `lint`, `check` and `bake` refuse (exit 2), though it finds specs "as every fleet
    command finds them"."""
    write("a/imagespec.yaml", SPEC.format(name="a"))
    (repo / "loop").mkdir()
    (repo / "loop" / "x.imagespec.yaml").symlink_to("y.imagespec.yaml")
    (repo / "loop" / "y.imagespec.yaml").symlink_to("x.imagespec.yaml")
    (repo / "loop" / "z.imagespec.yaml").symlink_to("nowhere.yaml")
    for command in ("list", "generate"):
        assert main([command, "a", "loop"]) == 2, command
        err = capsys.readouterr().err
        assert "loop/x.imagespec.yaml: its symbolic links lead in a circle" in err, (command, err)
        assert "loop/z.imagespec.yaml: a symbolic link to loop/nowhere.yaml, which does not exist" in err, err
    assert not (repo / "a" / "Dockerfile").exists()
