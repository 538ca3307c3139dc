"""`build --push` under the policies `push_registries` and `clean_push`, against the local
registry (security QA). Was: any `-t` destination was pushed, and an image built from
uncommitted changes was pushed under its `-dirty` commit tag, tracing to no commit (BP14).
Each refusal is exit 2 before anything builds or is pushed: the registry keeps what it had."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest

from tests.lock.conftest import REGISTRY, registry  # noqa: F401 - the fixture: the local registry answers
from .conftest import ROOT, docker, imagespec, registry_tags

CATALOG = ROOT / "bases" / "catalog.local.yaml"


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=dvp@example.com", "-c", "user.name=dvp", *args], cwd=folder,
                          check=True, capture_output=True, text=True).stdout.strip()


def _config(folder: Path, policies: str) -> Path:
    """The local bases' catalog (as scripts/local-config.yaml names it) and ``policies``."""
    path = folder / "push-config.yaml"
    path.write_text(f"catalog: {CATALOG}\nbuild:\n  network: host\npolicies:\n{policies}")
    return path


def _push(spec: Path, config: Path, *extra: str) -> subprocess.CompletedProcess:
    return imagespec("build", "--config", str(config), "--push", "--progress", "plain", *extra, str(spec))


@pytest.mark.engine
def test_push_registries_and_clean_push_decide_what_is_pushed(engine, registry: str, tmp_path: Path) -> None:  # noqa: F811
    team = f"dvp-{secrets.token_hex(3)}"
    other = f"dvp-{secrets.token_hex(3)}-other"
    repo = tmp_path / "repo"
    repo.mkdir()
    spec = repo / "imagespec.yaml"
    spec.write_text(f"name: app\nversion: 1.0.0\nlicense: MIT\nregistry: {REGISTRY}/{team}\n"
                    "final:\n  from: static\n  cmd: [/nothing]\n")
    (repo / ".gitignore").write_text("push-config.yaml\n")
    strict = _config(repo, f"  push_registries: [{REGISTRY}/{team}]\n  clean_push: true\n")
    _git(repo, "init", "-q", ".")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "app")
    head = _git(repo, "rev-parse", "--short=12", "HEAD")
    try:
        done = _push(spec, strict)
        assert done.returncode == 0, done.stderr[-3000:]
        assert registry_tags(f"{team}/app") == sorted(["1", "1.0", "1.0.0", "latest", head])
        assert "warning: pushing from a checkout" not in done.stderr

        # a --tag outside the allowed registries: refused before anything builds or is pushed,
        # even though the image is built already (an up-to-date image is pushed, not built)
        done = _push(spec, strict, "-t", f"{REGISTRY}/{other}/app:1.0.0")
        assert done.returncode == 2, done.stderr[-3000:]
        assert f"--push --tag {REGISTRY}/{other}/app:1.0.0: not under a registry the image may be pushed to " \
               f"({REGISTRY}/{team}): policy `push_registries` set at {strict}:5:3" in done.stderr
        assert registry_tags(f"{other}/app") == []

        # uncommitted changes: refused under clean_push, the files named
        (repo / "notes.txt").write_text("not committed\n")
        done = _push(spec, strict)
        assert done.returncode == 2, done.stderr[-3000:]
        assert f"{spec}:1:1: --push: the checkout has uncommitted changes (notes.txt)" in done.stderr
        assert f"the commit it records ({head}-dirty, BP14)" in done.stderr and f"set at {strict}:6:3" in done.stderr
        assert "hint: commit first" in done.stderr
        assert registry_tags(f"{team}/app") == sorted(["1", "1.0", "1.0.0", "latest", head])

        # without clean_push the same push goes ahead, saying that it traces to no commit
        lenient = _config(repo, f"  push_registries: [{REGISTRY}/{team}]\n")
        done = _push(spec, lenient, "--force")
        assert done.returncode == 0, done.stderr[-3000:]
        assert "warning: pushing from a checkout with uncommitted changes (notes.txt): the image does not trace " \
               f"to a commit ({head}-dirty, BP14)" in done.stderr
        assert f"{head}-dirty" in registry_tags(f"{team}/app")
    finally:
        listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                        f"reference={REGISTRY}/{team}/*").stdout.split()
        if listed:
            docker("rmi", *listed, check=False)


@pytest.mark.engine
def test_a_fleet_push_from_a_dirty_checkout_is_refused_for_each_spec_under_clean_push(engine, registry: str,  # noqa: F811
                                                                                       tmp_path: Path) -> None:
    team = f"dvp-{secrets.token_hex(3)}"
    repo = tmp_path / "repo"
    for name in ("one", "two"):
        (repo / name).mkdir(parents=True)
        (repo / name / "imagespec.yaml").write_text(
            f"name: {name}\nversion: 1.0.0\nlicense: MIT\nregistry: {REGISTRY}/{team}\n"
            "final:\n  from: static\n  cmd: [/nothing]\n")
    (repo / ".gitignore").write_text("push-config.yaml\n")
    config = _config(repo, "  clean_push: true\n")
    _git(repo, "init", "-q", ".")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "apps")
    (repo / "one" / "imagespec.yaml").write_text((repo / "one" / "imagespec.yaml").read_text() + "# changed\n")
    done = imagespec("build", "--config", str(config), "--push", "--progress", "plain", str(repo))
    assert done.returncode == 2, done.stderr[-3000:]
    for name in ("one", "two"):  # the checkout is the same: every spec under the rule is refused
        assert f"{repo / name / 'imagespec.yaml'}:1:1: --push: the checkout has uncommitted changes " \
               "(one/imagespec.yaml)" in done.stderr
    assert registry_tags(f"{team}/one") == [] and registry_tags(f"{team}/two") == []


@pytest.mark.engine
def test_clean_push_refuses_a_git_ignored_file_the_build_context_would_send(engine, registry: str,  # noqa: F811
                                                                            tmp_path: Path) -> None:
    """Was: git lists no ignored file, so `conf/local.conf` (ignored, never committed) went
    into the image while the push counted the checkout clean and labelled the commit."""
    team = f"dvs2-{secrets.token_hex(3)}"
    repo = tmp_path / "repo"
    (repo / "conf").mkdir(parents=True)
    spec = repo / "imagespec.yaml"
    spec.write_text(f"name: app\nversion: 1.0.0\nlicense: MIT\nregistry: {REGISTRY}/{team}\n"
                    "final:\n  from: static\n  copy: [{src: conf/, dest: /conf}]\n  cmd: [/nothing]\n")
    (repo / "conf" / "app.conf").write_text("committed\n")
    (repo / ".gitignore").write_text("push-config.yaml\nlocal.conf\n")
    strict = _config(repo, "  clean_push: true\n")
    _git(repo, "init", "-q", ".")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "app")
    (repo / "conf" / "local.conf").write_text("never committed\n")
    try:
        done = _push(spec, strict)
        assert done.returncode == 2, done.stderr[-3000:]
        assert f"{spec}:1:1: --push: the build context sends files git does not track (conf/local.conf)" \
               in done.stderr
        assert registry_tags(f"{team}/app") == []

        lenient = _config(repo, "  non_root: true\n")
        done = _push(spec, lenient)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "warning: pushing from a checkout whose build context sends files git does not track " \
               "(conf/local.conf)" in done.stderr
        image = f"{REGISTRY}/{team}/app:1.0.0"
        head = _git(repo, "rev-parse", "--short=12", "HEAD")
        label = docker("image", "inspect", "--format", '{{index .Config.Labels "org.opencontainers.image.revision"}}',
                       image).stdout.strip()
        assert label == f"{head}-dirty"  # was: the clean commit, which does not hold local.conf
        assert docker("create", "--name", f"{team}-probe", image, "/nothing").returncode == 0
        try:  # the file git does not track is in the image: what the warning is about
            copied = docker("cp", f"{team}-probe:/conf/local.conf", str(tmp_path / "local.conf"), check=False)
            assert copied.returncode == 0, copied.stderr
        finally:
            docker("rm", "-v", f"{team}-probe", check=False)
    finally:
        listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                        f"reference={REGISTRY}/{team}/*").stdout.split()
        if listed:
            docker("rmi", *listed, check=False)
