"""The same fleet on a builder that is not the local engine (docs/fleet.md, "Another
Docker Engine"): a second dockerd reached through its own docker context
(tests/fleet/other_engine.py), whose image store lacks the local bases. What changes
there changes for real: the bases come from the registry, results are pushed, the cache
goes through the registry, secrets still come from the client. Each pushed image is then
pulled by the machine's own engine and run there (`--network none`).

What these tests create: images on the second engine (gone with it), repositories under
a prefix of their own in the registry (deleted after), pulled images on the main engine
(removed after).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.fleet import other_engine as other
from tests.fleet.other_engine import REGISTRY, OtherEngine
from tests.fleet.support import PREFIX, Fleet, docker, imagespec, make_fleet, seen_fleet

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "fleet.md"
#: bake alone on another engine, as docs/fleet.md gives it (checked against the page below)
RECIPE = ("--push", "--allow network.host", f"--allow fs.read={CA_BUNDLE}")
TOKEN = "s3cret-token\n"  # its length, not its text, is what the image records


@pytest.fixture
def prefix() -> Iterator[str]:
    """This test's repositories (`REGISTRY/prefix/…`): deleted from the registry and their
    pulled images removed from the main engine after it."""
    name = f"{PREFIX}-{uuid.uuid4().hex[:8]}"
    yield name
    listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", f"reference={REGISTRY}/{name}/*",
                    check=False).stdout.split()
    if listed:
        docker("rmi", "--force", *listed, check=False)
    other.delete_repositories(name)


def _config(folder: Path, catalog: Path, *extra: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".imagespec.yaml"
    # the catalog copied in: a found configuration names catalogs in its own repository only
    (folder / "catalog.yaml").write_text(catalog.read_text())
    lines = ["catalog: catalog.yaml", "build:", "  network: host"]
    if extra:
        lines.append(f"  extra_args: {json.dumps(list(extra))}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _run_on_main_engine(image: str, *args: str) -> str:
    """Pull ``image`` from the registry into the main engine and run it there."""
    docker("pull", "--quiet", image)
    return docker("run", "--rm", "--network", "none", *args, image).stdout


def test_the_docs_recipe_is_the_one_these_tests_run() -> None:
    """docs/fleet.md's bake command for another engine has the flags `_bake` runs with."""
    section = DOCS.read_text().split("## Another Docker Engine", 1)[1].split("\n## ", 1)[0]
    command = next(block for block in section.split("```sh")[1:] if "buildx bake" in block).split("```")[0]
    command = " ".join(command.replace("\\\n", " ").split())
    assert "docker --context build-host buildx bake -f docker-bake.json" in command
    for flag in (*RECIPE, "--set base.cache-to=type=registry,ref=", ",mode=max", "--set base.cache-from=type=registry"):
        assert flag in command, flag
    assert "imagespec build fleet/ --builder build-host --push" in section


def test_the_other_engine_is_another_image_store(other_engine: OtherEngine, registry_catalog: Path) -> None:
    """What the tests below rely on: the local bases are not there, the registry's are."""
    assert other_engine.docker("image", "inspect", "imagespec-test/debian:bookworm-slim", check=False).returncode != 0
    listed = docker("buildx", "inspect", other_engine.context).stdout
    assert "Driver: docker" in listed and f"Endpoint:         {other_engine.context}" in listed
    base = yaml.safe_load(registry_catalog.read_text())["images"]["debian-slim"]["image"]
    assert other_engine.docker("pull", "--quiet", base).returncode == 0




def _company(root: Path, prefix: str, catalog: Path) -> Path:
    """A company base spec (on the registry's debian-slim) and an app on its image."""
    _config(root, catalog)
    files = {**seen_fleet(prefix, REGISTRY), "token": TOKEN}
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def _bake(engine: OtherEngine, root: Path, prefix: str, *targets: str) -> subprocess.CompletedProcess[str]:
    """docs/fleet.md's recipe for bake alone on another engine: in its context, pushed,
    each target's cache to and from its own tag of one cache repository. ``targets``
    narrows it (bake's own target arguments); none is the default group."""
    cache = f"{REGISTRY}/{prefix}/cache"
    sets = [f for target in ("base", "apps-hello") for f in (
        "--set", f"{target}.cache-to=type=registry,ref={cache}:{target},mode=max",
        "--set", f"{target}.cache-from=type=registry,ref={cache}:{target}")]
    env = {**os.environ, "IMAGESPEC_CA_BUNDLE": str(CA_BUNDLE), "IMAGESPEC_SECRET_TOKEN": str(root / "token")}
    recipe = [word for flag in RECIPE for word in flag.split()]
    return subprocess.run(["docker", "--context", engine.context, "buildx", "bake", "-f", "docker-bake.json",
                           *recipe, "--progress", "plain", *sets, *targets],
                          cwd=root, env=env, capture_output=True, text=True, timeout=1800, check=False)


def test_the_committed_bake_file_builds_on_another_engine_and_runs_here(
        other_engine: OtherEngine, registry_catalog: Path, prefix: str, tmp_path: Path) -> None:
    root = _company(tmp_path / "company", prefix, registry_catalog)
    # the committed files: each spec's Dockerfile, and the graph
    for command in (("generate", "."), ("bake", ".", "-o", "docker-bake.json")):
        made = imagespec(*command, cwd=root)
        assert made.returncode == 0, made.stderr
    definition = json.loads((root / "docker-bake.json").read_text())
    assert definition["target"]["apps-hello"]["contexts"] == {f"{REGISTRY}/{prefix}/base:1.0.0": "target:base"}

    done = _bake(other_engine, root, prefix)
    assert done.returncode == 0, done.stderr[-4000:]
    app = f"{REGISTRY}/{prefix}/hello:0.1.0"
    # the app on the base built in the same invocation, the secret's 13 bytes and the CA
    # handed over by the client, never stored in a layer
    assert _run_on_main_engine(app) == f"company base\nhello\n{len(TOKEN)}\nca\n"
    assert _run_on_main_engine(app, "--entrypoint", "/usr/bin/id").startswith("uid=65532")
    assert other.tags(f"{prefix}/base") == ["1", "1.0", "1.0.0", "latest"]
    assert other.tags(f"{prefix}/cache") == ["apps-hello", "base"]

    # the builder's own cache gone (an ephemeral builder): the registry's cache serves the
    # steps. One target, so one build and one import: where two builds share a step,
    # BuildKit answers it from either one's import, and which steps hit varies run to run
    # (a CI run once saw the step below run again, while the app's COPY hit).
    other_engine.docker("builder", "prune", "--all", "--force")
    again = _bake(other_engine, root, prefix, "base")
    assert again.returncode == 0, again.stderr[-4000:]
    assert f"importing cache manifest from {REGISTRY}/{prefix}/cache:base" in again.stderr
    # the step that reads the secrets, answered from the registry without running
    seen_step = next(line.split()[0] for line in again.stderr.splitlines()
                     if "seen 4/4] RUN " in line and "--mount=type=secret" in line)
    assert f"{seen_step} CACHED" in again.stderr, again.stderr[-4000:]


def _fleet_on(engine_config: Path, root: Path) -> Fleet:
    return make_fleet(root, {"base": None, "app": "base"}, registry=REGISTRY, config=engine_config)


def test_imagespec_build_on_another_engine_needs_push_and_builds_nothing_without(
        other_engine: OtherEngine, registry_catalog: Path, tmp_path: Path) -> None:
    fleet = _fleet_on(_config(tmp_path / "config", registry_catalog), tmp_path / "fleet")
    done = imagespec("build", str(fleet.root), "--config", str(fleet.config), "--builder", other_engine.context)
    assert done.returncode == 2, done.stderr
    assert f"builder '{other_engine.context}' is another Docker Engine ({other_engine.host})" in done.stderr
    assert "pass --push" in done.stderr and "Traceback" not in done.stderr
    listed = other_engine.docker("images", "--format", "{{.Repository}}", "--filter",
                                 f"reference={REGISTRY}/{fleet.prefix}/*").stdout
    assert listed.strip() == ""


def test_imagespec_build_drives_the_fleet_on_another_engine_and_pushes(
        other_engine: OtherEngine, registry_catalog: Path, tmp_path: Path) -> None:
    fleet = _fleet_on(_config(tmp_path / "config", registry_catalog), tmp_path / "fleet")
    try:
        done, records = fleet.build("--builder", other_engine.context, "--push", "--ca-bundle", str(CA_BUNDLE))
        assert done.returncode == 0, done.stderr[-4000:]
        assert {name: r["result"] for name, r in records.items()} == {"base": "built", "app": "built"}
        assert records["app"]["pushed"] == [fleet.image("app")] and records["app"]["size"] > 0
        # no SBOM there (the scan reads images through the local engine), and it says so, not faked
        assert records["base"]["sbom"] is None and records["app"]["sbom"] is None
        assert "no SBOM: the image is on" in done.stderr
        # tagged on the builder's engine, not here: the main engine has the image only once pulled
        assert not fleet.tagged("app")
        assert other_engine.docker("image", "inspect", fleet.image("app"), check=False).returncode == 0
        # pulled and run here: the app's own file, and the base's from this very run (its token)
        token = fleet.spec("base").read_text().split("echo base ")[1].split(" ")[0]
        assert _run_on_main_engine(fleet.image("app")) == f"app {token}\n"
        assert docker("run", "--rm", "--network", "none", "--entrypoint", "/bin/cat", fleet.image("app"),
                      "/fleet/base/base").stdout == f"base {token}\n"
        assert docker("run", "--rm", "--network", "none", "--entrypoint", "/usr/bin/id", fleet.image("app"),
                      "-u").stdout.strip() == "65532"

        # built again: every step cached, but a new `created` label makes a new image, and its
        # X.Y.Z tag is not moved (BP14), checked on the builder's engine as on the local one
        pushed = other.digest(f"{fleet.prefix}/base", "1.0.0-fleet")
        again, records = fleet.build("--builder", other_engine.context, "--push")
        assert again.returncode == 1, again.stderr[-4000:]
        assert records["base"]["result"] == "failed" and records["app"]["result"] == "skipped"
        assert records["base"]["cached_steps"] > 0
        assert "refusing to move an immutable version tag (BP14)" in records["base"]["failure"]["message"]
        assert other.digest(f"{fleet.prefix}/base", "1.0.0-fleet") == pushed
    finally:
        other.delete_repositories(fleet.prefix)
        listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                        f"reference={REGISTRY}/{fleet.prefix}/*", check=False).stdout.split()
        if listed:
            docker("rmi", "--force", *listed, check=False)


def test_a_context_that_reaches_the_local_engine_counts_as_it(engine, tmp_path: Path) -> None:
    """buildx refuses `--builder` for any context but the current one, even on the same
    engine: bake runs in that context, and the images are tagged here (no --push needed)."""
    name = f"{PREFIX}-same-{uuid.uuid4().hex[:8]}"
    current = docker("context", "show").stdout.strip()
    host = docker("context", "inspect", "--format", "{{.Endpoints.docker.Host}}", current).stdout.strip()
    docker("context", "create", name, "--docker", f"host={host}")
    fleet = make_fleet(tmp_path / "same", {"base": None, "app": "base"})
    try:
        done, records = fleet.build("--builder", name)
        assert done.returncode == 0, done.stderr[-4000:]
        assert {r["result"] for r in records.values()} == {"built"}
        assert fleet.tagged("base") and fleet.tagged("app")
        assert all(r["sbom"] for r in records.values())  # the local engine: each image stores its SBOM
        assert docker("run", "--rm", "--network", "none", fleet.image("app")).stdout.startswith("app ")
    finally:
        docker("context", "rm", "--force", name, check=False)
        listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", f"reference={fleet.prefix}/*",
                        check=False).stdout.split()
        if listed:
            docker("rmi", "--force", *listed, check=False)
