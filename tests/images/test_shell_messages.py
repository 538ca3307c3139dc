"""build/shell_messages.py: what a failed RUN's output says about which command failed.
The messages are the shells' own (dash, BusyBox ash, bash), as BuildKit passes them on."""

from __future__ import annotations

import pytest

from imagespec.engine.shell_messages import last_traced, program_not_run, program_said, runs_program


@pytest.mark.parametrize("line", [
    "/bin/sh: 1: foo: not found",  # dash (Debian, Ubuntu)
    "/bin/sh: foo: not found",  # BusyBox ash (Alpine)
    "/bin/bash: line 1: foo: command not found",  # bash, as SHELL
    "bash: foo: command not found",
    "/bin/sh: 1: foo: Permission denied",  # not executable
    "/bin/sh: 1: foo: not foundstep one",  # BuildKit glued the other stream's output on (seen in CI)
])
def test_the_shell_names_the_program_it_could_not_run(line: str) -> None:
    assert program_not_run(("building", line, "")) == "foo"


def test_output_that_only_mentions_not_found_names_nothing() -> None:
    assert program_not_run(("ls: cannot access '/x': No such file or directory", "error: not found")) is None
    assert program_not_run(("go: foo: not found",)) is None  # a program's message, not the shell's


def test_the_last_trace_is_the_command_set_e_stopped_at() -> None:
    tail = ("+ mkdir -p /out", "+ CGO_ENABLED=0 go build -o /out/app .", "main.go:3: undefined: x")
    assert last_traced(tail) == "go"
    assert last_traced(("++ id -u", "+ test 0 = 1")) == "test"
    assert last_traced(("no trace here",)) is None


def test_a_program_is_one_of_the_commands_words() -> None:
    assert runs_program("cd web && npm ci --omit=dev", "npm")
    assert runs_program("(make; foo)", "foo")
    assert not runs_program("foobar --x", "foo")
    assert runs_program("echo 'unbalanced", "echo")  # words split on blanks when quotes do not close


@pytest.mark.parametrize(("tail", "program"), [
    (("cc -o bin/wc wc.c", "install: cannot stat 'app': No such file or directory"), "install"),
    (("wc.c:1: error: x", "make: *** [Makefile:4: bin/wc] Error 1", ""), "make"),
    (("install: cannot stat 'app'", "done"), None),  # only the last line says who stopped the step
    (("/bin/sh: 1: foo: not found",), None)])
def test_a_tool_names_itself_at_the_start_of_its_last_message(tail: tuple[str, ...], program: str | None) -> None:
    assert program_said(tail) == program
