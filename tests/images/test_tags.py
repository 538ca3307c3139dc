"""BP14 tag strategy and OCI labels: pure functions, no engine."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imagespec.publish.tags import (git_short_sha, is_immutable_tag, oci_labels, one_checkout, split_reference,
                                  tags_for, validate_repository, validate_tag)
from imagespec.contract import LABEL_OCI_LICENSES, LABEL_OCI_TITLE, LABEL_OCI_VERSION
from imagespec.errors import SpecError

REPO = "127.0.0.1:5000/team/app"


def tags(*args: object, **kwargs: object) -> list[str]:
    return [ref.rsplit(":", 1)[1] for ref in tags_for(REPO, *args, **kwargs)]  # type: ignore[arg-type]


def test_release_moves_minor_major_and_latest() -> None:
    assert tags("1.4.2", strategy="semver") == ["1.4.2", "1.4", "1", "latest"]


def test_release_without_latest_for_patches_on_old_lines() -> None:
    assert tags("1.3.9", strategy="semver", latest=False) == ["1.3.9", "1.3", "1"]


def test_prerelease_gets_only_its_own_tag() -> None:
    assert tags("1.5.0-rc.1", strategy="semver") == ["1.5.0-rc.1"]


def test_build_metadata_is_dropped_and_leading_v_too() -> None:
    assert tags("v2.0.1+build.7", strategy="semver") == ["2.0.1", "2.0", "2", "latest"]
    assert tags("1.5.0-beta.2+exp.sha.5114f85", strategy="semver") == ["1.5.0-beta.2"]


def test_both_adds_the_git_sha_and_extras_without_duplicates() -> None:
    refs = tags_for(REPO, "1.4.2", "0123456789ab", ["edge", "latest", "other/name:x"], "both")
    assert refs == (
        f"{REPO}:1.4.2",
        f"{REPO}:1.4",
        f"{REPO}:1",
        f"{REPO}:latest",
        f"{REPO}:0123456789ab",
        f"{REPO}:edge",
        "other/name:x",
    )


def test_sha_strategy() -> None:
    assert tags(None, "0123456789ab-dirty", strategy="sha") == ["0123456789ab-dirty"]
    with pytest.raises(SpecError, match="needs a git commit"):
        tags_for(REPO, "1.0.0", None, strategy="sha")


@pytest.mark.parametrize("version", ["1.4", "1.4.2.1", "01.2.3", "latest", "1.2.3-", "1.2.3-rc..1"])
def test_non_semver_versions_are_rejected(version: str) -> None:
    with pytest.raises(SpecError, match="not a semantic version"):
        tags_for(REPO, version, strategy="semver")


@pytest.mark.parametrize("tag", ["-lead", ".lead", "has space", "a+b", "x" * 129, "ü"])
def test_invalid_extra_tags_are_rejected(tag: str) -> None:
    with pytest.raises(SpecError, match="invalid tag"):
        tags_for(REPO, "1.0.0", extra=[tag])


def test_valid_edge_tags() -> None:
    assert tags(extra=["_under", "A.b-C", "x" * 128]) == ["_under", "A.b-C", "x" * 128]


@pytest.mark.parametrize("name", ["Team/App", "team//app", "app-", "-app", "team/app:1"])
def test_invalid_repository_names(name: str) -> None:
    with pytest.raises(SpecError, match="invalid image name"):
        tags_for(name, "1.0.0")


def test_uppercase_name_hint() -> None:
    with pytest.raises(SpecError) as info:
        tags_for("Team/App", "1.0.0")
    assert info.value.hint == "use lowercase: 'team/app'"


def test_no_tag_at_all_is_an_error() -> None:
    with pytest.raises(SpecError, match="no tag"):
        tags_for(REPO)


def test_registry_port_is_not_a_tag() -> None:
    assert split_reference("127.0.0.1:5000/team/app") == ("127.0.0.1:5000/team/app", None)
    assert split_reference("127.0.0.1:5000/team/app:1.0") == ("127.0.0.1:5000/team/app", "1.0")


def test_immutable_tags_are_exact_versions() -> None:
    assert is_immutable_tag("1.4.2") and is_immutable_tag("1.5.0-rc.1")
    assert not any(map(is_immutable_tag, ["1.4", "1", "latest", "0123456789ab", "v1.4.2"]))


def test_git_short_sha(tmp_path: Path) -> None:
    assert git_short_sha(tmp_path) is None  # not a repository

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "--allow-empty", "-m", "x")
    sha = git_short_sha(tmp_path)
    assert sha is not None and len(sha) == 12 and int(sha, 16) >= 0
    (tmp_path / "new.txt").write_text("uncommitted")
    assert git_short_sha(tmp_path) == f"{sha}-dirty"
    assert git_short_sha(tmp_path, mark_dirty=False) == sha


def test_one_checkout_asks_git_once_per_repository(tmp_path: Path) -> None:
    """A fleet's specs (two folders of one repository) read HEAD once: a commit made in
    between is not seen inside ``one_checkout``, and is seen again outside it."""
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@e", *args], check=True,
                       capture_output=True)

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    git("init", "-q")
    git("commit", "-q", "--allow-empty", "-m", "one")
    first = git_short_sha(tmp_path / "a")
    with one_checkout():
        assert git_short_sha(tmp_path / "a") == first
        git("commit", "-q", "--allow-empty", "-m", "two")
        assert git_short_sha(tmp_path / "b") == first  # the same repository: asked once
        assert git_short_sha(tmp_path / "b", mark_dirty=False) != first  # asked apart from the dirty mark
    second = git_short_sha(tmp_path / "b")
    assert second is not None and second != first


def test_one_checkout_asks_once_outside_any_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Specs with no .git above them (a fleet in a temporary folder) share one answer:
    git answers from the environment alike for all of them."""
    from imagespec.publish import tags

    calls: list[list[str]] = []
    run = subprocess.run

    def counted(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        return run(argv, **kwargs)  # type: ignore[call-overload, no-any-return]

    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(tags.subprocess, "run", counted)
    with one_checkout():
        assert [git_short_sha(tmp_path / name) for name in ("a", "b", "c")] == [None, None, None]
    assert len(calls) == 1, calls
    assert git_short_sha(tmp_path / "a") is None and len(calls) == 2  # outside, asked every time


def test_labels_use_source_date_epoch() -> None:
    labels = oci_labels(
        title="app", version="1.4.2", revision="abc", licenses="Apache-2.0",
        base_name="debian:bookworm-slim", base_digest="sha256:00", environ={"SOURCE_DATE_EPOCH": "1700000000"},
    )
    assert labels == {
        "org.opencontainers.image.base.digest": "sha256:00",
        "org.opencontainers.image.base.name": "debian:bookworm-slim",
        "org.opencontainers.image.created": "2023-11-14T22:13:20Z",
        "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.revision": "abc",
        "org.opencontainers.image.title": "app",
        "org.opencontainers.image.version": "1.4.2",
    }
    # the names other parts read back (contract): the same as written here
    assert {LABEL_OCI_TITLE, LABEL_OCI_VERSION, LABEL_OCI_LICENSES} <= set(labels)
    assert list(labels) == sorted(labels)


def test_labels_created_defaults_to_now_in_utc() -> None:
    before = datetime.now(tz=UTC).replace(microsecond=0)
    created = oci_labels(environ={})["org.opencontainers.image.created"]
    assert created.endswith("Z")
    parsed = datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert before <= parsed <= datetime.now(tz=UTC)


def test_labels_reject_bad_epoch_and_accept_explicit_created() -> None:
    with pytest.raises(SpecError, match="SOURCE_DATE_EPOCH"):
        oci_labels(environ={"SOURCE_DATE_EPOCH": "yesterday"})
    when = datetime(2024, 1, 2, 3, 4, 5, 999, tzinfo=UTC)
    assert oci_labels(created=when, environ={})["org.opencontainers.image.created"] == "2024-01-02T03:04:05Z"


@pytest.mark.parametrize("bad", ["v1\n", "1.2.3\n", "latest\r"])
def test_a_tag_with_a_trailing_newline_is_refused(bad: str) -> None:
    # `$` also matches before a final newline: the grammars are matched as a whole
    with pytest.raises(SpecError):
        validate_tag(bad)
    assert not is_immutable_tag(bad)


def test_a_repository_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(SpecError):
        validate_repository("team/app\n")


def test_last_change_is_the_newest_commit_of_the_paths_but_the_excluded_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The revision an image records (pipeline.options.revision): a commit elsewhere, or of
    an excluded file (the Dockerfile made in memory), does not move it; a folder name with
    glob characters is read literally."""
    import subprocess

    from imagespec.publish.tags import last_change

    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(tmp_path),
                               *args], check=True, capture_output=True, text=True).stdout.strip()

    app = tmp_path / "app[1]"
    app.mkdir()
    (app / "main.c").write_text("int main(void) { return 0; }\n")
    (tmp_path / "app1").mkdir()  # what `app[1]` would match as a glob
    (tmp_path / "app1" / "x").write_text("x\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "one")
    first = git("rev-parse", "--short=12", "HEAD")
    for name, folder in (("README", tmp_path), ("Dockerfile", app), ("y", tmp_path / "app1")):
        (folder / name).write_text("changed\n")
        git("add", "-A")
        git("commit", "-q", "-m", name)
    assert last_change(tmp_path, [app], excluded=[app / "Dockerfile"]) == first
    assert last_change(tmp_path, [app]) == git("rev-parse", "--short=12", "HEAD~1")
    assert last_change(tmp_path, [tmp_path / "elsewhere"]) is None  # nothing of it committed


def test_last_change_within_a_folder_follows_its_ignore_patterns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An allow-list's patterns (plan.dockerignore.context_inputs): a commit of what the
    build never sees (README, __pycache__) does not move the revision; one of a file let
    in does, in a folder whose name has glob characters, with a `[` pattern of a name."""
    import subprocess

    from imagespec.publish.tags import last_change

    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(tmp_path),
                               *args], check=True, capture_output=True, text=True).stdout.strip()

    app = tmp_path / "app[1]"
    (app / "src" / "__pycache__").mkdir(parents=True)
    files = {"src/x.py": "x", "src/__pycache__/x.pyc": "c", "README.md": "r", "data[1].txt": "d", "data1.txt": "e",
             "imagespec.yaml": "s"}
    for name, text in files.items():
        (app / name).write_text(text)
    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "one")

    def revision() -> str | None:
        return last_change(tmp_path, [app / "imagespec.yaml"], within=app, matching=["src", "data[[]1].txt"],
                           skipping=["**/__pycache__"])

    def commit(name: str) -> str:
        (app / name).write_text((app / name).read_text() + "+")
        git("commit", "-q", "-am", name)
        return git("rev-parse", "--short=12", "HEAD")

    first = revision()
    assert first == git("rev-parse", "--short=12", "HEAD")
    for unseen in ("README.md", "src/__pycache__/x.pyc", "data1.txt"):
        commit(unseen)
        assert revision() == first, unseen
    for seen in ("src/x.py", "data[1].txt", "imagespec.yaml"):
        made = commit(seen)
        assert revision() == made != first, seen


@pytest.mark.parametrize(("lines", "inputs"), [
    (("*", "!src", "!go.mod", "**/.git", "src/Dockerfile"), (("src", "go.mod"), ("**/.git", "src/Dockerfile"))),
    (("*",), ((), ())),
    ((".git", "**/.git", "imagespec*.yaml"), None),  # a deny-list: the whole context
    (("*", "!src", "**/.git", "!src/keep"), None),  # an exception after a deny pattern: order matters
    (("*", "!../elsewhere"), None),
])
def test_context_inputs_read_only_the_allow_list_shape(lines, inputs) -> None:  # type: ignore[no-untyped-def]
    from imagespec.plan.dockerignore import context_inputs

    assert context_inputs(lines) == inputs
