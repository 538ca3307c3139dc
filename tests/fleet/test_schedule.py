"""The fleet's schedule and run file, without an engine: which target may start, what a
failure skips, and what the run hands bake."""

from __future__ import annotations

import io
import time

import pytest

from imagespec.errors import SpecError
from imagespec.fleet import bake_file
from imagespec.fleet.records import Record
from imagespec.fleet.run import Baked, BuildJob
from imagespec.fleet.schedule import Schedule

# base <- a <- a1, a2 ; base <- b ; c (alone)
GRAPH = {"base": frozenset(), "a": frozenset({"base"}), "a1": frozenset({"a"}), "a2": frozenset({"a"}),
         "b": frozenset({"base"}), "c": frozenset()}


def test_a_target_waits_for_all_its_parents_and_at_most_limit_run() -> None:
    schedule = Schedule(GRAPH)
    assert schedule.ready(1) == ["base"]
    assert schedule.ready(5) == ["c"]  # a and b wait for base
    assert schedule.running == 2
    assert schedule.finished("base", True) == []
    assert schedule.ready(1) == ["a"]
    assert schedule.ready(5) == ["b"]


def test_a_failure_skips_exactly_what_is_downstream_and_names_it() -> None:
    schedule = Schedule(GRAPH)
    schedule.ready(10)
    schedule.finished("base", True)
    schedule.finished("c", True)
    assert schedule.ready(10) == ["a", "b"]
    assert schedule.finished("a", False) == ["a1", "a2"]
    assert schedule.skipped == {"a1": "a", "a2": "a"}
    schedule.finished("b", True)
    assert schedule.ready(10) == [] and schedule.done
    assert schedule.built == {"base", "b", "c"} and schedule.failed == {"a"}


def test_a_parent_outside_the_run_counts_as_built() -> None:
    """--rerun-failed: what built last time is not rebuilt and does not hold its children."""
    schedule = Schedule({name: GRAPH[name] for name in ("a1", "a2")})
    assert schedule.ready(10) == ["a1", "a2"]


def test_a_cycle_is_bad_input_naming_the_chain() -> None:
    with pytest.raises(SpecError, match=r"cycle: a -> b -> c -> a"):
        Schedule({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset()})


GO = frozenset({"/root/.cache/go-build", "/root/go/pkg/mod"})


def test_a_target_sharing_a_cache_mount_with_a_running_one_goes_after_those_that_share_none() -> None:
    """BP4, BP12: two Go builds started together on an empty cache both compile the standard
    library; one after the other, the second finds it in the mount."""
    schedule = Schedule({name: frozenset() for name in ("go-a", "go-b", "go-c", "node", "z-c")},
                        caches={"go-a": GO, "go-b": GO, "go-c": frozenset({"/root/.cache/go-build"}),
                                "node": frozenset({"/root/.npm"})})
    assert schedule.ready(2) == ["go-a", "node"]  # go-b would share go-a's mounts: name order yields
    assert schedule.ready(1) == ["z-c"]
    schedule.release("go-a")  # its BuildKit build is over: the mount is free
    assert schedule.ready(1) == ["go-b"]
    schedule.release("node")
    schedule.release("z-c")
    assert schedule.ready(1) == ["go-c"]  # go-b's mount is filled now: nothing else is ready, so it starts


def test_a_mounts_first_user_is_waited_for_even_with_a_slot_free() -> None:
    """While the first build of the run that uses a cache mount is in BuildKit the mount may
    be empty: a sharer started beside it would compile everything again (the --cold empty
    benchmark: go-hello and preset-go took 5-6 s beside the Go app instead of 2 s after it).
    The sharer waits, even for an idle slot; once a user has left BuildKit the mount is
    filled and sharers run side by side."""
    schedule = Schedule({name: frozenset() for name in ("go-a", "go-b", "go-c")},
                        caches={"go-a": GO, "go-b": GO, "go-c": GO})
    assert schedule.ready(2) == ["go-a"]  # go-b and go-c wait: go-a fills the mounts
    assert schedule.ready(1) == [] and schedule.running == 1 and not schedule.done
    schedule.release("go-a")
    assert schedule.ready(2) == ["go-b", "go-c"]  # filled: side by side


def test_a_first_user_that_fails_releases_the_sharers() -> None:
    schedule = Schedule({name: frozenset() for name in ("go-a", "go-b")}, caches={"go-a": GO, "go-b": GO})
    assert schedule.ready(2) == ["go-a"]
    assert schedule.finished("go-a", False) == []  # failed in BuildKit, no release: nothing of go-b's waits on it
    assert schedule.ready(2) == ["go-b"]


def test_without_cache_mounts_the_order_is_unchanged() -> None:
    plain, mounted = Schedule(GRAPH), Schedule(GRAPH, caches={name: frozenset() for name in GRAPH})
    assert plain.ready(3) == mounted.ready(3) == ["base", "c"]


DEFINITION = {"group": {"default": {"targets": ["base", "app"]}}, "target": {
    "base": {"context": "base", "dockerfile": "Dockerfile", "tags": ["co/base:1", "co/base:latest"],
             "output": ["type=registry"]},
    "app": {"context": "app", "dockerfile": "Dockerfile", "tags": ["co/app:1"],
            "contexts": {"co/base:1": "target:base", "co/base:edge": "target:base", "src": "../shared"}},
}}


def test_the_graph_comes_from_target_contexts() -> None:
    assert bake_file.parents(DEFINITION) == {"base": frozenset(), "app": frozenset({"base"})}
    with pytest.raises(SpecError, match="'app' builds on target 'nope'"):
        bake_file.parents({"target": {"app": {"contexts": {"x": "target:nope"}}}})


def test_the_run_file_builds_in_memory_dockerfiles_untagged_from_the_parents_images() -> None:
    tags = {"base": ("co/base:1", "co/base:latest"), "app": ("co/app:1",)}
    overrides = {"base": {"dockerfile": "/s/base/Dockerfile", "labels": {"org.opencontainers.image.revision": "abc"}},
                 "app": {"dockerfile": "/s/app/Dockerfile", "secret": []}}
    run = bake_file.for_run({**DEFINITION, "variable": {"X": {"default": ""}}}, overrides, tags, local_store=True)
    assert set(run) == {"target"}  # variables spent, groups unused: targets are named one by one
    base, app = run["target"]["base"], run["target"]["app"]
    assert "tags" not in base and "output" not in base and base["dockerfile"] == "/s/base/Dockerfile"
    assert base["labels"] == {"org.opencontainers.image.revision": "abc"} and "secret" not in app
    # a FROM that names one of the parent's tags finds it in the engine's store; another name is pointed at it
    assert app["contexts"] == {"co/base:edge": "docker-image://co/base:1", "src": "../shared"}
    kept = bake_file.for_run(DEFINITION, {}, tags, local_store=False)["target"]["app"]
    assert kept["contexts"]["co/base:1"] == "target:base" and kept["dockerfile"] == "Dockerfile"
    assert DEFINITION["target"]["base"]["tags"] == ["co/base:1", "co/base:latest"]  # the input is not changed


def test_a_target_of_several_platforms_is_one_run_target_per_platform() -> None:
    two = ["linux/amd64", "linux/arm64"]
    definition = {"target": {
        "base": {"context": "base", "dockerfile": "Dockerfile", "platforms": two, "tags": ["r.io/co/base:1"]},
        "app": {"context": "app", "dockerfile": "Dockerfile", "platforms": two,
                "contexts": {"r.io/co/base:1": "target:base"}},
        "one": {"context": "one", "dockerfile": "Dockerfile", "platforms": ["linux/arm64"],
                "contexts": {"r.io/co/base:1": "target:base"}},
        "any": {"context": "any", "dockerfile": "Dockerfile", "contexts": {"r.io/co/base:1": "target:base"}}}}
    tags = {"base": ("r.io/co/base:1",), "app": ("r.io/co/app:1",), "one": ("r.io/co/one:1",),
            "any": ("r.io/co/any:1",)}
    platform_tags = {"base": {p: f"r.io/co/base:1-{p.replace('/', '-')}" for p in two},
                     "app": {p: f"r.io/co/app:1-{p.replace('/', '-')}" for p in two}}
    run = bake_file.for_run(definition, {}, tags, local_store=True, platform_tags=platform_tags)["target"]
    assert sorted(run) == ["any", "app--linux-amd64", "app--linux-arm64", "base--linux-amd64", "base--linux-arm64",
                           "one"]
    assert run["base--linux-arm64"]["platforms"] == ["linux/arm64"] and "contexts" not in run["base--linux-arm64"]
    # each platform of a child FROM its parent's image of that platform, as built and tagged in the store
    assert run["app--linux-arm64"]["contexts"] == {"r.io/co/base:1": "docker-image://r.io/co/base:1-linux-arm64"}
    assert run["one"]["contexts"] == {"r.io/co/base:1": "docker-image://r.io/co/base:1-linux-arm64"}
    # a build of no known platform: the index the parent pushed (the engine picks its
    # platform), by its digest once the run pushed it
    assert run["any"]["contexts"] == {"r.io/co/base:1": "docker-image://r.io/co/base:1"}
    digest = "sha256:" + "cd" * 32
    pinned = bake_file.for_run(definition, {}, tags, local_store=True, platform_tags=platform_tags,
                               pushed={"r.io/co/base:1": digest})["target"]
    assert pinned["any"]["contexts"] == {"r.io/co/base:1": f"docker-image://r.io/co/base:1@{digest}"}
    # another builder: the parent's run target of that platform, from the builder's cache
    remote = bake_file.for_run(definition, {}, tags, local_store=False, platform_tags=platform_tags)["target"]
    assert remote["app--linux-amd64"]["contexts"] == {"r.io/co/base:1": "target:base--linux-amd64"}
    assert bake_file.platform_target("web", "linux/arm/v7") == "web--linux-arm-v7"


def test_a_stage_cross_compiling_on_a_parent_of_several_platforms_gets_its_index() -> None:
    """Named contexts are one image per reference for every stage of a build: the arm64
    build's platform image would reach the stage that runs on the build machine too (it ran
    `uname -m` as aarch64, under QEMU). Such a build takes the index the parent pushed
    (BuildKit picks each stage's platform), on every builder; the child's other builds keep
    the parent's platform image."""
    two = ["linux/amd64", "linux/arm64"]
    definition = {"target": {
        "base": {"context": "base", "dockerfile": "Dockerfile", "platforms": two, "tags": ["r.io/co/base:1"]},
        "tool": {"context": "tool", "dockerfile": "Dockerfile", "platforms": two, "tags": ["r.io/co/tool:1"]},
        "app": {"context": "app", "dockerfile": "Dockerfile", "platforms": two,
                "contexts": {"r.io/co/base:1": "target:base", "r.io/co/tool:1": "target:tool"}}}}
    tags = {"base": ("r.io/co/base:1",), "tool": ("r.io/co/tool:1",), "app": ("r.io/co/app:1",)}
    platform_tags = {name: {p: f"r.io/co/{name}:1-{p.replace('/', '-')}" for p in two} for name in tags}
    cross = {"app": frozenset({"r.io/co/tool:1"})}  # its build stage cross-compiles on tool's image
    for local_store in (True, False):
        run = bake_file.for_run(definition, {}, tags, local_store=local_store, platform_tags=platform_tags,
                                on_build_machine=cross)["target"]
        for platform in two:
            contexts = run[bake_file.platform_target("app", platform)]["contexts"]
            assert contexts["r.io/co/tool:1"] == "docker-image://r.io/co/tool:1", (local_store, contexts)
            suffix = platform.replace("/", "-")
            assert contexts["r.io/co/base:1"] == (f"docker-image://r.io/co/base:1-{suffix}" if local_store
                                                  else f"target:base--{suffix}"), contexts
    # once the run pushed the parent's index, by its digest: no older image under the tag stands in
    digest = "sha256:" + "ab" * 32
    pinned = bake_file.for_run(definition, {}, tags, local_store=True, platform_tags=platform_tags,
                               on_build_machine=cross, pushed={"r.io/co/tool:1": digest})["target"]
    assert pinned["app--linux-arm64"]["contexts"]["r.io/co/tool:1"] == f"docker-image://r.io/co/tool:1@{digest}"
    assert pinned["app--linux-arm64"]["contexts"]["r.io/co/base:1"] == "docker-image://r.io/co/base:1-linux-arm64"
    # without the references, each build takes the parent's platform image (the bug's mapping)
    unmarked = bake_file.for_run(definition, {}, tags, local_store=True, platform_tags=platform_tags)["target"]
    assert unmarked["app--linux-arm64"]["contexts"]["r.io/co/tool:1"] == "docker-image://r.io/co/tool:1-linux-arm64"


def test_steps_of_a_several_target_invocation_are_told_apart() -> None:
    from imagespec.fleet.display import split_target

    targets = ["web", "web-a"]
    assert split_target("[web-a 2/3] RUN make", targets) == ("web-a", "[2/3] RUN make")
    assert split_target("[web internal] load .dockerignore", targets) == ("web", "[internal] load .dockerignore")
    assert split_target("[web] exporting to image", targets) == ("web", "exporting to image")
    # bake's own steps, and a one-image name that only looks like a target's, stay as they are
    assert split_target("[internal] load local bake definitions", targets) == (None,
                                                                                "[internal] load local bake definitions")
    assert split_target("[build 2/4] RUN go build", targets) == (None, "[build 2/4] RUN go build")


def test_what_others_build_on_is_taken_first_then_names() -> None:
    """A company base ahead of unrelated apps that sort before it: its dependants can start
    sooner (the critical path), and the order is still the same in every run."""
    schedule = Schedule({"aaa": frozenset(), "zbase": frozenset(), "app": frozenset({"zbase"}),
                         "app2": frozenset({"zbase"}), "bbb": frozenset()})
    assert schedule.eligible() == ["zbase", "aaa", "bbb"]
    assert schedule.ready(1) == ["zbase"]
    assert schedule.ready(5) == ["aaa", "bbb"]


class _Events:
    """A stand-in for the bake processes (the scheduler's executor, not the engine): each
    target's build records its start and end; ``slow`` holds until ``fast-child`` started,
    so a scheduler that waits for a whole wave never lets it start (and the test fails
    after the safety timeout instead of hanging)."""

    def __init__(self) -> None:
        import threading

        from imagespec.fleet.display import Display

        self.events: list[str] = []
        self.lock = threading.Lock()
        self.child_started = threading.Event()
        self.display = Display("quiet", io.StringIO())
        self.began = time.monotonic()

    def build(self, job: BuildJob) -> Record:
        with self.lock:
            self.events.append(f"start {job.name}")
        if job.name == "fast-child":
            self.child_started.set()
        if job.name == "slow":
            self.child_started.wait(timeout=30)
        with self.lock:
            self.events.append(f"end {job.name}")
        return Record(job.name, job.spec, "failed" if job.name == "broken" else "built")

    def stop_all(self) -> None:
        pass


def _job(name: str) -> BuildJob:
    return BuildJob(name, f"{name}.yaml", "FROM scratch\n", None, (), lambda failure: failure)


def test_a_dependant_of_a_fast_target_starts_while_a_slow_unrelated_one_builds() -> None:
    """As soon as its parents are done, not when the targets started beside them end:
    fast and slow start together; fast-child starts once fast is done, while slow builds."""
    from imagespec.fleet.run import _drive

    parents = {"fast": frozenset(), "slow": frozenset(), "fast-child": frozenset({"fast"}),
               "broken": frozenset(), "after-broken": frozenset({"broken"})}
    runner = _Events()
    records = _drive(Schedule(parents), {name: _job(name) for name in parents}, runner, jobs=3)
    events = runner.events
    assert events.index("start fast-child") < events.index("end slow"), events
    assert events.index("start fast-child") > events.index("end fast"), events
    assert {r.target: r.result for r in records} == {"fast": "built", "slow": "built", "fast-child": "built",
                                                    "broken": "failed", "after-broken": "skipped"}
    assert all(r.ready_s is not None for r in records if r.result != "skipped")
    # never more than --jobs at once
    running = most = 0
    for event in events:
        running += 1 if event.startswith("start") else -1
        most = max(most, running)
    assert 2 <= most <= 3  # slow and fast-child together, never more than --jobs


def test_a_released_target_frees_its_slot_but_its_dependants_wait_for_it() -> None:
    schedule = Schedule({"a": frozenset(), "b": frozenset(), "a-child": frozenset({"a"})})
    slots = lambda: 1 - schedule.running  # noqa: E731  (one --jobs slot, as fleet.run asks)
    assert schedule.ready(slots()) == ["a"] and schedule.ready(slots()) == []
    schedule.release("a")  # built by BuildKit, its SBOM and tags still to come
    assert schedule.running == 0 and not schedule.done
    assert schedule.ready(slots()) == ["b"]  # the slot is free for an unrelated target ...
    schedule.finished("b", True)
    assert schedule.ready(slots()) == [] and not schedule.done  # ... but not for a's dependant
    assert schedule.finished("a", True) == [] and schedule.ready(slots()) == ["a-child"]


class _Baking(_Events):
    """Each build returns Baked (its bake is done): ``a``'s SBOM-and-tags step holds until
    ``b`` started, which only a slot freed when a's bake ended allows with jobs=1 (a
    scheduler that keeps the slot through the SBOM step fails after the safety timeout)."""

    def __init__(self) -> None:
        import threading

        super().__init__()
        self.b_started = threading.Event()

    def build(self, job: BuildJob) -> Record | Baked:
        with self.lock:
            self.events.append(f"bake {job.name}")
        if job.name == "b":
            self.b_started.set()
        return Baked(lambda: self.finish(job))

    def finish(self, job: BuildJob) -> Record:
        if job.name == "a":
            self.b_started.wait(timeout=30)
        with self.lock:
            self.events.append(f"tagged {job.name}")
        return Record(job.name, job.spec, "failed" if job.name == "broken" else "built")


def test_the_sbom_step_is_out_of_the_slot_and_dependants_start_after_the_tags() -> None:
    """Events, not timing: with one slot, b's bake starts while a's SBOM step runs, and
    a-child's bake only after a is tagged (it builds FROM a's tagged image: nothing
    half-tagged is ever built on); a failure in the step skips what is downstream."""
    from imagespec.fleet.run import _drive

    parents = {"a": frozenset(), "b": frozenset(), "a-child": frozenset({"a"}), "broken": frozenset(),
               "after-broken": frozenset({"broken"})}
    runner = _Baking()
    records = _drive(Schedule(parents), {name: _job(name) for name in parents}, runner, jobs=1)
    events = runner.events
    assert events.index("bake b") < events.index("tagged a"), events
    assert events.index("bake a-child") > events.index("tagged a"), events
    assert "bake after-broken" not in events
    assert {r.target: r.result for r in records} == {"a": "built", "b": "built", "a-child": "built",
                                                    "broken": "failed", "after-broken": "skipped"}


def test_a_jobs_cache_mounts_are_those_its_dockerfile_mounts() -> None:
    """What the schedule keeps apart is what BuildKit shares: each `--mount=type=cache` of
    the Dockerfile, by target path (the id BuildKit gives a mount without one)."""
    import re

    from imagespec.fleet.build import _cache_mounts
    from tests.compiler.compiler_helpers import REPO, compile_path

    for name, expected in (("go-hello", {"/root/go/pkg/mod", "/root/.cache/go-build"}), ("shell-opt-in", set())):
        compiled = compile_path(REPO / "examples" / name / "imagespec.yaml")
        mounted = set(re.findall(r"--mount=type=cache,target=(\S+)", compiled.dockerfile))
        assert _cache_mounts(compiled.plan) == mounted == expected
