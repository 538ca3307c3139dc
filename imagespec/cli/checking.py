"""`check`: fail when the generated files are out of date (apart from `generate`, whose
start-up answered from the cache does not build this command's options)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from imagespec import jobs
from imagespec.cli.common import CHANGED_SINCE, CONFIG, EXPLAIN, FILE, FORMAT, NO_CACHE, SPECS, note, selected
from imagespec.errors import CheckFailed, SpecError


@click.command("check")
@SPECS
@FORMAT
@CONFIG
@NO_CACHE
@click.option("--bake", "bake_file", type=FILE, default=None,
              help="Also check this bake file against `imagespec bake SPECS -o FILE`.")
@CHANGED_SINCE
@EXPLAIN
def check(specs: tuple[Path, ...], fmt: str, config_path: Path | None, no_cache: bool, bake_file: Path | None,
          changed_since: str | None, explain: bool) -> None:
    """Fail (exit 1) when generated files are out of date.

    Prints a unified diff for each committed Dockerfile or .dockerignore (and, with
    --bake, bake file) that no longer matches its spec."""
    if bake_file is not None and changed_since is not None:
        raise SpecError("--bake checks the whole fleet's file: it does not go with --changed-since",
                        hint="check the bake file in a run of its own")
    chosen = selected(specs, config_path, changed_since, explain)
    checked = jobs.check(chosen, config=config_path, use_cache=not no_cache, on_note=note) if chosen \
        else jobs.Checked(0, ())
    stale = [{"spec": item.spec, "file": item.file, "diff": item.diff} for item in checked.stale]
    if bake_file is not None:
        diff = jobs.stale_bake(specs, bake_file, config=config_path, on_note=note)
        if diff is not None:
            stale.append({"spec": " ".join(map(str, specs)), "file": str(bake_file), "diff": diff})
    if fmt == "json":
        click.echo(json.dumps({"ok": checked.ok, "stale": stale, "locks": list(checked.locks)}, indent=2))
    else:
        for item in stale:
            click.echo(item["diff"], nl=False)
        for line in checked.locks:
            click.echo(line)
    if stale:
        raise CheckFailed(f"{len(stale)} generated file(s) out of date",
                          hint="run `imagespec generate` and commit the result")
    if checked.locks:
        raise CheckFailed(f"{len(checked.locks)} lock problem(s): a lock file is not its spec's",
                          hint="run `imagespec lock SPEC`, then `imagespec generate`, and commit both")
    if fmt == "text":
        click.echo(f"{checked.specs} spec(s) up to date", err=True)
