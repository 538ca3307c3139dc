"""`schema`, `explain` and `lint`: what the spec format is, what a spec makes and why, what is wrong in it."""

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
    SPECS,
    note,
    note_unread_configs,
    selected,
)
from imagespec.errors import CheckFailed


@click.command("schema")
@click.option("-o", "--output", type=FILE, default=None)
@click.option("--base", "base_format", is_flag=True, help="The base spec format (`imagespec base`) instead.")
def schema(output: Path | None, base_format: bool) -> None:
    """Print or write the JSON Schema of the spec format.

    For editors and CI; the committed copy is specs/imagespec.schema.json."""
    text = jobs.schema(base=base_format, output=output)
    if output is None:
        click.echo(text, nl=False)


@click.command("explain")
@click.argument("spec", type=FILE)
@FORMAT
@CONFIG
def explain(spec: Path, fmt: str, config_path: Path | None) -> None:
    """Show each instruction beside its spec line and practice.

    Every generated instruction with the spec location and the practice (BP id) that
    produced it."""
    note_unread_configs([spec], config_path)
    lines = jobs.explain(spec, config=config_path, on_note=note)
    if fmt == "json":
        click.echo(json.dumps([line.to_dict() for line in lines], indent=2, ensure_ascii=False))
        return
    from imagespec.console import explain_table

    explain_table(lines)


@click.command("lint")
@SPECS
@FORMAT
@CONFIG
@CHANGED_SINCE
@EXPLAIN
def lint(specs: tuple[Path, ...], fmt: str, config_path: Path | None, changed_since: str | None,
         explain: bool) -> None:
    """Report findings with locations; exit 1 on errors only."""
    specs = selected(specs, config_path, changed_since, explain)
    findings = jobs.lint(specs, config=config_path, on_note=note) if specs else []
    if fmt == "json":
        click.echo(json.dumps([f.to_dict() for f in findings], indent=2))
    else:
        for f in findings:
            practice = f" ({f.practice})" if f.practice else ""
            click.echo(f"{f.location}: {f.level}: {f.rule}{practice}: {f.message}")
            if f.hint:
                click.echo(f"  hint: {f.hint}")
    errors = sum(f.level == "error" for f in findings)
    if errors:
        raise CheckFailed(f"{errors} error(s)")
