"""imagespec.jobs.fleets: several specs and folders as one graph (imagespec.fleet) — which
specs a run takes (--changed-since), the bake file, and the fleet build.

May import: as imagespec.jobs; imagespec.fleet only inside functions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagespec.errors import SpecError
from imagespec.notes import OnNote, ignore

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.fleet.commands import Baked, Selection
    from imagespec.fleet.model import Fleet


def select_specs(specs: Sequence[Path], *, config: Path | None = None, changed_since: str | None = None,
                 on_note: OnNote = ignore) -> Selection:
    """The spec files ``specs`` (files and folders) name; with ``changed_since``, those whose
    inputs changed since that git revision and the specs built FROM them
    (imagespec.fleet.commands.Selection: ``.specs``, ``.explain()``)."""
    from imagespec.fleet.commands import select

    return select(specs, config, changed_since=changed_since, on_note=on_note)


def link_specs(specs: Sequence[Path], *, config: Path | None = None) -> Fleet:
    """The spec files ``specs`` as one graph (imagespec.fleet.load, from the result cache's
    facts where nothing changed). Raises SpecError (exit 2) for what no build of them
    could do — a cycle, a platform a parent lacks, two specs moving one X.Y.Z tag (BP14) —
    so that generate, check, lint and test of several specs refuse it as bake and build do
    (issue 14: "a cycle is exit 2 naming the chain")."""
    from imagespec.fleet.load import load_fleet

    return load_fleet(specs, config)


def bake(specs: Sequence[Path], output: Path, *, config: Path | None = None, force: bool = False,
         changed_since: str | None = None, write: bool = True, on_note: OnNote = ignore) -> Baked:
    """Write the fleet's bake file (``write=False``: only its text); imagespec.fleet.commands.Baked."""
    from imagespec.fleet import commands

    return commands.bake(specs, output, config=config, force=force, changed_since=changed_since, write=write,
                         on_note=on_note)


def stale_bake(specs: Sequence[Path], bake_file: Path, *, config: Path | None = None,
               on_note: OnNote = ignore) -> tuple[str | None, list[str]]:
    """`check --bake FILE`: a diff when FILE is not what `imagespec bake SPECS -o FILE`
    writes (else None), and FILE's targets those specs do not make."""
    from imagespec.fleet.commands import stale_bake_file

    return stale_bake_file(specs, bake_file, config=config, on_note=on_note)


def bake_by_hand(bake_file: Path) -> bool:
    """Whether ``bake_file`` lacks the generated mark (a hand-written file): `imagespec bake
    -o FILE` replaces it only with --force, so the fix `check --bake` names must say so."""
    from imagespec.fleet.bake import written_by_hand

    return written_by_hand(bake_file)


def builder_name(name: str | None) -> str:
    """The builder a fleet build would run on (``name``; None: buildx's current one), asked
    even when nothing is to build, so a misspelt ``--builder`` fails every CI run, not only
    the first one that has something to build. Unknown: SpecError (exit 2)."""
    from imagespec.fleet.builder import find_builder

    return find_builder(name).name


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

    @property
    def exit_code(self) -> int:
        """0 when nothing failed; 3 when every failure is the engine's or a registry's trouble
        (exit 3, as for one spec: a retry may pass); else 1 (a build failed: a retry would not mend it)."""
        if not self.failed:
            return 0
        return 3 if all(r.failure is not None and r.failure.exit_code == 3 for r in self.failed) else 1

    def table(self) -> str:
        """The summary as text: one line per target, then the counts."""
        from imagespec.fleet.records import summary_table

        return "\n".join(summary_table(self.records))

    def to_json(self) -> str:
        from imagespec.fleet.records import summary_json

        return summary_json(self.records, builder=self.builder, jobs=self.jobs, duration_s=self.duration_s)


def build_fleet(specs: Sequence[Path], *, config: Path | None = None, jobs: int | None = None, builder: str | None = None,
                rerun_failed: bool = False, stream: Any = None,
                on_note: OnNote = ignore, **options: Any) -> FleetBuilt:
    """Build several specs (files, or folders searched for specs) as one graph with
    ``docker buildx bake`` on ``builder`` (default: the configuration's `build.builder`,
    else buildx's current one): each target once its parents built, at most ``jobs`` at
    once, the rest kept going past a failure; tags only on what built (BP14).
    ``rerun_failed``: only the specs whose last run failed or was skipped (or never ran).
    A target's parent outside ``specs`` counts as built (its image is used as it is).
    ``options``:
    ``imagespec.build_settings.build_settings``'s (build_args, no_cache, progress, ca_bundle,
    secrets, push, force: each target's tags pushed once it built). Every spec compiles and
    the builder is found before anything builds (bad input: SpecError); a builder that is
    another engine's docker driver needs ``push`` (its images are tagged and pushed there).
    With ``push``, a locked spec built on another spec's image follows it: once that image
    is pushed, the spec's lock pins what was pushed, its Dockerfile is written again, and it
    is built on that (``_follow_pushed``)."""
    import sys
    import tempfile
    import time
    from concurrent.futures import ThreadPoolExecutor

    from imagespec import pipeline
    from imagespec.fleet import records as fleet_records
    from imagespec.fleet.build import build_jobs, definition_for
    from imagespec.fleet.builder import find_builder
    from imagespec.fleet.model import load_fleet
    from imagespec.fleet.run import RunOptions, run_fleet
    from imagespec.jobs.compiling import configured_builder
    from imagespec.settings import read_environment

    from imagespec.jobs.compiling import DEFAULT_JOBS, MAX_JOBS

    jobs = DEFAULT_JOBS if jobs is None else jobs
    if not 1 <= jobs <= MAX_JOBS:
        raise SpecError(f"--jobs {jobs}: at least one build must be able to run, at most {MAX_JOBS}",
                        hint=f"give --jobs between 1 and {MAX_JOBS}")
    env = read_environment()
    with ThreadPoolExecutor(max_workers=1) as pool:
        # asking buildx (a process, ~0.5 s) overlaps compiling the specs: the flag's builder,
        # else buildx's current one, which the configuration's `build.builder` may replace
        asked = pool.submit(find_builder, builder)
        fleet = load_fleet(specs, config, on_note=on_note)
        # said before the builder answers: a warning about the flags, not the engine
        for warning in pipeline.fleet_arg_warnings({target.name: target.compiled for target in fleet},
                                                   options.get("build_args", ())):
            on_note(warning)
        first = next(iter(fleet)).config if len(fleet) else None
        configured = configured_builder(first) if first is not None and not builder else None
        chosen_builder = configured or asked.result()
    _refuse_images_left_elsewhere(chosen_builder, push=options.get("push", False))
    chosen = every = build_jobs(fleet, env, options)
    if options.get("push", False):  # said once per checkout, not once per spec in it
        warnings = (pipeline.dirty_push_warning(target.compiled.loaded.folder, pipeline.untracked_sent(target.compiled))
                    for target in fleet)
        for warning in dict.fromkeys(filter(None, warnings)):
            on_note(warning)
    if rerun_failed:
        again = fleet_records.to_rerun((job.spec for job in chosen), fleet_records.read_state(env.cache_dir))
        chosen = [job for job in every if job.spec in again]
        on_note(f"--rerun-failed: {len(chosen)} target(s) failed, were skipped or never ran last time")
    began = time.monotonic()
    run_options = RunOptions(jobs=jobs, progress=options.get("progress", "plain"), no_cache=options.get("no_cache", False),
                             push=options.get("push", False), force=options.get("force", False),
                             records=env.cache_dir / "fleet-inputs" if env.cache_dir else None)
    records = []
    if chosen:
        with tempfile.TemporaryDirectory(prefix="imagespec-bake-") as folder:
            records = run_fleet(definition_for(fleet, Path(folder)), chosen, chosen_builder, run_options,
                                folder=Path(folder), stream=stream or sys.stderr,
                                refresh=_follow_pushed(fleet, env, options, config, on_note,
                                                       local=not chosen_builder.other_engine),
                                built=[job for job in every if job.name not in {c.name for c in chosen}])
    fleet_records.write_state(env.cache_dir, records)
    return FleetBuilt(tuple(records), chosen_builder.name, jobs, time.monotonic() - began)


def _refuse_images_left_elsewhere(builder: Any, *, push: bool) -> None:
    """The docker driver of another engine's context builds into that engine's store:
    imagespec tags each image there and, with --push, pushes it from there. Without
    --push the images would stay on that engine where nothing here (test, sbom, run)
    finds them: bad input, before anything builds (docs/fleet.md)."""
    if builder.other_engine and not push:
        raise SpecError(f"builder {builder.name!r} is another Docker Engine ({builder.host}), not the local one: "
                        "its images would stay in that engine's store",
                        hint=f"pass --push: each target is tagged on {builder.name!r} once it built and its tags "
                             "are pushed from there (specs need `registry:`); docs/fleet.md")


def _put_back(paths: list[Path]) -> Callable[[], None]:
    """A function that returns ``paths`` to what they hold now (a file absent now is
    removed): a lock and Dockerfile moved for a build that then failed must not say the
    spec is on an image nothing was built on (`imagespec outdated` would miss it)."""
    from imagespec.output import write_atomically

    held = {path: path.read_text(encoding="utf-8") if path.is_file() else None for path in paths}

    def undo() -> None:
        write_atomically({path: text for path, text in held.items() if text is not None})
        for path, text in held.items():
            if text is None:
                path.unlink(missing_ok=True)

    return undo


def _follow_pushed(fleet: Any, env: Any, options: Mapping[str, Any], config: Path | None, on_note: OnNote,
                   *, local: bool = True) -> Callable[[Any, Mapping[str, str]], Any]:
    """The fleet run's refresh (imagespec.fleet.run.Refresh), as each target starts. First,
    the pins of its lock on images this run pushed move to the digests pushed
    (imagespec.lock's ``follow``; #15's cascade: a company base, then everything on it, in
    one run), its Dockerfile and ignore file are written again (the lock, the spec and the
    Dockerfile agree: `imagespec check` passes) and it is compiled again with the new pins.
    Then, unless --force, an image that already records what this build would make is
    marked current and not built (pipeline.up_to_date: no rebuild loop), when it is one
    image that lands in the ``local`` engine's store, where that is asked; for several
    platforms, the registry's index (pipeline.current_index)."""
    from imagespec import pipeline
    from imagespec.fleet import links
    from imagespec.fleet.build import build_job
    from imagespec.jobs.compiling import compile_one, generate
    from imagespec.lock import jobs as lock_jobs
    from imagespec.build_settings import build_settings

    def followed(job: Any, target: Any, pushed: Mapping[str, str]) -> tuple[Any, Any]:
        lock_path = target.compiled.loaded.lock_path
        by_name = {links.name(reference): digest for reference, digest in pushed.items()}
        follow = {name: by_name[name] for use in target.bases if (name := links.name(use.ref)) in by_name}
        if not follow or lock_path is None or not lock_path.is_file():
            return job, target
        loaded = target.compiled.loaded
        undo = _put_back([lock_path, loaded.dockerfile_path, loaded.dockerignore_path])
        report = lock_jobs.lock([target.spec], config=config, follow=follow, on_note=on_note)
        moved = [move for move in report.moves if move.moved]
        if not moved:
            return job, target
        for move in moved:
            was = move.old or "not pinned before"
            on_note(f"{move.spec}: {move.image} {was} -> {move.new} (pushed by this run)")
        generate([target.spec], config=config, use_cache=False, on_note=on_note)
        compiled, loaded_config = compile_one(target.spec, config)
        target = dataclasses.replace(target).keep_compiled(compiled, loaded_config)
        return dataclasses.replace(build_job(target, env, options), undo=undo), target

    def refresh(job: Any, pushed: Mapping[str, str]) -> Any:
        first = job
        job, target = followed(job, fleet.targets[job.name], pushed)
        if job is first and target.parents and not pipeline.final_base(target.compiled)[1]:
            # its labels were made before the run, when its parents' images were the old
            # ones: base.digest (BP13) names the parent's image this run just made
            job = build_job(target, env, options)
        compiled = target.compiled
        if options.get("force") or not compiled.bases_pinned:  # forced, or a base may have moved
            return job
        settings = build_settings(target.config, env, **options)
        if job.platform_tags:  # an index, in the registry alone: asked there, whichever engine builds
            index = pipeline.current_index(compiled, settings)
            return job if index is None else dataclasses.replace(job, current=(index.digest, job.index_tags),
                                                                  published=index)
        current = pipeline.up_to_date(compiled, settings) if local else None
        return dataclasses.replace(job, current=current) if current is not None else job

    return refresh
