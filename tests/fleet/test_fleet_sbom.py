"""Every image a fleet build makes carries its SBOM (#15, BP16), as `imagespec build` of
one spec stores it: `imagespec build DIR1 DIR2` of a Go app and a spec on its image, on
the real engine; each image has the ``io.imagespec.sbom`` label and the file it names,
describing that image's own file system; a second run at a clean, locked commit finds
the images up to date and leaves them as they are, SBOM included."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fleet.support import LOCAL_CONFIG, PREFIX, docker, imagespec
from tests.leftovers import remove_untagged
from tests.sbom.validators import spdx_problems

pytestmark = pytest.mark.engine

LABEL = "io.imagespec.sbom"
SBOM_DIR = "/usr/share/imagespec/sbom"


@pytest.fixture
def prefix(engine) -> Iterator[str]:
    """This test's image names; every image under it is removed after the test."""
    name = f"{PREFIX}-sbom-{uuid.uuid4().hex[:8]}"
    yield name
    for where in (f"{name}/*", f"127.0.0.1:5000/{name}/*"):
        listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", f"reference={where}",
                        check=False).stdout.split()
        if listed:
            docker("rmi", "--force", *listed, check=False)
    remove_untagged(f"{name}/")  # images a rebuild took the tags of


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=root,
                   capture_output=True, text=True, check=True)


def build(*args: str, config: Path = LOCAL_CONFIG) -> tuple[subprocess.CompletedProcess[str], dict[str, dict]]:
    done = imagespec("build", *args, "--config", str(config), "--format", "json", "--progress", "plain")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done, {r["target"]: r for r in json.loads(done.stdout)["targets"]}


def stored(image: str) -> tuple[str, dict]:
    """(the label's path, the document at that path in the image), read with docker cp."""
    path = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout)[LABEL]
    container = docker("create", "--network", "none", "--entrypoint", "/none", image).stdout.strip()
    try:
        text = docker("cp", f"{container}:{path}", "-").stdout  # a tar of the one file
    finally:
        docker("rm", "-f", "-v", container, check=False)
    body = text[512:]  # after the tar header: the JSON document, padded with NUL bytes
    return path, json.loads(body.rstrip("\0"))


def packages(document: dict) -> dict[str, str]:
    return {p["name"]: p.get("versionInfo", "") for p in document["packages"]}


def described(document: dict) -> tuple[str, str]:
    """The package the document describes: (name, version)."""
    (root,) = [r["relatedSpdxElement"] for r in document["relationships"] if r["relationshipType"] == "DESCRIBES"]
    (package,) = [p for p in document["packages"] if p["SPDXID"] == root]
    return package["name"], package.get("versionInfo", "")


GO_APP = """\
name: {prefix}/hi
version: 2.3.4
license: MIT
tags: {{git_sha: false}}
stages:
  build:
    from: go-build
    env: {{CGO_ENABLED: "0"}}
    cache: [/root/go/pkg/mod, /root/.cache/go-build]
    copy: [.]
    run: go build -trimpath -ldflags="-s -w" -o /out/hi ./cmd/hi
    artifacts: [/out/hi]
final:
  from: static
  copy:
    - {{from: build, src: /out/hi, dest: /usr/local/bin/hi}}
  entrypoint: [/usr/local/bin/hi]
"""
ON_APP = """\
name: {prefix}/note
version: 0.1.0
license: MIT
tags: {{git_sha: false}}
final:
  from: {{image: "{prefix}/hi:2.3.4", family: distroless, shell: false, user: 65532}}
  copy: [{{src: note.txt, dest: /note.txt}}]
  entrypoint: [/usr/local/bin/hi]
"""


def _go_fleet(root: Path, prefix: str) -> tuple[Path, Path]:
    app, note = root / "app", root / "note"
    (app / "cmd" / "hi").mkdir(parents=True)
    (app / "greet").mkdir()
    (note).mkdir()
    (app / "go.mod").write_text("module example.com/hi\n\ngo 1.19\n\nrequire example.com/greet v1.2.3\n\n"
                                "replace example.com/greet => ./greet\n")
    (app / "greet" / "go.mod").write_text("module example.com/greet\n\ngo 1.19\n")
    (app / "greet" / "greet.go").write_text('package greet\n\nfunc Hello() string { return "hello" }\n')
    (app / "cmd" / "hi" / "main.go").write_text('package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\n'
                                                 "func main() { fmt.Println(greet.Hello()) }\n")
    (app / "imagespec.yaml").write_text(GO_APP.format(prefix=prefix))
    (note / "imagespec.yaml").write_text(ON_APP.format(prefix=prefix))
    (note / "note.txt").write_text("a note\n")
    return app, note


def test_each_image_of_a_fleet_stores_the_sbom_of_its_own_file_system(prefix: str, tmp_path: Path) -> None:
    app, note = _go_fleet(tmp_path, prefix)
    done, records = build(str(app), str(note))
    hi, on = f"{prefix}/hi:2.3.4", f"{prefix}/note:0.1.0"
    assert records["app"]["tags"][0] == hi and records["note"]["tags"][0] == on  # X.Y.Z first, then X.Y, X, latest
    for target, image, name in (("app", hi, "hi"), ("note", on, "note")):
        path, document = stored(image)
        # the one-spec build's place and label (pipeline.add_sbom), named in the run's record
        assert path == f"{SBOM_DIR}/{prefix}/{name}.spdx.json" == records[target]["sbom"]
        assert records[target]["timing"]["sbom_s"] > 0
        assert spdx_problems(document) == []
        # the tag names the image that holds the SBOM: the record's ID is the tagged image
        assert docker("image", "inspect", "--format", "{{.Id}}", image).stdout.strip() == records[target]["image_id"]
    _, mine = stored(hi)
    assert described(mine) == (f"{prefix}/hi", "2.3.4")
    found = packages(mine)
    assert found["example.com/greet"] == "v1.2.3" and found["example.com/hi"] == "2.3.4" and "stdlib" in found
    assert {"base-files", "ca-certificates", "tzdata"} <= set(found)  # the static base's own packages
    # the spec on the app's image: its own document (its name, version), of its own file
    # system, which holds the app's program (its Go modules) and the app's SBOM file too
    _, theirs = stored(on)
    assert described(theirs) == (f"{prefix}/note", "0.1.0")
    assert theirs["documentNamespace"] != mine["documentNamespace"]
    assert packages(theirs)["example.com/greet"] == "v1.2.3"
    listing = docker("run", "--rm", "--network", "none", "--entrypoint", "/usr/local/bin/hi", on).stdout
    assert listing == "hello\n"
    # what `imagespec sbom IMAGE` reads is the stored one (a spec named team/app included)
    shown = imagespec("sbom", on)
    assert shown.returncode == 0 and "carries no SBOM" not in shown.stderr, shown.stderr
    assert json.loads(shown.stdout)["documentNamespace"] == theirs["documentNamespace"]


def test_sbom_file_for_a_fleet_is_bad_input(tmp_path: Path, prefix: str) -> None:
    app, note = _go_fleet(tmp_path, prefix)
    done = imagespec("build", str(app), str(note), "--config", str(LOCAL_CONFIG), "--sbom", str(tmp_path / "x.json"))
    assert done.returncode == 2, done.stderr
    assert "--sbom FILE takes one spec" in done.stderr and "imagespec sbom IMAGE" in done.stderr
    assert not (tmp_path / "x.json").exists()
    assert docker("image", "inspect", f"{prefix}/hi:2.3.4", check=False).returncode != 0  # nothing built


def test_an_image_already_up_to_date_keeps_its_sbom(prefix: str, tmp_path: Path, registry_catalog: Path) -> None:
    """Locked specs on a base the registry holds, at a clean commit: the second run finds
    each image current (pipeline.up_to_date) and neither builds nor re-layers it."""
    repo = tmp_path / "repo"
    config = repo / ".imagespec.yaml"
    for name in ("one", "two"):
        (repo / name).mkdir(parents=True)
        (repo / name / "imagespec.yaml").write_text(
            f"name: {prefix}/{name}\nversion: 1.0.0\nlicense: MIT\ntags: {{git_sha: false}}\n"
            f"final:\n  from: debian-slim\n  copy: [{{src: {name}.txt, dest: /{name}.txt}}]\n"
            f"  entrypoint: [/bin/cat, /{name}.txt]\n")
        (repo / name / f"{name}.txt").write_text(f"{name}\n")
    config.write_text(f"catalog: {registry_catalog}\nbuild:\n  network: host\n")
    git(repo, "init", "-q", "-b", "main")
    specs = [str(repo / name) for name in ("one", "two")]
    locked = imagespec("lock", *specs, "--config", str(config))
    assert locked.returncode == 0, locked.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "locked")
    _, first = build(*specs, config=config)
    assert all(not r["up_to_date"] and r["sbom"] for r in first.values()), first
    _, again = build(*specs, config=config)
    for name in ("one", "two"):
        assert again[name]["up_to_date"] and again[name]["image_id"] == first[name]["image_id"], again[name]
        assert again[name]["sbom"] == first[name]["sbom"] == f"{SBOM_DIR}/{prefix}/{name}.spdx.json"
        assert again[name]["timing"] is None or again[name]["timing"]["sbom_s"] is None
        assert stored(f"{prefix}/{name}:1.0.0")[0] == first[name]["sbom"]
    # an image whose SBOM label is its base's (as one built before fleets stored SBOMs,
    # every other label the same) is not current: built again, it gets its own
    tags = first["one"]["tags"]
    inherited = f"{SBOM_DIR}/debian-slim.spdx.json"
    done = subprocess.run(["docker", "build", "--network", "host", "-q", "--label", f"{LABEL}={inherited}",
                           *[arg for tag in tags for arg in ("-t", tag)], "-"], input=f"FROM {tags[0]}\n",
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() != first["one"]["image_id"]
    _, third = build(*specs, config=config)
    assert not third["one"]["up_to_date"] and third["two"]["up_to_date"], third
    assert third["one"]["sbom"] == first["one"]["sbom"] == stored(tags[0])[0]


def test_a_no_op_rebuild_reuses_each_sbom_and_a_change_makes_new_ones_downstream(prefix: str, tmp_path: Path) -> None:
    """#14: nothing changed: each tagged image's SBOM layer records the hash of what its
    bake build read, so bake is left out and the image kept (same ID, no scan). A file of
    a context that no instruction copies: bake runs, returns an image built the same way,
    and the tagged image is kept with its SBOM (no scan, no layer build). A change to one
    target's input gives it and what is built FROM it a new image and a new SBOM; the
    others keep theirs."""
    from tests.fleet.support import make_fleet

    fleet = make_fleet(tmp_path / "fleet", {"base": None, "app": "base", "other": None}, prefix=prefix, base="static")
    done, first = fleet.build()
    assert done.returncode == 0, done.stderr[-3000:]
    assert not any(r["sbom_reused"] or r["up_to_date"] for r in first.values()), first
    made_on = {name: _sbom_labels(fleet.image(name)) for name in first}
    _, app_document = stored(fleet.image("app"))
    for name, record in first.items():  # the layer records the bake output it was made on
        assert made_on[name]["io.imagespec.sbom.image"].startswith("sha256:"), made_on[name]
        assert made_on[name]["io.imagespec.sbom.image"] != record["image_id"]  # the layer is on top of it
        # what bake read is kept beside the cache, not in the image: `imagespec build SPEC`
        # alone makes this same image, so either can push its X.Y.Z after the other (BP14)
        assert not any(key.startswith("io.imagespec.build.") for key in made_on[name]), made_on[name]

    assert _dangling(fleet) == []  # bake's outputs, once layered, are gone: the tagged images stay

    done, again = fleet.build()  # nothing changed: no bake, no scan
    assert done.returncode == 0, done.stderr[-3000:]
    for name, record in again.items():
        assert record["result"] == "up_to_date" and record["up_to_date"] and record["sbom_reused"], record
        assert record["timing"] is None and record["image_id"] == first[name]["image_id"], record
        assert record["sbom"] == first[name]["sbom"] and _sbom_labels(fleet.image(name)) == made_on[name]
    assert "no bake" in done.stderr and "SBOM: read from" not in done.stderr

    one = imagespec("build", str(fleet.spec("other")), "--config", str(fleet.config), "--progress", "quiet",
                    "--format", "json")
    assert one.returncode == 0, one.stderr[-3000:]
    assert json.loads(one.stdout)["image_id"] == first["other"]["image_id"]  # built alone: the same image

    (fleet.root / "other" / "unused.txt").write_text("copied by nothing\n")  # bake reads it: bake runs
    done, third = fleet.build()
    assert done.returncode == 0, done.stderr[-3000:]
    assert not third["other"]["up_to_date"] and third["other"]["timing"]["bake_s"] > 0, third["other"]
    # an image built the same way: the tagged one is kept with its SBOM, and the new build
    # inputs are remembered for it (the old ones would send every later run to bake again)
    assert third["other"]["sbom_reused"] and third["other"]["image_id"] == first["other"]["image_id"]
    assert third["base"]["up_to_date"] and third["app"]["up_to_date"]
    assert _dangling(fleet) == []  # was: that bake output, left untagged beside the kept image

    fleet.write("base", token="changed")  # a new RUN: base's bake output changes, so does app's (FROM base)
    done, fourth = fleet.build()
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("base", "app"):
        assert not fourth[name]["sbom_reused"] and fourth[name]["image_id"] != first[name]["image_id"], fourth[name]
        labels = _sbom_labels(fleet.image(name))
        assert labels["io.imagespec.sbom.image"] != made_on[name]["io.imagespec.sbom.image"]
        assert labels[LABEL] == first[name]["sbom"] and fourth[name]["timing"]["sbom_s"] > 0
    assert fourth["other"]["up_to_date"] and fourth["other"]["image_id"] == third["other"]["image_id"]
    # a document made again, of the new image (not the old one read back)
    assert stored(fleet.image("app"))[1] != app_document


def _dangling(fleet) -> list[str]:  # type: ignore[no-untyped-def]
    """The fleet's images that no tag names (found by the title label their specs give them)."""
    found = []
    for name in fleet.parents:
        found += docker("images", "-q", "--filter", "dangling=true", "--filter",
                        f"label=org.opencontainers.image.title={fleet.prefix}/{name}").stdout.split()
    return found


def _sbom_labels(image: str) -> dict[str, str]:
    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout)
    return {key: value for key, value in labels.items() if key.startswith((LABEL, "io.imagespec.build."))}
