"""Merging RUN steps must not change what runs: the merged step executes each command
in order and fails whenever one of the separate steps would have failed (BP11 without
the silent failures of STYLE.md's "what not to copy").

No engine needed: the RUN text BuildKit's parser reads back is executed with the
stage's shell exactly as BuildKit would (`SHELL` argv + the text, the exec-form argv,
or the heredoc as the shell's script), in a temporary folder.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler_helpers import compile_text, parse

DEFAULT_SHELL = ("/bin/sh", "-c")

# (template, fails as a step of its own); {n} is replaced by a unique marker
FRAGMENTS = [
    "echo {n}",
    "false",
    "echo {n}; false",
    "false; echo {n}",
    "false || echo {n}",
    "echo {n} || false",
    "echo {n} # a comment with && inside",
    "echo {n} && false",
    "(exit 3)",
    "echo {n} & wait",
    # ends in a terminator: `echo a; && next` was a syntax error when it came first (QA)
    "echo {n};",
    "true &",
    "if true; then echo {n}; fi",
    "echo {n} 2>&1",
    "echo '{n};x'",
    "echo {n}\necho {n}-second-line",
    "echo {n}\nfalse",
    # shell state: each item starts where a RUN of its own would (the stage's workdir,
    # no variable of the item before); `pwd` and the echo show a leak
    "cd ..",
    "cd / && echo {n}",
    "export X={n}",
    "X={n}",
    "umask 077",
    "exit 0",
    "pwd",
    "echo ${{X:-unset}}",
]


def _run(argv: list[str], cwd: Path) -> tuple[int, str]:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=10)
    return done.returncode, done.stdout


def separately(commands: list[str], cwd: Path) -> tuple[bool, str]:
    """The reference: one RUN per command, the build stops at the first failure."""
    out = ""
    for command in commands:
        code, stdout = _run([*DEFAULT_SHELL, command], cwd)
        out += stdout
        if code != 0:
            return False, out
    return True, out


def merged(commands: list[str], cwd: Path, features: list[str]) -> tuple[bool, str, list[str]]:
    spec = {"name": "semantics", "features": features,
            "stages": {"build": {"from": "debian-slim", "run": commands, "artifacts": ["/out"]}},
            "final": {"from": "debian-slim", "copy": [{"from": "build", "src": "/out", "dest": "/out"}],
                      "entrypoint": ["/bin/true"]}}
    compiled = compile_text(yaml.safe_dump(spec, allow_unicode=True))
    instructions = parse(compiled.dockerfile)
    stage = instructions[next(i for i, c in enumerate(instructions) if c.value[-1:] == ("build",)):]
    shell, out, forms = list(DEFAULT_SHELL), "", []
    for command in stage[1:]:
        kind = command.cmd.upper()
        if kind == "FROM":
            break
        if kind == "SHELL":
            shell = list(command.value)
        if kind != "RUN":
            continue
        if command.heredocs:
            argv, form = [*shell, command.heredocs[0].content], "heredoc"
        elif command.json:
            argv, form = list(command.value), "exec"
        else:
            argv, form = [*shell, command.value[0]], "shell"
        forms.append(form)
        code, stdout = _run(argv, cwd)
        out += stdout
        if code != 0:
            return False, out, forms
    return True, out, forms


def assert_same_effect(commands: list[str], cwd: Path, features: list[str]) -> None:
    ok, out = separately(commands, cwd)
    got_ok, got_out, forms = merged(commands, cwd, features)
    if not ok:
        assert not got_ok, f"a failing command was hidden by merging: {commands!r}"
    if got_ok:
        assert got_out == out, commands
    if forms == ["shell"]:
        # the plain `&&` form has no `set -e`: it must behave exactly like separate steps
        assert (got_ok, got_out) == (ok, out), commands


@pytest.mark.parametrize("commands", [
    ["cd / && echo a", "pwd"],
    ["export X=1", "echo ${X:-unset}"],
    ["X=1", "echo ${X:-unset}"],
    ["exit 0", "echo after"],
    ["false", "false || echo fallback"],
    ["false", "echo a; echo b"],
    ["echo one # first", "echo two"],
    ["true", "sleep 0 & false"],
    ["echo start", "false; true"],
])
def test_merged_steps_fail_and_run_like_separate_steps(commands: list[str], tmp_path: Path) -> None:
    assert_same_effect(commands, tmp_path, [])


@pytest.mark.parametrize("features", [[], ["heredoc"]])
def test_an_unset_variable_reads_as_empty_in_the_script_form_too(tmp_path: Path, features: list[str]) -> None:
    """A comment makes the step a script (`set -e`); a RUN of its own reads an unset
    variable as empty, and so does the script (was `set -eu`: "parameter not set")."""
    ok, out, forms = merged(["echo one  # note", 'echo "[$IMAGESPEC_NEVER_SET]"'], tmp_path, features)
    assert forms == (["heredoc"] if features else ["exec"]) and (ok, out) == (True, "one\n[]\n"), (forms, out)


def test_a_comment_never_swallows_the_next_command(tmp_path: Path) -> None:
    ok, out, _ = merged(["echo one # note", "echo two"], tmp_path, [])
    assert (ok, out) == (True, "one\ntwo\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, len(FRAGMENTS) - 1), min_size=2, max_size=5),
       heredoc=st.booleans())
def test_merging_never_changes_what_runs(picks: list[int], heredoc: bool, tmp_path: Path) -> None:
    commands = [FRAGMENTS[k].format(n=f"m{i}") for i, k in enumerate(picks)]
    assert_same_effect(commands, tmp_path, ["heredoc"] if heredoc else [])


@pytest.mark.parametrize("command", ['["touch", "exec-form-ran"]', '["sh", "-c", "touch exec-form-ran"]', "[]",
                                     # Go's json.Decoder reads the first value and ignores the rest
                                     '["touch", "exec-form-ran"] && echo more', '["touch","exec-form-ran"]x'])
@pytest.mark.parametrize("features", [[], ["heredoc"]])
def test_a_string_that_is_json_still_runs_in_a_shell(command: str, features: list[str], tmp_path: Path) -> None:
    # BuildKit reads a RUN whose text parses as a JSON array as the exec form: written
    # as it is, '["touch", "x"]' would run touch without a shell. A string is a shell
    # command, so the shell must see it (and fail: `[touch,` is no command)
    assert separately([command], tmp_path)[0] is False
    ok, _, forms = merged([command], tmp_path, features)
    assert forms and "shell" not in forms
    assert not ok and not (tmp_path / "exec-form-ran").exists()


@pytest.mark.parametrize("features", [[], ["heredoc"]])
def test_a_script_step_in_a_stage_with_pipes_fails_on_a_failing_pipe_too(tmp_path: Path, features: list[str]) -> None:
    """QA: the stage got `SHELL [bash, -o, pipefail, -c]`, but a command over several lines
    (exec form, for its newlines) ran `/bin/sh -c` and its `false | true` passed: exec form
    does not go through SHELL. Both forms of the step now fail as the one-line one does."""
    for commands in (["false | true"], ["false | true\necho after"]):
        ok, _, forms = merged(commands, tmp_path, features)
        assert not ok, (commands, forms)
