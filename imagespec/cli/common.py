"""What every command family of the command line shares: the invocation record, the
path types, the common options and how specs are selected and output written."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from imagespec import jobs
from imagespec.errors import SpecError, one_line


class Invocation:
    """What one run of the command line has parsed that its error report needs (passed
    down as click's context object: one per run, nothing global). A plain class: a
    dataclass would be made at every start."""

    def __init__(self) -> None:
        self.json_errors = False
        self.command: str | None = None  # the command's name, once the group has found it


def remember_format(ctx: click.Context, _: click.Parameter, value: str) -> str:
    if isinstance(ctx.obj, Invocation):
        ctx.obj.json_errors = value == "json"
    return value


# The path types, made once: each click.Path looks up its name's translation (gettext
# probes the disk for catalogs) when it is made. The two every command takes (a spec, a
# configuration file) at every start; the others when a command's module asks (PEP 562)
FILE = click.Path(path_type=Path, dir_okay=False)
ANY_PATH = click.Path(path_type=Path)
_MORE_PATHS = {"EXISTING_FILE": {"dir_okay": False, "exists": True}, "EXISTING_PATH": {"exists": True},
               "FOLDER": {"file_okay": False}}


def __getattr__(name: str) -> click.Path:
    if name not in _MORE_PATHS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    made = globals()[name] = click.Path(path_type=Path, **_MORE_PATHS[name])
    return made

# eager: parsed before the other options, so an error in one of them is reported in this format
FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
                      is_eager=True, callback=remember_format, help="json: one machine-readable document on stdout.")
CONFIG = click.option("--config", "config_path", type=FILE, default=None,
                      help="Configuration file (default: .imagespec.yaml upwards from the spec, or $IMAGESPEC_CONFIG).")
SPECS = click.argument("specs", nargs=-1, required=True, type=ANY_PATH)
CHANGED_SINCE = click.option("--changed-since", "changed_since", metavar="REV", default=None,
                             help="Only the specs whose inputs changed since git revision REV, and those built FROM them.")
EXPLAIN = click.option("--explain", is_flag=True, help="With --changed-since: say why each spec was selected (stderr).")
NO_CACHE = click.option("--no-cache", is_flag=True,
                        help="Compile afresh; neither read nor write the result cache (also IMAGESPEC_NO_CACHE=1).")


def note(text: str) -> None:
    click.echo(text, err=True)


def note_unread_configs(paths: tuple[Path, ...] | list[Path], config_path: Path | None) -> None:
    """Once per run, before the specs compile: the .imagespec.yaml files that --config (or
    $IMAGESPEC_CONFIG) leaves unread for them, with the policies that therefore do not hold."""
    jobs.note_unread_configs(paths, config_path, note)


def selected(specs: tuple[Path, ...], config_path: Path | None, changed_since: str | None = None,
              explain: bool = False) -> tuple[Path, ...]:
    """The spec files SPECS name: folders searched by the file-name rule (README, "Fleets"),
    with --changed-since only the changed ones (empty: nothing to do)."""
    if explain and changed_since is None:
        raise SpecError("--explain needs --changed-since REV", hint="add --changed-since origin/main (or another revision)")
    if changed_since is None:  # one spec, no fleet graph: a cached `generate` loads none of it
        files = tuple(jobs.spec_files(specs, on_note=note))
        note_unread_configs(files, config_path)
        if len(files) > 1:  # several are one graph: a cycle in it is bad input here too
            jobs.link_specs(files, config=config_path)
        return files
    note_unread_configs(specs, config_path)
    chosen = jobs.select_specs(specs, config=config_path, changed_since=changed_since, on_note=note)
    if explain:
        for line in chosen.explain():
            note(one_line(line))
    if not chosen.specs:
        note(f"no spec changed since {changed_since}")
    return chosen.specs


def print_exactly(text: str) -> None:
    """The text's UTF-8 bytes on stdout, as the file would hold them: click.echo would
    strip terminal escapes when stdout is a pipe (and keep them on a terminal)."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()
