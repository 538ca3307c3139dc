"""`lock` and `outdated`: bases pinned by digest, and which specs a moved pin leaves stale."""

from __future__ import annotations

import json
from pathlib import Path

import click

from imagespec import jobs
from imagespec.cli.common import (
    CONFIG,
    FORMAT,
    SPECS,
    note,
    note_unread_configs,
)
from imagespec.errors import CheckFailed, SpecError


@click.command("lock")
@SPECS
@click.option("--update", is_flag=True, help="Move the pins to what the registry has now (every base, or --base's).")
@click.option("--base", "update_names", multiple=True, metavar="NAME",
              help="With --update: only base NAME (a reference, its repository or catalog name; repeatable).")
@click.option("--min-age", default=None, metavar="DURATION",
              help="With --update: keep a base republished less than DURATION ago (3d, 12h, 90m).")
@click.option("--packages", is_flag=True, help="With --update: list the packages each moved base adds, removes and "
              "changes, from the SBOMs of its old and new image (pulls both).")
@click.option("--check", "check_only", is_flag=True, help="No network: fail when a lock is missing or not the spec's.")
@FORMAT
@CONFIG
def lock_command(specs: tuple[Path, ...], update: bool, update_names: tuple[str, ...], min_age: str | None,
                 packages: bool, check_only: bool, fmt: str, config_path: Path | None) -> None:
    """Pin each SPEC's base images by digest in a lock file.

    The lock file is written beside the spec. A base already locked keeps its pin;
    --update moves pins to what the registry has now. Nothing is written unless every
    base resolves."""
    if check_only and (update or update_names or min_age is not None or packages):
        raise SpecError("--check reads the locks without the network: it does not go with --update, --base, "
                        "--min-age or --packages", hint="check in one run, update in another")
    note_unread_configs(specs, config_path)
    if check_only:
        problems = jobs.lock_check(specs, config=config_path, on_note=note)
        if fmt == "json":
            click.echo(json.dumps({"ok": not problems, "problems": [vars(p) for p in problems]}, indent=2))
        else:
            for problem in problems:
                click.echo(str(problem))
        if problems:
            raise CheckFailed(f"{len(problems)} lock problem(s)", hint="run `imagespec lock SPEC` and commit the lock")
        return
    result = jobs.lock(specs, config=config_path, update=update, bases=update_names, min_age=min_age,
                       packages=packages, on_note=note)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for line in result.lines():
            click.echo(line, err=True)


@click.command("outdated")
@SPECS
@FORMAT
@CONFIG
def outdated(specs: tuple[Path, ...], fmt: str, config_path: Path | None) -> None:
    """List the SPECs to rebuild because a locked base moved (exit 1).

    A spec is stale when a base in its lock moved in its registry, or when an image it
    builds on is itself stale. One registry request per distinct base."""
    note_unread_configs(specs, config_path)
    result = jobs.outdated(specs, config=config_path, on_note=note)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for line in result.lines():
            click.echo(line)
    if not result.ok:
        raise CheckFailed(f"{len(result.stale)} of {result.specs} spec(s) to rebuild",
                          hint="`imagespec lock --update SPECS`, then build, test and push them")
    if fmt == "text":
        click.echo(f"{result.specs} spec(s) up to date ({result.bases} base(s), {result.requests} registry request(s))",
                   err=True)
