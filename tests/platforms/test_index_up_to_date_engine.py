"""A two-platform image built again by CI, on the real engine and the local registry: a
runner starts empty, so the second run of an unchanged, locked spec has none of the
platform images the first one pushed. The registry's X.Y.Z index records this lock,
these inputs and this commit for each platform: nothing is built, the run says "up to
date" and exits 0, the index digest is the one pushed (BP14), and the spec's other tags
(the moving ones, the new commit's SHA) name that same index. Was: every platform was
built again, and the X.Y.Z index of these new images (other timestamps) was refused
(TagConflict), so every CI run after the first failed. And an older version built after
a newer one (BP14) gets its X.Y.Z, but `latest` and `X` stay on the newer index. Both for
one spec and for a fleet (`imagespec build DIR`)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import pytest

from tests.images.support import RUN_ID
from tests.platforms.conftest import base_image
from tests.platforms.support import PLATFORMS, REGISTRY, docker, imagespec, index_of, listed_platforms

pytestmark = pytest.mark.engine

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}


def _namespace(what: str) -> str:
    """A registry namespace of this test alone (its repositories are never shared)."""
    return f"{REGISTRY}/imagespec-mplat-{RUN_ID}-{what}-{secrets.token_hex(2)}"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, capture_output=True, text=True, check=True)
    return done.stdout.strip()


#: copied onto the two-platform busybox base (tests/platforms/bases/shell.yaml): each
#: platform's image differs, no step runs under QEMU, and its base is locked in the
#: registry (the toolchain images of go-arch and c-arch are this engine's alone, and a
#: catalog name of the base is pinned already: named by its tag, the lock pins it)
SPEC = """\
name: hello
version: {version}
license: MIT
registry: {namespace}
{tags}platforms: [linux/amd64, linux/arm64]
final:
  from: {{image: "{base}", family: distroless, shell: true, user: 65532}}
  copy: [{{src: hello.txt, dest: /hello.txt}}]
  entrypoint: [/bin/cat, /hello.txt]
"""


def _hello(folder: Path, namespace: str, version: str = "1.0.0", git_sha: bool = True) -> Path:
    """The spec of ``hello`` VERSION in ``namespace``, with its file, in ``folder``."""
    folder.mkdir(parents=True)
    (folder / "hello.txt").write_text("hello\n")
    spec = folder / "imagespec.yaml"
    spec.write_text(SPEC.format(version=version, namespace=namespace, base=base_image("shell", "busybox"),
                               tags="" if git_sha else "tags: {git_sha: false}\n"))
    return spec


def _committed(repo: Path, config: Path, *specs: Path) -> None:
    """Each spec locked (what lets a run find its image up to date), all committed."""
    for spec in specs:
        locked = imagespec("lock", str(spec), "--config", str(config))
        assert locked.returncode == 0, locked.stderr[-2000:]
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "apps"]):
        _git(repo, *command)


def _forget(session_cleanup, *references: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Each platform's local tag of each reference, removed at the end (and by the test)."""
    tags = [f"{reference}-{platform.replace('/', '-')}" for reference in references for platform in PLATFORMS]
    for tag in tags:
        session_cleanup.image(tag)
    return tags


def _empty_runner(tags: list[str]) -> None:
    """What a new CI runner has of them: nothing."""
    removed = docker("rmi", *tags)
    assert removed.returncode == 0, removed.stderr
    for tag in tags:
        assert docker("image", "inspect", tag).returncode != 0


def _digest(reference: str) -> str:
    shown = docker("buildx", "imagetools", "inspect", reference, "--format", "{{json .Manifest.Digest}}")
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip().strip('"')


def test_an_unchanged_two_platform_spec_is_up_to_date_on_an_empty_runner(
        config: Path, session_cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    namespace = _namespace("one")
    repo = tmp_path / "repo"
    spec = _hello(repo / "app", namespace)
    _committed(repo, config, spec)
    app = f"{namespace}/hello"
    tags = _forget(session_cleanup, f"{app}:1.0.0")
    argv = ("build", str(spec), "--config", str(config), "--push", "--format", "json", "--progress", "plain")
    first = imagespec(*argv, cwd=repo)
    assert first.returncode == 0, first.stderr[-4000:]
    pushed = _digest(f"{app}:1.0.0")
    assert listed_platforms(index_of(f"{app}:1.0.0")) == list(PLATFORMS)
    # a commit elsewhere in the repository: a new SHA tag, the same inputs and revision
    (repo / "README.md").write_text("apps\n")
    _git(repo, "add", "README.md")
    _git(repo, "commit", "-q", "-m", "readme")
    sha = _git(repo, "rev-parse", "--short=12", "HEAD")
    # as CI runs it (--verify: the checks need each platform's image here), on a runner
    # without the images; then on one that still has them, with the summary in words
    _empty_runner(tags)
    again = imagespec(*argv, "--verify", "--sbom", str(tmp_path / "hello.spdx.json"), cwd=repo)
    assert again.returncode == 0, again.stderr[-4000:]
    summary, verified = map(json.loads, again.stdout.splitlines())
    assert summary["up_to_date"] is True and summary["image_id"] == pushed, summary
    assert verified["ok"], verified
    for platform in PLATFORMS:  # --sbom FILE: the SBOM each image carries, one file per platform
        written = json.loads((tmp_path / f"hello.{platform.replace('/', '-')}.spdx.json").read_text())
        assert written["name"].startswith("hello"), written["name"]
    said = imagespec(*argv[:-4], "--progress", "plain", cwd=repo)
    assert said.returncode == 0, said.stderr[-4000:]
    assert f"up to date: {app}:1.0.0 is the registry's index {pushed[:19]} of linux/amd64, linux/arm64" in said.stderr
    for attempt in (again, said):
        assert "building linux/" not in attempt.stderr, attempt.stderr
    for tag in ("1.0.0", "1.0", "1", "latest", sha):  # the new commit's SHA too
        assert _digest(f"{app}:{tag}") == pushed, tag
    for platform, tag in zip(PLATFORMS, tags, strict=True):  # what `imagespec test` runs, here again
        shown = docker("image", "inspect", "-f", "{{.Architecture}}", tag)
        assert shown.stdout.strip() == platform.split("/")[1], shown.stderr
    forced = imagespec(*argv, "--force", cwd=repo)
    assert forced.returncode == 0, forced.stderr[-4000:]
    assert json.loads(forced.stdout)["up_to_date"] is False and "building linux/arm64" in forced.stderr


def test_an_older_version_leaves_the_moving_tags_of_a_two_platform_image_on_the_newer(
        config: Path, session_cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """1.1.0 pushed, then 1.0.0 (an older pipeline run again): 1.0.0 and 1.0 name the
    older index; `latest` and `1` stay on 1.1.0's, said as for one platform's push. Then
    1.0.1 as a fleet's target: the same. With --force (a rollback) they move back."""
    namespace = _namespace("older")
    app = f"{namespace}/hello"
    _forget(session_cleanup, *(f"{app}:{version}" for version in ("1.1.0", "1.0.0", "1.0.1")))
    for version, built in (("1.1.0", "SPEC"), ("1.0.0", "SPEC"), ("1.0.1", "DIR")):
        spec = _hello(tmp_path / version, namespace, version, git_sha=False)
        done = imagespec("build", str(spec if built == "SPEC" else spec.parent), "--config", str(config),
                         "--push", "--progress", "plain")
        assert done.returncode == 0, done.stderr[-4000:]
        if version == "1.1.0":
            continue
        for tag in ("latest", "1"):
            assert f"kept {tag} on 1.1.0: newer than {version}" in done.stderr, (built, done.stderr)
        newer, older = _digest(f"{app}:1.1.0"), _digest(f"{app}:{version}")
        assert newer != older
        assert [_digest(f"{app}:{tag}") for tag in ("latest", "1", "1.1", "1.0")] == [newer, newer, newer, older]
        if built == "SPEC":  # the tags that name what it made
            assert done.stdout.split() == [f"{app}:{version}", f"{app}:1.0"]
    # a rollback: --force moves them back too, as for one platform's push
    rolled = imagespec("build", str(tmp_path / "1.0.0" / "imagespec.yaml"), "--config", str(config), "--push",
                       "--force", "--progress", "plain")
    assert rolled.returncode == 0 and "kept" not in rolled.stderr, rolled.stderr[-4000:]
    assert {_digest(f"{app}:{tag}") for tag in ("1.0.0", "latest", "1", "1.0")} == {_digest(f"{app}:1.0.0")}


def test_a_fleet_finds_its_unchanged_two_platform_target_up_to_date_on_an_empty_runner(
        config: Path, session_cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`imagespec build DIR --push`, as CI builds a repository of specs: the same answer."""
    namespace = _namespace("fleet")
    repo = tmp_path / "repo"
    _committed(repo, config, _hello(repo / "hello", namespace))
    app = f"{namespace}/hello"
    tags = _forget(session_cleanup, f"{app}:1.0.0")
    argv = ("build", str(repo), "--config", str(config), "--push", "--format", "json", "--progress", "plain")
    first = imagespec(*argv, cwd=repo)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-4000:]
    assert "[hello--linux-arm64]" in first.stderr  # a platform's run target's progress
    pushed = _digest(f"{app}:1.0.0")
    _empty_runner(tags)
    again = imagespec(*argv, cwd=repo)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-4000:]
    (record,) = json.loads(again.stdout)["targets"]
    assert record["result"] == "up_to_date" and record["image_id"] == pushed, record
    assert record["platforms"] == list(PLATFORMS) and record["sbom"] == "/usr/share/imagespec/sbom/hello.spdx.json"
    assert "--linux-" not in again.stderr, again.stderr  # none was baked
    for tag in ("1.0.0", "1.0", "1", "latest", _git(repo, "rev-parse", "--short=12", "HEAD")):
        assert _digest(f"{app}:{tag}") == pushed, tag
    for tag in tags:
        assert docker("image", "inspect", tag).returncode == 0, tag
