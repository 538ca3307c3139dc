"""`base`: the standard base images (build, check, Dockerfile, SBOM)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from imagespec import jobs
from imagespec.cli.common import (
    CONFIG,
    EXISTING_FILE,
    EXISTING_PATH,
    FILE,
    FOLDER,
    FORMAT,
    note,
    print_exactly,
)


@click.group("base")
def base_group() -> None:
    """Standard base images from distribution packages.

    Build them, show their Dockerfiles and SBOMs (BP12, BP15)."""


BASES = click.argument("bases", nargs=-1, required=True, type=EXISTING_PATH)


@base_group.command("build")
@BASES
@click.option("--catalog", "catalog_path", type=FILE, default=None,
              help="Write (update) this catalog file with every base built and its digest.")
@click.option("--force", is_flag=True, help="Rebuild even when up to date, without the build cache.")
@click.option("--push", is_flag=True, help="Push each base; the catalog then pins the registry digest.")
@click.option("--progress", type=click.Choice(["auto", "plain", "json", "quiet"]), default="auto", show_default=True)
@click.option("--ca-bundle", type=EXISTING_FILE, default=None,
              help="CA bundle for download steps (TLS proxies); default: build.ca_bundle, then $IMAGESPEC_CA_BUNDLE.")
@click.option("--logs", type=FOLDER, default=Path("/var/log/imagespec-bases"),
              show_default=True, help="Where bootstrap logs go.")
@FORMAT
@CONFIG
def base_build(bases: tuple[Path, ...], catalog_path: Path | None, force: bool, push: bool, progress: jobs.ProgressMode,
               ca_bundle: Path | None, logs: Path, fmt: str, config_path: Path | None) -> None:
    """Build base specs in dependency order and tag them.

    BASES are base spec files or folders of them; tags follow BP14."""
    results = jobs.base_build(bases, catalog=catalog_path, force=force, push=push,
                              progress="quiet" if fmt == "json" else progress, ca_bundle=ca_bundle, logs=logs,
                              config=config_path, on_status=lambda line: click.echo(f"imagespec: {line}", err=True),
                              on_note=note)
    if fmt == "json":
        click.echo(json.dumps({"bases": [r.to_dict() for r in results],
                               "catalog": str(catalog_path) if catalog_path else None}, indent=2))
        return
    click.echo(f"{'BASE':<20} {'IMAGE':<46} {'STATUS':<11} {'SIZE (MB)':>9} {'TIME (s)':>8}")
    for r in results:
        status = "built" if r.built else "up to date"
        click.echo(f"{r.name:<20} {r.reference:<46} {status:<11} {r.size / 1e6:>9.1f} {r.seconds:>8.1f}")
    if catalog_path:
        click.echo(f"wrote {catalog_path}", err=True)


@base_group.command("check")
@BASES
@FORMAT
@CONFIG
def base_check(bases: tuple[Path, ...], fmt: str, config_path: Path | None) -> None:
    """Validate base specs and list their build order.

    No engine needed."""
    ordered = jobs.base_check(bases, config=config_path, on_note=note)
    rows = [{"base": b.name, "kind": b.base.kind, "image": b.base.image, "needs": list(b.base.needs()),
             "file": b.document.file} for b in ordered]
    if fmt == "json":
        click.echo(json.dumps({"ok": True, "bases": rows}, indent=2))
        return
    for row in rows:
        needs = f" (on {', '.join(row['needs'])})" if row["needs"] else ""
        click.echo(f"{row['base']:<20} {row['kind']:<11} {row['image']}{needs}")
    click.echo(f"{len(rows)} base spec(s) valid, listed in build order", err=True)


@base_group.command("dockerfile")
@click.argument("base", type=EXISTING_FILE)
@CONFIG
def base_dockerfile(base: Path, config_path: Path | None) -> None:
    """Print the Dockerfile of a distroless or toolchain base.

    For a BASE of kind `distroless` or `spec`."""
    print_exactly(jobs.base_dockerfile(base, config=config_path, on_note=note))


@base_group.command("sbom")
@click.argument("image")
@click.option("-o", "--output", type=FILE, default=None,
              help="Write the SPDX JSON here (default: stdout).")
def base_sbom(image: str, output: Path | None) -> None:
    """Print the SPDX SBOM of IMAGE's Debian packages.

    Packages, versions and licences (BP16)."""
    text = jobs.base_sbom(image, output=output)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {output}", err=True)
