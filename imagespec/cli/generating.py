"""`generate` and `check`: write the generated files, or fail when they are out of date."""

from __future__ import annotations

import json
from pathlib import Path

import click

from imagespec import jobs
from imagespec.cli.common import (
    CHANGED_SINCE,
    CONFIG,
    EXPLAIN,
    FILE,
    FORMAT,
    NO_CACHE,
    SPECS,
    note,
    print_exactly,
    selected,
)
from imagespec.errors import CheckFailed, SpecError


@click.command("generate")
@SPECS
@click.option("-o", "--output", type=str, default=None,
              help="Dockerfile path, or - for stdout (one spec only). Default: the spec's `dockerfile`.")
@click.option("--effective", is_flag=True, help="Print the spec with its `extends` chain merged in (YAML).")
@click.option("--force", is_flag=True, help="Replace files that imagespec did not generate (no generated header).")
@CONFIG
@NO_CACHE
@CHANGED_SINCE
@EXPLAIN
def generate(specs: tuple[Path, ...], output: str | None, effective: bool, force: bool, config_path: Path | None,
             no_cache: bool, changed_since: str | None, explain: bool) -> None:
    """Write each SPEC's Dockerfile and its ignore file.

    Atomically and all or nothing: on any error no file is written. A file that
    imagespec did not generate is replaced only with --force. A SPEC may be a folder."""
    specs = selected(specs, config_path, changed_since, explain)
    if not specs:
        return
    if effective:
        for file, text in jobs.effective(specs, config=config_path, on_note=note):
            click.echo(f"# {file}: the spec with its `extends` chain merged in")
            click.echo(text, nl=False)
        return
    if output == "-":
        print_exactly(jobs.dockerfile_text(specs, config=config_path, use_cache=not no_cache, on_note=note))
        return
    written_to = Path(output) if output is not None else None
    written = jobs.generate(specs, output=written_to, config=config_path, force=force, use_cache=not no_cache,
                            on_note=note)
    for path, changed in written.items():
        click.echo(f"{'wrote' if changed else 'unchanged'} {path}", err=True)


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
