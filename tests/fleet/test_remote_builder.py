"""The fleet on a builder of buildx's `remote` driver (docs/fleet.md, "A remote BuildKit"):
the second engine's BuildKit reached through tests/fleet/remote_builder.py's bridge, so
what the remote driver changes changes for real: no image store behind the builder (each
image reaches the local engine only through `--load`, the docker exporter's tar), the
`target:` contexts are kept (a child gets its parent from the builder's cache in its own
invocation), `network.host` is an entitlement asked for, secrets come from the client. The
builder lacks the local bases: they come from the registry (the `registry_catalog`).

What these tests create: images on the local engine named with their own prefix (removed
after), the builder's cache on the second engine (gone with it), and a cache repository
in the registry (deleted after).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fleet import other_engine as other
from tests.fleet.other_engine import REGISTRY
from tests.fleet.support import PREFIX, docker, imagespec, seen_fleet

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "fleet.md"
TOKEN = "s3cret-token\n"  # its length, not its text, is what the image records
#: bake alone on a remote builder, as docs/fleet.md gives it (checked against the page below)
RECIPE = ("--load", "--allow network.host", f"--allow fs.read={CA_BUNDLE}")

BROKEN = """\
name: {prefix}/broken
version: 0.1.0
license: MIT
tags: {{git_sha: false}}
stages:
  make:
    from: debian-slim
    run: exit 7
    artifacts: [/out]
final:
  from: {{image: "{prefix}/base:1.0.0", family: debian, user: 65532}}
  copy: [{{from: make, src: /out, dest: /out}}]
  entrypoint: [/bin/ls, /out]
"""
LEAF = """\
name: {prefix}/leaf
version: 0.1.0
license: MIT
tags: {{git_sha: false}}
final:
  from: {{image: "{prefix}/broken:0.1.0", family: debian, user: 65532}}
  copy: [{{src: leaf.txt, dest: /leaf.txt}}]
  entrypoint: [/bin/cat, /leaf.txt]
"""
OUTPUT = f"company base\nhello\n{len(TOKEN)}\nca\n"


@pytest.fixture
def prefix() -> Iterator[str]:
    """This test's image names (`prefix/…`): removed from the local engine after it, with
    the registry's `prefix/…` repositories (the cache)."""
    name = f"{PREFIX}-{uuid.uuid4().hex[:8]}"
    yield name
    listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", f"reference={name}/*",
                    check=False).stdout.split()
    if listed:
        docker("rmi", "--force", *listed, check=False)
    other.delete_repositories(name)


def _company(root: Path, prefix: str, catalog: Path, *, broken: bool) -> Path:
    """A company base (reading the CA and a declared secret), an app on it and, with
    ``broken``, a target that fails and one built on that."""
    # the catalog copied in: a found configuration names catalogs in its own repository only
    files = {".imagespec.yaml": "catalog: catalog.yaml\nbuild:\n  network: host\n",
             "catalog.yaml": catalog.read_text(), **seen_fleet(prefix), "token": TOKEN}
    if broken:
        files |= {"apps/broken/imagespec.yaml": BROKEN.format(prefix=prefix),
                  "apps/leaf/imagespec.yaml": LEAF.format(prefix=prefix), "apps/leaf/leaf.txt": "leaf\n"}
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def _layers(image: str) -> list[str]:
    return json.loads(docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", image).stdout)


def _run(image: str, *command: str) -> str:
    """Run ``image`` on the local engine, offline; ``command`` replaces its entrypoint."""
    entrypoint = ["--entrypoint", command[0]] if command else []
    return docker("run", "--rm", "--network", "none", *entrypoint, image, *command[1:]).stdout


def test_the_bridge_gives_buildx_a_remote_builder(remote_builder: str) -> None:
    """What the tests below rely on: buildx and imagespec see a `remote` driver, whose
    images are in no engine's store."""
    from imagespec.fleet.builder import find_builder

    found = find_builder(remote_builder)
    assert (found.name, found.driver, found.local_store, found.other_engine) == (remote_builder, "remote", False,
                                                                                 False)
    assert found.endpoint.startswith("unix:///tmp/") and found.endpoint.endswith("/buildkitd.sock")


def test_imagespec_build_on_a_remote_builder(remote_builder: str, registry_catalog: Path, prefix: str,
                                             tmp_path: Path) -> None:
    root = _company(tmp_path / "company", prefix, registry_catalog, broken=True)
    done = imagespec("build", ".", "--builder", remote_builder, "--ca-bundle", str(CA_BUNDLE), "--secret",
                     f"id=token,src={root / 'token'}", "--format", "json", "--progress", "plain", cwd=root)
    assert done.returncode == 1, done.stderr[-4000:]
    summary = json.loads(done.stdout)
    records = {r["target"]: r for r in summary["targets"]}
    assert summary["builder"] == remote_builder
    assert {name: r["result"] for name, r in records.items()} == {
        "base": "built", "apps-hello": "built", "apps-broken": "failed", "apps-leaf": "skipped"}

    # each built image loaded into the local engine (--load: the docker exporter), tagged
    # there, its SBOM made from it (BP16), and it runs: the app on the base of this run, the
    # secret's bytes and the CA handed over by the client to the download step
    for name, image in (("base", f"{prefix}/base:1.0.0"), ("apps-hello", f"{prefix}/hello:0.1.0")):
        assert image in records[name]["tags"] and records[name]["sbom"], records[name]
        assert docker("image", "inspect", "--format", "{{.Id}}", image).stdout.strip() == records[name]["image_id"]
    assert _run(f"{prefix}/hello:0.1.0") == OUTPUT
    assert _run(f"{prefix}/hello:0.1.0", "/usr/bin/id", "-u").strip() == "65532"
    # the app got its parent through the kept `target:` context, solved again in its own
    # invocation from the builder's cache: the base as bake made it, which is its tagged image
    # less the SBOM layer imagespec added after (the app's own SBOM covers those files). (Which
    # invocation's progress names a shared step is BuildKit's choice: not asserted.)
    base, app = _layers(f"{prefix}/base:1.0.0"), _layers(f"{prefix}/hello:0.1.0")
    assert app[:len(base) - 1] == base[:-1] and base[-1] not in app

    # the failing target: exit 1 naming it at its spec's line, nothing tagged for it or downstream
    failure = records["apps-broken"]["failure"]
    assert failure["location"].startswith("apps/broken/imagespec.yaml:") and "exit code: 7" in failure["message"]
    assert "target apps-broken failed" in done.stderr and "Traceback" not in done.stderr
    assert records["apps-leaf"]["upstream"] == "apps-broken"
    for image in (f"{prefix}/broken:0.1.0", f"{prefix}/leaf:0.1.0"):
        assert docker("image", "inspect", image, check=False).returncode != 0, image

    # fixed: --rerun-failed builds it and what it skipped; their parent (built last time,
    # not chosen now) is solved in their invocations from this run's definition of it
    spec = root / "apps/broken/imagespec.yaml"
    spec.write_text(spec.read_text().replace("run: exit 7", "run: mkdir -p /out && echo fixed > /out/fixed"))
    again = imagespec("build", ".", "--builder", remote_builder, "--ca-bundle", str(CA_BUNDLE), "--secret",
                      f"id=token,src={root / 'token'}", "--rerun-failed", "--format", "json", "--progress", "plain",
                      cwd=root)
    assert again.returncode == 0, again.stderr[-4000:]
    rerun = {r["target"]: r["result"] for r in json.loads(again.stdout)["targets"]}
    assert rerun == {"apps-broken": "built", "apps-leaf": "built"}
    assert _run(f"{prefix}/leaf:0.1.0") == "leaf\n" and _run(f"{prefix}/leaf:0.1.0", "/bin/ls", "/out") == "fixed\n"


def test_the_committed_bake_file_builds_on_a_remote_builder(remote_builder: str, registry_catalog: Path,
                                                              prefix: str, tmp_path: Path) -> None:
    root = _company(tmp_path / "company", prefix, registry_catalog, broken=False)
    for command in (("generate", "."), ("bake", ".", "-o", "docker-bake.json")):
        made = imagespec(*command, cwd=root)
        assert made.returncode == 0, made.stderr
    cache = f"{REGISTRY}/{prefix}/cache:apps-hello"
    env = {**os.environ, "IMAGESPEC_CA_BUNDLE": str(CA_BUNDLE), "IMAGESPEC_SECRET_TOKEN": str(root / "token")}
    recipe = [word for flag in RECIPE for word in flag.split()]
    done = subprocess.run(["docker", "buildx", "bake", "-f", "docker-bake.json", "--builder", remote_builder,
                           *recipe, "--progress", "plain",
                           "--set", f"apps-hello.cache-to=type=registry,ref={cache},mode=max"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    # both targets loaded under the committed tags; the app on the base of this invocation
    assert docker("image", "inspect", f"{prefix}/base:1.0.0", check=False).returncode == 0
    assert _run(f"{prefix}/hello:latest") == OUTPUT
    assert other.tags(f"{prefix}/cache") == ["apps-hello"]  # the cache exported to the registry


def test_the_docs_recipe_is_the_one_these_tests_run() -> None:
    """docs/fleet.md's bake command for a remote BuildKit has the flags the test above runs with."""
    section = DOCS.read_text().split("## A remote BuildKit", 1)[1].split("\n## ", 1)[0]
    command = next(block for block in section.split("```sh")[1:] if "buildx bake" in block).split("```")[0]
    command = " ".join(command.replace("\\\n", " ").split())
    assert "docker buildx bake -f docker-bake.json --builder company" in command
    for flag in RECIPE:
        assert flag in command, flag
