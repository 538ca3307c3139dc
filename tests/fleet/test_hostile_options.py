"""Options a stranger gets wrong on the fleet commands (found by trying them, each once a
bug): one message, exit 2, nothing built or written, and with --format json the error
as one JSON document on stderr, stdout empty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagespec.cli import main

from tests.fleet.conftest import Write
from tests.fleet.test_graph import spec


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def two(repo: Path, write: Write) -> Path:
    write("a/imagespec.yaml", spec("isx14a-ha", "debian:bookworm-slim"))
    write("b/imagespec.yaml", spec("isx14a-hb", "debian:bookworm-slim"))
    return repo


@pytest.mark.parametrize("name", ["--help", "-h", "", "a b", "a;touch x", "$(id)", "x" * 300])
def test_a_builder_name_buildx_cannot_have_is_exit_2_before_buildx_is_asked(two: Path, capsys, name: str) -> None:  # type: ignore[no-untyped-def]
    # `--builder --help` was handed to `docker buildx inspect --help` (exit 3 "cannot inspect
    # the BuildKit builder: exit 0"); `--builder ''` silently built on the current builder
    code, out, err = run(capsys, "build", "a", "b", "--builder", name, "--format", "json")
    assert code == 2 and out == "", err
    error = json.loads(err)
    assert error["exit_code"] == 2 and "not a builder name" in error["message"], error
    assert not (two / "x").exists()


@pytest.mark.parametrize("jobs", ["0", "-1", "abc"])
def test_a_bad_jobs_value_is_a_json_error_with_format_json(two: Path, capsys, jobs: str) -> None:  # type: ignore[no-untyped-def]
    # click's usage errors were printed as text ("Usage: …") whatever --format said
    code, out, err = run(capsys, "build", "a", "b", "--format", "json", "--jobs", jobs)
    assert code == 2 and out == ""
    error = json.loads(err)
    assert error["exit_code"] == 2 and "--jobs" in error["message"], error


def test_a_usage_error_stays_text_without_format_json(two: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "build", "a", "b", "--jobs", "0")
    assert code == 2 and out == "" and "Invalid value for '--jobs'" in err and not err.startswith("{")


def test_bake_onto_a_directory_is_exit_2_and_writes_nothing(two: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (two / "out").mkdir()
    code, out, err = run(capsys, "bake", ".", "-o", "out", "--format", "json")
    assert code == 2 and out == "", err  # was exit 1, "cannot read this file: Is a directory"
    error = json.loads(err)
    assert error["location"] == "out" and "is a directory" in error["message"], error
    assert list((two / "out").iterdir()) == []


def test_bake_onto_an_empty_path_is_exit_2_not_the_default_file(two: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(capsys, "bake", ".", "-o", "")
    assert code == 2 and "-o" in err, err  # `-o ''` wrote docker-bake.json
    assert not (two / "docker-bake.json").exists()


def test_a_configured_builder_name_is_checked_at_its_line(two: Path, write: Write, capsys) -> None:  # type: ignore[no-untyped-def]
    write(".imagespec.yaml", "build:\n  builder: \"--help\"\n")
    code, out, err = run(capsys, "build", "a", "b", "--format", "json")
    assert code == 2 and out == "", err
    error = json.loads(err)
    assert error["location"].endswith("/.imagespec.yaml:2:3") and "not a builder name" in error["message"], error


def test_a_dockerfile_outside_the_repository_is_exit_2_in_bake_as_in_generate(repo: Path, write: Write,
                                                                              capsys) -> None:  # type: ignore[no-untyped-def]
    # redteam: generate refused `dockerfile: ../../x`, bake wrote a target naming it
    write("a/imagespec.yaml", "dockerfile: ../../outside.Dockerfile\n" + spec("isx14a-ha", "debian:bookworm-slim"))
    code, _, err = run(capsys, "bake", ".")
    assert code == 2 and err.startswith("a/imagespec.yaml:1:1: dockerfile: generate would write ") and \
        "outside the spec's repository" in err, err
    assert not (repo / "docker-bake.json").exists()
