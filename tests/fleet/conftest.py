"""Fixtures for the fleet tests (imagespec.fleet): small fleets written into a temporary
git repository, the CLI in-process, and the real engine for the bake tests.

Everything a test creates on the engine is named ``isx14a-…`` and removed after it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import tools

REPO = Path(__file__).resolve().parents[2]
LOCAL_CATALOG = REPO / "bases" / "catalog.local.yaml"
#: The ``repo`` fixture's copy of LOCAL_CATALOG, at its root (git ignores it): a found
#: ``.imagespec.yaml`` names catalogs in its own repository only (spec.config)
CATALOG = "catalog.local.yaml"
GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("IMAGESPEC_UPDATE_GOLDEN") == "1"

# a company base spec and an app FROM its image (the catalog's local debian-slim below)
BASE_SPEC = """\
name: isx14a-fleet-base
version: 1.0.0
license: MIT
final:
  from: debian-slim
  copy: [{src: motd.txt, dest: /motd.txt}]
  entrypoint: [/bin/cat, /motd.txt]
"""
APP_SPEC = """\
name: isx14a-fleet-hello
version: 0.1.0
license: MIT
final:
  from: {image: "isx14a-fleet-base:1.0.0", family: debian, user: 65532}
  copy: [{src: hello.txt, dest: /hello.txt}]
  entrypoint: [/bin/cat, /motd.txt, /hello.txt]
"""


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=root,
                          capture_output=True, text=True, check=True)
    return done.stdout


Write = Callable[..., Path]


@pytest.fixture(autouse=True)
def _no_outside_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMAGESPEC_CONFIG", raising=False)
    monkeypatch.delenv("IMAGESPEC_CA_BUNDLE", raising=False)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository, the working directory of the test (specs found relative to it)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    if LOCAL_CATALOG.is_file():
        (root / CATALOG).write_bytes(LOCAL_CATALOG.read_bytes())
        with (root / ".git" / "info" / "exclude").open("a", encoding="utf-8") as exclude:
            exclude.write(f"/{CATALOG}\n")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def write(repo: Path) -> Write:
    """write("a/imagespec.yaml", text, **more files) -> the path, folders made."""
    def put(relative: str, text: str) -> Path:
        path = repo / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return put


@pytest.fixture
def company(repo: Path, write: Write) -> Path:
    """A two-spec fleet: base/ (a company base spec on the local debian-slim) and
    apps/hello/ FROM its image, with the local catalog configured."""
    write(".imagespec.yaml", f"catalog: {CATALOG}\nbuild:\n  network: host\n")
    write("base/imagespec.yaml", BASE_SPEC)
    write("base/motd.txt", "company base\n")
    write("apps/hello/imagespec.yaml", APP_SPEC)
    write("apps/hello/hello.txt", "hello\n")
    return repo


@pytest.fixture(scope="session")
def engine() -> None:
    done = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        tools.unavailable("no Docker Engine answers; run scripts/setup-engine.sh")


@pytest.fixture
def remove_images() -> Iterator[list[str]]:
    """Image references to remove after the test (only this test's isx14a-… ones)."""
    made: list[str] = []
    yield made
    mine = [ref for ref in made if ref.startswith("isx14a-")]
    if mine:
        subprocess.run(["docker", "rmi", "-f", *mine], capture_output=True, check=False)


@pytest.fixture(scope="session")
def other_engine(engine) -> Iterator[object]:
    """A second dockerd reached through its own docker context (tests/fleet/other_engine.py),
    for the whole session; stopped by its PID and its folder and context removed after."""
    from tests.fleet import other_engine as other
    from tests.fleet.support import PREFIX

    if not other.DOCKERD.is_file() or os.geteuid() != 0:
        tools.unavailable(f"a second engine needs {other.DOCKERD} and root (scripts/setup-engine.sh)")
    if (why := other.registry_up()) is not None:
        tools.unavailable(why)
    started = other.start(f"{PREFIX}-engine-{os.getpid()}")
    yield started
    other.stop(started)


@pytest.fixture(scope="session")
def registry_catalog(engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A catalog whose debian-slim is the local one pushed to the registry (under a
    repository of this session's own): what a builder without the local images pulls."""
    import uuid

    import yaml

    from tests.fleet import other_engine as other
    from tests.fleet.support import PREFIX

    if (why := other.registry_up()) is not None:
        tools.unavailable(why)
    local = yaml.safe_load(LOCAL_CATALOG.read_text())["images"]["debian-slim"]
    prefix = f"{PREFIX}-{uuid.uuid4().hex[:8]}-bases"
    reference, digest = other.push_base(local["image"], f"{prefix}/debian")
    catalog = tmp_path_factory.mktemp("registry-catalog") / "catalog.yaml"
    entry = {**local, "image": reference, "digest": digest,
             "description": "the local debian-slim, pushed to the registry for a builder that lacks it"}
    catalog.write_text(yaml.safe_dump({"images": {"debian-slim": entry}}, sort_keys=True))
    yield catalog
    other.delete_repositories(prefix)


@pytest.fixture(scope="session")
def remote_builder(other_engine) -> Iterator[str]:
    """A buildx builder of the `remote` driver, for the whole session: the second engine's
    BuildKit reached through tests/fleet/remote_builder.py's bridge. Its name; removed
    (`docker buildx rm`) and the bridge stopped after."""
    from tests.fleet import remote_builder as remote
    from tests.fleet.support import PREFIX

    name = f"{PREFIX}-remote-{os.getpid()}"
    bridge = remote.start(other_engine.root.joinpath("docker.sock").as_posix(), f"{PREFIX}-bridge")
    docker = ["docker", "buildx"]
    try:
        made = subprocess.run([*docker, "create", "--name", name, "--driver", "remote", bridge.endpoint],
                              capture_output=True, text=True, timeout=60, check=False)
        assert made.returncode == 0, made.stderr
        up = subprocess.run([*docker, "inspect", "--bootstrap", name], capture_output=True, text=True, timeout=60,
                            check=False)
        assert up.returncode == 0 and "Status:           running" in up.stdout, \
            f"{up.stdout}{up.stderr}\nbridge: {bridge.server.refused}"
        yield name
    finally:
        subprocess.run([*docker, "rm", name], capture_output=True, text=True, timeout=60, check=False)
        bridge.stop()
