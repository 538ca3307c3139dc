"""`generate`: write the generated files (`check`, which fails when they are out of date, is cli/checking.py)."""

from __future__ import annotations

from pathlib import Path

import click

from imagespec import jobs
from imagespec.cli.common import CHANGED_SINCE, CONFIG, EXPLAIN, NO_CACHE, SPECS, note, print_exactly, selected
from imagespec.errors import SpecError


@click.command("generate")
@SPECS
@click.option("-o", "--output", type=str, default=None,
              help="Dockerfile path, or - for stdout (one spec only). Default: the spec's `dockerfile`.")
@click.option("--effective", is_flag=True, help="Print the spec with its `extends` chain merged in and the "
              "policies it is held to, the configuration's too (YAML).")
@click.option("--force", is_flag=True, help="Replace files that imagespec did not generate (no generated header).")
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when a file was written (the pre-commit hook: a new file is not one git tracks yet).")
@CONFIG
@NO_CACHE
@CHANGED_SINCE
@EXPLAIN
def generate(specs: tuple[Path, ...], output: str | None, effective: bool, force: bool, exit_code: bool,
             config_path: Path | None, no_cache: bool, changed_since: str | None, explain: bool) -> None:
    """Write each SPEC's Dockerfile and its ignore file.

    Atomically and all or nothing: on any error no file is written. A file that
    imagespec did not generate is replaced only with --force. A SPEC may be a folder."""
    if effective and output not in (None, "-"):  # it prints: a FILE would be silently left unwritten
        raise SpecError(f"--effective prints the merged spec: it does not write -o {output}",
                        hint=f"redirect it: `imagespec generate SPEC --effective > {output}`")
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
    # pre-commit fails a hook that changed a tracked file, but a Dockerfile a new spec gets
    # is untracked: without this the commit went in without it
    if exit_code and any(written.values()):
        raise SystemExit(1)
