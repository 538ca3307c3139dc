"""Shared helpers for the compiler tests: compiling files, reading Dockerfiles back
with BuildKit's own parser, and checking that what it reads is exactly what the
plan intended (no instruction injected, lost or reordered; every value round-trips).

Named compiler_helpers (not helpers) so it never clashes with another test folder's
module of the same name: the test folders have no __init__.py.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import dockerfile

from imagespec.contract import as_pattern
from imagespec.compiler import Compiled, compile_spec
from imagespec.plan import model as p
from imagespec.render.dockerfile import copy_flags
from imagespec.render.serialize import separate_commands
from imagespec.spec.config import Config, load_config
from imagespec.spec.read_spec import load_spec, load_spec_text
from tests import tools

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXAMPLES = sorted((REPO / "examples").rglob("imagespec.yaml"))  # company/<app>/ too
GOLDEN = HERE / "golden"
GOLDEN_CASES = sorted(GOLDEN.glob("*/spec.yaml"))
INVALID = HERE / "invalid"

TINI = "/usr/bin/tini"
SECRET = "/run/secrets/ca-bundle"


def compile_path(path: Path, config: Config | None = None) -> Compiled:
    config = config or load_config(start=path.parent)
    return compile_spec(load_spec(path, config), config)


def compile_text(text: str, config: Config | None = None) -> Compiled:
    return compile_spec(load_spec_text(text), config or load_config())


def case_id(path: Path) -> str:
    return path.parent.name


# --- reading values back the way BuildKit does -------------------------------------------

def unquote(word: str) -> str:
    """An ENV/LABEL/ARG word as BuildKit's lexer reads it, of the parts serialize.quoted
    writes: double-quoted parts, where `\\\\`, `\\"` and `\\$` are escapes and any other
    backslash is literal, and between them unquoted escaped backslashes (`"C:\\\\dir"\\\\""`)."""
    assert len(word) >= 2 and word[0] == '"' and word[-1] == '"', f"not a double-quoted word: {word!r}"
    out, i, inside = [], 0, False
    while i < len(word):
        char = word[i]
        if char == '"':
            inside = not inside
            i += 1
            continue
        if char == "\\" and i + 1 < len(word) and (word[i + 1] in '\\"$' if inside else word[i + 1] == "\\"):
            out.append(word[i + 1])
            i += 2
            continue
        assert inside, f"unquoted {char!r} in {word!r}"
        assert not (char == "$"), f"unescaped $ inside {word!r}: BuildKit would expand it"
        out.append(char)
        i += 1
    assert not inside, f"unbalanced quotes in {word!r}"
    return "".join(out)


def parse(text: str) -> list[dockerfile.Command]:
    return list(dockerfile.parse_string(text))


# --- what the plan intended ----------------------------------------------------------------

KIND = {p.Shell: "SHELL", p.Run: "RUN", p.Copy: "COPY", p.Arg: "ARG", p.Env: "ENV", p.Label: "LABEL",
        p.Workdir: "WORKDIR", p.User: "USER", p.Expose: "EXPOSE", p.Healthcheck: "HEALTHCHECK",
        p.StopSignal: "STOPSIGNAL", p.Volume: "VOLUME", p.Entrypoint: "ENTRYPOINT", p.Cmd: "CMD"}


def intended_kinds(plan: p.Plan) -> list[list[str]]:
    """Per stage: FROM, then one instruction kind per plan instruction."""
    return [["FROM", *(KIND[type(i)] for i in stage.instructions)] for stage in plan.stages]


def parsed_kinds(commands: list[dockerfile.Command]) -> list[list[str]]:
    stages: list[list[str]] = []
    for command in commands:
        if command.cmd.upper() == "FROM":
            stages.append([])
        assert stages, f"instruction before the first FROM: {command.original!r}"
        stages[-1].append(command.cmd.upper())
    return stages


def _mount_flags(run: p.Run) -> tuple[str, ...]:
    flags = []
    for mount in run.mounts:
        if mount.kind == "secret":
            flags.append(f"--mount=type=secret,id={mount.id}")
        else:
            flags.append(f"--mount=type={mount.kind},target={mount.target}")
    return tuple(flags)


def _prelude(run: p.Run) -> tuple[str, ...]:
    if not run.secret_env:
        return ()
    exports = " ".join(f"{k}={v}" for k, v in run.secret_env)
    # the system bundle plus the secret, in the step's tmpfs (plan/ca_trust.py)
    combine = f"cat {run.ca_system} {SECRET} >/run/ca/bundle.pem; " if run.ca_system else ""
    return (f"if [ -f {SECRET} ]; then {combine}export {exports}; fi",)


def _run_commands(run: p.Run) -> tuple[str, ...]:
    return (*_prelude(run), *run.commands)


def _check_run(command: dockerfile.Command, run: p.Run, features: frozenset[str]) -> None:
    assert command.flags == _mount_flags(run), command.original
    commands = _run_commands(run)
    if command.heredocs:
        assert "heredoc" in features, "a heredoc without `features: [heredoc]`"
        assert command.value == (f"<<{command.heredocs[0].name}",)
        script = separate_commands(run.commands)
        assert command.heredocs[0].content == "\n".join((*_prelude(run), "set -ex", *script)) + "\n"
    elif command.json:
        script = separate_commands(run.commands)
        # the stage's pipefail SHELL by name (exec form does not go through SHELL), else sh
        assert command.value == (*(run.shell or ("/bin/sh", "-c")), "\n".join((*_prelude(run), "set -e", *script)))
    else:
        assert len(command.value) == 1
        assert _is_and_chain(command.value[0], commands), command.original


def _is_and_chain(text: str, commands: tuple[str, ...]) -> bool:
    """text is the commands joined by a backslash, a newline and ` && ` (BuildKit drops the
    backslash-newline, keeping the spaces), a later command possibly in a `( … )`
    subshell; test_run_semantics checks by running them that the grouping is right."""
    if not text.startswith(commands[0]):
        # the first command in a subshell too, when it changes the shell for the next
        wrapped = f"( {commands[0]} )"
        return text.startswith(wrapped) and _is_and_chain(text.replace(wrapped, commands[0], 1), commands)
    rest = text[len(commands[0]):]
    if len(commands) == 1:
        return rest == ""
    return any(rest.startswith(item) and _is_and_chain(rest[len("  && "):], (item[len("  && "):], *commands[2:]))
               for item in (f"  && {commands[1]}", f"  && ( {commands[1]} )"))


def _check_pairs(command: dockerfile.Command, items: tuple[tuple[str, str], ...]) -> None:
    values = command.value
    assert len(values) == 2 * len(items), command.original
    got = [(values[i], unquote(values[i + 1])) for i in range(0, len(values), 2)]
    assert got == list(items)


def _check_copy(command: dockerfile.Command, copy: p.Copy, features: frozenset[str]) -> None:
    # the flags the renderer meant, as BuildKit's parser reads them back
    assert command.flags == copy_flags(copy, features), command.original
    # the sources as BuildKit's matcher must see them (a `[` is a name's own: contract.as_pattern)
    assert command.value == (*map(as_pattern, copy.sources), copy.dest), command.original
    assert all(map(_literal_word, command.value)), command.original


def _literal_word(word: str) -> bool:
    """BuildKit runs COPY and WORKDIR arguments through its word processing (expands
    `$`, removes quotes, consumes backslashes): only a word without those reaches the
    build as written."""
    return not any(c in word for c in "$\"'\\")


def check_instruction(command: dockerfile.Command, instruction: p.Instruction, features: frozenset[str]) -> None:
    cmd = command.cmd.upper()
    if isinstance(instruction, p.Run):
        _check_run(command, instruction, features)
    elif isinstance(instruction, p.Copy):
        _check_copy(command, instruction, features)
    elif isinstance(instruction, (p.Env, p.Label)):
        _check_pairs(command, instruction.items)
    elif isinstance(instruction, p.Arg):
        (word,) = command.value
        if instruction.default is None:
            assert word == instruction.name
        else:
            name, _, value = word.partition("=")
            assert (name, unquote(value)) == (instruction.name, instruction.default)
    elif isinstance(instruction, (p.Entrypoint, p.Cmd, p.Shell)):
        assert command.json, f"{cmd} must be in exec form (BP2): {command.original!r}"
        assert command.value == instruction.argv
    elif isinstance(instruction, p.Healthcheck):
        if instruction.argv is None:
            assert command.value == ("NONE",)
        else:
            assert command.json
            assert command.value == ("CMD", *instruction.argv)
            assert command.flags == tuple(f"--{k}={v}" for k, v in instruction.options)
    elif isinstance(instruction, p.Workdir):
        assert command.value == (instruction.path,)
        assert _literal_word(instruction.path), command.original
    elif isinstance(instruction, p.User):
        assert command.value == (instruction.user,)
    elif isinstance(instruction, p.Expose):
        assert command.value == tuple(port.removesuffix("/tcp") for port in instruction.ports)
    elif isinstance(instruction, p.StopSignal):
        assert command.value == (instruction.signal,)
    elif isinstance(instruction, p.Volume):
        assert command.json and command.value == instruction.paths, command.original
    else:  # pragma: no cover - a new instruction kind needs a check here
        raise AssertionError(f"no check for {type(instruction).__name__}")


def assert_matches_plan(text: str, plan: p.Plan) -> list[dockerfile.Command]:
    """BuildKit's parser reads exactly the plan's instructions, in order, with its values."""
    commands = parse(text)
    assert parsed_kinds(commands) == intended_kinds(plan)
    expected: list[tuple[p.Stage, p.Instruction | None]] = []
    for stage in plan.stages:
        expected.append((stage, None))
        expected.extend((stage, i) for i in stage.instructions)
    for command, (stage, instruction) in zip(commands, expected, strict=True):
        if instruction is None:
            assert command.value == (stage.base.ref, "AS", stage.name), command.original
        else:
            check_instruction(command, instruction, plan.features)
    return commands


def final_commands(commands: list[dockerfile.Command]) -> list[dockerfile.Command]:
    last_from = max(i for i, c in enumerate(commands) if c.cmd.upper() == "FROM")
    return commands[last_from:]


def intended_start(compiled: Compiled) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The final ENTRYPOINT and CMD the spec asks for, written independently of the passes."""
    import shlex

    final = compiled.loaded.spec.final
    entrypoint, cmd = final.entrypoint_argv, final.cmd_argv
    if final.shell:
        def script(value):
            if value is None:
                return ""
            return value.strip() if isinstance(value, str) else shlex.join(value)
        # the CMD stays the image's, the script's arguments ("$@"), as docker run passes them
        text = " ".join(part for part in (script(final.entrypoint), '"$@"') if part)
        entrypoint = ("/bin/sh", "-c", f"exec {text}", "sh")
    if final.init:
        tini = next(i for i in compiled.plan.final.instructions if isinstance(i, p.Entrypoint)).argv[0]
        assert tini.endswith("tini") or tini.endswith("tini-static")
        entrypoint = (tini, "--", *(entrypoint or ()))
    return entrypoint, cmd


# --- hadolint ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    code: str
    message: str


def hadolint(paths: list[Path]) -> dict[str, list[Finding]]:
    """One hadolint run over many files (each run costs ~0.2 s); findings per file.
    Runs in an empty folder so no .hadolint.yaml can relax the rules."""
    binary = tools.require("hadolint")
    result = subprocess.run([binary, "--no-color", "-f", "json", *map(str, paths)], capture_output=True,
                            text=True, cwd=Path(paths[0]).anchor, timeout=120)
    assert result.stdout.strip(), f"hadolint printed nothing: {result.stderr}"
    found: dict[str, list[Finding]] = {str(path): [] for path in paths}
    for item in json.loads(result.stdout):
        found.setdefault(item["file"], []).append(Finding(item["file"], item["line"], item["code"], item["message"]))
    return found
