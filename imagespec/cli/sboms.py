"""`sbom` and `sbom-diff`: an image's bill of materials, and what changed between two."""

from __future__ import annotations

import json
from pathlib import Path

import click

from imagespec import jobs
from imagespec.cli.common import (
    FILE,
    FORMAT,
)


@click.command("sbom")
@click.argument("image")
@click.option("--format", "fmt", type=click.Choice(["spdx", "cyclonedx"]), default=None,
              help="SPDX 2.3 or CycloneDX 1.5 JSON (default: the one stored in IMAGE, else spdx).")
@click.option("-o", "--output", type=FILE, default=None,
              help="Write the SBOM here (default: stdout).")
def sbom(image: str, fmt: str | None, output: Path | None) -> None:
    """Print the SBOM of a local IMAGE (BP16).

    The one `imagespec build` stored in it; for another image, one made from its file
    system now (Debian, Python, npm, Go, Cargo and Maven packages)."""
    text, was_stored = jobs.sbom(image, fmt=fmt, output=output)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {output}", err=True)
    if not was_stored:
        click.echo(f"{image} carries no {fmt or 'SBOM'} SBOM: this one was made from its file system now", err=True)


@click.command("sbom-diff")
@click.argument("old")
@click.argument("new")
@FORMAT
def sbom_diff(old: str, new: str, fmt: str) -> None:
    """Compare two SBOMs: packages added, removed and changed.

    OLD and NEW are SBOM files (SPDX or CycloneDX JSON) or local images."""
    found = jobs.sbom_diff(old, new)
    if fmt == "json":
        click.echo(json.dumps(found.to_dict(), indent=2))
    else:
        for line in found.lines():
            click.echo(line)
        click.echo(f"{len(found.added)} added, {len(found.removed)} removed, {len(found.changed)} changed, "
                   f"{found.unchanged} unchanged", err=True)
