"""`manifest`, `init` and `import`: how to run an image, a first spec for a project, a spec from a Dockerfile."""

from __future__ import annotations

import json
from pathlib import Path

import click

from imagespec import jobs
from imagespec.cli.common import (
    CONFIG,
    FILE,
    FOLDER,
    FORMAT,
    note_unread_configs,
    print_exactly,
)
from imagespec.errors import SpecError, one_line


@click.command("manifest")
@click.argument("spec", type=FILE)
@click.option("--format", "fmt", type=click.Choice(["compose", "kubernetes"]), required=True,
              help="compose: a Compose service; kubernetes: an apps/v1 Deployment.")
@click.option("--image", default=None, help="Image reference (default: the spec's registry/name:version, BP14).")
@click.option("-o", "--output", type=FILE, default=None,
              help="Write to FILE instead of stdout (-: stdout).")
@CONFIG
def manifest(spec: Path, fmt: str, image: str | None, output: Path | None, config_path: Path | None) -> None:
    """Print how to run SPEC's image as built (Compose, Kubernetes)."""
    if output is not None and str(output) == "-":  # `-o -` is stdout, as for generate and bake
        output = None
    note_unread_configs([spec], config_path)
    text = jobs.manifest(spec, fmt, image=image, config=config_path, output=output)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {output}", err=True)


@click.command("init")
@click.argument("folder", type=FOLDER, default=".")
@click.option("--preset", default=None, help="The preset to extend (default: detected from the project's files).")
@click.option("--name", default=None, help="Image name (default: the project's name, else the folder's).")
@click.option("--version", "version_", default=None, help="Version, X.Y.Z (default: the manifest's, else 0.1.0).")
@click.option("--license", "license_", default=None, help="SPDX licence id (default: the manifest's).")
@click.option("--port", "ports", type=click.IntRange(0, 65535), multiple=True,
              help="A port the app listens on (repeat; 0 for none). Default: a number found in the source.")
@click.option("--entrypoint", default=None, help="The command to run, split like a shell (default: the preset's).")
@click.option("--with", "with_", multiple=True, metavar="KEY=VALUE", help="A preset parameter (repeat).")
@click.option("-o", "--output", type=FILE, default=None,
              help="Where to write the spec (default: FOLDER/imagespec.yaml; - prints it).")
@FORMAT
def init_command(folder: Path, preset: str | None, name: str | None, version_: str | None, license_: str | None,
                 ports: tuple[int, ...], entrypoint: str | None, with_: tuple[str, ...], output: Path | None,
                 fmt: str) -> None:
    """Write a first spec for FOLDER from its project files."""
    result = jobs.init(folder, preset=preset, name=name, version=version_, license=license_, ports=ports or None,
                       entrypoint=entrypoint, with_=dict(_with_value(text) for text in with_), output=output)
    to_stdout = str(result.path) == "-"
    if fmt == "json":
        click.echo(json.dumps({"spec": str(result.path), "preset": result.preset, "found": list(result.found),
                               "guessed": list(result.guessed)} | ({"text": result.text} if to_stdout else {}),
                              indent=2))
    else:
        for line in result.found:
            click.echo(one_line(f"found    {line}"), err=True)  # QA: a NUL in a manifest's name was printed
        for line in result.guessed:
            click.echo(one_line(f"guessed  {line}"), err=True)
        if to_stdout:
            print_exactly(result.text)
    done = "printed the spec" if to_stdout else f"wrote {result.path}"
    click.echo(f"{done} (preset {result.preset}); next: imagespec generate {_spec_named(result.path)}", err=True)


@click.command("import")
@click.argument("dockerfile", type=FILE)
@click.option("-o", "--output", type=FILE, default=None,
              help="Where to write the spec (default: imagespec.yaml beside the Dockerfile; - prints it).")
@FORMAT
@CONFIG
def import_command(dockerfile: Path, output: Path | None, fmt: str, config_path: Path | None) -> None:
    """Write the spec that means the same image as DOCKERFILE."""
    result = jobs.import_dockerfile(dockerfile, output=output, config=config_path)
    report = result.report
    to_stdout = str(result.path) == "-"
    # the spec's folder (the Dockerfile's when it is printed) finds the configuration it will have
    note_unread_configs([dockerfile if to_stdout else result.path], config_path)
    if fmt == "json":
        click.echo(json.dumps({"spec": str(result.path),
                               "expressed": [{"line": line, "instruction": kind} for line, kind in report.expressed],
                               "not_expressed": [{"line": line, "instruction": text, "why": why}
                                                 for line, text, why in sorted(report.comments)],
                               "differences": report.differences, "guessed": report.guessed}
                              | ({"text": result.text} if to_stdout else {}), indent=2))
    else:
        if to_stdout:
            print_exactly(result.text)
        for line in report.guessed:
            click.echo(one_line(f"guessed      {line}"), err=True)
        for line in report.differences:
            click.echo(one_line(f"differs      {line}"), err=True)
        for number, text, why in sorted(report.comments):
            click.echo(one_line(f"not expressed Dockerfile:{number}: {text.splitlines()[0][:120]} ({why})"), err=True)
    done = "printed the spec" if to_stdout else f"wrote {result.path}"
    click.echo(f"{done} ({len(report.expressed)} instructions expressed, {len(report.comments)} left as "
               f"comments); next: imagespec generate {_spec_named(result.path)}", err=True)


def _spec_named(path: Path) -> str:
    return "SPEC (save what was printed first)" if str(path) == "-" else str(path)


def _with_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise SpecError(f"--with {text!r} must be KEY=VALUE", hint="a parameter of the preset, e.g. --with binary=api")
    return key, value
