"""What a failed RUN's own output says about which command failed.

Role: BuildKit reports the failing RUN (its lines and whole command) and the exit code,
never which `a && b && c` item failed. The shell sometimes says: a missing program is
reported by the shell itself with its name (dash: ``/bin/sh: 1: foo: not found``,
BusyBox: ``/bin/sh: foo: not found``, bash: ``/bin/bash: line 1: foo: command not
found``), and a script run with ``set -x`` (the heredoc form) traces each simple command
(``+ foo --flag``) before running it, so under ``set -e`` the last trace is the one that
failed. Pure: reads the log lines it is given.

May import: the standard library.
"""

from __future__ import annotations

import re
import shlex

# the program name as the shell prints it: the word it tried to run
_NOT_RUNNABLE = re.compile(
    r"(?:\S*/)?(?:sh|dash|ash|bash)(?:: line \d+|: \d+)?: (?P<name>[^\s:]+): (?:(?:command )?not found|Permission denied)"
)
_TRACE = re.compile(r"\++ (?P<command>\S.*)")


def program_not_run(log_tail: tuple[str, ...]) -> str | None:
    """The program the shell could not run (not found, not executable), if it said so."""
    for line in reversed(log_tail):
        # from the line's start only: BuildKit's log glues the other stream's output onto
        # it when both write at once (`…: not foundstep one`)
        match = _NOT_RUNNABLE.match(line.strip())
        if match:
            return match["name"]
    return None


# a tool's message about itself: `install: cannot stat 'app'`, `make: *** [all] Error 1`
_SAID = re.compile(r"(?P<name>[A-Za-z0-9_][A-Za-z0-9_.+-]*): \S.*")


def program_said(log_tail: tuple[str, ...]) -> str | None:
    """The program the last line of output names as its writer, as most tools start their
    error messages; a caller takes it only when it is a command of the step."""
    line = next((line.strip() for line in reversed(log_tail) if line.strip()), "")
    match = _SAID.fullmatch(line)
    return match["name"] if match else None


def last_traced(log_tail: tuple[str, ...]) -> str | None:
    """The program of the last ``set -x`` trace line (``+ make -j4`` → ``make``)."""
    for line in reversed(log_tail):
        match = _TRACE.fullmatch(line.rstrip())
        if match:
            words = _words(match["command"])
            # skip the assignments of `A=1 make`: the program is the first other word
            program = next((w for w in words if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", w)), None)
            return program
    return None


def runs_program(command: str, program: str) -> bool:
    """Whether `program` is one of the shell words of `command` (as written in the spec)."""
    return program in _words(command)


def _words(command: str) -> list[str]:
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        return list(lexer)
    except ValueError:  # unbalanced quotes: words split on blanks are close enough to look a name up
        return command.split()
