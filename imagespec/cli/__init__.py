"""The command line: a thin layer over the library. Each command is a plain
function of its arguments; errors become one message and an exit code
(imagespec.errors), never a traceback.

One module per command family; a command's module is imported when that command runs
(all of them for `--help` and shell completion, which list every command): click builds
a command's options when its module is imported, and a cached `generate` should not pay
for the other twenty commands' (BENCHMARKS.md, issue 13's fifth pass).

May import: imagespec.jobs, imagespec.errors, imagespec.console (tables) and the size
grammar of imagespec.spec.model (tests/compiler/test_architecture.py pins the list).
"""

from __future__ import annotations

import importlib
import json
import signal
import sys

import click

from imagespec.cli.common import Invocation
from imagespec.errors import ImageSpecError, SpecError, SpecErrors, one_line

# command name -> (its module under imagespec.cli, the click command in it)
_COMMANDS = {
    "bake": ("baking", "bake"),
    "base": ("bases", "base_group"),
    "build": ("building", "build"),
    "check": ("checking", "check"),
    "explain": ("diagnosing", "explain"),
    "generate": ("generating", "generate"),
    "import": ("projects", "import_command"),
    "init": ("projects", "init_command"),
    "lint": ("diagnosing", "lint"),
    "list": ("listing", "list_command"),
    "lock": ("locking", "lock_command"),
    "manifest": ("projects", "manifest"),
    "outdated": ("locking", "outdated"),
    "sbom": ("sboms", "sbom"),
    "sbom-diff": ("sboms", "sbom_diff"),
    "schema": ("diagnosing", "schema"),
    "test": ("building", "test_command"),
}


# the commands whose `--format json` document CI keeps as a file (`lint --format json >
# lint.json`): bad input (exit 2) writes its error report there, so the file is never empty;
# the message for people goes to stderr, as without --format json
_DOCUMENT_EVEN_ON_BAD_INPUT = frozenset({"lint", "check"})


class _Commands(click.Group):
    """The top-level group: its commands found in _COMMANDS, each module imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = _COMMANDS.get(cmd_name)
        if where is None:
            return None
        if isinstance(ctx.obj, Invocation):
            ctx.obj.command = cmd_name
        command = getattr(importlib.import_module(f"imagespec.cli.{where[0]}"), where[1])
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="imagespec")
def cli() -> None:
    """Compile short YAML image specs into best-practice Dockerfiles; build, verify and push them."""


def _report(error: ImageSpecError, fmt_json: bool, command: str | None = None) -> None:
    if fmt_json and error.exit_code == 2 and command in _DOCUMENT_EVEN_ON_BAD_INPUT:
        click.echo(json.dumps(error.to_dict()))
        fmt_json = False
    if fmt_json:
        # a build's JSON progress (the default under --format json) ended with this error
        # as its last event, on the same stream: one error, one document
        if not error.reported:
            click.echo(json.dumps(error.to_dict()), err=True)
        return
    for each in error.errors if isinstance(error, SpecErrors) else (error,):
        click.echo(one_line(f"{each}" if each.location else f"imagespec: {each}"), err=True)
        if each.hint:
            click.echo(f"  hint: {one_line(each.hint)}", err=True)
    if isinstance(error, SpecErrors) and error.more:
        click.echo(f"imagespec: {error.more} more error(s) not shown; fix these first", err=True)


def _asks_json(args: list[str]) -> bool:
    """--format json among arguments click could not parse (the eager option unread)."""
    return "--format=json" in args or any(a == "--format" and b == "json" for a, b in zip(args, args[1:], strict=False))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    invocation = Invocation()
    try:
        cli.main(args=args, prog_name="imagespec", standalone_mode=False, obj=invocation)
    except ImageSpecError as error:
        _report(error, invocation.json_errors, invocation.command)
        return error.exit_code
    except click.exceptions.Abort:
        click.echo("imagespec: interrupted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("imagespec: interrupted", err=True)
        return 130
    except click.ClickException as error:
        if invocation.json_errors or _asks_json(args):  # the option errors too: one JSON document
            command = error.ctx.command_path if isinstance(error, click.UsageError) and error.ctx else "imagespec"
            _report(SpecError(error.format_message(), hint=f"`{command} --help` lists the options"), True,
                    invocation.command)
        else:
            error.show()
        return 2
    except click.exceptions.Exit as done:
        return done.exit_code
    return 0


#: The exit code of a run that SIGTERM stopped (128 + its number, as a shell reports it).
TERMINATED = 128 + signal.SIGTERM


class _Terminated:
    """SIGTERM (a CI job cancelled, `docker stop` of a CI container, systemd) stops a run
    the way Ctrl-C does: the build process stopped, the waiting SBOM tag removed, no tag
    applied. Python's default for it is to die at once, and the build process, in a session
    of its own (so that a terminal's Ctrl-C reaches imagespec alone, which stops it), would
    then run on, orphaned, while a waiting tag stayed behind."""

    received = False

    def __call__(self, signum: int, frame: object) -> None:
        self.received = True
        raise KeyboardInterrupt


def run() -> None:
    on_term = _Terminated()
    signal.signal(signal.SIGTERM, on_term)
    code = main()
    sys.exit(TERMINATED if on_term.received and code == 130 else code)
