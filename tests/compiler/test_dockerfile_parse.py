"""Every example and golden Dockerfile, read back by BuildKit's own parser, holds
exactly the instructions the plan intended (none injected, lost or reordered; every
value round-trips), and hadolint finds nothing in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler_helpers import (
    EXAMPLES,
    GOLDEN_CASES,
    assert_matches_plan,
    case_id,
    compile_path,
    compile_text,
    final_commands,
    hadolint,
    intended_start,
    parse,
    unquote,
)

SPECS = EXAMPLES + GOLDEN_CASES
IDS = [f"{p.parent.parent.name}/{case_id(p)}" for p in SPECS]


@pytest.fixture(scope="module")
def hadolint_findings() -> dict[str, list]:
    # one hadolint run for every file: it costs ~0.2 s per start (a missing file fails its own test)
    return hadolint([spec.parent / "Dockerfile" for spec in SPECS if (spec.parent / "Dockerfile").exists()])


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_buildkit_reads_exactly_the_planned_instructions(spec: Path) -> None:
    compiled = compile_path(spec)
    text = (spec.parent / "Dockerfile").read_text(encoding="utf-8")
    commands = assert_matches_plan(text, compiled.plan)

    assert sum(c.cmd.upper() == "FROM" for c in commands) == len(compiled.plan.stages)
    final = final_commands(commands)
    entrypoint, cmd = intended_start(compiled)
    got_entrypoint = [c for c in final if c.cmd.upper() == "ENTRYPOINT"]
    got_cmd = [c for c in final if c.cmd.upper() == "CMD"]
    assert [(c.json, c.value) for c in got_entrypoint] == ([(True, entrypoint)] if entrypoint else [])
    assert [(c.json, c.value) for c in got_cmd] == ([(True, cmd)] if cmd else [])

    env = {}
    for command in final:
        if command.cmd.upper() == "ENV":
            env.update(zip(command.value[::2], map(unquote, command.value[1::2]), strict=True))
    assert env == dict(compiled.loaded.spec.final.env)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_hadolint_finds_nothing(spec: Path, hadolint_findings: dict[str, list]) -> None:
    assert (spec.parent / "Dockerfile").exists()
    assert hadolint_findings[str(spec.parent / "Dockerfile")] == []


def test_hadolint_check_can_fail(tmp_path: Path) -> None:
    """The hadolint check is real: a shell-form CMD and apt without cleanup are found."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\nCMD echo hi\n")
    codes = {f.code for f in hadolint([bad])[str(bad)]}
    assert {"DL3008", "DL3009", "DL3025"} <= codes


BACKSLASHES = ('name: app\nfinal:\n  from: debian-slim\n  env:\n    DIR: \'C:\\dir\\\'\n    ONE: \'\\\'\n'
               '    TWO: \'a\\\\\'\n    QUOTE: \'a\\"b $x\'\n'
               '  labels: {com.example.path: \'a\\b\\\'}\n'
               '  entrypoint: [/app, \'C:\\dir\\\', \'a\\"b\']\n'
               '  healthcheck: {cmd: [/app, \'x\\\']}\n')


def test_values_ending_in_a_backslash_round_trip_through_buildkit(tmp_path: Path) -> None:
    """A value ending in a backslash, or with one before a quote: BuildKit reads it back
    exactly, and hadolint parses the file (it failed on `ENV DIR="C:\\\\dir\\\\"`, and took
    `["C:\\\\dir\\\\"]` for a shell-form ENTRYPOINT)."""
    compiled = compile_text(BACKSLASHES)
    assert_matches_plan(compiled.dockerfile, compiled.plan)
    commands = parse(compiled.dockerfile)
    env = next(c for c in commands if c.cmd == "ENV")
    assert dict(zip(env.value[::2], map(unquote, env.value[1::2]), strict=True)) == {
        "DIR": "C:\\dir\\", "ONE": "\\", "TWO": "a\\\\", "QUOTE": 'a\\"b $x'}
    label = next(c for c in commands if c.cmd == "LABEL" and "com.example.path" in c.value)
    assert unquote(label.value[label.value.index("com.example.path") + 1]) == "a\\b\\"
    entrypoint = next(c for c in commands if c.cmd == "ENTRYPOINT")
    assert entrypoint.json and list(entrypoint.value) == ["/app", "C:\\dir\\", 'a\\"b']
    written = tmp_path / "Dockerfile"
    written.write_text(compiled.dockerfile, encoding="utf-8")
    assert hadolint([written]) == {str(written): []}
