"""Every spec that does not load or compile is reported in one run by the commands that take
several specs (generate, check, lint, test; bake and build: tests/fleet/test_hostile_fleets.py),
each at its place, exit 2, nothing written. Was: generate, check, lint and test stopped at
the first broken spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagespec.errors import EngineError, SpecError, SpecErrors, each_or_together

from tests.fleet.conftest import CATALOG, Write
from tests.fleet.test_hostile_fleets import run

GOOD = "name: {name}\nversion: 1.0.0\nlicense: MIT\nfinal: {{from: static, entrypoint: [/x]}}\n"
# each broken spec, and where its one message starts
LOAD_ERRORS = {
    "empty": (b"", "o/imagespec.yaml:1:1: the file is empty"),
    "a list": (b"- name: x\n", "o/imagespec.yaml:1:1: a spec must be a mapping, not a list"),
    "not UTF-8": (b"name: caf\xe9\n", "o/imagespec.yaml:1:10: the file is not UTF-8 text"),
    "a missing extends target": (GOOD.format(name="mine-qa-o").replace("name:", "extends: ./gone.yaml\nname:", 1)
                                 .encode(), "o/imagespec.yaml:1:10: no spec at './gone.yaml'"),
}


@pytest.fixture
def fleet(repo: Path, write: Write) -> Path:
    """g/ compiles; n/ has an invalid name, o/ an invalid version."""
    write(".imagespec.yaml", f"catalog: {CATALOG}\n")
    write("g/imagespec.yaml", GOOD.format(name="mine-qa-g"))
    write("n/imagespec.yaml", GOOD.format(name="Mine-QA-Bad"))
    write("o/imagespec.yaml", GOOD.format(name="mine-qa-o").replace("1.0.0", "1.0.0.0"))
    return repo


def located(err: str) -> list[str]:
    """The file of each message (hint lines skipped)."""
    return [line.split(":", 1)[0] for line in err.splitlines() if not line.startswith("  hint:")]


@pytest.mark.parametrize("command", ["lint", "generate", "check", "test"])
def test_every_broken_spec_is_reported_in_one_run(fleet: Path, capsys, command: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, command, ".")
    assert code == 2 and out == "", err
    assert located(err) == ["n/imagespec.yaml", "o/imagespec.yaml"], err
    assert "'Mine-QA-Bad' is not a valid image name" in err and "'1.0.0.0' is not a semantic version" in err
    assert not (fleet / "g" / "Dockerfile").exists() and not (fleet / "g" / ".dockerignore").exists()


@pytest.mark.parametrize("command", ["lint", "check", "test"])
def test_every_broken_spec_is_in_the_json_errors(fleet: Path, capsys, command: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, command, ".", "--format", "json")
    assert code == 2
    # lint's and check's JSON is a file CI keeps: the report is there, the message for people on stderr
    report = json.loads(out if command in ("lint", "check") else err)
    assert out == "" if command == "test" else located(err) == ["n/imagespec.yaml", "o/imagespec.yaml"]
    assert [e["location"].split(":")[0] for e in report["errors"]] == ["n/imagespec.yaml", "o/imagespec.yaml"]
    assert report["exit_code"] == 2 and report["more"] == 0


def test_several_spec_files_named_are_each_reported(fleet: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    for command in ("generate", "check", "lint"):
        code, _out, err = run(capsys, command, "n/imagespec.yaml", "g/imagespec.yaml", "o/imagespec.yaml")
        assert code == 2 and located(err) == ["n/imagespec.yaml", "o/imagespec.yaml"], (command, err)
    code, _out, err = run(capsys, "generate", "--effective", "n/imagespec.yaml", "o/imagespec.yaml")
    assert code == 2 and located(err) == ["n/imagespec.yaml", "o/imagespec.yaml"], err
    assert not (fleet / "g" / "Dockerfile").exists()


@pytest.mark.parametrize("broken", LOAD_ERRORS, ids=list(LOAD_ERRORS))
def test_a_spec_that_does_not_load_is_reported_with_the_others(fleet: Path, capsys,  # type: ignore[no-untyped-def]
                                                               broken: str) -> None:
    text, where = LOAD_ERRORS[broken]
    (fleet / "o" / "imagespec.yaml").write_bytes(text)
    for command in ("lint", "generate"):
        code, out, err = run(capsys, command, ".")
        assert code == 2 and out == "" and "Traceback" not in err, err
        messages = [line for line in err.splitlines() if not line.startswith("  hint:")]
        assert [line.split(":", 1)[0] for line in messages] == ["n/imagespec.yaml", "o/imagespec.yaml"], err
        assert messages[1].startswith(where), err
    assert not (fleet / "g" / "Dockerfile").exists()


def test_a_good_fleet_still_generates(fleet: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (fleet / "n" / "imagespec.yaml").write_text(GOOD.format(name="mine-qa-n"), encoding="utf-8")
    (fleet / "o" / "imagespec.yaml").write_text(GOOD.format(name="mine-qa-o"), encoding="utf-8")
    code, _out, err = run(capsys, "generate", ".")
    assert code == 0, err
    assert all((fleet / name / "Dockerfile").is_file() for name in "gno")


def test_an_error_that_is_not_the_inputs_stops_at_once() -> None:
    seen: list[int] = []

    def do(item: int) -> int:
        seen.append(item)
        if item == 1:
            raise SpecError("one is broken")
        if item == 2:
            raise EngineError("the engine went away")
        return item

    with pytest.raises(EngineError):
        each_or_together([0, 1, 2, 3], do)
    assert seen == [0, 1, 2]


def test_errors_past_the_cap_are_counted() -> None:
    broken = [SpecError(f"broken {n}") for n in range(25)]
    with pytest.raises(SpecErrors) as raised:
        each_or_together(broken, lambda error: (_ for _ in ()).throw(error))
    assert len(raised.value.errors) == 20 and raised.value.more == 5
    assert [error.message for error in raised.value.errors] == [f"broken {n}" for n in range(20)]
