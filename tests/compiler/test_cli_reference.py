"""README's CLI table and `--help` agree with the commands click actually has (no engine).

The table is where users look up a command's options: a command or option missing from
it, or one it names that the CLI lacks, fails here (README once said every command takes
`--config`, which `schema` and `base sbom` do not).
"""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from compiler_helpers import REPO
from imagespec.cli import cli

_ROW = re.compile(r"^\| `imagespec ([a-z][a-z -]*?)(?: [A-Z[].*?)?` \|")
_OPTION = re.compile(r"(?<![\w-])(--?[a-z][a-z-]*)")


def _commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    context = click.Context(group)
    # the commands as click lists them (the top group loads each command's module then)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        if isinstance(command, click.Group):
            found |= _commands(command, (*path, name))
        else:
            found[" ".join((*path, name))] = command
    return found


def _readme_rows() -> dict[str, str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("## The CLI", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in table.splitlines():
        match = _ROW.match(line)
        if match:
            rows[match.group(1)] = line.split("` |", 1)[0]
    return rows


def _click_options(command: click.Command) -> list[list[str]]:
    """Each option's spellings (``["-o", "--output"]``), --help aside."""
    return [param.opts for param in command.params if isinstance(param, click.Option)]


def test_readme_lists_every_command_and_no_other() -> None:
    assert sorted(_readme_rows()) == sorted(_commands())


@pytest.mark.parametrize("name", sorted(_commands()))
def test_readme_row_names_exactly_the_commands_options(name: str) -> None:
    named = set(_OPTION.findall(_readme_rows()[name].split(name, 1)[1]))
    spellings = _click_options(_commands()[name])
    assert named - {o for opts in spellings for o in opts} == set(), f"README names options `imagespec {name}` lacks"
    omitted = [opts[-1] for opts in spellings if not named & set(opts)]  # -o may stand for --output
    assert omitted == [], f"README's row for `imagespec {name}` omits options"


@pytest.mark.parametrize("group", [(), ("base",)])
def test_help_shows_each_commands_first_line_whole(group: tuple[str, ...]) -> None:
    """`imagespec --help` on an 80-column terminal: no description cut short with '...'."""
    result = CliRunner().invoke(cli, [*group, "--help"], terminal_width=80)
    assert result.exit_code == 0
    listing = result.output.split("Commands:", 1)[1].strip().splitlines()
    assert listing and not [line for line in listing if line.endswith("...")]
    command = cli if not group else cli.get_command(click.Context(cli), group[0])
    assert isinstance(command, click.Group)
    for line in listing:
        name, description = line.split(None, 1)
        sub = command.get_command(click.Context(command), name)
        assert sub is not None
        first_line = (sub.help or "").split("\n\n", 1)[0].strip()
        assert description == first_line


@pytest.mark.parametrize(("text", "size"), [("10", 10), ("10MB", 10_000_000), ("1.5GiB", 1_610_612_736), ("25 KB", 25_000)])
def test_size_budget_option_reads_the_policy_size_grammar(text: str, size: int) -> None:
    from imagespec.cli.building import SIZE
    from imagespec.spec.model import size_in_bytes

    assert SIZE.convert(text, None, None) == size == size_in_bytes(text)


@pytest.mark.parametrize("text", ["10XB", "MB", "-1", "1e3", "10MB;x"])
def test_a_bad_size_budget_is_one_message_and_exit_2(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    from imagespec.cli import main

    assert main(["test", "no-such/image:1", "--size-budget", text]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("imagespec: --size-budget: ") and "is not a size" in err[0]
    assert err[1].startswith("  hint: ") and "GiB" in err[1] and len(err) == 2
