"""The command line: a thin layer over the library. Each command is a plain
function of its arguments; errors become one message and an exit code
(imagespec.errors), never a traceback.

May import: imagespec.jobs, imagespec.errors, imagespec.console (tables) and the size
grammar of imagespec.spec.model (tests/compiler/test_architecture.py pins the list).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from imagespec import jobs
from imagespec.errors import BuildFailed, CheckFailed, ImageSpecError, SpecError, SpecErrors, one_line


class _Invocation:
    """What one run of the command line has parsed that its error report needs (passed
    down as click's context object: one per run, nothing global). A plain class: a
    dataclass would be made at every start."""

    def __init__(self) -> None:
        self.json_errors = False


def _remember_format(ctx: click.Context, _: click.Parameter, value: str) -> str:
    if isinstance(ctx.obj, _Invocation):
        ctx.obj.json_errors = value == "json"
    return value


# The path types, made once: each click.Path looks up its name's translation (gettext
# probes the disk for catalogs) when it is made, at every start of the command line
FILE = click.Path(path_type=Path, dir_okay=False)
EXISTING_FILE = click.Path(path_type=Path, dir_okay=False, exists=True)
EXISTING_PATH = click.Path(path_type=Path, exists=True)
FOLDER = click.Path(path_type=Path, file_okay=False)
ANY_PATH = click.Path(path_type=Path)

# eager: parsed before the other options, so an error in one of them is reported in this format
FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
                      is_eager=True, callback=_remember_format, help="json: one machine-readable document on stdout.")
CONFIG = click.option("--config", "config_path", type=FILE, default=None,
                      help="Configuration file (default: .imagespec.yaml upwards from the spec, or $IMAGESPEC_CONFIG).")
SPECS = click.argument("specs", nargs=-1, required=True, type=ANY_PATH)
CHANGED_SINCE = click.option("--changed-since", "changed_since", metavar="REV", default=None,
                             help="Only the specs whose inputs changed since git revision REV, and those built FROM them.")
EXPLAIN = click.option("--explain", is_flag=True, help="With --changed-since: say why each spec was selected (stderr).")
NO_CACHE = click.option("--no-cache", is_flag=True,
                        help="Compile afresh; neither read nor write the result cache (also IMAGESPEC_NO_CACHE=1).")


def _note(text: str) -> None:
    click.echo(text, err=True)


def _selected(specs: tuple[Path, ...], config_path: Path | None, changed_since: str | None = None,
              explain: bool = False) -> tuple[Path, ...]:
    """The spec files SPECS name: folders searched by the file-name rule (README, "Fleets"),
    with --changed-since only the changed ones (empty: nothing to do)."""
    if explain and changed_since is None:
        raise SpecError("--explain needs --changed-since REV", hint="add --changed-since origin/main (or another revision)")
    if changed_since is None:  # no fleet graph: a cached `generate` loads none of it
        return tuple(jobs.spec_files(specs, on_note=_note))
    chosen = jobs.select_specs(specs, config=config_path, changed_since=changed_since, on_note=_note)
    if explain:
        for line in chosen.explain():
            _note(one_line(line))
    if not chosen.specs:
        _note(f"no spec changed since {changed_since}")
    return chosen.specs


def _print_exactly(text: str) -> None:
    """The text's UTF-8 bytes on stdout, as the file would hold them: click.echo would
    strip terminal escapes when stdout is a pipe (and keep them on a terminal)."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="imagespec")
def cli() -> None:
    """Compile short YAML image specs into best-practice Dockerfiles; build, verify and push them."""


@cli.command()
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
    specs = _selected(specs, config_path, changed_since, explain)
    if not specs:
        return
    if effective:
        for file, text in jobs.effective(specs, config=config_path, on_note=_note):
            click.echo(f"# {file}: the spec with its `extends` chain merged in")
            click.echo(text, nl=False)
        return
    if output == "-":
        _print_exactly(jobs.dockerfile_text(specs, config=config_path, use_cache=not no_cache, on_note=_note))
        return
    written_to = Path(output) if output is not None else None
    written = jobs.generate(specs, output=written_to, config=config_path, force=force, use_cache=not no_cache,
                            on_note=_note)
    for path, changed in written.items():
        click.echo(f"{'wrote' if changed else 'unchanged'} {path}", err=True)


@cli.command()
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
    chosen = _selected(specs, config_path, changed_since, explain)
    checked = jobs.check(chosen, config=config_path, use_cache=not no_cache, on_note=_note) if chosen \
        else jobs.Checked(0, ())
    stale = [{"spec": item.spec, "file": item.file, "diff": item.diff} for item in checked.stale]
    if bake_file is not None:
        diff = jobs.stale_bake(specs, bake_file, config=config_path, on_note=_note)
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


@cli.command()
@click.option("-o", "--output", type=FILE, default=None)
@click.option("--base", "base_format", is_flag=True, help="The base spec format (`imagespec base`) instead.")
def schema(output: Path | None, base_format: bool) -> None:
    """Print or write the JSON Schema of the spec format.

    For editors and CI; the committed copy is specs/imagespec.schema.json."""
    text = jobs.schema(base=base_format, output=output)
    if output is None:
        click.echo(text, nl=False)


@cli.command()
@click.argument("spec", type=FILE)
@FORMAT
@CONFIG
def explain(spec: Path, fmt: str, config_path: Path | None) -> None:
    """Show each instruction beside its spec line and practice.

    Every generated instruction with the spec location and the practice (BP id) that
    produced it."""
    lines = jobs.explain(spec, config=config_path, on_note=_note)
    if fmt == "json":
        click.echo(json.dumps([line.to_dict() for line in lines], indent=2, ensure_ascii=False))
        return
    from imagespec.console import explain_table

    explain_table(lines)


@cli.command()
@SPECS
@FORMAT
@CONFIG
@CHANGED_SINCE
@EXPLAIN
def lint(specs: tuple[Path, ...], fmt: str, config_path: Path | None, changed_since: str | None,
         explain: bool) -> None:
    """Report findings with locations; exit 1 on errors only."""
    specs = _selected(specs, config_path, changed_since, explain)
    findings = jobs.lint(specs, config=config_path, on_note=_note) if specs else []
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


@cli.command("lock")
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
    if check_only:
        problems = jobs.lock_check(specs, config=config_path, on_note=_note)
        if fmt == "json":
            click.echo(json.dumps({"ok": not problems, "problems": [vars(p) for p in problems]}, indent=2))
        else:
            for problem in problems:
                click.echo(str(problem))
        if problems:
            raise CheckFailed(f"{len(problems)} lock problem(s)", hint="run `imagespec lock SPEC` and commit the lock")
        return
    result = jobs.lock(specs, config=config_path, update=update, bases=update_names, min_age=min_age,
                       packages=packages, on_note=_note)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for line in result.lines():
            click.echo(line, err=True)


@cli.command()
@SPECS
@FORMAT
@CONFIG
def outdated(specs: tuple[Path, ...], fmt: str, config_path: Path | None) -> None:
    """List the SPECs to rebuild because a locked base moved (exit 1).

    A spec is stale when a base in its lock moved in its registry, or when an image it
    builds on is itself stale. One registry request per distinct base."""
    result = jobs.outdated(specs, config=config_path, on_note=_note)
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


@cli.command()
@click.argument("specs", metavar="SPEC_OR_DIR...", nargs=-1, required=True, type=ANY_PATH)
@click.option("-t", "--tag", "tags", multiple=True, help="Extra tag or full reference (repeatable; one spec only).")
@click.option("--push", is_flag=True, help="Push every tag; X.Y.Z tags are immutable (BP14).")
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
@click.option("--verify", "run_verify", is_flag=True, help="Run `imagespec test` on the image after building.")
@click.option("--jobs", "jobs_", type=click.IntRange(min=1), default=None, metavar="N",
              help="Several specs: at most N targets build at once, each once its parents built (default 2).")
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
            specs = _selected(specs, config_path, changed_since, explain)
            if not specs:
                return
        _build_fleet(specs, tags=tags, push=push, force=force, target=target, run_verify=run_verify, sbom=sbom, jobs_=jobs_ or 2,
                     rerun_failed=rerun_failed, builder=builder, fmt=fmt, config_path=config_path, no_cache=no_cache,
                     build_args=tuple(_pair(a) for a in build_args), progress=progress, ca_bundle=ca_bundle,
                     secrets=tuple(_secret(s) for s in secrets), sbom_format=sbom_format)
        return
    spec = specs[0]
    built = jobs.build(spec, config=config_path, on_status=_note, tags=tags,
                       build_args=tuple(_pair(a) for a in build_args), target=target, no_cache=no_cache, push=push,
                       force=force, progress="json" if fmt == "json" and progress == "auto" else progress,
                       ca_bundle=ca_bundle, secrets=tuple(_secret(s) for s in secrets), sbom=sbom,
                       sbom_format=sbom_format)
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
    elif built.up_to_date:
        click.echo(f"up to date: {result.tags[0]} already records this lock's base digest, these inputs and this "
                   "commit (--force builds anyway)", err=True)
        for tag in result.tags:
            click.echo(tag)
    else:
        for image in built.platforms:
            click.echo(f"built {image.platform} {image.image_id[:19]} in {image.duration_s:.1f}s: {image.tag}", err=True)
        what = "index" if built.platforms else "built"
        click.echo(f"{what} {result.image_id[:19]} in {result.duration_s:.1f}s", err=True)
        for tag in result.tags:
            click.echo(tag)
    if run_verify and built.platforms:
        images = tuple((i.platform, i.tag) for i in built.platforms)
        _report_verification(jobs.verify_platforms(built.compiled, built.config, images, stage=bool(target)), fmt)
    elif run_verify:
        _report_verification(jobs.verify_compiled(built.compiled, built.config, built.image, stage=bool(target)), fmt)


def _build_fleet(specs: tuple[Path, ...], *, tags: tuple[str, ...], target: str | None, run_verify: bool,
                 sbom: Path | None, jobs_: int, fmt: str, **options: Any) -> None:
    """Several specs: one summary table (or JSON document) on stdout; exit 1 naming the
    first failed target and where in its spec it failed."""
    if sbom is not None:  # one FILE cannot hold each image's; each image stores its own (BP16)
        raise SpecError("--sbom FILE takes one spec: a fleet stores each image's SBOM in the image itself",
                        hint="drop --sbom and read one image's with `imagespec sbom IMAGE -o FILE`, or build that "
                             "spec alone with --sbom FILE")
    for flag, given in (("-t/--tag", tags), ("--target", target), ("--verify", run_verify)):
        if given:
            raise SpecError(f"{flag} takes one spec", hint="build that spec alone, or drop the flag")
    progress = options.pop("progress")
    fleet = jobs.build_fleet(specs, jobs=jobs_, on_note=_note, progress="json" if fmt == "json" and progress == "auto"
                             else progress, config=options.pop("config_path"), **options)
    click.echo(fleet.to_json() if fmt == "json" else fleet.table())
    if fleet.failed:
        first = fleet.failed[0]
        others = f" (and {len(fleet.failed) - 1} more)" if len(fleet.failed) > 1 else ""
        error = first.failure
        raise BuildFailed(f"target {first.target}{others} failed: {error.message}", location=error.location,
                          hint=error.hint)


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


@cli.command("test")
@click.argument("targets", nargs=-1, required=True, metavar="SPEC|IMAGE…")
@click.option("--image", default=None, help="Image to test (default: the spec's first tag); one SPEC only.")
@click.option("--http-port", type=int, default=None, help="GET http://127.0.0.1:PORT/ must answer (host network).")
@click.option("--ready-log", default=None, help="A regex the container's log must show.")
@click.option("--size-budget", type=SIZE, default=None, metavar="SIZE",
              help="Largest allowed image size: bytes, or 25MB, 1.5GiB, … (default: the policies' size_budget).")
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
    def verified(target: str, image: str | None = None) -> jobs.Report:
        return jobs.test(target, image=image, config=config_path, http_port=http_port, ready_log=ready_log,
                         size_budget=size_budget)

    if len(targets) == 1 and changed_since is None and not Path(targets[0]).is_dir():
        _report_verification(verified(targets[0], image), fmt)
        return
    if image is not None:
        raise SpecError("--image names the image of one SPEC", hint="test several specs against their own tags")
    specs = _selected(tuple(Path(t) for t in targets), config_path, changed_since, explain)
    reports = [verified(str(spec)) for spec in specs]
    if fmt == "json":
        click.echo(json.dumps([report.to_dict() for report in reports]))
    else:
        for report in reports:
            report.render()
    failed = [report.image for report in reports if report.failed]
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(reports)} image(s) failed verification: {', '.join(failed)}")


@cli.command()
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
    baked = jobs.bake(specs, path, config=config_path, force=force, changed_since=changed_since,
                      write=not to_stdout, on_note=_note)
    if explain:
        for line in baked.explain():
            _note(one_line(line))
    if to_stdout:
        _print_exactly(baked.text)
    elif fmt == "json":
        click.echo(json.dumps({"file": str(path), "changed": baked.changed, "targets": baked.fleet.order(),
                               "groups": {k: list(v) for k, v in baked.fleet.groups.items()},
                               "why": {k: [str(r) for r in v] for k, v in baked.why.items()}}, indent=2))
    else:
        click.echo(f"{'wrote' if baked.changed else 'unchanged'} {path} ({len(baked.fleet)} target(s))", err=True)


@cli.group("base")
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
                              config=config_path, on_status=lambda line: click.echo(f"imagespec: {line}", err=True))
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
    ordered = jobs.base_check(bases, config=config_path)
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
    _print_exactly(jobs.base_dockerfile(base, config=config_path))


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


@cli.command("sbom")
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


@cli.command("sbom-diff")
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


@cli.command()
@click.argument("spec", type=FILE)
@click.option("--format", "fmt", type=click.Choice(["compose", "kubernetes"]), required=True,
              help="compose: a Compose service; kubernetes: an apps/v1 Deployment.")
@click.option("--image", default=None, help="Image reference (default: the spec's registry/name:version, BP14).")
@click.option("-o", "--output", type=FILE, default=None,
              help="Write to FILE instead of stdout.")
@CONFIG
def manifest(spec: Path, fmt: str, image: str | None, output: Path | None, config_path: Path | None) -> None:
    """Print how to run SPEC's image as built (Compose, Kubernetes)."""
    text = jobs.manifest(spec, fmt, image=image, config=config_path, output=output)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {output}", err=True)


@cli.command("init")
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
              help="Where to write the spec (default: FOLDER/imagespec.yaml).")
@FORMAT
def init_command(folder: Path, preset: str | None, name: str | None, version_: str | None, license_: str | None,
                 ports: tuple[int, ...], entrypoint: str | None, with_: tuple[str, ...], output: Path | None,
                 fmt: str) -> None:
    """Write a first spec for FOLDER from its project files."""
    import shlex

    try:
        command = tuple(shlex.split(entrypoint)) if entrypoint is not None else None
    except ValueError as exc:
        raise SpecError(f"--entrypoint: {exc}", hint="quote it as a shell would") from None
    result = jobs.init(folder, preset=preset, name=name, version=version_, license=license_, ports=ports or None,
                       entrypoint=command, with_=dict(_with_value(text) for text in with_), output=output)
    if fmt == "json":
        click.echo(json.dumps({"spec": str(result.path), "preset": result.preset, "found": list(result.found),
                               "guessed": list(result.guessed)}, indent=2))
    else:
        for line in result.found:
            click.echo(f"found    {line}", err=True)
        for line in result.guessed:
            click.echo(f"guessed  {line}", err=True)
    click.echo(f"wrote {result.path} (preset {result.preset}); next: imagespec generate {result.path}", err=True)


@cli.command("import")
@click.argument("dockerfile", type=FILE)
@click.option("-o", "--output", type=FILE, default=None,
              help="Where to write the spec (default: imagespec.yaml beside the Dockerfile).")
@FORMAT
@CONFIG
def import_command(dockerfile: Path, output: Path | None, fmt: str, config_path: Path | None) -> None:
    """Write the spec that means the same image as DOCKERFILE."""
    result = jobs.import_dockerfile(dockerfile, output=output, config=config_path)
    report = result.report
    if fmt == "json":
        click.echo(json.dumps({"spec": str(result.path),
                               "expressed": [{"line": line, "instruction": kind} for line, kind in report.expressed],
                               "not_expressed": [{"line": line, "instruction": text, "why": why}
                                                 for line, text, why in sorted(report.comments)],
                               "differences": report.differences, "guessed": report.guessed}, indent=2))
    else:
        for line in report.guessed:
            click.echo(one_line(f"guessed      {line}"), err=True)
        for line in report.differences:
            click.echo(one_line(f"differs      {line}"), err=True)
        for number, text, why in sorted(report.comments):
            click.echo(one_line(f"not expressed Dockerfile:{number}: {text.splitlines()[0][:120]} ({why})"), err=True)
    click.echo(f"wrote {result.path} ({len(report.expressed)} instructions expressed, {len(report.comments)} left as "
               f"comments); next: imagespec generate {result.path}", err=True)


def _with_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise SpecError(f"--with {text!r} must be KEY=VALUE", hint="a parameter of the preset, e.g. --with binary=api")
    return key, value


def _report(error: ImageSpecError, fmt_json: bool) -> None:
    if fmt_json:
        click.echo(json.dumps(error.to_dict()), err=True)
        return
    for each in error.errors if isinstance(error, SpecErrors) else (error,):
        click.echo(one_line(f"{each}" if each.location else f"imagespec: {each}"), err=True)
        if each.hint:
            click.echo(f"  hint: {one_line(each.hint)}", err=True)
    if isinstance(error, SpecErrors) and error.more:
        click.echo(f"imagespec: {error.more} more error(s) not shown; fix these first", err=True)


def _asks_json(args: list[str]) -> bool:
    """--format json among arguments click could not parse (the eager option unread)."""
    return "--format=json" in args or any(a == "--format" and b == "json" for a, b in zip(args, args[1:], strict=False))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    invocation = _Invocation()
    try:
        cli.main(args=args, prog_name="imagespec", standalone_mode=False, obj=invocation)
    except ImageSpecError as error:
        _report(error, invocation.json_errors)
        return error.exit_code
    except click.exceptions.Abort:
        click.echo("imagespec: interrupted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("imagespec: interrupted", err=True)
        return 130
    except click.ClickException as error:
        if invocation.json_errors or _asks_json(args):  # the option errors too: one JSON document
            command = error.ctx.command_path if isinstance(error, click.UsageError) and error.ctx else "imagespec"
            _report(SpecError(error.format_message(), hint=f"`{command} --help` lists the options"), True)
        else:
            error.show()
        return 2
    except click.exceptions.Exit as done:
        return done.exit_code
    return 0


def run() -> None:
    sys.exit(main())
