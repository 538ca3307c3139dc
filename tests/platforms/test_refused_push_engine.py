"""A push the registry refuses moves no local tag (BP14: a tag names what it named until a
push succeeds). A two-platform spec is built and pushed as 1.0.0; then a file it copies
changes (a commit: another image, by content and by revision label) and the same
command runs again: exit 1, "refusing to move an immutable version tag", and every local
tag, the version tags and each ``TAG-os-arch``, names the image it named before (the
new images are left untagged), and the registry holds what it held. Once for one spec
(pipeline.build_platforms) and once for a fleet (fleet.run's index step) whose other
target is of one platform. The images are scratch with one text file: no base to build,
no RUN, so neither platform needs QEMU and each build takes about a second."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.images.support import RUN_ID
from tests.platforms.support import (INDEX_TYPES, MANIFEST_TYPES, NAMESPACE, PLATFORMS, REGISTRY, REPO, docker,
                                     imagespec, registry_answers)

pytestmark = pytest.mark.engine

CONFIG = REPO / "scripts" / "local-config.yaml"
SPEC = """\
name: {name}
version: 1.0.0
license: MIT
registry: {namespace}
tags: {{git_sha: false}}
{platforms}final:
  from: scratch
  user: {{uid: 0, name: root, root_reason: "a file to push, never run"}}
  copy: [{{src: hello.txt, dest: /hello.txt}}]
  entrypoint: [/hello.txt]  # never run; a program no copy provides would be refused (plan.final_contents)
"""
TWO = f"platforms: [{', '.join(PLATFORMS)}]\n"
VERSION_TAGS = ("1.0.0", "1.0", "1", "latest")


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=root,
                   capture_output=True, text=True, check=True)


def _app(root: Path, name: str, platforms: str) -> Path:
    """``root/name``: the spec and the file its image holds (committed by the caller)."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "imagespec.yaml").write_text(SPEC.format(name=name, namespace=NAMESPACE, platforms=platforms))
    (folder / "hello.txt").write_text("hello\n")
    return folder


def _local_tags(name: str, *, several: bool) -> list[str]:
    """Every tag the spec NAME's builds may give an image here: its version tags, and each
    platform's ``TAG-os-arch`` when it has several."""
    tags = [f"{NAMESPACE}/{name}:{tag}" for tag in VERSION_TAGS]
    return tags + [f"{NAMESPACE}/{name}:1.0.0-{p.replace('/', '-')}" for p in PLATFORMS if several]


def _ids(references: list[str]) -> dict[str, str | None]:
    """The image ID each reference names on the engine (None: none)."""
    found = {}
    for reference in references:
        done = docker("image", "inspect", "-f", "{{.Id}}", reference)
        found[reference] = done.stdout.strip() if done.returncode == 0 else None
    return found


def _in_registry(references: list[str]) -> dict[str, str | None]:
    """The digest each reference has in the registry (None: none there)."""
    found: dict[str, str | None] = {}
    for reference in references:
        name, tag = reference.removeprefix(f"{REGISTRY}/").rsplit(":", 1)
        request = urllib.request.Request(f"http://{REGISTRY}/v2/{name}/manifests/{tag}", method="HEAD",
                                         headers={"Accept": ", ".join((*INDEX_TYPES, *MANIFEST_TYPES))})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                found[reference] = response.headers["Docker-Content-Digest"]
        except urllib.error.HTTPError as error:
            assert error.code == 404, error
            found[reference] = None
    return found


def _forget(cleanup, *names: str) -> None:  # type: ignore[no-untyped-def]
    """Every image the specs NAMES made here, tagged or not (found by their title label)."""
    for name in names:
        listed = docker("image", "ls", "-q", "--no-trunc", "--filter",
                        f"label=org.opencontainers.image.title={name}")
        for image_id in dict.fromkeys(listed.stdout.split()):
            cleanup.image_id(image_id)


def _refused_again(command: tuple[str, ...], root: Path, changed: list[Path], tags: list[str], cleanup,  # type: ignore[no-untyped-def]
                   names: tuple[str, ...]) -> None:
    """Run ``command`` (which pushed 1.0.0 just before) again after ``changed``'s files
    changed: refused, and no local tag nor registry tag moved."""
    for folder in changed:
        (folder / "hello.txt").write_text("hello again\n")
    _git(root, "commit", "-qam", "another image under the same version")
    before, pushed = _ids(tags), _in_registry(tags)
    assert all(before[t] for t in tags if "-linux-" in t), before  # the first run tagged each platform
    done = imagespec(*command, cwd=root)
    _forget(cleanup, *names)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "refusing to move an immutable version tag (BP14)" in done.stdout + done.stderr, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert _ids(tags) == before
    assert _in_registry(tags) == pushed


def test_a_refused_push_of_a_two_platform_spec_moves_no_local_tag(tmp_path: Path, cleanup) -> None:  # type: ignore[no-untyped-def]
    registry_answers()
    name = f"refusedpush-{RUN_ID}"
    root = tmp_path / "repo"
    folder = _app(root, name, TWO)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "1.0.0")
    command = ("build", str(folder / "imagespec.yaml"), "--push", "--config", str(CONFIG), "--progress", "plain")
    first = imagespec(*command, cwd=root)
    _forget(cleanup, name)
    assert first.returncode == 0, first.stderr[-3000:]
    # a user pulled the release: its version tag names this machine's platform's image
    assert docker("pull", "-q", f"{NAMESPACE}/{name}:1.0.0").returncode == 0
    _refused_again(command, root, [folder], _local_tags(name, several=True), cleanup, (name,))


def test_a_refused_push_in_a_fleet_moves_no_local_tag(tmp_path: Path, cleanup) -> None:  # type: ignore[no-untyped-def]
    """A target of two platforms and one of this machine's: each refused, each one's tags
    where they were (the one-platform target's were already put back: fleet.run._push)."""
    registry_answers()
    names = (f"refusedfleet-two-{RUN_ID}", f"refusedfleet-one-{RUN_ID}")
    root = tmp_path / "repo"
    folders = [_app(root, names[0], TWO), _app(root, names[1], "")]
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "1.0.0")
    command = ("build", *map(str, folders), "--push", "--config", str(CONFIG), "--progress", "plain")
    first = imagespec(*command, cwd=root)
    _forget(cleanup, *names)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    tags = _local_tags(names[0], several=True) + _local_tags(names[1], several=False)
    _refused_again(command, root, folders, tags, cleanup, names)
