"""The rust preset fetches a crate's dependencies before the source (BP4) and then
builds offline: a crate whose dependencies are not in the image must still build.

crates.io cannot be reached from the machines this project is tested on, so the
downloaded dependency is a git one, served by `git daemon` on 127.0.0.1 (builds run
with the host network); cargo fetches git and registry sources in the same step. The
crate also has a path dependency, whose manifest the spec adds to the preset's
`dependencies.copy` (cargo reads it to resolve the lock). Without the fetch step the
offline build fails: "can't checkout from 'git://…': you are in the offline mode"."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import docker

SPEC = """\
extends: rust
with: {binary: fetcher}
name: dvc-it-rust-fetch
version: 0.0.1
tags: {git_sha: false, semver: false, extra: [test]}
stages:
  build:
    dependencies:
      copy+: [words/Cargo.toml]
"""
MANIFEST = """\
[package]
name = "fetcher"
version = "0.1.0"
edition = "2021"

[dependencies]
words = {{ path = "words" }}
remote = {{ git = "{url}" }}
"""
LOCK = """\
version = 3

[[package]]
name = "fetcher"
version = "0.1.0"
dependencies = [
 "remote",
 "words",
]

[[package]]
name = "remote"
version = "0.1.0"
source = "git+{url}#{commit}"

[[package]]
name = "words"
version = "0.1.0"
"""


def _crate(folder: Path, name: str, source: str) -> None:
    (folder / "src").mkdir(parents=True)
    (folder / "Cargo.toml").write_text(f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n')
    (folder / "src" / "lib.rs").write_text(source)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def git_server(tmp_path: Path):
    """A git repository of the crate `remote`, served read-only on 127.0.0.1; yields (url, commit)."""
    repos = tmp_path / "repos"
    _crate(repos / "remote", "remote", 'pub fn word() -> &\'static str { "fetched" }\n')
    git = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "remote"]):
        subprocess.run(["git", *args], cwd=repos / "remote", env=git, check=True, timeout=30)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repos / "remote", capture_output=True, text=True,
                            check=True, timeout=30).stdout.strip()
    port = _free_port()
    daemon = subprocess.Popen(["git", "daemon", "--listen=127.0.0.1", f"--port={port}", f"--base-path={repos}",
                               "--export-all", "--reuseaddr", str(repos)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"git://127.0.0.1:{port}/remote", commit
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


@pytest.mark.engine
def test_rust_preset_fetches_dependencies_then_builds_offline(built, git_server, tmp_path: Path) -> None:
    url, commit = git_server
    app = tmp_path / "app"
    _crate(app / "words", "words", 'pub fn greet() -> &\'static str { "hello" }\n')
    (app / "src").mkdir()
    (app / "src" / "main.rs").write_text('fn main() { println!("{} {}", words::greet(), remote::word()); }\n')
    (app / "Cargo.toml").write_text(MANIFEST.format(url=url))
    (app / "Cargo.lock").write_text(LOCK.format(url=url, commit=commit))
    (app / "imagespec.yaml").write_text(SPEC)

    summary = built(app / "imagespec.yaml")

    ran = docker("run", "--rm", "--pull", "never", "--network", "none", summary["tags"][0])
    assert ran.stdout.strip() == "hello fetched"
