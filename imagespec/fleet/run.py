"""Building a fleet: BuildKit builds every target, imagespec decides when each starts.

Role: run ``docker buildx bake -f RUN_FILE TARGET…`` for each target as soon as its
parents built (``schedule``), at most ``jobs`` in flight; a failure skips only what is
downstream of it and everything else still builds. One invocation per target (its run
targets: one per platform): a target's slot and its dependants are freed the moment its
own build and tags are done, not when the slowest target submitted beside it ends (bake
reports an invocation's results only when all of its targets ended), and each outcome is
the target's own (bake is fail-fast within an invocation). What is shared is not lost:
every invocation solves on the same BuildKit, which runs an identical step of concurrent
builds once and caches it for the later ones. The run file is the bake definition with
this build's Dockerfiles (compiled in memory), labels and secret files, and no tags:
each image a target built gets its SBOM layer (BuildJob.sbom: pipeline.store_sbom, the
one-spec build's; not on another engine, whose store the local scan cannot read), then
the target is tagged, all or nothing (engine.local_tags, BP14), and pushed
after that with ``push``; a failed one never is. The engine that tags and pushes is the
local one, or, for the docker driver of another engine's context, that engine
(fleet.builder: bake runs under ``--context`` there; the caller requires ``push``). A
target of several platforms is built as one run target per platform (fleet.bake_file),
in the same invocation; once all have built, each platform's image is tagged
``TAG-os-arch``, pushed, and joined into one index under the target's tags
(publish.index), as `imagespec build` of its spec does. Progress is BuildKit's own per
step (engine.build_output), each line marked with its target's name (a platform's
build: its run target's name, ``app--linux-arm64``). Each record says where its time
went (records.Timing), also logged on the ``imagespec.fleet`` logger at DEBUG.

May import: the standard library, ``imagespec.errors``, ``imagespec.engine`` and the
fleet's own modules.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from imagespec.engine.backend import BuildEvent, BuildResult, ProgressMode
from imagespec.engine.build_output import RawJsonParser
from imagespec.engine.buildkit_cli import build_failure, detect_cli, stop_process
from imagespec.contract import LABEL_OCI_VERSION, LABEL_SBOM
from imagespec.errors import BuildFailed, ImageSpecError, Interrupted
from imagespec.fleet import bake_file
from imagespec.fleet.bake import read_grants
from imagespec.fleet.builder import Builder
from imagespec.fleet.display import Display, split_target
from imagespec.fleet.records import Record, Timing
from imagespec.fleet.schedule import Schedule
from imagespec.fleet.unchanged import inputs_hash, remember, unchanged

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.publish.index import Published

#: A failed build, pointed back at its spec (pipeline.locate_failure for that target).
Locate = Callable[[BuildFailed], ImageSpecError]
#: The SBOM step of one built image (pipeline.store_sbom for that target): (the image bake
#: built, its platform or '', the layer's labels besides its own) -> (the untagged image
#: that holds the SBOM, whether it is one an earlier run made on an image built the same
#: way, kept without a scan).
StoreSbom = Callable[[str, str, Mapping[str, str]], tuple[str, bool]]

log = logging.getLogger("imagespec.fleet")


@dataclass(frozen=True)
class BuildJob:
    """What the executor needs of one target besides its bake definition: the Dockerfile
    built (compiled in memory; its line map places a failure), its ignore file, the spec
    file, the tags it gets once built, and what it changes in the bake target (labels and
    secret files of this build)."""

    name: str
    spec: str
    dockerfile: str
    dockerignore: str | None
    tags: tuple[str, ...]
    locate: Locate
    overrides: Mapping[str, Any] = field(default_factory=dict)
    #: several platforms: each one's local (and registry) tag, ``repo:1.0.0-linux-arm64``
    #: (publish.index.platform_tag); the index goes under the ``tags`` that name a registry
    platform_tags: Mapping[str, str] = field(default_factory=dict)
    index_tags: tuple[str, ...] = ()  # those of ``tags`` that name a registry: the index's
    #: (image ID, tags) when the image these tags name already records what this build
    #: would (pipeline.up_to_date: its lock's base digest, inputs, clean commit): not built
    current: tuple[str, tuple[str, ...]] | None = None
    #: several platforms: the registry's index that is ``current`` (pipeline.current_index:
    #: each platform's image records what this build would), named by its X.Y.Z
    published: Published | None = None
    #: the secret files this build reads (each granted to bake: bake_command)
    secret_files: tuple[str, ...] = ()
    #: the SBOM layer (BP16) each built image gets before it is tagged; None: none (a --target build)
    sbom: StoreSbom | None = None
    sbom_path: str | None = None  # where the image keeps it (its io.imagespec.sbom label)
    #: what the built image and its SBOM depend on that the run file does not show (the
    #: SBOM's settings, the scanners' version: pipeline.sbom_settings), for fleet.unchanged
    facts: str = ""
    #: the ids of the BuildKit cache mounts its steps use (the schedule's ``caches``)
    caches: frozenset[str] = frozenset()
    #: the FROM references of its stages that run on the build machine (cross-compiling)
    on_build_machine: frozenset[str] = frozenset()
    #: puts back the files its refresh (Refresh) wrote, should its build fail
    undo: Callable[[], None] | None = None

    @property
    def run_targets(self) -> dict[str, str]:
        """The run's targets that build this one -> the platform each builds ('' : as it is)."""
        if not self.platform_tags:
            return {self.name: ""}
        return {bake_file.platform_target(self.name, platform): platform for platform in self.platform_tags}


@dataclass(frozen=True)
class RunOptions:
    jobs: int  # jobs.DEFAULT_JOBS unless --jobs
    progress: ProgressMode = "plain"
    no_cache: bool = False
    #: push each target's tags once it built and was tagged (BP14: X.Y.Z tags never move unless ``force``)
    push: bool = False
    force: bool = False
    #: where the build inputs of each image a run made are kept (fleet.unchanged); None: nowhere
    records: Path | None = None


#: Called as a target's build starts, with each reference this run pushed so far -> its
#: digest: the job to build (the same one, or one whose lock moved onto what was pushed and
#: whose Dockerfile was compiled again: a spec built on a spec follows its new image, #15).
Refresh = Callable[[BuildJob, Mapping[str, str]], BuildJob]


def run_fleet(definition: Mapping[str, Any], chosen: Sequence[BuildJob], builder: Builder, options: RunOptions,
              *, folder: Path, stream: IO[str], refresh: Refresh | None = None,
              built: Sequence[BuildJob] = ()) -> list[Record]:
    """Build ``chosen`` (targets of ``definition``, whose paths are relative to ``folder``;
    any other target counts as built) and return one record per chosen target.
    ``refresh``: asked for each target as its build starts (see Refresh). ``built``: the
    jobs of other targets of ``definition`` (``--rerun-failed`` leaves them out): on a
    builder that keeps ``target:`` contexts, bake solves a chosen target's parents inside
    its invocation, from their entries in the run file, which must then be this run's
    (the Dockerfile compiled in memory, labels, secret files) and not the committed ones."""
    from imagespec.engine import connect

    # the engine that tags (and pushes) what built: the local one, or the builder's own when
    # it is the docker driver of another engine (fleet.builder); fail in 2 s before anything starts
    client = connect(host=builder.host)
    by_name = {t.name: t for t in chosen}
    graph = bake_file.parents(definition)
    # --no-cache starts every build's cache mounts empty: no build can fill one for another
    caches = {} if options.no_cache else {name: job.caches for name, job in by_name.items()}
    schedule = Schedule({name: graph[name] for name in sorted(by_name)}, caches=caches)
    display = Display(options.progress, stream)
    with tempfile.TemporaryDirectory(prefix="imagespec-fleet-") as scratch_name:
        scratch = Path(scratch_name)
        files = _RunFiles(definition, [*built, *chosen], builder, scratch)
        runner = _Runner(files, folder, builder, options, scratch, client, display, refresh)
        return _drive(schedule, by_name, runner, options.jobs)


class _RunFiles:
    """Each chosen target's Dockerfile (and ignore file beside it, which BuildKit reads
    first) in a folder of its own, and the run's bake definition naming them, written for
    each invocation as it starts: a target refreshed before its build (Refresh) has its
    new Dockerfile and labels by then. Callers hold the runner's lock."""

    def __init__(self, definition: Mapping[str, Any], jobs: Sequence[BuildJob], builder: Builder,
                 scratch: Path) -> None:
        self.definition, self.builder, self.scratch = definition, builder, scratch
        self.graph = bake_file.parents(definition)
        self.tags = {target.name: target.tags for target in jobs}
        self.overrides: dict[str, Mapping[str, Any]] = {}
        self.platform_tags: dict[str, Mapping[str, str]] = {}
        self.on_build_machine: dict[str, frozenset[str]] = {}
        self.secret_files: dict[str, tuple[str, ...]] = {}
        for target in jobs:
            self.put(target)

    def put(self, target: BuildJob) -> None:
        folder = self.scratch / _folder_name(target.name)
        folder.mkdir(exist_ok=True)
        (folder / "Dockerfile").write_text(target.dockerfile, encoding="utf-8")
        if target.dockerignore is not None:
            (folder / "Dockerfile.dockerignore").write_text(target.dockerignore, encoding="utf-8")
        self.overrides[target.name] = {**target.overrides, "dockerfile": str(folder / "Dockerfile")}
        self.platform_tags[target.name] = target.platform_tags
        self.on_build_machine[target.name] = target.on_build_machine
        self.secret_files[target.name] = target.secret_files

    def reads(self, name: str) -> list[str]:
        return secret_reads(name, self.graph, self.secret_files, local_store=self.builder.local_store)

    def run(self, pushed: Mapping[str, str]) -> dict[str, Any]:
        return bake_file.for_run(self.definition, self.overrides, self.tags, local_store=self.builder.local_store,
                                 platform_tags=self.platform_tags, on_build_machine=self.on_build_machine,
                                 pushed=pushed)

    def write(self, number: int, pushed: Mapping[str, str]) -> Path:
        """The run file of invocation ``number``; ``pushed``: what the run pushed so far."""
        path = self.scratch / f"docker-bake.run-{number}.json"
        path.write_text(json.dumps(self.run(pushed), indent=1, sort_keys=True), encoding="utf-8")
        return path


def _folder_name(target: str) -> str:
    """The scratch folder of a target's Dockerfile: its name, unless the file system would
    refuse it (a name is a spec's whole path, and a file name at most 255 bytes): then its
    start and a hash of it, unique as the name is."""
    if len(target) <= _FOLDER_MAX:
        return target
    return f"{target[:_FOLDER_MAX - 17]}-{hashlib.sha256(target.encode()).hexdigest()[:16]}"


_FOLDER_MAX = 100


@dataclass(frozen=True)
class Baked:
    """A target whose bake build succeeded and whose SBOM, tags and push (``finish``, which
    returns its record) are still to come. Its --jobs slot is free from now on: the slot
    bounds BuildKit's work, and the SBOM step is imagespec's own. Its dependants still
    wait for ``finish``: they build FROM its tagged, SBOM-layered image (BP14, BP16)."""

    finish: Callable[[], Record]


class Executor(Protocol):
    """What ``_drive`` needs of the builds: one target's build (its record, or the Baked
    step that makes it outside the slot), its display, and stopping every build on Ctrl-C."""

    display: Display
    began: float  # time.monotonic() at the run's start: what every record's seconds count from

    def build(self, job: BuildJob) -> Record | Baked: ...

    def stop_all(self) -> None: ...


def _drive(schedule: Schedule, by_name: Mapping[str, BuildJob], runner: Executor, jobs: int) -> list[Record]:
    """Submit each target once its parents built, at most ``jobs`` bake builds at once, and
    take each result as soon as it is in (a dependant starts while slower, unrelated
    targets still build). A Baked target frees its slot at once and finishes (SBOM, tags)
    on a pool of its own; only then do its dependants become ready. On Ctrl-C stop every
    build."""
    records: dict[str, Record] = {}
    running: dict[Future[Record | Baked], str] = {}  # bake builds, each in a slot
    finishing: dict[Future[Record | Baked], str] = {}  # SBOM and tags of the Baked ones (a Record)
    began = runner.began
    ready_at: dict[str, float] = {}  # when each target's parents were all done
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="imagespec-fleet") as pool, \
            ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="imagespec-fleet-after") as after:
        try:
            while not schedule.done:
                now = time.monotonic() - began
                for name in schedule.eligible():
                    ready_at.setdefault(name, now)
                for name in schedule.ready(jobs - schedule.running):
                    log.debug("%.3f %s: start (ready at %.3f)", now, name, ready_at[name])
                    running[pool.submit(runner.build, by_name[name])] = name
                finished, _ = wait([*running, *finishing], timeout=1.0, return_when=FIRST_COMPLETED)
                for future in finished:
                    name, outcome = (running.pop(future) if future in running else finishing.pop(future),
                                     future.result())
                    if isinstance(outcome, Baked):
                        log.debug("%.3f %s: baked, slot free", time.monotonic() - began, name)
                        schedule.release(name)
                        finishing[after.submit(outcome.finish)] = name
                        continue
                    _settle(schedule, records, by_name, runner,
                            dataclasses.replace(outcome, ready_s=ready_at[name]), began)
        except BaseException:
            runner.stop_all()
            for future in (*running, *finishing):
                future.cancel()
            raise
    return [records[name] for name in sorted(records)]


def _settle(schedule: Schedule, records: dict[str, Record], by_name: Mapping[str, BuildJob], runner: Executor,
            record: Record, began: float) -> None:
    """A target's end: its record, and the targets its failure skips."""
    name = record.target
    records[name] = record
    log.debug("%.3f %s: %s", time.monotonic() - began, name, record.result)
    for skipped in schedule.finished(name, record.result == "built"):
        records[skipped] = Record(skipped, by_name[skipped].spec, "skipped", upstream=schedule.skipped[skipped])
        runner.display.note(skipped, f"skipped: upstream {schedule.skipped[skipped]} failed")


def secret_reads(name: str, graph: Mapping[str, frozenset[str]], secret_files: Mapping[str, Sequence[str]], *,
                 local_store: bool) -> list[str]:
    """The secret files bake reads in target ``name``'s invocation: its own and, where the
    ``target:`` contexts stay (not ``local_store``: fleet.bake_file), those of every target
    it builds on, directly or not, which bake solves in the same invocation."""
    found, todo, seen = list(secret_files.get(name, ())), [name], {name}
    while todo and not local_store:
        for parent in sorted(graph.get(todo.pop(), frozenset()) - seen):
            seen.add(parent)
            todo.append(parent)
            found += secret_files.get(parent, ())
    return found


def bake_command(docker: str, builder: Builder, run_file: Path, metadata: Path, targets: Sequence[str], *,
                 reads: Sequence[str] = (), no_cache: bool = False) -> list[str]:
    """The bake invocation of one target's run targets. Each secret file is granted with
    ``--allow fs.read=PATH``: buildx asks for that entitlement for any file outside the bake
    file's folder (it is a temporary folder here), and enforces it on some progress modes
    only, so imagespec grants it rather than relying on the mode (docs/fleet.md)."""
    # buildx refuses --builder for another context's docker driver: run bake in that context
    context = builder.context
    where, chosen = (["--context", context], []) if context else ([], ["--builder", builder.name])
    grants = read_grants(reads)
    argv = [docker, *where, "buildx", "bake", "-f", str(run_file), *chosen,
            "--progress", "rawjson", "--metadata-file", str(metadata), "--load", "--allow", "network.host", *grants]
    if no_cache:
        argv.append("--no-cache")
    return [*argv, *targets]


class _Runner:
    """One target's build: its bake process (all of its run targets), its progress, its
    tags (and push, or its platforms' index)."""

    def __init__(self, files: _RunFiles, folder: Path, builder: Builder, options: RunOptions,
                 scratch: Path, client: Any, display: Display, refresh: Refresh | None = None) -> None:
        self.files, self.folder, self.builder, self.options, self.scratch = files, folder, builder, options, scratch
        self.client, self.display, self.refresh = client, display, refresh
        self.records = options.records
        self.pushed: dict[str, str] = {}  # each reference this run pushed -> its digest
        self.docker = detect_cli().docker
        self.began = time.monotonic()
        self._procs: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._invocations = 0  # each invocation's run file and metadata file are its own

    def command(self, job: BuildJob, metadata: Path, run_file: Path) -> list[str]:
        with self._lock:
            reads = self.files.reads(job.name)
        return bake_command(self.docker, self.builder, run_file, metadata, list(job.run_targets),
                            reads=reads, no_cache=self.options.no_cache)

    def build(self, job: BuildJob) -> Record | Baked:
        began = time.monotonic()
        fresh, refused = self._refreshed([job])
        if refused:
            return self._stamped(refused[0], began)
        job = fresh[0]
        outcome = self._outcome(job, began)
        if isinstance(outcome, Baked):
            return Baked(lambda: self._settled(job, outcome.finish()))
        return self._settled(job, outcome)

    def _settled(self, job: BuildJob, record: Record) -> Record:
        """A failed target's refresh undone (BuildJob.undo): the lock and Dockerfile it
        moved onto a parent's new image are put back, as nothing was built on it."""
        if record.result == "failed" and job.undo is not None:
            job.undo()
            self.display.note(job.name, "its lock and Dockerfile are as they were: nothing was built on the new pins")
        return record

    def _outcome(self, job: BuildJob, began: float) -> Record | Baked:
        """``job``'s build (it is its refreshed self): kept, up to date, or baked."""
        if job.current is not None:
            return self._stamped(self._current(job), began)
        inputs = self._inputs(job)
        kept = unchanged(self.client, job.tags[0], inputs, job.sbom_path or "", self.records) if inputs else None
        if kept is not None:
            return self._stamped(self._unchanged(job, kept), began)
        names = list(job.run_targets)
        with self._lock:
            self._invocations += 1
            metadata = self.scratch / f"metadata-{self._invocations}.json"
            run_file = self.files.write(self._invocations, self.pushed)
        parser = _Parser(since=datetime.now(UTC))
        route = self.display.events(names[0]) if len(names) == 1 else self.display.demux(names)
        parser.returncode = self._run(self.command(job, metadata, run_file), parser, route)
        baked = time.monotonic()
        ids = _image_ids(metadata, names) if parser.returncode == 0 else {}
        if _built(job, ids):
            steps, solve_s = _steps_of(parser, job, [job]), parser.busy_seconds()
            return Baked(lambda: self._finish(job, ids, steps, (began, baked), solve_s, inputs))
        failure = build_failure(parser, parser.returncode, job.dockerfile)
        error = job.locate(failure) if isinstance(failure, BuildFailed) else failure
        if not isinstance(error, ImageSpecError):
            error = ImageSpecError(str(error))
        self.display.failed(job.name, error)
        record = Record(job.name, job.spec, "failed", baked - began, failure=error)
        return self._timed(record, began, baked, parser.busy_seconds(), None)

    def _finish(self, job: BuildJob, ids: Mapping[str, str], steps: list[BuildEvent], times: tuple[float, float],
                solve_s: float | None, inputs: str | None) -> Record:
        """After a target's bake build, outside its slot: the SBOM of each image (its layer
        records ``inputs``, the hash of what bake read), then the tags (and push), all or
        nothing."""
        began, baked = times
        layered, unmade, sbom_s, reused = self._sboms(job, ids, {})
        record = unmade or dataclasses.replace(self._tag(job, layered, steps, began), sbom_reused=reused)
        if inputs and record.result == "built" and len(layered) == 1:  # what the next run's `unchanged` reads
            remember(self.records, next(iter(layered.values())), inputs)
        return self._timed(record, began, baked, solve_s, sbom_s)

    def _timed(self, record: Record, began: float, baked: float, solve_s: float | None,
               sbom_s: float | None) -> Record:
        ended = time.monotonic()
        timing = Timing(bake_s=baked - began, solve_s=solve_s, post_s=ended - baked, sbom_s=sbom_s)
        log.debug("%s: bake %.2f s (BuildKit busy %s s), after it %.2f s", record.target, timing.bake_s,
                  "?" if timing.solve_s is None else f"{timing.solve_s:.2f}", timing.post_s)
        return dataclasses.replace(record, started_s=began - self.began, ended_s=ended - self.began, timing=timing)

    def _sboms(self, job: BuildJob, ids: Mapping[str, str],
               labels: Mapping[str, str]) -> tuple[dict[str, str], Record | None, float | None, bool]:
        """Each built image of ``job`` (one per platform) with its SBOM layer, as `imagespec
        build` of its spec stores it (pipeline.store_sbom): (run target -> the image to tag,
        a failed record when one could not be made, the seconds it took, whether every
        image's was reused from an earlier run on the same bake output). The scan reads
        the image through the local engine: on another engine's builder (its images stay
        in that engine's store) there is none, and the display says so."""
        if job.sbom is None:
            return dict(ids), None, None, False
        if self.builder.other_engine:
            self.display.note(job.name, f"no SBOM: the image is on {self.builder.name!r} ({self.builder.host}), "
                                        "which imagespec's SBOM scan does not read (docs/fleet.md)")
            return dict(ids), None, None, False
        began = time.monotonic()
        layered, reused = {}, []
        try:
            for name, platform in job.run_targets.items():
                layered[name], kept = job.sbom(ids[name], platform, labels)
                reused.append(kept)
                self.display.note(name, "SBOM: reused, the tagged image holds this build's (BP16)" if kept
                                  else "SBOM: read from the image's file system (BP16)")
        except ImageSpecError as error:  # no tag moves: the image without its SBOM is not the target's
            self.display.failed(job.name, error)
            failed = Record(job.name, job.spec, "failed", time.monotonic() - began, failure=error)
            _drop_untagged(ids.values())
            return dict(ids), failed, None, False
        _drop_untagged(image for name, image in ids.items() if layered[name] != image)
        return layered, None, time.monotonic() - began, all(reused)

    def _own_sbom(self, job: BuildJob, attrs: Mapping[str, Any]) -> str | None:
        """The path of the SBOM this run stored in the image; None when it stored none (the
        label an image inherits from its base names the base's)."""
        return _sbom_label(attrs) if job.sbom is not None and not self.builder.other_engine else None

    def _refreshed(self, batch: Sequence[BuildJob]) -> tuple[list[BuildJob], list[Record]]:
        """Each job as ``refresh`` makes it, given what this run pushed so far (its parents
        all finished before it started); one it cannot make fails (bad input at its lock)."""
        if self.refresh is None:
            return list(batch), []
        jobs, refused = [], []
        for job in batch:
            with self._lock:
                pushed = dict(self.pushed)
            try:
                fresh = self.refresh(job, pushed)
            except ImageSpecError as error:
                self.display.failed(job.name, error)
                refused.append(Record(job.name, job.spec, "failed", 0.0, failure=error))
                continue
            if fresh is not job:
                with self._lock:
                    self.files.put(fresh)
            jobs.append(fresh)
        return jobs, refused

    def _stamped(self, record: Record, began: float) -> Record:
        return dataclasses.replace(record, started_s=began - self.began, ended_s=time.monotonic() - self.began)

    def _inputs(self, job: BuildJob) -> str | None:
        """The hash of what this target's bake build would read (fleet.unchanged), or None
        where it is not worked out: no SBOM layer to record it (a --target build), several
        platforms, a builder whose images are not the local engine's, --no-cache."""
        if job.sbom is None or job.platform_tags or not job.tags or self.options.no_cache \
                or not self.builder.local_store or self.builder.other_engine:
            return None
        with self._lock:
            entry = self.files.run(self.pushed)["target"][job.name]
        return inputs_hash(entry, job.dockerfile, job.dockerignore, job.facts, folder=self.folder,
                           builder=self.builder.name, client=self.client)

    def _unchanged(self, job: BuildJob, kept: tuple[str, str | None]) -> Record:
        """The image the target's tag names was built from exactly these inputs and holds
        its SBOM: bake is left out (it would solve every step from its cache and return an
        image built the same way), the tags stay on that image (all of them: one moved
        since is put back), and with --push it is pushed (which moves nothing)."""
        from imagespec.engine.local_tags import apply_tags, current_ids

        image_id, sbom = kept
        self.display.note(job.name, "up to date: the tagged image was built from these very inputs and holds "
                                    "its SBOM (no bake)")
        try:
            before = current_ids(self.client, job.tags) if self.options.push else {}
            tags = apply_tags(self.client, image_id, job.tags)
            size = int(self.client.images.get(image_id).attrs.get("Size") or 0)
        except ImageSpecError as error:
            self.display.failed(job.name, error)
            return Record(job.name, job.spec, "failed", 0.0, image_id=image_id, failure=error)
        record = Record(job.name, job.spec, "built", 0.0, size, image_id, tags, up_to_date=True, sbom=sbom,
                        sbom_reused=True)
        return self._push(record, before) if self.options.push else record

    def _current(self, job: BuildJob) -> Record:
        """An image already up to date is not built again (no rebuild loop, #15): its tags
        stand, and are pushed (which moves nothing) with --push."""
        assert job.current is not None
        if job.published is not None:
            return self._current_index(job, job.published)
        image_id, tags = job.current
        self.display.note(job.name, "up to date: the image records this lock, these inputs and this commit")
        try:  # the SBOM it carries (pipeline.up_to_date requires its own): kept, not made again
            sbom = _sbom_label(self.client.images.get(image_id).attrs)
        except Exception:  # removed since it was found current: the record only lacks the path
            sbom = None
        record = Record(job.name, job.spec, "built", 0.0, image_id=image_id, tags=tags, up_to_date=True, sbom=sbom)
        return self._push(record, {}) if self.options.push else record

    def _current_index(self, job: BuildJob, index: Published) -> Record:
        """Several platforms, whose index in the registry is up to date: nothing is built or
        pushed; each platform's image is pulled and tagged ``TAG-os-arch`` here (as a build
        leaves it), and the target's other tags name that index (a moving tag never back to
        an older version, BP14), which the specs built on it follow."""
        from imagespec.publish.index import name_index, pull_platforms

        note = lambda line: self.display.note(job.name, line)  # noqa: E731
        note("up to date: the registry's index records this lock, these inputs and this commit for each platform")
        try:
            images = pull_platforms(self.client, index, job.platform_tags)
            attrs = [self.client.images.get(image.image_id).attrs for image in images]
            named = name_index(job.index_tags, index, version=index.label(LABEL_OCI_VERSION), on_status=note)
        except ImageSpecError as error:
            self.display.failed(job.name, error)
            return Record(job.name, job.spec, "failed", 0.0, failure=error, platforms=tuple(job.platform_tags))
        with self._lock:
            self.pushed.update(dict.fromkeys(named.references, named.digest))
        return Record(job.name, job.spec, "built", 0.0, sum(int(a.get("Size") or 0) for a in attrs), named.digest,
                      named.references, up_to_date=True, pushed=tuple(sorted(named.references)),
                      platforms=tuple(job.platform_tags), sbom=_sbom_label(attrs[0]))

    def _tag(self, job: BuildJob, ids: Mapping[str, str], steps: list[BuildEvent], began: float) -> Record:
        from imagespec.engine.local_tags import apply_tags, current_ids

        if job.platform_tags:
            return self._index(job, ids, steps, began)
        image_id = ids[job.name]
        duration = time.monotonic() - began
        try:
            before = current_ids(self.client, job.tags) if self.options.push else {}
            applied = apply_tags(self.client, image_id, job.tags)
            attrs = self.client.images.get(image_id).attrs
            size = int(attrs.get("Size") or 0)
        except ImageSpecError as error:  # all or nothing: apply_tags put back what it moved
            self.display.failed(job.name, error)
            return Record(job.name, job.spec, "failed", duration, image_id=image_id, failure=error)
        self.display.built(job.name, BuildResult(image_id, applied, duration, steps))
        built = Record(job.name, job.spec, "built", duration, size, image_id, applied,
                       cached_steps=sum(s.cached for s in steps), steps=len(steps), sbom=self._own_sbom(job, attrs))
        return self._push(built, before) if self.options.push else built

    def _index(self, job: BuildJob, ids: Mapping[str, str], steps: list[BuildEvent], began: float) -> Record:
        """Several platforms: each one's image tagged ``TAG-os-arch``, pushed (only once
        every platform built; an X.Y.Z index tag that names other images is not moved,
        BP14), then the index under the target's registry tags. Until the push, a failure
        puts each ``TAG-os-arch`` back on what it named before (as `imagespec build` of
        its spec does): the refused images are not left under them here."""
        from imagespec.engine.local_tags import apply_tags, put_back_on_error
        from imagespec.publish import push_tags
        from imagespec.publish.index import PlatformImage, create_index, refuse_moving
        from imagespec.publish.push import image_version

        by_platform = {platform: ids[name] for name, platform in job.run_targets.items()}
        references = job.index_tags
        note = lambda line: self.display.note(job.name, line)  # noqa: E731
        try:
            with put_back_on_error(self.client, list(job.platform_tags.values())):
                for platform, tag in job.platform_tags.items():
                    apply_tags(self.client, by_platform[platform], (tag,))
                attrs = [self.client.images.get(i).attrs for i in by_platform.values()]
                size = sum(int(a.get("Size") or 0) for a in attrs)
                if not self.options.force:
                    refuse_moving(references, list(by_platform.values()))
                digests = push_tags(list(job.platform_tags.values()), force=self.options.force,
                                    client=self.client, on_status=note)
            members = [PlatformImage(platform, by_platform[platform], tag, digest=digests[tag])
                       for platform, tag in job.platform_tags.items()]
            # --force rolls a release back: its moving tags too, as push_tags does
            version = None if self.options.force else image_version(attrs[0])
            index = create_index(references, members, version=version, on_status=note)
        except ImageSpecError as error:
            self.display.failed(job.name, error)
            return Record(job.name, job.spec, "failed", time.monotonic() - began, failure=error,
                          platforms=tuple(job.platform_tags))
        duration = time.monotonic() - began
        with self._lock:  # what the specs on this one follow (Refresh): the index's digest
            self.pushed.update(dict.fromkeys(index.references, index.digest))
        self.display.built(job.name, BuildResult(index.digest, index.references, duration, steps))
        return Record(job.name, job.spec, "built", duration, size, index.digest, index.references,
                      cached_steps=sum(s.cached for s in steps), steps=len(steps),
                      pushed=tuple(sorted((*index.references, *job.platform_tags.values()))),
                      platforms=tuple(job.platform_tags), sbom=self._own_sbom(job, attrs[0]))

    def _push(self, built: Record, before: Mapping[str, str | None]) -> Record:
        """Push a built target's tags; one that cannot be pushed (a moved X.Y.Z, the
        registry) fails the target, and what is built on it is skipped. ``before``: what
        its tags named before this run moved them, put back on failure: the refused image
        is not left under them here (a rerun would find it "up to date")."""
        from imagespec.engine.local_tags import restore_tags
        from imagespec.publish import push_tags

        try:
            pushed = push_tags(built.tags, force=self.options.force, client=self.client,
                               on_status=lambda line: self.display.note(built.target, line))
        except ImageSpecError as error:
            restore_tags(self.client, dict(before))
            self.display.failed(built.target, error)
            return dataclasses.replace(built, result="failed", failure=error, tags=() if before else built.tags)
        with self._lock:
            self.pushed.update(pushed)
        return dataclasses.replace(built, pushed=tuple(sorted(pushed)))

    def _run(self, argv: list[str], parser: _Parser, on_event: Callable[[BuildEvent], None]) -> int:
        with self._lock:
            if self._stopping:
                raise Interrupted("interrupted before this target started")
            # own session: the terminal's Ctrl-C reaches imagespec, which stops each build in order
            proc = subprocess.Popen(argv, cwd=self.folder, env=_BAKE_ENV, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1,
                                    start_new_session=True)
            self._procs.add(proc)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                for event in parser.feed(line):
                    on_event(event)
            for event in parser.finish():
                on_event(event)
            return proc.wait()
        finally:
            with self._lock:
                self._procs.discard(proc)

    def stop_all(self) -> None:
        with self._lock:
            self._stopping = True
            procs = list(self._procs)
        for proc in procs:
            stop_process(proc)


#: The metadata file only needs each image's ID: resolving provenance for it is a step per target.
_BAKE_ENV = {**os.environ, "BUILDX_METADATA_PROVENANCE": "disabled"}


class _Parser(RawJsonParser):
    returncode = 0


def _sbom_label(attrs: Mapping[str, Any]) -> str | None:
    """Where an image's SBOM is (its ``io.imagespec.sbom`` label), or None."""
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return labels.get(LABEL_SBOM) or None


def _built(job: BuildJob, ids: Mapping[str, str]) -> bool:
    """Whether every run target of ``job`` built (a platform missing: the target did not)."""
    return all(name in ids for name in job.run_targets)


def _steps_of(parser: _Parser, job: BuildJob, batch: Sequence[BuildJob]) -> list[BuildEvent]:
    """The steps of one target of an invocation (bake names them ``[target …] …``; a
    platform's own run target keeps its platform in the step's name)."""
    names = [name for other in batch for name in other.run_targets]
    steps = parser.result_steps()
    if len(names) == 1:
        return steps
    own = job.run_targets
    return [dataclasses.replace(step, name=f"{own[owner]} {name}".lstrip()) for step in steps
            for owner, name in [split_target(step.name, names)] if owner in own]


def _drop_untagged(images: Iterable[str]) -> None:
    """Bake's outputs once their SBOM layer is made (or could not be): bake loads each one
    untagged, and the image that gets the tags is the one on top of it. The SBOM step
    removes the output it layered on, but one whose layer was reused from an earlier run
    (a no-op rebuild) stayed behind, a dangling image per target and run."""
    from imagespec.engine.client import remove_image

    for image in images:
        remove_image(image, only_untagged=True)


def _image_ids(metadata: Path, targets: Sequence[str]) -> dict[str, str]:
    """Each built image's ID from bake's metadata file: ``containerimage.config.digest``
    (the classic store's ID), else ``containerimage.digest`` (the containerd image store
    names an image by its manifest or index digest and writes no config digest)."""
    try:
        data = json.loads(metadata.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = {}
    for target in targets:
        entry = data.get(target) if isinstance(data, dict) else None
        entry = entry if isinstance(entry, dict) else {}
        image_id = entry.get("containerimage.config.digest") or entry.get("containerimage.digest")
        if isinstance(image_id, str) and image_id.startswith("sha256:"):
            found[target] = image_id
    return found
