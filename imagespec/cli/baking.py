"""`bake`: the bake file of a fleet of specs."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from imagespec import jobs
from imagespec.cli.common import (
    CHANGED_SINCE,
    CONFIG,
    EXPLAIN,
    FORMAT,
    SPECS,
    note,
    note_unread_configs,
    print_exactly,
)
from imagespec.errors import SpecError, one_line


@click.command("bake")
@SPECS
@click.option("-o", "--output", type=str, default=None,
              help="The bake file to write (default: docker-bake.json; its paths are relative to its folder), "
                   "or - for stdout.")
@click.option("--force", is_flag=True, help="Replace a file that imagespec did not generate.")
@FORMAT
@CONFIG
@CHANGED_SINCE
@EXPLAIN
def bake(specs: tuple[Path, ...], output: str | None, force: bool, fmt: str, config_path: Path | None,
         changed_since: str | None, explain: bool) -> None:
    """Write the bake file (docker buildx bake) of a fleet of specs.

    One target per SPEC (folders are searched for specs), its Dockerfile, context, tags,
    labels, secrets by id, network, cache, platforms, and `contexts` so that a spec built
    FROM another spec's image uses the one built in the same run. Deterministic: commit it,
    `imagespec check --bake FILE` fails when it is stale."""
    if explain and changed_since is None:
        raise SpecError("--explain needs --changed-since REV", hint="add --changed-since origin/main (or another revision)")
    if changed_since is not None and output is None:
        raise SpecError("--changed-since makes a bake file of part of the fleet: name it with -o FILE (or -o -)",
                        hint="the committed docker-bake.json stays the whole fleet's")
    if output == "":
        raise SpecError("-o needs a file name (or - for stdout)", hint="drop -o to write docker-bake.json")
    output = output or "docker-bake.json"
    to_stdout = output == "-"
    path = Path("docker-bake.json" if to_stdout else output)
    note_unread_configs(specs, config_path)
    baked = jobs.bake(specs, path, config=config_path, force=force, changed_since=changed_since,
                      write=not to_stdout, on_note=note)
    if explain:
        for line in baked.explain():
            note(one_line(line))
    if to_stdout:
        print_exactly(baked.text)
    elif fmt == "json":
        click.echo(json.dumps({"file": str(path), "changed": baked.changed, "targets": baked.fleet.order(),
                               "groups": {k: list(v) for k, v in baked.fleet.groups.items()},
                               "why": {k: [str(r) for r in v] for k, v in baked.why.items()}}, indent=2))
    else:
        click.echo(f"{'wrote' if baked.changed else 'unchanged'} {path} ({len(baked.fleet)} target(s))", err=True)
        # the entitlements the file needs are the fleet's (its CA bundle's file): say the whole command
        click.echo(f"build it in {path.parent}/: {shlex.join(baked.build_command(path))}", err=True)
