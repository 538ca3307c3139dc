"""The rebuild loop end to end, on the real engine and the local registry (#15, BP13):
base v1 pushed; two apps locked, generated and built on two bases; v2 pushed under the
same tag; `outdated` names the app on that base (and the spec built on it, downstream) and
only those; `lock --update`, `build`, `test`, push; the new image records v2's digest.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from imagespec.cli import main
from tests.lock.conftest import RUN_ID, Pushed, labels, manifest_digest, run

pytestmark = pytest.mark.engine

ENTRYPOINT = '[python3, -c, "import signal,time; signal.signal(signal.SIGTERM, lambda *a: exit(0)); time.sleep(1e9)"]'


def spec(name: str, base: str) -> str:
    return (f"name: isx15a/{name}\nversion: 1.0.0\nregistry: 127.0.0.1:5000\n"
            f"final:\n  from: {{image: \"{base}\", family: debian, user: 65532}}\n  entrypoint: {ENTRYPOINT}\n")


def imagespec(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def commit(repo: Path) -> None:
    run("git", "add", "-A", cwd=repo)
    run("git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "state", cwd=repo)


@pytest.fixture()
def built_tags() -> list[str]:
    """Tags and image IDs a test built: removed at the end, every tag of each tag's
    repository (a build also moved 1, 1.0, latest and the commit's tag), then the IDs,
    without force: an image another test holds under a tag of its own keeps it."""
    tags: list[str] = []
    yield tags
    # image IDs and name@digest references (a pull by digest) are removed as they are
    ids = [t for t in tags if re.fullmatch(r"(sha256:)?[0-9a-f]{12,64}", t) or "@" in t]
    # a tag's repository, never an empty one: `docker images ""` would list every image
    repositories = dict.fromkeys(t.rpartition(":")[0] for t in tags if t not in ids and ":" in t.rpartition("/")[2])
    for repository in repositories:
        listed = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repository],
                                capture_output=True, text=True, timeout=120, check=False).stdout.split()
        if listed:
            subprocess.run(["docker", "rmi", *listed], capture_output=True, timeout=120, check=False)
    for image in ids:
        subprocess.run(["docker", "rmi", image], capture_output=True, timeout=120, check=False)


def test_a_moved_base_is_found_relocked_rebuilt_and_recorded(pushed: Pushed, tmp_path: Path, built_tags: list[str],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    base = f"127.0.0.1:5000/isx15a/base-{RUN_ID}:1"
    other = f"127.0.0.1:5000/isx15a/other-{RUN_ID}:1"
    v1 = pushed.push(base, "v1")
    pushed.push(other, "other")
    repo = tmp_path / "repo"
    for name, on in (("app", base), ("app2", other), ("company", base)):
        (repo / name).mkdir(parents=True)
        (repo / name / "imagespec.yaml").write_text(spec(f"{name}-{RUN_ID}", on))
    # a spec on the company image: downstream of `company`, so stale whenever it is
    company_image = f"127.0.0.1:5000/isx15a/company-{RUN_ID}:1.0.0"
    pushed.push(company_image, "company v1")
    (repo / "downstream").mkdir()
    (repo / "downstream" / "imagespec.yaml").write_text(spec(f"downstream-{RUN_ID}", company_image))
    run("git", "init", "-q", str(repo))
    specs = [str(repo / name / "imagespec.yaml") for name in ("app", "app2", "company", "downstream")]
    app = specs[0]

    code, out, err = imagespec(capsys, "lock", *specs)
    assert code == 0, err
    lock = (repo / "app" / "imagespec.lock.yaml").read_text()
    assert f'digest: "{v1}"' in lock and lock.startswith("# Written by `imagespec lock`")
    assert imagespec(capsys, "generate", *specs)[0] == 0
    assert f"FROM {base}@{v1} AS final" in (repo / "app" / "Dockerfile").read_text()
    commit(repo)
    assert imagespec(capsys, "check", *specs)[0] == 0
    assert imagespec(capsys, "lock", "--check", *specs)[0] == 0

    code, out, err = imagespec(capsys, "build", app, "--progress", "quiet", "--format", "json")
    assert code == 0, err
    first = json.loads(out)
    built_tags.extend([*first["tags"], first["image_id"]])
    assert labels(first["tags"][0])["org.opencontainers.image.base.digest"] == v1
    code, out, err = imagespec(capsys, "build", app, "--progress", "quiet", "--format", "json")
    assert code == 0 and json.loads(out)["up_to_date"] is True, "an image on its locked base is not rebuilt"
    assert imagespec(capsys, "outdated", *specs)[0] == 0

    v2 = pushed.push(base, "v2", package=("isx15a-demo", "1.0-1"))  # the same tag, moved, one package more
    assert v2 != v1
    code, out, err = imagespec(capsys, "outdated", "--format", "json", *specs)
    assert code == 1, err
    report = json.loads(out)
    stale = {Path(s["spec"]).parent.name: s["reasons"] for s in report["stale"]}
    assert set(stale) == {"app", "company", "downstream"}, stale  # app2 is on another base
    assert report["moved"] == [{"image": base, "old": v1, "new": v2, "locked_created": report["moved"][0]["locked_created"],
                                "age": report["moved"][0]["age"], "specs": sorted([str(Path(app)), specs[2]]),
                                "affected": 3}]
    assert any("company" in reason for reason in stale["downstream"]), stale["downstream"]
    assert report["requests"] == report["bases"] == 3  # one HEAD per distinct base

    code, out, err = imagespec(capsys, "lock", "--update", "--packages", "--format", "json", *specs)
    assert code == 0, err
    update = json.loads(out)
    assert [(p["image"], p["old"], p["new"]) for p in update["packages"]] == [(base, v1, v2)]
    assert update["packages"][0]["added"] == [{"ecosystem": "deb", "name": "isx15a-demo:all", "old": [], "new": ["1.0-1"]}]
    assert update["packages"][0]["removed"] == [] and update["packages"][0]["changed"] == []
    moved = {(Path(m["spec"]).parent.name, m["old"], m["new"]) for m in update["moves"] if m["moved"]}
    assert moved == {("app", v1, v2), ("company", v1, v2)}
    order = [Path(s).parent.name for s in update["rebuild"]]
    assert sorted(order) == ["app", "company", "downstream"] and order.index("company") < order.index("downstream")
    assert imagespec(capsys, "check", *specs)[0] == 1  # the Dockerfiles still name v1
    assert imagespec(capsys, "generate", *specs)[0] == 0
    commit(repo)
    code, out, err = imagespec(capsys, "build", app, "--progress", "quiet", "--push", "--format", "json")
    assert code == 0, err
    second = json.loads(out)
    built_tags.extend([*second["tags"], second["image_id"]])
    assert second["up_to_date"] is False and second["image_id"] != first["image_id"]
    assert labels(second["tags"][0])["org.opencontainers.image.base.digest"] == v2
    code, out, err = imagespec(capsys, "test", app, "--format", "json")
    assert code == 0, out + err
    pushed_app = f"127.0.0.1:5000/isx15a/app-{RUN_ID}:1.0.0"
    assert manifest_digest(pushed_app) == second["pushed"][pushed_app]
    code, out, err = imagespec(capsys, "build", app, "--progress", "quiet", "--push", "--format", "json")
    again = json.loads(out)  # the scheduled job runs again: nothing moved, nothing is rebuilt, the push is a no-op
    assert code == 0 and again["up_to_date"] is True and again["image_id"] == second["image_id"], err
    assert again["pushed"][pushed_app] == second["pushed"][pushed_app]
    # app is fresh now; company (rebuilt by nobody yet) and downstream remain stale by the graph
    code, out, err = imagespec(capsys, "outdated", "--format", "json", specs[0], specs[1])
    assert code == 0, out


def test_test_fails_when_the_provenance_does_not_match(pushed: Pushed, tmp_path: Path, built_tags: list[str],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    base = f"127.0.0.1:5000/isx15a/prov-{RUN_ID}:1"
    v1 = pushed.push(base, "prov v1")
    folder = tmp_path / "prov"
    folder.mkdir()
    path = folder / "imagespec.yaml"
    path.write_text(spec(f"prov-app-{RUN_ID}", base))  # another name than the base: FROM its own image is refused
    assert imagespec(capsys, "lock", str(path))[0] == 0
    code, out, err = imagespec(capsys, "build", str(path), "--progress", "quiet", "--format", "json")
    assert code == 0, err
    built_tags.extend([*json.loads(out)["tags"], json.loads(out)["image_id"]])
    assert labels(json.loads(out)["tags"][0])["org.opencontainers.image.base.digest"] == v1
    pushed.push(base, "prov v2")
    assert imagespec(capsys, "lock", "--update", str(path))[0] == 0  # the lock moved, the image did not
    code, out, err = imagespec(capsys, "test", str(path), "--format", "json")
    assert code == 1
    failed = [c for c in json.loads(out)["checks"] if c["outcome"] != "ok"]
    assert [c["name"] for c in failed] == ["config-labels"] and "base.digest" in json.dumps(failed), failed


def test_update_one_base_min_age_and_the_catalogs_digest(pushed: Pushed, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    first = f"127.0.0.1:5000/isx15a/first-{RUN_ID}:1"
    second = f"127.0.0.1:5000/isx15a/second-{RUN_ID}:1"
    first_v1, second_v1 = pushed.push(first, "first v1"), pushed.push(second, "second v1")
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / ".git").mkdir()
    # the catalog records what the fleet built (`imagespec base build --push`): that digest is locked
    (folder / ".imagespec.yaml").write_text(
        f'images:\n  company-first: {{image: "{first}", family: debian, digest: "{first_v1}"}}\n')
    path = folder / "imagespec.yaml"
    path.write_text(f"name: isx15a/two-{RUN_ID}\nstages:\n  build: {{from: {{image: \"{second}\", family: debian}}, "
                    f"run: [touch /out], artifacts: [/out]}}\nfinal:\n  from: company-first\n"
                    f"  copy: [{{from: build, src: /out, dest: /out}}]\n  entrypoint: {ENTRYPOINT}\n")
    first_v2 = pushed.push(first, "first v2")  # the tag moved after the catalog was written
    code, out, err = imagespec(capsys, "lock", "--format", "json", str(path))
    assert code == 0, err
    lock = (folder / "imagespec.lock.yaml").read_text()
    assert f'digest: "{first_v1}"' in lock and 'catalog: "company-first"' in lock  # the catalog's, not the tag's

    second_v2 = pushed.push(second, "second v2")
    code, _, err = imagespec(capsys, "lock", "--update", "--base", "isx15a/nothing", str(path))
    assert code == 2 and "no spec given builds from it" in err and "company-first" in err, err
    code, _, err = imagespec(capsys, "lock", "--update", "--base", "company-frist", str(path))
    assert code == 2 and "did you mean company-first?" in err, err  # a typo moves nothing
    code, out, err = imagespec(capsys, "lock", "--update", "--base", "company-first", "--min-age", "1d",
                               "--format", "json", str(path))
    assert code == 0, err
    moves = json.loads(out)["moves"]
    assert [(m["old"], m["new"], m["moved"]) for m in moves] == [(first_v1, first_v2, False)]  # new: the registry's
    assert "under --min-age" in moves[0]["skipped"]
    assert f'digest: "{first_v1}"' in (folder / "imagespec.lock.yaml").read_text()  # kept
    code, out, err = imagespec(capsys, "lock", "--update", "--base", "company-first", "--format", "json", str(path))
    assert [(m["old"], m["new"]) for m in json.loads(out)["moves"]] == [(first_v1, first_v2)]
    lock = (folder / "imagespec.lock.yaml").read_text()
    assert f'digest: "{first_v2}"' in lock and f'digest: "{second_v1}"' in lock  # --base: only that one moved
    assert imagespec(capsys, "lock", "--update", str(path))[0] == 0
    assert f'digest: "{second_v2}"' in (folder / "imagespec.lock.yaml").read_text()


def company_spec(name: str, base: str) -> str:
    """A company base built in the fleet: a tag that moves when it is rebuilt (`stable`),
    since X.Y.Z never moves (BP14)."""
    return (f"name: isx15a/{name}\nregistry: 127.0.0.1:5000\ntags: {{git_sha: false, extra: [stable]}}\n"
            f"final:\n  from: {{image: \"{base}\", family: debian, user: 65532}}\n  entrypoint: {ENTRYPOINT}\n")


def test_the_cascade_moves_a_company_base_and_the_apps_on_it_in_one_pass(
        pushed: Pushed, tmp_path: Path, built_tags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """#15: `lock --update FLEET` + `build --push FLEET` once, and everything is current:
    the company base on the moved base, the apps on the company image it just pushed."""
    base = f"127.0.0.1:5000/isx15a/cbase-{RUN_ID}:1"
    company = f"127.0.0.1:5000/isx15a/company-c-{RUN_ID}:stable"
    v1 = pushed.push(base, "cascade v1")
    repo = tmp_path / "fleet"
    (repo / "company").mkdir(parents=True)
    (repo / "company" / "imagespec.yaml").write_text(company_spec(f"company-c-{RUN_ID}", base))
    run("git", "init", "-q", str(repo))
    built_tags.append(company)
    assert imagespec(capsys, "lock", str(repo / "company"))[0] == 0
    assert imagespec(capsys, "generate", str(repo / "company" / "imagespec.yaml"))[0] == 0
    commit(repo)
    code, out, err = imagespec(capsys, "build", str(repo / "company" / "imagespec.yaml"), "--push",
                               "--progress", "quiet", "--format", "json")
    assert code == 0, err
    c1 = json.loads(out)["pushed"][company]
    built_tags.append(json.loads(out)["image_id"])
    apps = ("app-a", "app-b")
    for app in apps:
        (repo / app).mkdir()
        (repo / app / "imagespec.yaml").write_text(spec(f"c{app}-{RUN_ID}", company))
        built_tags.append(f"127.0.0.1:5000/isx15a/c{app}-{RUN_ID}:1.0.0")
    code, _, err = imagespec(capsys, "lock", str(repo))
    assert code == 0, err
    assert all(f'digest: "{c1}"' in (repo / app / "imagespec.lock.yaml").read_text() for app in apps)
    assert imagespec(capsys, "generate", *(str(repo / app / "imagespec.yaml") for app in apps))[0] == 0
    commit(repo)

    v2 = pushed.push(base, "cascade v2")
    assert imagespec(capsys, "outdated", str(repo))[0] == 1
    code, out, err = imagespec(capsys, "lock", "--update", "--format", "json", str(repo))
    assert code == 0, err
    update = json.loads(out)
    moves = {(Path(m["spec"]).parent.name, m["old"], m["new"], m["moved"], m["waits_for"]) for m in update["moves"]}
    company_spec_file = str(repo / "company" / "imagespec.yaml")
    assert moves == {("company", v1, v2, True, None), ("app-a", c1, c1, False, company_spec_file),
                     ("app-b", c1, c1, False, company_spec_file)}, moves
    assert [Path(s).parent.name for s in update["rebuild"]] == ["company", "app-a", "app-b"]
    assert imagespec(capsys, "generate", str(repo))[0] == 0

    code, out, err = imagespec(capsys, "build", str(repo), "--push", "--progress", "quiet", "--format", "json")
    assert code == 0, out + err
    fleet = json.loads(out)
    assert fleet["built"] == 3 and fleet["failed"] == 0, fleet
    built_tags.extend(t["image_id"] for t in fleet["targets"] if t.get("image_id"))
    c2 = manifest_digest(company)
    assert c2 != c1
    assert labels(company)["org.opencontainers.image.base.digest"] == v2
    for app in apps:
        assert f'digest: "{c2}"' in (repo / app / "imagespec.lock.yaml").read_text(), app
        assert f"FROM {company}@{c2} AS final" in (repo / app / "Dockerfile").read_text(), app
        assert labels(f"127.0.0.1:5000/isx15a/c{app}-{RUN_ID}:1.0.0")["org.opencontainers.image.base.digest"] == c2
    code, out, err = imagespec(capsys, "outdated", "--format", "json", str(repo))
    assert code == 0, out
    assert imagespec(capsys, "check", str(repo))[0] == 0
    assert imagespec(capsys, "lock", "--check", str(repo))[0] == 0
    # what the build wrote is what `lock --update` writes now: deterministic, nothing left to move
    locks = {app: (repo / app / "imagespec.lock.yaml").read_text() for app in (*apps, "company")}
    code, out, err = imagespec(capsys, "lock", "--update", "--format", "json", str(repo))
    assert code == 0 and json.loads(out)["written"] == [], out
    assert locks == {app: (repo / app / "imagespec.lock.yaml").read_text() for app in (*apps, "company")}
    # committed (the relocked apps' locks and Dockerfiles), the next `build --push` of the
    # fleet rebuilds nothing: each image records its lock, its inputs and its revision
    # (which the commit of files made from the spec does not move). Was: the company base
    # and the apps built again, `stable` moved, and the apps' X.Y.Z push was refused.
    ids = {t["target"]: t["image_id"] for t in fleet["targets"]}
    commit(repo)
    code, out, err = imagespec(capsys, "build", str(repo), "--push", "--progress", "quiet", "--format", "json")
    assert code == 0, out + err
    again = json.loads(out)
    assert again["built"] == 0 and again["up_to_date"] == 3, again
    assert {t["target"]: t["image_id"] for t in again["targets"]} == ids and manifest_digest(company) == c2
    assert imagespec(capsys, "outdated", str(repo))[0] == 0


def test_a_locked_app_whose_build_fails_keeps_its_lock_and_dockerfile(
        pushed: Pushed, tmp_path: Path, built_tags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """The fleet build moves an app's lock onto the company image it just pushed; when the
    app then fails (here: its X.Y.Z is in the registry as another image, BP14), its lock
    and Dockerfile are put back, so `outdated` still lists it. Was: they said it was on an
    image nothing was built on, and `outdated` was satisfied."""
    base = f"127.0.0.1:5000/isx15a/fbase-{RUN_ID}:1"
    company = f"127.0.0.1:5000/isx15a/company-f-{RUN_ID}:stable"
    pushed.push(base, "failing v1")
    repo = tmp_path / "fleet"
    (repo / "company").mkdir(parents=True)
    (repo / "company" / "imagespec.yaml").write_text(company_spec(f"company-f-{RUN_ID}", base))
    (repo / "app").mkdir()
    (repo / "app" / "imagespec.yaml").write_text(spec(f"fapp-{RUN_ID}", company))
    built_tags.extend([company, f"127.0.0.1:5000/isx15a/fapp-{RUN_ID}:1.0.0"])
    run("git", "init", "-q", str(repo))
    assert imagespec(capsys, "lock", str(repo / "company"))[0] == 0
    commit(repo)
    code, out, err = imagespec(capsys, "build", str(repo / "company" / "imagespec.yaml"), "--push",
                               "--progress", "quiet", "--format", "json")
    assert code == 0, err
    built_tags.append(json.loads(out)["image_id"])  # moved off its tags below, kept by its pushed digest
    assert imagespec(capsys, "lock", str(repo / "app"))[0] == 0
    assert imagespec(capsys, "generate", str(repo))[0] == 0
    commit(repo)
    code, out, err = imagespec(capsys, "build", str(repo / "app" / "imagespec.yaml"), "--push", "--progress", "quiet",
                               "--format", "json")
    assert code == 0, err

    pushed.push(base, "failing v2")
    assert imagespec(capsys, "lock", "--update", str(repo))[0] == 0  # the company moves; the app waits for it
    generated = imagespec(capsys, "generate", str(repo))
    assert generated[0] == 0, generated
    commit(repo)
    before = {name: (repo / "app" / name).read_text() for name in ("imagespec.lock.yaml", "Dockerfile")}
    code, out, err = imagespec(capsys, "build", str(repo), "--push", "--progress", "quiet", "--format", "json")
    assert code == 1, out + err
    results = {t["target"]: t for t in json.loads(out)["targets"]}
    built_tags.extend(t["image_id"] for t in results.values() if t.get("image_id"))
    assert results["company"]["result"] == "built" and results["app"]["result"] == "failed", results
    assert "refusing to move an immutable version tag (BP14)" in results["app"]["failure"]["message"]
    assert {name: (repo / "app" / name).read_text() for name in before} == before
    assert "not pinned before" not in err and " None -> " not in err
    code, out, _ = imagespec(capsys, "outdated", "--format", "json", str(repo))
    assert code == 1 and "app" in out, out


def test_a_base_the_catalog_pins_by_digest_needs_no_lock_to_be_up_to_date(
        pushed: Pushed, tmp_path: Path, built_tags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A platform team's catalog may write each base `@sha256:` itself: nothing is left for
    a lock to pin, and the image was rebuilt on every run (its build counted as unlocked)."""
    base = f"127.0.0.1:5000/isx15a/pinned-{RUN_ID}:1"
    digest = pushed.push(base, "pinned")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".imagespec.yaml").write_text(
        f'images:\n  company-base: {{image: "{base}@{digest}", family: debian, user: 65532}}\n')
    (repo / "imagespec.yaml").write_text(f"name: isx15a/pinned-app-{RUN_ID}\nversion: 1.0.0\n"
                                         f"final:\n  from: company-base\n  entrypoint: {ENTRYPOINT}\n")
    run("git", "init", "-q", str(repo))
    spec = str(repo / "imagespec.yaml")
    assert imagespec(capsys, "generate", spec)[0] == 0
    commit(repo)
    code, out, err = imagespec(capsys, "build", spec, "--progress", "quiet", "--format", "json")
    assert code == 0, err
    first = json.loads(out)
    built_tags.extend([*first["tags"], first["image_id"]])
    assert first["up_to_date"] is False
    code, out, err = imagespec(capsys, "build", spec, "--progress", "quiet", "--format", "json")
    again = json.loads(out)
    assert code == 0 and again["up_to_date"] is True and again["image_id"] == first["image_id"], err
