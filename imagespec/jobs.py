"""imagespec.jobs: one orchestrator per job — generate, check, build, test, base build, and
every other command's (explain, lint, schema, manifest, init, import, base check, dockerfile,
sbom) — so that every front end (the CLI, a script, an editor plugin) calls the same glue
instead of copying it.

Role: find the configuration, compile (through the result cache where it applies),
and hand the result to output/ or the engine. Each function returns values; printing,
exit codes and the command line's flags stay in ``imagespec.cli``.

May import: anything below ``imagespec.cli`` (it sits with ``settings``, ``pipeline`` and
``bases`` at the top); pydantic, YAML, Jinja and the engine only inside functions, so that
``imagespec generate`` answered from the cache stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from imagespec import cache
from imagespec.errors import CheckFailed, Location, SpecError
from imagespec.spec.files import CONFIG_NAME, recording
from imagespec.spec.files import resolve as resolve_noted

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.adopt import ImportResult, InitResult
    from imagespec.bases import BuiltBase
    from imagespec.compiler import Compiled
    from imagespec.engine import BuildResult
    from imagespec.engine.backend import ProgressMode
    from imagespec.explain import Line
    from imagespec.fleet.commands import Baked, Selection
    from imagespec.lint import Finding
    from imagespec.publish.index import Index, PlatformImage
    from imagespec.spec.config import Config
    from imagespec.spec.read_base import LoadedBase
    from imagespec.verify import Report

OnNote = Callable[[str], None]


def _ignore(_: str) -> None:
    return None


def config_file(flag: Path | None) -> Path | None:
    """The configuration file given, else $IMAGESPEC_CONFIG (None: the nearest .imagespec.yaml)."""
    from imagespec.settings import config_path, read_environment

    return config_path(flag, read_environment())


def compile_one(path: Path, config_path: Path | None = None,
                written_to: Path | None = None) -> tuple[Compiled, Config]:
    """(Compiled, Config): the configuration is found first, since templates and the
    catalog it names shape the spec."""
    from imagespec.compiler import compile_spec
    from imagespec.spec.config import load_config
    from imagespec.spec.read_spec import load_spec

    config = load_config(config_file(config_path), start=path.parent)
    loaded = load_spec(path, config)
    # the header names the spec relative to the file it is written to (generate -o FILE)
    source = loaded.display_name(resolve_noted(written_to).parent) if written_to else None
    return compile_spec(loaded, config, source=source), config


def specs_only(specs: Sequence[Path], on_note: OnNote = _ignore) -> list[Path]:
    """The specs among the files given: a glob such as examples/**/*.yaml also matches
    configuration files, which are skipped (and said so through ``on_note``)."""
    chosen = [path for path in specs if path.name != CONFIG_NAME]
    for path in specs:
        if path.name == CONFIG_NAME:
            on_note(f"skipped {path}: a configuration file, not a spec")
    if not chosen:
        raise SpecError("no spec among the files given", hint=f"{CONFIG_NAME} files configure specs; name the specs")
    return chosen


def generated(specs: Sequence[Path], config_path: Path | None = None, written_to: Path | None = None, *,
              use_cache: bool = True, on_note: OnNote = _ignore) -> list[cache.Result]:
    """What `generate` and `check` write or compare: from the result cache when nothing
    the compiler would look at changed (start-up without pydantic, YAML or Jinja)."""
    from imagespec.settings import config_path as chosen_config, read_environment

    env = read_environment()
    root = env.cache_dir if use_cache else None
    config_path = chosen_config(config_path, env)  # the cache keys on the file chosen, however it was named
    results = []
    for path in specs_only(specs, on_note):
        found = cache.lookup(root, path, config_path, written_to)
        if found is None:
            with recording() as notes:  # the output paths' looks too: they are part of the result
                found = _result(compile_one(path, config_path, written_to)[0], written_to)
            if use_cache:
                cache.store(root, path, config_path, written_to, notes, found)
        results.append(found)
    _refuse_clashes(results)
    return results


def _result(compiled: Compiled, written_to: Path | None) -> cache.Result:
    """What generate would write for one spec, once it is known to stay in the spec's
    repository (-o's FILE is the user's own choice: not confined)."""
    from imagespec.spec.repository import check_confined

    loaded = compiled.loaded
    origin = loaded.document.location(("dockerfile",))
    found = cache.Result(loaded.document.file, loaded.dockerfile_path, loaded.dockerignore_path,
                         compiled.dockerfile, compiled.dockerignore, (origin.file, origin.line, origin.col))
    check_confined(loaded, [path for path in found.outputs(written_to) if path != written_to])
    return found


def _refuse_clashes(results: list[cache.Result]) -> None:
    """Two specs of one run may not write the same file: the second would silently win."""
    from imagespec.errors import Location

    writers: dict[str, cache.Result] = {}
    for result in results:
        for path in result.outputs():
            first = writers.setdefault(os.path.normpath(path), result)
            if first.spec_file != result.spec_file:  # the same spec named twice is no clash
                raise SpecError(f"{result.spec_file} and {first.spec_file} both write {path}",
                                location=Location(*result.origin),
                                hint="give each spec its own `dockerfile:` (and `context:`), or generate them "
                                     "in separate runs")


def one_spec_for_output(results: list[cache.Result], output: object) -> None:
    """-o names one file: two specs would both write it."""
    if output is not None and len(results) > 1:
        raise SpecError("-o/--output takes one spec", hint="drop -o to write each spec's own `dockerfile`")


def generate(specs: Sequence[Path], *, output: Path | None = None, config: Path | None = None, force: bool = False,
             use_cache: bool = True, on_note: OnNote = _ignore) -> dict[Path, bool]:
    """Write each spec's Dockerfile and ignore file (``output``: one spec's Dockerfile to
    that file instead), atomically and all or nothing; a file imagespec did not generate
    is replaced only with ``force``. Returns each file written -> whether it changed."""
    results = generated(specs, config, output, use_cache=use_cache, on_note=on_note)
    one_spec_for_output(results, output)
    from imagespec.output import write_atomically  # past the compile: `generate -o -` never needs it

    files: dict[Path, str] = {}
    owners: dict[Path, str] = {}
    for result in results:
        outputs = result.outputs(output)
        files |= outputs
        owners |= dict.fromkeys(outputs, result.spec_file)
    if not force:
        _refuse_hand_written(owners, output)
    changed = write_atomically(files)
    return {path: path in changed for path in files}


def _refuse_hand_written(owners: dict[Path, str], written_to: Path | None) -> None:
    """A Dockerfile or ignore file someone wrote by hand is theirs: replacing it unasked
    loses their work (trying imagespec on an existing project). `owners`: each file to
    write -> the spec it is for. Checked for every file before any is written."""
    from imagespec.errors import Location
    from imagespec.output import written_by_hand

    for path, spec in owners.items():
        if written_by_hand(path):
            elsewhere = "give -o another path" if path == written_to else f"set `dockerfile:` in {spec} to another path"
            raise CheckFailed("not generated by imagespec (no generated header): generate would replace it",
                              location=Location(str(path)), hint=f"pass --force to replace it, or {elsewhere}")


@dataclass(frozen=True)
class Stale:
    """A committed generated file that no longer matches its spec."""

    spec: str
    file: str
    diff: str  # unified diff, committed -> expected


@dataclass(frozen=True)
class Checked:
    specs: int
    stale: tuple[Stale, ...]

    @property
    def ok(self) -> bool:
        return not self.stale


def check(specs: Sequence[Path], *, config: Path | None = None, use_cache: bool = True,
          on_note: OnNote = _ignore) -> Checked:
    """Compare each spec's committed generated files with what it generates now."""
    from imagespec.output import read_current

    stale = []
    results = generated(specs, config, None, use_cache=use_cache, on_note=on_note)
    for result in results:
        for path, expected in result.outputs().items():
            actual = read_current(path)
            if actual != expected:
                import difflib

                diff = "".join(difflib.unified_diff(actual.splitlines(True), expected.splitlines(True),
                                                    f"{path} (committed)", f"{path} (from {result.spec_file})"))
                stale.append(Stale(result.spec_file, str(path), diff))
    return Checked(len(results), tuple(stale))


@dataclass(frozen=True)
class Built:
    """``result``: the image built; for several platforms, the index: its digest as the
    id, the spec's tags (in the registry only) and the builds' total time, with each
    platform's own image in ``platforms``."""

    result: BuildResult
    pushed: dict[str, str]  # reference -> digest, for each tag pushed (none without --push)
    compiled: Compiled
    config: Config
    platforms: tuple[PlatformImage, ...] = ()
    index: Index | None = None

    @property
    def image(self) -> str:
        """The reference to test: its first tag, else its ID."""
        return self.result.tags[0] if self.result.tags else self.result.image_id

    @property
    def images(self) -> tuple[str, ...]:
        """Every image to test: each platform's local tag, or the one image."""
        return tuple(image.tag for image in self.platforms) or (self.image,)


def platforms_origin(compiled: Compiled, config: Config) -> Location:
    """Where the effective `platforms:` was written: the spec, else the configuration."""
    document = compiled.loaded.document
    if compiled.loaded.spec.platforms or config.document is None:
        return document.location(("platforms",))
    return config.document.location(("build", "platforms"))


def build(spec: Path, *, config: Path | None = None, on_status: OnNote = _ignore, **options: Any) -> Built:
    """Compile ``spec`` in memory and build, tag and (``push=True``) push its image on the
    engine. ``options`` are ``imagespec.settings.build_settings``'s (tags, build_args,
    target, no_cache, push, force, progress, ca_bundle, secrets)."""
    from imagespec import pipeline
    from imagespec.settings import build_settings, read_environment

    compiled, loaded_config = compile_one(spec, config)
    settings = build_settings(loaded_config, read_environment(), **options)
    if len(compiled.plan.platforms) > 1:
        return _build_platforms(compiled, loaded_config, settings, on_status)
    result, pushed = pipeline.build(compiled, settings, on_status=on_status, catalog=loaded_config.catalog)
    return Built(result, pushed, compiled, loaded_config)


def _build_platforms(compiled: Compiled, config: Config, settings: Any, on_status: OnNote) -> Built:
    from imagespec import pipeline
    from imagespec.engine import BuildResult

    images, results, index = pipeline.build_platforms(compiled, settings, on_status=on_status, catalog=config.catalog,
                                                      where=platforms_origin(compiled, config))
    pushed = {image.tag: image.digest or "" for image in images} | dict.fromkeys(index.references, index.digest)
    total = BuildResult(index.digest, index.references, sum(r.duration_s for r in results),
                        [step for r in results for step in r.steps])
    return Built(total, pushed, compiled, config, images, index)


def verify_compiled(compiled: Compiled, config: Config, image: str, *, size_budget: int | None = None,
                    http_port: int | None = None, ready_log: str | None = None) -> Report:
    """Check ``image`` against what ``compiled``'s spec promises; the size budget defaults
    to the spec's policies."""
    from imagespec import pipeline
    from imagespec.compiler import effective_policies
    from imagespec.verify import verify

    # a policy's size_budget is bytes once validated (its validator reads "25MB"), though typed int | str
    budget = size_budget if size_budget is not None else \
        cast("int | None", effective_policies(compiled.loaded, config).size_budget)
    return verify(image, pipeline.expectations(compiled, size_budget=budget, http_port=http_port, ready_log=ready_log))


def test(target: str, *, image: str | None = None, config: Path | None = None, http_port: int | None = None,
         ready_log: str | None = None, size_budget: int | None = None) -> Report:
    """Verify a built image against a spec file (``image``: default, the spec's first
    tag), or an image reference against its own config and labels."""
    from imagespec import pipeline

    spec = Path(target)
    if not spec.is_file():
        if spec.suffix in (".yaml", ".yml") or image:
            raise SpecError(f"no such spec: {target}", hint="give a spec file, or an image reference alone")
        from imagespec.verify import verify

        return verify(target, pipeline.expectations_from_image(target, size_budget=size_budget, http_port=http_port,
                                                               ready_log=ready_log))
    from imagespec.settings import BuildSettings

    compiled, loaded_config = compile_one(spec, config)
    reference = image or pipeline.references(compiled, BuildSettings())[0]
    if image is None and len(compiled.plan.platforms) > 1:
        from imagespec.publish.index import platform_tag

        images = tuple((platform, platform_tag(reference, platform)) for platform in compiled.plan.platforms)
        return verify_platforms(compiled, loaded_config, images, size_budget=size_budget, http_port=http_port,
                                ready_log=ready_log)
    return verify_compiled(compiled, loaded_config, reference, size_budget=size_budget, http_port=http_port,
                           ready_log=ready_log)


def verify_platforms(compiled: Compiled, config: Config, images: Sequence[tuple[str, str]], *,
                     size_budget: int | None = None, http_port: int | None = None,
                     ready_log: str | None = None) -> Report:
    """Each platform's image (``images``: (platform, reference) pairs) against the spec,
    another platform's under QEMU, in one report whose checks each name their platform."""
    import dataclasses

    from imagespec.verify import Report

    checks, duration = [], 0.0
    for platform, image in images:
        report = verify_compiled(compiled, config, image, size_budget=size_budget, http_port=http_port,
                                 ready_log=ready_log)
        checks += [dataclasses.replace(check, name=f"{check.name} ({platform})") for check in report.checks]
        duration += report.duration_s
    return Report(", ".join(image for _, image in images), checks, duration)


test.__test__ = False  # type: ignore[attr-defined]  # pytest: not a test function, though named so


# --- the compiler's other views: the merged spec, explain, lint, the schema, a manifest ------

def effective(specs: Sequence[Path], *, config: Path | None = None, on_note: OnNote = _ignore) -> list[tuple[str, str]]:
    """Each spec with its `extends` chain merged in, as YAML: (the spec's file, the text)."""
    compiled = [compile_one(path, config)[0] for path in specs_only(specs, on_note)]
    import yaml

    return [(c.loaded.document.file,
             yaml.safe_dump(c.loaded.spec.model_dump(mode="json", by_alias=True, exclude_defaults=True),
                            sort_keys=False, allow_unicode=True, width=100)) for c in compiled]


def dockerfile_text(specs: Sequence[Path], *, config: Path | None = None, use_cache: bool = True,
                    on_note: OnNote = _ignore) -> str:
    """One spec's Dockerfile as `generate` would write it, nothing written (`generate -o -`)."""
    results = generated(specs, config, None, use_cache=use_cache, on_note=on_note)
    one_spec_for_output(results, "-")
    return results[0].dockerfile


def explain(spec: Path, *, config: Path | None = None, on_note: OnNote = _ignore) -> list[Line]:
    """Every generated instruction beside the spec location and the practice (BP id) that
    produced it."""
    from imagespec.explain import explain as explain_lines

    return explain_lines(compile_one(specs_only((spec,), on_note)[0], config)[0])


def lint(specs: Sequence[Path], *, config: Path | None = None, on_note: OnNote = _ignore) -> list[Finding]:
    """The findings of every spec, all of them compiled first; the build context is asked
    only for specs read from a file."""
    from imagespec.lint import lint as lint_spec
    from imagespec.spec.build_context import BuildContext

    compiled = [compile_one(path, config)[0] for path in specs_only(specs, on_note)]
    return [finding for c in compiled
            for finding in lint_spec(c, BuildContext(c.loaded.context) if c.loaded.path else None)]


def schema(*, base: bool = False, output: Path | None = None) -> str:
    """The JSON Schema of the spec format (``base``: of the base spec format); written to
    ``output`` too when given."""
    from imagespec.schema import schema_text

    text = schema_text(base=base)
    if output is not None:
        from imagespec.output import write_atomically

        write_atomically({output: text})
    return text


def manifest(spec: Path, kind: str, *, image: str | None = None, config: Path | None = None,
             output: Path | None = None) -> str:
    """How to run ``spec``'s image as built: a Compose service or a Kubernetes Deployment
    (``kind``: compose, kubernetes) for ``image`` (default: the spec's
    registry/name:version, BP14); written to ``output`` too when given."""
    from imagespec.deploy import render_manifest
    from imagespec.pipeline import repository

    compiled = compile_one(spec, config)[0]
    reference = image or f"{repository(compiled)}:{compiled.loaded.spec.version or 'latest'}"
    text = render_manifest(compiled.plan, reference, kind, source=compiled.loaded.display_name(Path.cwd()))
    if output is not None:
        from imagespec.output import write_atomically

        write_atomically({output: text})
    return text


# --- adopting a project: init, import ----------------------------------------------------------

def init(folder: Path, *, preset: str | None = None, name: str | None = None, version: str | None = None,
         license: str | None = None, ports: tuple[int, ...] | None = None,
         entrypoint: tuple[str, ...] | None = None, with_: dict[str, str] | None = None,
         output: Path | None = None) -> InitResult:
    """Write a first spec for ``folder`` from its project files (``imagespec.adopt.InitResult``:
    the file written, the preset, what was found and what was guessed)."""
    from imagespec.adopt import InitOptions, init_project

    options = InitOptions(preset=preset, name=name, version=version, license=license, ports=ports,
                          entrypoint=entrypoint, with_=with_ or {}, output=output, config=config_file(None))
    return init_project(folder, options)


def import_dockerfile(dockerfile: Path, *, output: Path | None = None, config: Path | None = None) -> ImportResult:
    """Write the spec that means the same image as ``dockerfile`` (``imagespec.adopt``'s
    result: the file written and the report of what was and was not expressed)."""
    from imagespec.adopt import import_dockerfile as import_file

    return import_file(dockerfile, output, config_file(config))


# --- base images ---------------------------------------------------------------------------

def base_files(given: Sequence[Path]) -> list[Path]:
    """Files as given; a folder stands for its base specs (*.yaml with a `base:` key)."""
    from imagespec.spec.read_base import is_base_document
    from imagespec.spec.yaml_source import read_yaml

    files: list[Path] = []
    for path in given:
        if path.is_dir():
            files += [f for f in sorted(path.glob("*.yaml")) if is_base_document(read_yaml(f))]
        else:
            files.append(path)
    if not files:
        raise SpecError("no base spec among the paths given", hint="a base spec has `base: NAME` and `image: NAME:TAG`")
    return files


def _base_config(files: list[Path], config: Path | None) -> Config:
    from imagespec.spec.config import load_config

    # the catalog a base build writes may not exist yet: every base it needs is in the set
    return load_config(config_file(config), start=files[0].parent, catalogs_required=False)


def base_build(bases: Sequence[Path], *, catalog: Path | None = None, force: bool = False, push: bool = False,
               progress: ProgressMode = "auto", ca_bundle: Path | None = None, logs: Path = Path("/var/log/imagespec-bases"),
               config: Path | None = None, on_status: OnNote = _ignore) -> list[BuiltBase]:
    """Build base specs (files, or folders of them) in dependency order, tag them (BP14),
    optionally push, and write ``catalog`` with every base built and its digest once all
    succeeded. Returns ``imagespec.bases.BuiltBase`` for each, in build order."""
    from imagespec.bases import build_bases
    from imagespec.settings import base_options, read_environment

    files = base_files(bases)
    env = read_environment()
    loaded_config = _base_config(files, config)
    options = base_options(loaded_config, env, force=force, push=push, progress=progress,
                           ca_bundle=ca_bundle, logs=logs)
    return build_bases(files, loaded_config, options, catalog_path=catalog, on_status=on_status)


def base_check(bases: Sequence[Path], *, config: Path | None = None) -> list[LoadedBase]:
    """Validate base specs (files, or folders of them), no engine needed; returns them
    loaded (``imagespec.spec.read_base.LoadedBase``) in build order."""
    from imagespec.bases import load_bases

    files = base_files(bases)
    return load_bases(files, _base_config(files, config))


def base_dockerfile(base: Path, *, config: Path | None = None) -> str:
    """The Dockerfile a `distroless` or `spec` base is built from (for review)."""
    from imagespec.bases import dockerfile_of
    from imagespec.spec.config import load_config

    return dockerfile_of(base, load_config(config_file(config), start=base.parent))


def base_sbom(image: str, *, output: Path | None = None) -> str:
    """The SPDX JSON SBOM of a local image's Debian packages (BP16); written to
    ``output`` too when given. The same image always gives the same document: its time and
    namespace are the image's own creation time and ID."""
    from imagespec.engine.client import connect, engine_errors
    from imagespec.sbom.spdx import image_sbom, sbom_json

    with engine_errors(f"inspect {image}"):
        found = connect().images.get(image)
    created = str(found.attrs.get("Created", ""))[:19] + "Z"
    text = sbom_json(image_sbom(image, name=image, created=created, namespace=f"urn:imagespec:image:{found.id}"))
    if output is not None:
        from imagespec.output import write_atomically

        write_atomically({output: text})
    return text


# -- fleets (imagespec.fleet): several specs and folders, the bake file, --changed-since ---------

def select_specs(specs: Sequence[Path], *, config: Path | None = None, changed_since: str | None = None,
                 on_note: OnNote = _ignore) -> Selection:
    """The spec files ``specs`` (files and folders) name; with ``changed_since``, those whose
    inputs changed since that git revision and the specs built FROM them
    (imagespec.fleet.commands.Selection: ``.specs``, ``.explain()``)."""
    from imagespec.fleet.commands import select

    return select(specs, config, changed_since=changed_since, on_note=on_note)


def bake(specs: Sequence[Path], output: Path, *, config: Path | None = None, force: bool = False,
         changed_since: str | None = None, write: bool = True, on_note: OnNote = _ignore) -> Baked:
    """Write the fleet's bake file (``write=False``: only its text); imagespec.fleet.commands.Baked."""
    from imagespec.fleet import commands

    return commands.bake(specs, output, config=config, force=force, changed_since=changed_since, write=write,
                         on_note=on_note)


def stale_bake(specs: Sequence[Path], bake_file: Path, *, config: Path | None = None,
               on_note: OnNote = _ignore) -> str | None:
    """`check --bake FILE`: a diff when FILE is not what `imagespec bake SPECS -o FILE` writes."""
    from imagespec.fleet.commands import stale_bake_file

    return stale_bake_file(specs, bake_file, config=config, on_note=on_note)


@dataclass(frozen=True)
class FleetBuilt:
    """A fleet run: one record per target it was asked to build (fleet.records)."""

    records: tuple[Any, ...]
    builder: str
    jobs: int
    duration_s: float

    @property
    def failed(self) -> tuple[Any, ...]:
        return tuple(r for r in self.records if r.result == "failed")

    def table(self) -> str:
        """The summary as text: one line per target, then the counts."""
        from imagespec.fleet.records import summary_table

        return "\n".join(summary_table(self.records))

    def to_json(self) -> str:
        from imagespec.fleet.records import summary_json

        return summary_json(self.records, builder=self.builder, jobs=self.jobs, duration_s=self.duration_s)


def build_fleet(specs: Sequence[Path], *, config: Path | None = None, jobs: int = 2, builder: str | None = None,
                rerun_failed: bool = False, stream: Any = None,
                on_note: OnNote = _ignore, **options: Any) -> FleetBuilt:
    """Build several specs (files, or folders searched for specs) as one graph with
    ``docker buildx bake`` on ``builder`` (default: the configuration's `build.builder`,
    else buildx's current one): each target once its parents built, at most ``jobs`` at
    once, the rest kept going past a failure; tags only on what built (BP14).
    ``rerun_failed``: only the specs whose last run failed or was skipped (or never ran).
    A target's parent outside ``specs`` counts as built (its image is used as it is).
    ``options``:
    ``imagespec.settings.build_settings``'s (build_args, no_cache, progress, ca_bundle,
    secrets, push, force: each target's tags pushed once it built). Every spec compiles and the builder is found before anything builds (bad
    input: SpecError)."""
    import sys
    import tempfile
    import time
    from concurrent.futures import ThreadPoolExecutor

    from imagespec.fleet import records as fleet_records
    from imagespec.fleet.build import build_jobs, definition_for
    from imagespec.fleet.builder import find_builder
    from imagespec.fleet.model import load_fleet
    from imagespec.fleet.run import RunOptions, run_fleet
    from imagespec.settings import read_environment

    if jobs < 1:
        raise SpecError(f"--jobs {jobs}: at least one build must be able to run", hint="give --jobs 1 or more")
    env = read_environment()
    with ThreadPoolExecutor(max_workers=1) as pool:
        # asking buildx (a process, ~0.5 s) overlaps compiling the specs: the flag's builder,
        # else buildx's current one, which the configuration's `build.builder` may replace
        asked = pool.submit(find_builder, builder)
        fleet = load_fleet(specs, config, on_note=on_note)
        configured = next(iter(fleet)).config.build.builder if len(fleet) else None
        chosen_builder = find_builder(configured) if configured and not builder else asked.result()
    chosen = build_jobs(fleet, env, options)
    if rerun_failed:
        again = fleet_records.to_rerun((job.spec for job in chosen), fleet_records.read_state(env.cache_dir))
        chosen = [job for job in chosen if job.spec in again]
        on_note(f"--rerun-failed: {len(chosen)} target(s) failed, were skipped or never ran last time")
    began = time.monotonic()
    run_options = RunOptions(jobs=jobs, progress=options.get("progress", "plain"), no_cache=options.get("no_cache", False),
                             push=options.get("push", False), force=options.get("force", False))
    records = []
    if chosen:
        with tempfile.TemporaryDirectory(prefix="imagespec-bake-") as folder:
            records = run_fleet(definition_for(fleet, Path(folder)), chosen, chosen_builder, run_options,
                                folder=Path(folder), stream=stream or sys.stderr)
    fleet_records.write_state(env.cache_dir, records)
    return FleetBuilt(tuple(records), chosen_builder.name, jobs, time.monotonic() - began)
