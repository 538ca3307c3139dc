"""imagespec.jobs.compiling: the compiler's jobs — find the configuration, compile one spec
(``compile_one``, through the result cache where it applies: ``generated``), and what each
command makes of it: generate, the merged spec, explain, lint, the schema, a manifest (check,
which compares the committed files and the lock files, is ``jobs.checking``). Every other job
module builds on ``config_file`` and ``compile_one`` here.

May import: as imagespec.jobs (anything below ``imagespec.cli``; pydantic, YAML and Jinja only
inside functions, so that ``imagespec generate`` answered from the cache stays fast).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imagespec import cache
from imagespec.errors import CheckFailed, SpecError, each_or_together
from imagespec.spec import files
from imagespec.spec.files import CONFIG_NAME, recording
from imagespec.spec.files import resolve as resolve_noted
from imagespec.notes import OnNote, ignore

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.compiler import Compiled
    from imagespec.fleet.builder import Builder
    from imagespec.explain import Line
    from imagespec.lint import Finding
    from imagespec.spec.config import Config

#: the most fleet targets that may build at once (`build --jobs N`, jobs.fleets): far above
#: what one BuildKit runs well, low enough that a typo (a digit too many) is refused, not echoed
MAX_JOBS = 256
#: how many by default: one more than two cores keep busy, so that a target exporting its image
#: or SBOM layer (dockerd's work, little of BuildKit's) overlaps the others' steps: on the
#: 2-core machine, 1.91 cores busy against 1.85 with 2 (BENCHMARKS.md, "Fleet")
DEFAULT_JOBS = 3


def config_file(flag: Path | None) -> Path | None:
    """The configuration file given, else $IMAGESPEC_CONFIG (None: the nearest .imagespec.yaml)."""
    from imagespec.settings import config_path, read_environment

    return config_path(flag, read_environment())


def note_unread_configs(paths: Sequence[Path], flag: Path | None, on_note: OnNote) -> None:
    """One note, through ``on_note``, naming every .imagespec.yaml a spec among ``paths``
    (spec files, folders of them) would have been configured by but is not, because --config
    or $IMAGESPEC_CONFIG names another file, which stands alone (README "Catalog and
    configuration"): a company's `policies:` there would otherwise stop holding unseen.
    Nothing when no file is named, or when the one named is the file found."""
    from imagespec.fleet.discover import specs_in
    from imagespec.settings import config_path, read_environment

    named = config_path(flag, read_environment())
    if named is None:
        return
    folders = dict.fromkeys(spec.parent for path in paths
                            for spec in (specs_in(path) if path.is_dir() else [path] if path.is_file() else []))
    try:
        chosen = resolve_noted(named)
        unread = dict.fromkeys(found for folder in folders for found in files.configs_from(resolve_noted(folder))
                               if resolve_noted(found) != chosen)
    except files.LinkLoop:
        return  # the command reports the loop where it reads the path
    if not unread:
        return
    given = f"--config {named}" if flag is not None else f"$IMAGESPEC_CONFIG={named}"
    shown = " and ".join(f"{_shown(found)} ({_policies_of(found)})" for found in unread)
    one = len(unread) == 1
    on_note(f"imagespec: note: {given} stands alone: {shown} {'is' if one else 'are'} not read, so "
            f"{'its' if one else 'their'} settings and policies do not apply to these specs")


def _shown(path: Path) -> str:
    """Relative to the working directory when inside it (`./.imagespec.yaml`), else whole."""
    here = Path.cwd()
    return f"./{path.relative_to(here)}" if path.is_relative_to(here) else str(path)


def _policies_of(path: Path) -> str:
    """The policy names the file writes, for the note; what cannot be read is said so (the
    file is not the run's configuration: its errors are not this run's)."""
    from imagespec.spec.repository import refuse_link_out
    from imagespec.spec.yaml_source import read_yaml

    try:
        refuse_link_out(path, "configuration file", "")  # a link out of the repository is never read
        data = read_yaml(path, empty_ok=True).data
    except SpecError:
        return "not readable"
    written = data.get("policies") if isinstance(data, dict) else None
    if not isinstance(written, dict) or not written:
        return "no policies"
    return f"its policies: {', '.join(str(name) for name in written)}"


def compile_one(path: Path, config_path: Path | None = None,
                written_to: Path | None = None, *, locked: bool = True) -> tuple[Compiled, Config]:
    """(Compiled, Config): the configuration is found first, since templates and the
    catalog it names shape the spec. ``locked``: pin the bases to the spec's lock file,
    when it has one (imagespec.lock; read here, at the boundary, like the catalog)."""
    from imagespec.compiler import compile_spec
    from imagespec.lock import read_pins
    from imagespec.spec.config import load_config
    from imagespec.spec.read_spec import load_spec

    config = load_config(config_file(config_path), start=path.parent)
    loaded = load_spec(path, config)
    # the header names the spec relative to the file it is written to (generate -o FILE)
    source = loaded.display_name(resolve_noted(written_to).parent) if written_to else None
    pins = read_pins(loaded.lock_path) if locked else {}
    return compile_spec(loaded, config, source=source, pins=pins), config


def image_option(flag: str, text: str, *, local: bool = False) -> str:
    """``text`` if it is an image reference (imagespec.reference, the one grammar), else a
    SpecError (exit 2) naming ``flag``, before anything is compiled, written or run.
    ``local``: an image ID of a local image is accepted too (docker runs it; a manifest
    deployed elsewhere could not pull it)."""
    from imagespec import reference as grammar

    if local and re.fullmatch(r"(sha256:)?[a-f0-9]{12,64}", text):
        return text
    try:
        return grammar.reference(text)
    except grammar.Invalid as invalid:
        raise SpecError(f"{flag}: {invalid}", hint=invalid.hint or (
            "e.g. registry.example.com/team/api:1.4.2, or pinned: NAME@sha256:<the 64 hex digits of the digest>")) from None


def configured_builder(config: Config) -> Builder | None:
    """The builder the configuration's `build.builder` names (None: it names none), asked of
    buildx before anything builds: an unknown name is bad input (exit 2) at that value, for
    one spec as for a fleet, instead of a build that fails saying `no builder found`."""
    from imagespec.fleet.builder import find_builder

    name = config.build.builder
    if not name:
        return None
    document = config.document  # an unknown name is reported at its value there
    return find_builder(name, where=document.location(("build", "builder")).of_value() if document else None)


def configured_builder_of(specs: Sequence[Path], config_path: Path | None = None) -> Builder | None:
    """``configured_builder`` of the configuration the first spec ``specs`` name is built
    with: a build that selected nothing (--changed-since) asks it all the same, so that a
    misspelt `build.builder` fails every CI run, not only the first with something to build."""
    from imagespec.spec.config import load_config

    files = spec_files(specs)
    return configured_builder(load_config(config_file(config_path), start=files[0].parent)) if files else None


def _compiled_each(specs: Sequence[Path], config_path: Path | None = None) -> list[Compiled]:
    """Every spec compiled; those that do not compile are all reported in one error
    (imagespec.errors.each_or_together), not only the first."""
    return each_or_together(specs, lambda path: compile_one(path, config_path)[0])


def spec_files(paths: Sequence[Path], on_note: OnNote = ignore) -> list[Path]:
    """The spec files ``paths`` (files and folders) name, folders searched by the file-name
    rule: what ``select_specs`` chooses without --changed-since, without loading the fleet side."""
    from imagespec.fleet.discover import discover

    return discover(paths, on_note)


def listed_spec_files(paths: Sequence[Path], on_note: OnNote = ignore) -> list[Path]:
    """``spec_files`` for `imagespec list`, which reads none of them: a link among them that
    leads nowhere or in a circle is exit 2 there too, as every other fleet command's load
    of it is (a script looping over the list would fail at it, one spec later)."""
    from imagespec.errors import raise_together
    from imagespec.spec.yaml_source import broken_link

    found = spec_files(paths, on_note)
    raise_together([error for error in map(broken_link, found) if error is not None])
    return found


def specs_only(specs: Sequence[Path], on_note: OnNote = ignore) -> list[Path]:
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
              use_cache: bool = True, on_note: OnNote = ignore) -> list[cache.Result]:
    """What `generate` and `check` write or compare: from the result cache when nothing
    the compiler would look at changed (start-up without pydantic, YAML or Jinja)."""
    from imagespec.settings import config_path as chosen_config, read_environment

    env = read_environment()
    root = env.cache_dir if use_cache else None
    config_path = chosen_config(config_path, env)  # the cache keys on the file chosen, however it was named

    def result(path: Path) -> cache.Result:
        found = cache.lookup(root, path, config_path, written_to)
        if found is None:
            with recording() as notes:  # the output paths' looks too: they are part of the result
                found = _result(compile_one(path, config_path, written_to)[0], written_to)
            if use_cache:
                cache.store(root, path, config_path, written_to, notes, found)
        return found

    results = each_or_together(specs_only(specs, on_note), result)  # every broken spec in one run
    _refuse_clashes(results)
    return results


def _result(compiled: Compiled, written_to: Path | None) -> cache.Result:
    """What generate would write for one spec, once it is known to stay in the spec's
    repository (-o's FILE too)."""
    from imagespec.spec.repository import check_confined

    loaded = compiled.loaded
    origin = loaded.document.location(("dockerfile",))
    found = cache.Result(loaded.document.file, loaded.dockerfile_path, loaded.dockerignore_path,
                         compiled.dockerfile, compiled.dockerignore, (origin.file, origin.line, origin.col))
    check_confined(loaded, found.outputs(written_to), written_to)
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
             use_cache: bool = True, on_note: OnNote = ignore) -> dict[Path, bool]:
    """Write each spec's Dockerfile and ignore file (``output``: one spec's Dockerfile to
    that file instead), atomically and all or nothing; a file imagespec did not generate
    is replaced only with ``force``. Returns each file written -> whether it changed."""
    if output is not None and output.is_dir():  # was: "cannot read this file: it is a directory", after the compile
        from imagespec.errors import Location

        raise SpecError("-o: this is a folder, and -o names the Dockerfile to write", location=Location(str(output)),
                        hint=f"name the file, e.g. `-o {output / 'Dockerfile'}`, or `-o -` to print it")
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
        _refuse_hand_written(owners, output, {result.dockerignore_path for result in results})
    changed = write_atomically(files)
    return {path: path in changed for path in files}


def _refuse_hand_written(owners: dict[Path, str], written_to: Path | None, ignore_files: set[Path]) -> None:
    """A Dockerfile or ignore file someone wrote by hand is theirs: replacing it unasked
    loses their work (trying imagespec on an existing project). `owners`: each file to
    write -> the spec it is for. Checked for every file before any is written."""
    from imagespec.errors import Location
    from imagespec.output import written_by_hand

    for path, spec in owners.items():
        if not written_by_hand(path):
            continue
        if path in ignore_files:
            # the build reads the spec's ignore file only, wherever its Dockerfile is: the
            # hand-written patterns keep files out only once they are the spec's
            # (pipeline.hand_ignore stops a build that would send what they keep out)
            hint = f"move its patterns into the `ignore:` list of {spec}, then pass --force to replace it"
        else:
            elsewhere = "give -o another path" if path == written_to else f"set `dockerfile:` in {spec} to another path"
            hint = f"pass --force to replace it, or {elsewhere}"
        raise CheckFailed("not generated by imagespec (no generated header): generate would replace it",
                          location=Location(str(path)), hint=hint)


# --- the compiler's other views: the merged spec, explain, lint, the schema, a manifest ------

def effective(specs: Sequence[Path], *, config: Path | None = None, on_note: OnNote = ignore) -> list[tuple[str, str]]:
    """Each spec with its `extends` chain merged in, as YAML: (the spec's file, the text).
    Its `policies` are the rules it is held to: its templates' and its own, tightened by
    the configuration's (compiler.effective_policies), which the spec does not repeat."""
    from imagespec.compiler import effective_policies

    each = each_or_together(specs_only(specs, on_note), lambda path: compile_one(path, config))
    import yaml

    def text(compiled: Compiled, settings: Config) -> str:
        held = effective_policies(compiled.loaded, settings).policies
        spec = compiled.loaded.spec.model_copy(update={"policies": held})
        return yaml.safe_dump(spec.model_dump(mode="json", by_alias=True, exclude_defaults=True),
                              sort_keys=False, allow_unicode=True, width=100)

    return [(compiled.loaded.document.file, text(compiled, settings)) for compiled, settings in each]


def dockerfile_text(specs: Sequence[Path], *, config: Path | None = None, use_cache: bool = True,
                    on_note: OnNote = ignore) -> str:
    """One spec's Dockerfile as `generate` would write it, nothing written (`generate -o -`)."""
    results = generated(specs, config, None, use_cache=use_cache, on_note=on_note)
    one_spec_for_output(results, "-")
    return results[0].dockerfile


def explain(spec: Path, *, config: Path | None = None, on_note: OnNote = ignore) -> list[Line]:
    """Every generated instruction beside the spec location and the practice (BP id) that
    produced it."""
    from imagespec.explain import explain as explain_lines

    return explain_lines(compile_one(specs_only((spec,), on_note)[0], config)[0])


def lint(specs: Sequence[Path], *, config: Path | None = None, on_note: OnNote = ignore) -> list[Finding]:
    """The findings of every spec, all of them compiled first; the build context is asked
    only for specs read from a file."""
    from imagespec.lint import lint as lint_spec
    from imagespec.spec.build_context import BuildContext

    compiled = _compiled_each(specs_only(specs, on_note), config)
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

    if image is not None:
        image_option("--image", image)
    compiled = compile_one(spec, config)[0]
    if compiled.loaded.spec.kind == "base":  # runs nothing of its own: a service of it would start no program
        label = {"compose": "Compose service", "kubernetes": "Kubernetes Deployment"}.get(kind, "manifest")
        raise SpecError(f"a base image (`kind: base`) is built FROM and runs nothing of its own: it has no {label}",
                        location=compiled.loaded.document.origin(("kind",)),
                        hint="a base image is built FROM, not deployed: write the manifest of an app spec on it "
                             f"(`imagespec manifest APP/imagespec.yaml --format {kind}`)")
    reference = image or f"{repository(compiled)}:{compiled.loaded.spec.version or 'latest'}"
    text = render_manifest(compiled.plan, reference, kind, source=compiled.loaded.display_name(Path.cwd()))
    if output is not None:
        from imagespec.output import write_atomically

        write_atomically({output: text})
    return text
