"""`build` and `test`: build images with BuildKit, verify built images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from imagespec import jobs
from imagespec.cli.common import (
    ANY_PATH,
    CHANGED_SINCE,
    CONFIG,
    EXISTING_FILE,
    EXPLAIN,
    FILE,
    FORMAT,
    note,
    note_unread_configs,
    selected,
)
from imagespec.errors import BuildFailed, CheckFailed, SpecError


@click.command("build")
@click.argument("specs", metavar="SPEC_OR_DIR...", nargs=-1, required=True, type=ANY_PATH)
@click.option("-t", "--tag", "tags", multiple=True, help="Extra tag or full reference (repeatable; one spec only).")
@click.option("--push", is_flag=True, help="Push every tag; X.Y.Z tags are immutable (BP14); the policies "
              "push_registries and clean_push hold.")
@click.option("--force", is_flag=True, help="Build even when the image is up to date with the lock; with --push: "
              "allow moving an existing X.Y.Z tag.")
@click.option("--no-cache", is_flag=True)
@click.option("--build-arg", "build_args", multiple=True, metavar="K=V")
@click.option("--target", default=None, help="Build only up to this stage.")
@click.option("--progress", type=click.Choice(["auto", "plain", "json", "quiet"]), default="auto", show_default=True)
@click.option("--ca-bundle", type=EXISTING_FILE, default=None,
              help="CA bundle mounted into download steps as a BuildKit secret (TLS proxies). "
                   "Default: the configuration's build.ca_bundle, then $IMAGESPEC_CA_BUNDLE.")
@click.option("--secret", "secrets", multiple=True, metavar="id=ID,src=FILE",
              help="A build secret the spec declares in `secrets` (repeatable).")
@click.option("--verify", "run_verify", is_flag=True,
              help="Run `imagespec test` on the image after building (with --push: before pushing; nothing is pushed "
                   "when a check fails).")
@click.option("--jobs", "jobs_", type=click.IntRange(min=1, max=jobs.MAX_JOBS), default=None, metavar="N",
              help=f"Several specs: at most N targets build at once, each once its parents built (default {jobs.DEFAULT_JOBS}).")
@click.option("--rerun-failed", is_flag=True, help="Several specs: only those that failed or were skipped last time.")
@click.option("--builder", default=None, metavar="NAME",
              help="Several specs: the buildx builder bake runs on (default: the configuration's build.builder).")
@click.option("--sbom", "sbom", type=FILE, default=None, metavar="FILE",
              help="Also write the SBOM stored in the image to FILE (BP16; one spec only: a fleet's images each "
                   "store theirs, read with `imagespec sbom IMAGE`). Several platforms: "
                   "one file per platform image, FILE with the platform inserted (app.linux-arm64.spdx.json).")
@click.option("--sbom-format", type=click.Choice(["spdx", "cyclonedx"]), default="spdx", show_default=True,
              help="SBOM format: SPDX 2.3 or CycloneDX 1.5 JSON.")
@FORMAT
@CONFIG
@CHANGED_SINCE
@EXPLAIN
def build(specs: tuple[Path, ...], tags: tuple[str, ...], push: bool, force: bool, no_cache: bool,
          build_args: tuple[str, ...], target: str | None, progress: jobs.ProgressMode, ca_bundle: Path | None,
          secrets: tuple[str, ...], run_verify: bool, jobs_: int | None, rerun_failed: bool, builder: str | None,
          sbom: Path | None, sbom_format: str, fmt: str, config_path: Path | None, changed_since: str | None,
          explain: bool) -> None:
    """Build each SPEC's image with BuildKit, tag it, optionally push.

    The Dockerfile is generated in memory; tags follow the spec (BP14) and are applied
    only after a successful build. Several specs, or a folder of them (files named
    imagespec.yaml or *.imagespec.yaml), build as one graph with `docker buildx bake`:
    see "Fleets" in the README."""
    if len(specs) > 1 or specs[0].is_dir() or jobs_ or rerun_failed or builder is not None or changed_since:
        if changed_since is not None or explain:
            given, specs = specs, selected(specs, config_path, changed_since, explain)
            if not specs:  # the summary still, with no target: `> build.json` stays a document
                # the builder is asked all the same: misspelt, it fails this run, not the first that builds
                configured = jobs.configured_builder_of(given, config_path) if builder is None else None
                name = jobs.builder_name(builder) if builder is not None else configured.name if configured else ""
                if fmt == "json":
                    click.echo(jobs.FleetBuilt((), name, jobs_ or jobs.DEFAULT_JOBS, 0.0).to_json())
                return
        else:
            note_unread_configs(specs, config_path)
        _build_fleet(specs, tags=tags, push=push, force=force, target=target, run_verify=run_verify, sbom=sbom, jobs_=jobs_ or jobs.DEFAULT_JOBS,
                     rerun_failed=rerun_failed, builder=builder, fmt=fmt, config_path=config_path, no_cache=no_cache,
                     build_args=tuple(_pair(a) for a in build_args), progress=progress, ca_bundle=ca_bundle,
                     secrets=tuple(_secret(s) for s in secrets), sbom_format=sbom_format)
        return
    spec = specs[0]
    note_unread_configs(specs, config_path)
    # quiet prints no progress (README "Build output"): no SBOM or push progress, no summary
    # line; the tags on stdout are the result, and warnings about the input (on_warning) are
    # no progress either: they print whatever --progress says
    try:
        built = jobs.build(spec, config=config_path, on_status=_silent if progress == "quiet" else note,
                           on_warning=note, tags=tags,
                           build_args=tuple(_pair(a) for a in build_args), target=target, no_cache=no_cache,
                           push=push, force=force, progress="json" if fmt == "json" and progress == "auto" else progress,
                           ca_bundle=ca_bundle, secrets=tuple(_secret(s) for s in secrets), sbom=sbom,
                           sbom_format=sbom_format, verify=run_verify)
    except jobs.NotPushed as refused:  # --verify --push: the checks ran before the push
        note(f"not pushed: {refused.report.image} failed verification (--verify checks before --push)")
        _report_verification(refused.report, fmt)
        raise
    result = built.result
    summary = {"image_id": result.image_id, "tags": list(result.tags), "duration_s": round(result.duration_s, 2),
               "pushed": built.pushed, "up_to_date": built.up_to_date, "sbom_reused": built.sbom_reused}
    if built.platforms:  # several platforms: the id is the index's, each platform's image listed
        summary["platforms"] = [{"platform": i.platform, "image_id": i.image_id, "tag": i.tag, "digest": i.digest,
                                 "duration_s": round(i.duration_s, 2)}
                                | ({"sbom": str(built.sbom_files[i.platform])} if i.platform in built.sbom_files else {})
                                for i in built.platforms]
    if fmt == "json":
        click.echo(json.dumps(summary))
    else:
        if progress != "quiet":
            _say_what_was_built(built)
        for tag in result.tags:
            click.echo(tag)
    if built.report is not None:
        _report_verification(built.report, fmt)


def _say_what_was_built(built: jobs.Built) -> None:
    """On stderr: the image built (each platform's), or why nothing was."""
    result = built.result
    if built.up_to_date and built.platforms:
        platforms = ", ".join(image.platform for image in built.platforms)
        click.echo(f"up to date: {result.tags[0]} is the registry's index {result.image_id[:19]} of {platforms}, "
                   "each image recording this lock's base digest, these inputs and this commit (--force builds "
                   "anyway)", err=True)
        return
    if built.up_to_date:
        click.echo(f"up to date: {result.tags[0]} already records this lock's base digest, these inputs and this "
                   "commit (--force builds anyway)", err=True)
        return
    for image in built.platforms:
        click.echo(f"built {image.platform} {image.image_id[:19]} in {image.duration_s:.1f}s: {image.tag}", err=True)
    what = "index" if built.platforms else "built"
    click.echo(f"{what} {result.image_id[:19]} in {result.duration_s:.1f}s", err=True)


def _silent(_: str) -> None:
    """--progress quiet: the notes of a build (its SBOM, each push) are progress too."""


def _build_fleet(specs: tuple[Path, ...], *, tags: tuple[str, ...], target: str | None, run_verify: bool,
                 sbom: Path | None, jobs_: int, fmt: str, **options: Any) -> None:
    """Several specs: one summary table (or JSON document) on stdout; exit 1 naming the
    first failed target and where in its spec it failed (3 when every failure is the
    engine's or a registry's trouble)."""
    if sbom is not None:  # one FILE cannot hold each image's; each image stores its own (BP16)
        raise SpecError("--sbom FILE takes one spec: a fleet stores each image's SBOM in the image itself",
                        hint="drop --sbom and read one image's with `imagespec sbom IMAGE -o FILE`, or build that "
                             "spec alone with --sbom FILE")
    for flag, given in (("-t/--tag", tags), ("--target", target), ("--verify", run_verify)):
        if given:
            raise SpecError(f"{flag} takes one spec", hint="build that spec alone, or drop the flag")
    progress = options.pop("progress")
    fleet = jobs.build_fleet(specs, jobs=jobs_, on_note=note, progress="json" if fmt == "json" and progress == "auto"
                             else progress, config=options.pop("config_path"), **options)
    click.echo(fleet.to_json() if fmt == "json" else fleet.table())
    if fleet.failed:
        first = fleet.failed[0]
        others = f" (and {len(fleet.failed) - 1} more)" if len(fleet.failed) > 1 else ""
        error = first.failure
        raise BuildFailed(f"target {first.target}{others} failed: {error.message}", location=error.location,
                          hint=error.hint, targets=tuple(one.target for one in fleet.failed),
                          exit_code=fleet.exit_code)


def _secret(text: str) -> tuple[str, Path]:
    fields = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
    if set(fields) != {"id", "src"}:
        raise SpecError(f"--secret {text!r} must be id=ID,src=FILE")
    path = Path(fields["src"])
    if not path.is_file():
        raise SpecError(f"--secret {fields['id']}: {path} is not a file")
    return fields["id"], path


def _pair(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise SpecError(f"--build-arg {text!r} must be KEY=VALUE")
    key, value = text.split("=", 1)
    return key, value


def _report_verification(report: jobs.Report, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(report.to_dict()))
    else:
        report.render()
    report.raise_for_failures()


class _Size(click.ParamType):  # type: ignore[type-arg]  # generic only since click 8.2: no [int, str] at run time
    """A size as the spec's `size_budget` policy reads it (one grammar: spec.model)."""

    name = "size"

    def convert(self, value: int | str, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        from imagespec.spec.model import SIZE_UNITS, size_in_bytes  # lazy: pydantic costs start-up time

        try:
            return size_in_bytes(value)
        except ValueError as error:
            flag = f"--{param.name.replace('_', '-')}: " if param is not None and param.name else ""
            raise SpecError(f"{flag}{error}",
                            hint=f"bytes, or a number with a unit: {', '.join(SIZE_UNITS)}") from None


SIZE = _Size()


def _regex(value: str | None, flag: str) -> str | None:
    """A flag's regular expression, checked before any container starts (exit 2)."""
    import re

    if value is not None:
        try:
            re.compile(value)
        except re.error as error:
            raise SpecError(f"{flag} {value!r} is not a regular expression: {error}",
                            hint="write a Python regular expression; escape ( [ * + ? with a backslash to match "
                                 "them as they are") from None
    return value


@click.command("test")
@click.argument("targets", nargs=-1, required=True, metavar="SPEC|IMAGE…")
@click.option("--image", default=None, help="Image to test (default: the spec's first tag); one SPEC only.")
@click.option("--http-port", type=click.IntRange(1, 65535), default=None, metavar="PORT",
              help="GET http://127.0.0.1:PORT/ must answer (host network).")
@click.option("--ready-log", default=None, callback=lambda _ctx, _param, value: _regex(value, "--ready-log"),
              help="A regex the container's log must show.")
@click.option("--size-budget", type=SIZE, default=None, metavar="SIZE",
              help="Largest allowed image size: bytes, or 25MB, 1.5GiB, … (default: the policies' size_budget, which "
                   "it may lower, never raise).")
@FORMAT
@CONFIG
@CHANGED_SINCE
@EXPLAIN
def test_command(targets: tuple[str, ...], image: str | None, http_port: int | None, ready_log: str | None,
                 size_budget: int | None, fmt: str, config_path: Path | None, changed_since: str | None,
                 explain: bool) -> None:
    """Verify a built image against SPEC, or IMAGE against its labels.

    Checks non-root, PID 1, no zombies, clean stop, read-only root, no shell where none
    belongs, and the size budget (given an IMAGE: what its config and labels declare).
    Several SPECs (or folders of them) are each tested against their first tag."""
    if len(targets) == 1 and changed_since is None and not Path(targets[0]).is_dir():
        note_unread_configs([Path(targets[0])], config_path)  # an IMAGE names no file: no note
        _report_verification(jobs.test(targets[0], image=image, config=config_path, http_port=http_port,
                                       ready_log=ready_log, size_budget=size_budget), fmt)
        return
    if image is not None:
        raise SpecError("--image names the image of one SPEC", hint="test several specs against their own tags")
    specs = selected(tuple(Path(t) for t in targets), config_path, changed_since, explain)
    reports = jobs.test_specs(specs, config=config_path, http_port=http_port, ready_log=ready_log,
                              size_budget=size_budget)
    if fmt == "json":
        click.echo(json.dumps([report.to_dict() for report in reports]))
    else:
        for report in reports:
            report.render()
    failed = [report.image for report in reports if report.failed]
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(reports)} image(s) failed verification: {', '.join(failed)}")
