"""`list`: the spec files that folders hold, by the file-name rule every fleet command uses
(README, "Fleets"), for scripts that take specs one at a time (the CI recipes' build loop)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from imagespec import jobs
from imagespec.cli.common import SPECS, note


@click.command("list")
@SPECS
@click.option("-z", "--null", "null", is_flag=True, help="End each path with NUL instead of a newline (xargs -0).")
def list_command(specs: tuple[Path, ...], null: bool) -> None:
    """Print the spec files SPECS name, as the fleet commands find them.

    One per line; folders are searched by the file-name rule (imagespec.yaml and
    NAME.imagespec.yaml; hidden folders, node_modules, vendor, … skipped; links out of the
    repository left out and noted on stderr).

    A script that loops over specs asks this instead of a glob of its own, so it takes
    exactly the fleet's specs."""
    end = "\0" if null else "\n"
    sys.stdout.write("".join(f"{spec}{end}" for spec in jobs.listed_spec_files(specs, on_note=note)))
    sys.stdout.flush()
