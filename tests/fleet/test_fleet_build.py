"""`imagespec build` of a fleet on the real engine (docker buildx bake, docker driver):
keep going past a failure, skip only what is built on it, tag only what built (BP14),
--rerun-failed, --jobs bounds what runs at once, a company base built in the same run."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import tools
from tests.fleet.support import LOCAL_CONFIG, Fleet, docker, imagespec, make_fleet
from tests.leftovers import remove_untagged, untagged


@pytest.fixture
def fleets(engine, tmp_path: Path) -> Iterator[list[Fleet]]:
    """Fleets made by a test; every image named with their prefixes is removed after it."""
    made: list[Fleet] = []
    yield made
    for fleet in made:
        where = f"{fleet.registry}/{fleet.prefix}/*" if fleet.registry else f"{fleet.prefix}/*"
        listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", f"reference={where}",
                        check=False).stdout.split()
        if tagged := [ref for ref in listed if not ref.endswith(":<none>")]:
            docker("rmi", "--force", *tagged, check=False)
        # an image pushed and then replaced under its tags is still known by its digest
        digests = docker("images", "--digests", "--format", "{{.Repository}}@{{.Digest}}", "--filter",
                         f"reference={where}", check=False).stdout.split()
        if pushed := [ref for ref in digests if not ref.endswith("@<none>")]:
            docker("rmi", *pushed, check=False)
    remove_untagged(*(f"{fleet.prefix}/" for fleet in made))  # images a rebuild took the tags of


TEAMS, APPS = 9, 10  # the company base, 9 team images on it, 10 apps on each: 100 targets


def _hundred() -> dict[str, str | None]:
    parents: dict[str, str | None] = {"base": None}
    for team in range(TEAMS):
        parents[f"team{team}"] = "base"
        parents |= {f"app{team}-{app}": f"team{team}" for app in range(APPS)}
    return parents


def _overlap(records: dict[str, dict]) -> int:
    """The most bake invocations that ran at the same time (what --jobs bounds: a target's
    SBOM step and tags, after its bake, are out of its slot)."""
    edges = sorted((t, kind) for r in records.values() if r["started_s"] is not None
                   for t, kind in ((r["started_s"], 1), (r["started_s"] + _bake_s(r) - _ROUNDED, -1)))
    running = most = 0
    for _, kind in sorted(edges, key=lambda e: (e[0], e[1])):  # an end before a start at the same instant
        running += kind
        most = max(most, running)
    return most


#: the record's seconds are rounded to the millisecond: a slot's end and the next start
#: taken at the same instant may differ by that much
_ROUNDED = 0.002


def _bake_s(record: dict) -> float:
    """How long the target's bake invocation ran (0 for one not built: up to date, refused)."""
    return record["timing"]["bake_s"] if record.get("timing") else 0.0


def _after_parents(fleet: Fleet, records: dict[str, dict]) -> None:
    for name, parent in fleet.parents.items():
        record = records.get(fleet.target(name))
        if parent and record and record["started_s"] is not None and fleet.target(parent) in records:
            assert record["started_s"] >= records[fleet.target(parent)]["ended_s"], f"{name} started before {parent}"
            # ready once its parent was done, started no earlier than that (one clock for all three)
            assert records[fleet.target(parent)]["ended_s"] <= record["ready_s"] <= record["started_s"], record
        if record and record["result"] != "skipped":
            assert record["timing"]["bake_s"] > 0 and record["timing"]["post_s"] >= 0, record


def test_a_hundred_targets_with_one_failure_build_all_but_what_is_downstream(fleets, tmp_path: Path) -> None:
    # on `static`: what is under test is the graph's scheduling, not the images' contents
    fleet = make_fleet(tmp_path / "fleet", _hundred(), failing=["team3"], base="static")
    fleets.append(fleet)
    done, records = fleet.build("--jobs", "4")
    assert done.returncode == 1, done.stderr[-3000:]
    assert len(records) == 100
    downstream = {f"app3-{app}" for app in range(APPS)}
    expected = {name: "failed" if name == "team3" else "skipped" if name in downstream else "built"
                for name in fleet.parents}
    assert {name: records[fleet.target(name)]["result"] for name in fleet.parents} == expected
    for name in downstream:
        assert records[fleet.target(name)]["upstream"] == fleet.target("team3")
    # tags only for what built: each built image has its tag, nothing failed or skipped has one
    assert {name for name in fleet.parents if fleet.tagged(name)} == {n for n, r in expected.items() if r == "built"}
    for name, result in expected.items():
        record = records[fleet.target(name)]
        assert (record["tags"] == [fleet.image(name)]) == (result == "built")
    # where in its spec it failed: the RUN's commands, at their `run:` key in team3's spec (line 7)
    failure = records[fleet.target("team3")]["failure"]
    assert failure["location"] == f"{fleet.spec('team3')}:7:5", failure
    assert "exit code: 7" in failure["message"]
    assert f"target {fleet.target('team3')} failed" in done.stderr and f"{fleet.spec('team3')}:7:5" in done.stderr
    assert 1 < _overlap(records) <= 4
    _after_parents(fleet, records)

    # fixed: --rerun-failed builds the failed target and what it skipped, nothing else
    fleet.write("team3")
    again, rerun = fleet.build("--rerun-failed", "--jobs", "4")
    assert again.returncode == 0, again.stderr[-3000:]
    assert set(rerun) == {fleet.target(name) for name in ("team3", *downstream)}
    assert {r["result"] for r in rerun.values()} == {"built"}
    assert all(fleet.tagged(name) for name in fleet.parents)
    _after_parents(fleet, rerun)


SMALL = {"base": None, "web": "base", "api": "base", "web-a": "web", "web-b": "web", "api-a": "api", "api-b": "api"}


def test_jobs_1_and_jobs_4_build_the_same_fleet_the_same_way(fleets, tmp_path: Path) -> None:
    outcomes = []
    for jobs in ("1", "4"):
        # on `static`: what is under test is the scheduling, not the images' contents
        fleet = make_fleet(tmp_path / f"jobs{jobs}", SMALL, failing=["api-a"], base="static")
        fleets.append(fleet)
        done, records = fleet.build("--jobs", jobs)
        assert done.returncode == 1, done.stderr[-3000:]
        outcomes.append({name: records[fleet.target(name)]["result"] for name in SMALL})
        most = _overlap(records)
        assert most == 1 if jobs == "1" else 1 <= most <= 4
        _after_parents(fleet, records)
    assert outcomes[0] == outcomes[1] == {name: "failed" if name == "api-a" else "built" for name in SMALL}


def test_an_app_builds_on_the_company_base_built_in_the_same_run(fleets, tmp_path: Path) -> None:
    fleet = make_fleet(tmp_path / "company", {"base": None, "app": "base"})
    fleets.append(fleet)
    done, records = fleet.build()
    assert done.returncode == 0, done.stderr[-3000:]
    assert [records[fleet.target(n)]["result"] for n in ("base", "app")] == ["built", "built"]
    # the app's image holds what the base built in this run (its token), not an older base
    token = (fleet.root / "base" / "imagespec.yaml").read_text().split("echo base ")[1].split(" ")[0]
    shown = docker("run", "--rm", "--network", "none", "--entrypoint", "/bin/cat", fleet.image("app"),
                   "/fleet/base/base").stdout
    assert token in shown
    # BP13: the app records the base image this run made, not the one there before it
    base_id = docker("image", "inspect", "--format", "{{.Id}}", fleet.image("base")).stdout.strip()
    recorded = docker("image", "inspect", "--format", '{{index .Config.Labels "org.opencontainers.image.base.digest"}}',
                      fleet.image("app")).stdout.strip()
    assert recorded == base_id
    # progress as for one image: one start and one end line per step, each marked with its target
    lines = [line for line in done.stderr.splitlines() if line.startswith(f"[{fleet.target('app')}] #")]
    starts = [line for line in lines if " | " not in line and not any(m in line for m in (" DONE", " CACHED", " ERROR"))]
    ends = [line for line in lines if any(f"#{line.split('#')[1].split()[0]} {m}" in line for m in ("DONE", "CACHED"))]
    assert starts and len(starts) == len(ends)

    # nothing changed: nothing is handed to bake (fleet.unchanged), the images stay
    noop, again = fleet.build()
    assert noop.returncode == 0 and all(r["up_to_date"] and r["timing"] is None for r in again.values()), again
    assert {n: r["image_id"] for n, r in again.items()} == {n: r["image_id"] for n, r in records.items()}


def test_an_unknown_builder_is_bad_input_and_nothing_builds(fleets, tmp_path: Path) -> None:
    fleet = make_fleet(tmp_path / "bad", {"base": None, "app": "base"})
    fleets.append(fleet)
    done = imagespec("build", str(fleet.root), "--config", str(LOCAL_CONFIG), "--builder", "no-such-builder")
    assert done.returncode == 2 and "unknown builder 'no-such-builder'" in done.stderr, done.stderr
    assert not fleet.tagged("base") and not fleet.tagged("app")


REGISTRY = "127.0.0.1:5000"


def _registry_tags(fleet: Fleet, name: str) -> list[str]:
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/{fleet.prefix}/{name}/tags/list", timeout=5) as answer:
            return sorted(json.load(answer).get("tags") or [])
    except urllib.error.HTTPError as error:
        if error.code == 404:  # no such repository: nothing was pushed
            return []
        raise


def test_push_sends_only_what_built(fleets, tmp_path: Path) -> None:
    """BP14: no tag is pushed for a target that failed or was skipped."""
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=2).close()
    except OSError as error:
        tools.unavailable(f"no registry on {REGISTRY} ({error}); scripts/start-registry.sh starts one")
    fleet = make_fleet(tmp_path / "pushed", {"base": None, "app": "base", "broken": "base", "after": "broken"},
                       failing=["broken"], registry=REGISTRY)
    fleets.append(fleet)
    done, records = fleet.build("--push", "--jobs", "3")
    assert done.returncode == 1, done.stderr[-3000:]
    assert {name: r["result"] for name, r in records.items()} == {"base": "built", "app": "built",
                                                                   "broken": "failed", "after": "skipped"}
    assert records["app"]["pushed"] == [fleet.image("app")]
    assert {name: _registry_tags(fleet, name) for name in fleet.parents} == {
        "base": ["1.0.0-fleet"], "app": ["1.0.0-fleet"], "broken": [], "after": []}


def _image_id(reference: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", reference).stdout.strip()


def test_a_push_the_registry_refuses_leaves_the_local_tags_where_they_were(fleets, tmp_path: Path) -> None:
    """BP14: a target whose X.Y.Z push is refused (the registry holds another image under
    it) fails, and its tags here stay on the image that was published, for a fleet and for
    one spec. Was: the refused image kept the tags, and the next run called it up to date."""
    fleet = make_fleet(tmp_path / "refused", {"base": None, "app": None}, registry=REGISTRY, base="static")
    fleets.append(fleet)
    done, _ = fleet.build("--push")
    assert done.returncode == 0, done.stderr[-3000:]
    published = _image_id(fleet.image("base"))
    fleet.write("base", token="changed")  # a new image under the same version
    for attempt in ("first", "again"):
        done, records = fleet.build("--push")
        assert done.returncode == 1, done.stderr[-3000:]
        assert records["base"]["result"] == "failed" and not records["base"]["up_to_date"], attempt
        assert "refusing to move an immutable version tag (BP14)" in records["base"]["failure"]["message"]
        assert records["base"]["tags"] == [] and records["app"]["result"] == "up_to_date"
        assert _image_id(fleet.image("base")) == published, attempt
        assert untagged(f"{fleet.prefix}/base") == [], "the refused image, which no tag names, stays"
        summary = json.loads(done.stdout)
        assert (summary["built"], summary["up_to_date"], summary["failed"]) == (0, 1, 1), attempt
        # the run's error, the last line on stderr, names the failed targets for CI
        assert json.loads(done.stderr.strip().splitlines()[-1])["targets"] == ["base"], attempt
    table = imagespec("build", str(fleet.root), "--config", str(fleet.config), "--push", "--progress", "quiet")
    row = next(line for line in table.stdout.splitlines() if line.startswith("base "))
    assert row.split()[1] == "failed" and "refusing to move an immutable version tag" in row, table.stdout
    # one spec: the same
    one = imagespec("build", str(fleet.spec("base")), "--config", str(fleet.config), "--push", "--progress", "quiet")
    assert one.returncode == 1 and "refusing to move an immutable version tag (BP14)" in one.stderr, one.stderr
    assert _image_id(fleet.image("base")) == published


def test_a_fleet_whose_every_failure_is_the_registry_exits_3_as_one_spec_does(fleets, tmp_path: Path) -> None:
    """Was: an unreachable registry was exit 3 for one spec but exit 1 for a fleet (CI retries
    on 3, docs/locks.md). A failed build among them keeps exit 1: a retry would not mend it.
    Nothing listens on 127.0.0.1:5999 (nothing may be started there)."""
    fleet = make_fleet(tmp_path / "nowhere", {"one": None, "two": None}, registry="127.0.0.1:5999", base="static")
    fleets.append(fleet)
    done, records = fleet.build("--push")
    assert done.returncode == 3, done.stderr[-3000:]
    for name in ("one", "two"):
        assert records[name]["result"] == "failed", records[name]
        assert "cannot reach the registry" in records[name]["failure"]["message"]
        assert records[name]["failure"]["exit_code"] == 3
    error = json.loads(done.stderr.strip().splitlines()[-1])
    assert error["exit_code"] == 3 and error["targets"] == ["one", "two"], error
    fleet.parents["broken"] = None
    fleet.write("broken", fail=True)  # a build failure besides: exit 1
    done, records = fleet.build("--push")
    assert done.returncode == 1, done.stderr[-3000:]
    assert {name: r["result"] for name, r in records.items()} == dict.fromkeys(("broken", "one", "two"), "failed")


def test_changed_since_builds_what_changed_and_what_is_built_on_it(fleets, tmp_path: Path) -> None:
    import subprocess

    # on `static`: what is under test is the selection, not the images' contents
    fleet = make_fleet(tmp_path / "repo", {"base": None, "team": "base", "app": "team", "other": None}, base="static")
    fleets.append(fleet)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(fleet.root)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "fleet"], check=True)
    done, first = fleet.build()
    assert done.returncode == 0 and len(first) == 4, done.stderr[-3000:]
    fleet.write("team", token="changed")  # a change to the team image: it and the app on it, nothing else
    done, again = fleet.build("--changed-since", "HEAD", "--explain")
    assert done.returncode == 0, done.stderr[-3000:]
    assert set(again) == {"team", "app"} and {r["result"] for r in again.values()} == {"built"}
