"""Every command's full `--help`, pinned (issue 13, fifth pass): the command line loads a
command's module only when that command runs, and what each command says about itself must
not move with that. `cli_help.txt` holds what main printed before the CLI was split; a
change of a command's help is made there on purpose, in the same commit.

Regenerate (after a deliberate change): `python tests/compiler/test_cli_help.py > tests/compiler/cli_help.txt`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from imagespec.cli import cli

_PINNED = Path(__file__).with_name("cli_help.txt")
# Every command, by hand: a command the lazy group failed to list would not be walked
COMMANDS = [(), ("bake",), ("base",), ("base", "build"), ("base", "check"), ("base", "dockerfile"),
            ("base", "sbom"), ("build",), ("check",), ("explain",), ("generate",), ("import",), ("init",),
            ("lint",), ("lock",), ("manifest",), ("outdated",), ("sbom",), ("sbom-diff",), ("schema",), ("test",)]


def _all_help() -> str:
    parts = []
    for path in COMMANDS:
        done = CliRunner().invoke(cli, [*path, "--help"], prog_name="imagespec", terminal_width=80)
        assert done.exit_code == 0, done.output
        parts.append(f"=== imagespec {' '.join(path)} --help (exit {done.exit_code})\n{done.output}")
    # what click says of a command it does not know, and of one missing its argument
    for args in (["nope"], ["base", "nope"], ["generate"], ["base", "dockerfile"]):
        done = CliRunner().invoke(cli, args, prog_name="imagespec", terminal_width=80)
        parts.append(f"=== imagespec {' '.join(args)} (exit {done.exit_code})\n{done.output}")
    return "".join(parts)


def test_every_command_says_what_main_said() -> None:
    assert _all_help() == _PINNED.read_text(encoding="utf-8")


def test_a_short_help_flag_is_the_long_one() -> None:
    for path in COMMANDS:
        short = CliRunner().invoke(cli, [*path, "-h"], prog_name="imagespec", terminal_width=80)
        long = CliRunner().invoke(cli, [*path, "--help"], prog_name="imagespec", terminal_width=80)
        assert (short.exit_code, short.output) == (long.exit_code, long.output)


if __name__ == "__main__":
    print(_all_help(), end="")


def test_a_command_loads_its_family_only(tmp_path: Path) -> None:
    # what the lazy group is for: `generate` builds no other family's options
    spec = Path(__file__).resolve().parents[2] / "examples" / "go-hello" / "imagespec.yaml"
    script = ("import sys; from imagespec.cli import main; code = main(['generate', '--no-cache', '-o', '-', sys.argv[1]]); "
              "print(sorted(m for m in sys.modules if m.startswith('imagespec.cli.')), code, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", script, str(spec)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert done.stdout.startswith("# ") and done.stderr.splitlines()[-1] == (
        "['imagespec.cli.common', 'imagespec.cli.generating'] 0")


def test_shell_completion_lists_the_commands_not_yet_loaded() -> None:
    env = {**os.environ, "_IMAGESPEC_COMPLETE": "bash_complete", "COMP_WORDS": "imagespec s", "COMP_CWORD": "1"}
    done = subprocess.run([sys.executable, "-c", "from imagespec.cli import run; run()"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.stdout.split() == ["plain,sbom", "plain,sbom-diff", "plain,schema"]
