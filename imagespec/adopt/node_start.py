"""What a package.json `start` script runs, read as a shell would split it (never run):
`NODE_ENV=production node --enable-source-maps srv.js && …` is the file `srv.js`, node's
own options before it, and the variables assigned for that command.

May import the standard library only.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)
#: words that only set the environment for the command after them (`cross-env` is npm's
#: portable way to write `VAR=value cmd`)
_ENV_RUNNERS = frozenset({"env", "cross-env"})
#: node's options that take the next word as their value (`-r dotenv/config`)
_WITH_VALUE = frozenset({"-r", "--require", "--import", "--loader", "--experimental-loader", "--env-file",
                         "--conditions", "-C", "--title", "--inspect-port"})
#: node's options after which no file is run (code from the command line or stdin)
_NO_FILE = frozenset({"-e", "--eval", "-p", "--print", "-i", "--interactive", "-", "--test"})


@dataclass
class NodeStart:
    """The `node FILE` command of a start script; file None when it has none (note says why)."""

    file: str | None = None
    options: list[str] = field(default_factory=list)  # node's own, before the file
    env: dict[str, str] = field(default_factory=dict)  # assigned for that command (or exported before it)
    note: str | None = None
    args: list[str] = field(default_factory=list)  # the program's, after the file (`--port 8080`)
    #: what else the script runs, which an image that starts `node FILE` does not (said by init)
    others: list[str] = field(default_factory=list)


def read_start(script: str) -> NodeStart:
    """The first `node FILE` command among the script's commands (`a && b`, `a; b`)."""
    try:
        # a newline ends a command as `;` does (`DEBUG=1⏎node srv.js`: DEBUG is the shell's, not node's)
        lexer = shlex.shlex(script.replace("\n", " ; "), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError as error:  # an unclosed quote
        return NodeStart(note=f"the start script cannot be split ({error})")
    exported: dict[str, str] = {}
    found: NodeStart | None = None
    others: list[str] = []
    for command in _commands(words):
        env, rest = _assignments(command)
        if found is None and rest[:1] == ["export"] and all(_ASSIGNMENT.fullmatch(w) for w in rest[1:]):
            exported.update(_assignments(rest[1:])[0])  # `export X=1 && node …`: for what follows
        elif found is None and rest[:1] == ["node"]:
            found = _node_command(rest[1:])
            found.env = {**exported, **env}
        else:
            others.append(shlex.join(command))
    if found is None:
        return NodeStart(note="the start script runs no `node FILE` command")
    if "$(" in script or "`" in script:  # split into pieces above (`FOO=$`, `id`): said whole
        others = [f"a command substitution ($(…) or `…`) in {script[:80]!r}"]
    found.others = others
    return found


def _commands(words: list[str]) -> list[list[str]]:
    """The simple commands between the operators (`&&`, `||`, `;`, `|`, `&`)."""
    commands: list[list[str]] = [[]]
    for word in words:
        if word and all(c in "();<>|&" for c in word):
            commands.append([])
        else:
            commands[-1].append(word)
    return [command for command in commands if command]


def _assignments(command: list[str]) -> tuple[dict[str, str], list[str]]:
    """The leading `VAR=value` words (also after `env` or `cross-env`), and the rest."""
    env: dict[str, str] = {}
    index = 0
    while index < len(command):
        word = command[index]
        match = _ASSIGNMENT.fullmatch(word)
        if match:
            env[match.group(1)] = match.group(2)
        elif word not in _ENV_RUNNERS:
            break
        index += 1
    return env, command[index:]


def _node_command(arguments: list[str]) -> NodeStart:
    options: list[str] = []
    index = 0
    while index < len(arguments):
        word = arguments[index]
        if word in _NO_FILE:
            return NodeStart(note=f"the start script's node runs no file ({word})")
        if not word.startswith("-"):
            return NodeStart(file=word.removeprefix("./"), options=options, args=arguments[index + 1:])
        options.append(word)
        if word in _WITH_VALUE and index + 1 < len(arguments):
            options.append(arguments[index + 1])
            index += 1
        index += 1
    return NodeStart(note="the start script's node runs no file")
