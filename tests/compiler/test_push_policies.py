"""Where images may be pushed, and from what (security QA): `push_registries` is an
allow-list of push destinations, read and narrowed as `allowed_registries` is (one
allow-list code: spec.policy_levels, plan.policy.registry_ok), checked at the spec's
`registry:` when it compiles and at every `--tag` before a push builds anything;
`clean_push` refuses a push from a checkout with uncommitted changes (a `-dirty` tag
traces to no commit, BP14), which without it is a warning. Was: no rule restricted a
push's destination, and `abc1234-dirty` could be pushed as a release."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from compiler_helpers import compile_path
from imagespec.cli import main
from imagespec.compiler import effective_policies
from imagespec.errors import PolicyError, SpecError, SpecErrors
from imagespec.pipeline import dirty_push_warning, refuse_push, untracked_sent
from imagespec.spec.config import load_config

COMPANY = """\
final:
  from: {image: "127.0.0.1:5000/static:1", family: distroless, user: 65532}
  cmd: [/app]
policies:
  push_registries: [127.0.0.1:5000]
  clean_push: true
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def app(folder: Path, lines: str = "", *, config: str | None = None) -> Path:
    """templates/company.yaml (COMPANY) and app/imagespec.yaml extending it, with `lines`."""
    write(folder / "templates" / "company.yaml", COMPANY)
    if config is not None:
        write(folder / ".imagespec.yaml", config)
    return write(folder / "app" / "imagespec.yaml", f"extends: company\nname: app\nversion: 1.0.0\n{lines}")


def errors_of(spec: Path) -> list[SpecError]:
    with pytest.raises(SpecError) as caught:
        compile_path(spec)
    assert caught.value.exit_code == 2
    return list(caught.value.errors) if isinstance(caught.value, SpecErrors) else [caught.value]


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=dvp@example.com", "-c", "user.name=dvp", *args], cwd=folder,
                   check=True, capture_output=True)


def committed(folder: Path) -> None:
    git(folder, "init", "-q", ".")
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "app")


# --- push_registries when the spec compiles ----------------------------------------------

def test_a_registry_outside_push_registries_is_an_error_at_the_spec_registry(tmp_path: Path) -> None:
    spec = app(tmp_path, "registry: 127.0.0.1:5001/team\n")
    [error] = errors_of(spec)
    assert isinstance(error, PolicyError)
    assert "the image would be pushed to '127.0.0.1:5001/team/app', which is not under a registry" in error.message
    assert "policy `push_registries` set at" in error.message and "templates/company.yaml:5:3" in error.message
    assert (error.location.file.endswith("app/imagespec.yaml"), error.location.line, error.location.col) == \
        (True, 4, 11)
    assert "127.0.0.1:5000/team" in (error.hint or "")


@pytest.mark.parametrize("registry", ["127.0.0.1:5000", "127.0.0.1:5000/team", "127.0.0.1:5000/a/b"])
def test_a_registry_under_push_registries_compiles(tmp_path: Path, registry: str) -> None:
    assert compile_path(app(tmp_path, f"registry: {registry}\n")).loaded.spec.registry == registry


def test_a_spec_without_registry_pushes_nothing_and_compiles(tmp_path: Path) -> None:
    compile_path(app(tmp_path))


def test_a_look_alike_host_is_not_under_the_allowed_one(tmp_path: Path) -> None:
    # a prefix of the text is not a prefix of the path (reference.within)
    assert errors_of(app(tmp_path, "registry: 127.0.0.1:50001/team\n"))


def test_the_configuration_push_registries_hold_for_a_spec(tmp_path: Path) -> None:
    write(tmp_path / ".imagespec.yaml", "policies:\n  push_registries: [registry.example.com/releases]\n")
    spec = write(tmp_path / "imagespec.yaml", "name: app\nregistry: registry.example.com/scratchpad\n"
                 "final:\n  from: {image: \"registry.example.com/static:1\", family: distroless, user: 65532}\n"
                 "  cmd: [/app]\n")
    [error] = errors_of(spec)
    assert "policy `push_registries` set at" in error.message and ".imagespec.yaml:2:3" in error.message
    assert error.location.file.endswith("/imagespec.yaml") and error.location.line == 2


# --- narrowing: one allow-list code (spec.policy_levels._allow) ---------------------------

def test_a_spec_may_narrow_push_registries_and_the_narrower_list_holds(tmp_path: Path, capsys) -> None:
    spec = app(tmp_path, "registry: 127.0.0.1:5000/other\npolicies:\n  push_registries: [127.0.0.1:5000/team]\n")
    [error] = errors_of(spec)  # allowed by the template, not by the spec's narrower rule
    assert "app/imagespec.yaml:6:3" in error.message
    spec.write_text(spec.read_text().replace("5000/other", "5000/team"))
    assert main(["generate", "--no-cache", "--effective", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "push_registries:\n  - 127.0.0.1:5000/team\n" in out and "clean_push: true" in out


@pytest.mark.parametrize("written", ["push_registries: [docker.io]", "push_registries+: [docker.io]"])
def test_a_spec_cannot_widen_push_registries(tmp_path: Path, written: str) -> None:
    [error] = errors_of(app(tmp_path, f"policies:\n  {written}\n"))
    assert "registry 'docker.io' is not one the policy `push_registries` set at" in error.message
    assert "templates/company.yaml:5:3" in error.message
    assert error.location.line == 5 and error.location.col == written.index("docker.io") + 3


def test_a_nested_configuration_cannot_widen_push_registries(tmp_path: Path) -> None:
    write(tmp_path / ".imagespec.yaml", "policies:\n  push_registries: [127.0.0.1:5000]\n")
    write(tmp_path / "team" / ".imagespec.yaml", "policies:\n  push_registries: [registry.example.com]\n")
    with pytest.raises(SpecError) as caught:
        load_config(start=tmp_path / "team")
    assert "policy `push_registries` set at" in caught.value.message
    assert caught.value.location.file.endswith("team/.imagespec.yaml")


def test_a_spec_cannot_turn_clean_push_off(tmp_path: Path) -> None:
    spec = app(tmp_path, "policies:\n  clean_push: false\n")
    compiled = compile_path(spec)
    effective = effective_policies(compiled.loaded, load_config(start=spec.parent))
    assert effective.policies.clean_push is True
    assert str(effective.set_at(("policies", "clean_push"))).endswith("templates/company.yaml:6:3")


# --- at push time: every --tag, and the checkout -----------------------------------------

def _compiled(spec: Path):  # type: ignore[no-untyped-def]
    config = load_config(start=spec.parent)
    return compile_path(spec, config), config


def test_a_tag_outside_push_registries_is_refused_before_anything_builds(tmp_path: Path, capsys) -> None:
    spec = app(tmp_path, "registry: 127.0.0.1:5000/team\n")
    committed(tmp_path)
    code = main(["build", "--push", "-t", "127.0.0.1:5001/team/app:1.0.0", "-t", "elsewhere.example.com/app:1",
                 str(spec)])
    err = capsys.readouterr().err
    assert code == 2
    assert "--push --tag 127.0.0.1:5001/team/app:1.0.0: not under a registry the image may be pushed to " \
           "(127.0.0.1:5000): policy `push_registries` set at" in err
    assert "--push --tag elsewhere.example.com/app:1: not under" in err
    assert "templates/company.yaml:5:3" in err and "hint: push to one of those: --tag 127.0.0.1:5000/app:1" in err


def test_tags_in_the_allowed_registry_and_local_tags_pass(tmp_path: Path) -> None:
    spec = app(tmp_path, "registry: 127.0.0.1:5000/team\n")
    committed(tmp_path)
    compiled, config = _compiled(spec)
    refuse_push(compiled, config, ["127.0.0.1:5000/team/app:1.0.0", "127.0.0.1:5000/other/app:edge",
                                   "app:local", "team/app:local"])


@pytest.mark.parametrize("change", ["modified", "untracked", "staged"])
def test_clean_push_refuses_a_dirty_checkout(tmp_path: Path, change: str) -> None:
    spec = app(tmp_path, "registry: 127.0.0.1:5000/team\n")
    write(tmp_path / "app" / "main.go", "package main\n")
    committed(tmp_path)
    changed = tmp_path / "app" / ("main.go" if change == "modified" else "new.txt")
    changed.write_text("changed\n")
    if change == "staged":
        git(tmp_path, "add", "app/new.txt")
    compiled, config = _compiled(spec)
    with pytest.raises(PolicyError) as caught:
        refuse_push(compiled, config, ["127.0.0.1:5000/team/app:1.0.0"])
    error = caught.value
    assert error.exit_code == 2
    assert "--push: the checkout has uncommitted changes (app/" in error.message
    assert "-dirty" in error.message and "policy `clean_push` set at" in error.message
    assert "templates/company.yaml:6:3" in error.message
    assert error.location.file.endswith("app/imagespec.yaml") and error.location.line == 2
    assert (error.hint or "").startswith("commit first")
    assert ".gitignore entry alone still sends it into the image" in error.hint  # was: "list them in .gitignore"


GO_APP = """\
stages:
  build:
    from: {image: "127.0.0.1:5000/go:1", family: debian}
    copy: [cmd/]
    run: go build -o /out/app ./cmd
    artifacts: [/out/app]
final:
  copy:
    - {from: build, src: /out/app, dest: /app}
"""


def _ignored_go_file(folder: Path, lines: str = "") -> Path:
    """A committed app whose build context holds a git-ignored, never committed cmd/local.go."""
    spec = app(folder, "registry: 127.0.0.1:5000/team\n" + GO_APP + lines)
    write(folder / "app" / "cmd" / "main.go", "package main\n")
    write(folder / ".gitignore", "local.go\nscratch.txt\n")
    committed(folder)
    write(folder / "app" / "cmd" / "local.go", "package main\n// not committed\n")
    write(folder / "app" / "scratch.txt", "ignored, and the build context does not send it\n")
    return spec


def test_clean_push_refuses_a_git_ignored_file_the_build_context_sends(tmp_path: Path) -> None:
    """Was: git says nothing of an ignored file, so the checkout was 'clean' while the
    uncommitted cmd/local.go went into the image the push named a commit."""
    spec = _ignored_go_file(tmp_path)
    compiled, config = _compiled(spec)
    with pytest.raises(PolicyError) as caught:
        refuse_push(compiled, config, ["127.0.0.1:5000/team/app:1.0.0"])
    error = caught.value
    assert error.exit_code == 2 and "-dirty" not in error.message
    assert "--push: the build context sends files git does not track (app/cmd/local.go), so the image would " \
           "not be the commit it records" in error.message
    assert "scratch.txt" not in error.message  # ignored, but kept out of the context by the spec: not in the image
    assert "policy `clean_push` set at" in error.message and error.location.file.endswith("app/imagespec.yaml")


def test_a_file_the_spec_ignores_is_no_obstacle_to_a_clean_push(tmp_path: Path) -> None:
    spec = _ignored_go_file(tmp_path, "ignore: [cmd/local.go]\n")
    compiled, config = _compiled(spec)
    refuse_push(compiled, config, ["127.0.0.1:5000/team/app:1.0.0"])
    assert untracked_sent(compiled) == ()


def test_without_clean_push_the_warning_lists_the_untracked_files_the_context_sends(tmp_path: Path) -> None:
    spec = _ignored_go_file(tmp_path)
    write(tmp_path / "templates" / "company.yaml", COMPANY.replace("  clean_push: true\n", ""))
    git(tmp_path, "commit", "-qam", "no clean_push")
    compiled, config = _compiled(spec)
    refuse_push(compiled, config, ["127.0.0.1:5000/team/app:1.0.0"])  # not refused
    warning = dirty_push_warning(compiled.loaded.folder, untracked_sent(compiled))
    assert warning is not None and warning.startswith(
        "warning: pushing from a checkout whose build context sends files git does not track (app/cmd/local.go)")


@pytest.mark.parametrize("change", ["clean", "modified", "ignored-in-context", "elsewhere", "made-from-the-spec"])
def test_the_revision_label_of_a_build_from_a_dirty_checkout_says_so(tmp_path: Path, change: str) -> None:
    """Was: the label named the clean commit while the tag said `-dirty`; the image held
    what no commit does. Now marked as the tag is (`git describe --dirty`'s mark), but only
    for the image's own inputs: a change elsewhere in the checkout, or to the Dockerfile a
    lock cascade rewrites, leaves the label the commit's (was, for a moment: `-dirty`, so
    the relocked apps of a cascade were rebuilt after their commit and their X.Y.Z push
    refused, tests/lock/test_rebuild_loop.py)."""
    from imagespec.pipeline.options import revision

    spec = _ignored_go_file(tmp_path)
    (tmp_path / "app" / "cmd" / "local.go").unlink()
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=tmp_path, capture_output=True,
                          text=True, check=True).stdout.strip()
    if change == "modified":
        write(tmp_path / "app" / "cmd" / "main.go", "package main\n// changed\n")
    elif change == "ignored-in-context":
        write(tmp_path / "app" / "cmd" / "local.go", "package main\n")
    elif change == "elsewhere":
        write(tmp_path / "NOTES.md", "not the app's\n")
    elif change == "made-from-the-spec":
        write(tmp_path / "app" / "Dockerfile", "FROM scratch\n")
    compiled, _ = _compiled(spec)
    dirty = change in ("modified", "ignored-in-context")
    assert revision(compiled) == (f"{head}-dirty" if dirty else head)


def test_clean_push_passes_a_clean_checkout_and_refuses_one_outside_git(tmp_path: Path) -> None:
    spec = app(tmp_path / "repo", "registry: 127.0.0.1:5000/team\n")
    committed(tmp_path / "repo")
    compiled, config = _compiled(spec)
    refuse_push(compiled, config, ["127.0.0.1:5000/team/app:1.0.0"])
    assert dirty_push_warning(compiled.loaded.folder) is None
    outside = app(tmp_path / "plain", "registry: 127.0.0.1:5000/team\n")
    compiled, config = _compiled(outside)
    with pytest.raises(PolicyError, match="not in a git checkout, so the image would trace to no commit"):
        refuse_push(compiled, config, ["127.0.0.1:5000/team/app:1.0.0"])


def test_without_clean_push_a_dirty_push_is_a_warning(tmp_path: Path) -> None:
    spec = write(tmp_path / "imagespec.yaml", "name: app\nregistry: 127.0.0.1:5000/team\nfinal:\n"
                 "  from: {image: \"127.0.0.1:5000/static:1\", family: distroless, user: 65532}\n  cmd: [/app]\n")
    committed(tmp_path)
    for number in range(7):
        write(tmp_path / f"file{number}.txt", "x\n")
    compiled, config = _compiled(spec)
    refuse_push(compiled, config, ["127.0.0.1:5000/team/app:1"])  # not refused
    warning = dirty_push_warning(compiled.loaded.folder)
    assert warning is not None and warning.startswith("warning: pushing from a checkout with uncommitted changes")
    assert "file0.txt, file1.txt, file2.txt, file3.txt, file4.txt, and 2 more" in warning
    assert "-dirty" in warning and "clean_push: true" in warning


def test_generate_effective_shows_the_configuration_push_rules_too(tmp_path: Path, capsys) -> None:
    """Was: `--effective` showed the spec's and its templates' rules only, though the
    README said it shows the merged rules: a company's push rules were not there."""
    write(tmp_path / ".imagespec.yaml", "policies:\n  push_registries: [127.0.0.1:5000]\n  clean_push: true\n")
    spec = write(tmp_path / "imagespec.yaml", "name: app\nregistry: 127.0.0.1:5000/team\npolicies:\n"
                 "  push_registries: [127.0.0.1:5000/team]\nfinal:\n"
                 "  from: {image: \"127.0.0.1:5000/static:1\", family: distroless, user: 65532}\n  cmd: [/app]\n")
    assert main(["generate", "--no-cache", "--effective", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "policies:\n  push_registries:\n  - 127.0.0.1:5000/team\n  clean_push: true\nname: app\n" in out


# --- base build --push keeps the configuration's push rules -------------------------------

BASE = "imagespec: 1\nbase: debian-slim\nimage: {image}\nbootstrap:\n  suite: bookworm\n  variant: minbase\n"


def test_base_build_push_outside_push_registries_is_refused_at_its_image(tmp_path: Path, capsys) -> None:
    config = write(tmp_path / "config.yaml", "policies:\n  push_registries: [127.0.0.1:5000/base]\n")
    base = write(tmp_path / "debian-slim.yaml", BASE.format(image="127.0.0.1:5000/other/debian:bookworm-slim"))
    assert main(["base", "build", "--push", "--config", str(config), str(base)]) == 2
    err = capsys.readouterr().err
    assert f"{base}:3:8: --push: '127.0.0.1:5000/other/debian:bookworm-slim' is not under a registry the image may " \
           f"be pushed to (127.0.0.1:5000/base): policy `push_registries` set at {config}:2:3" in err
    assert "hint: push to one of those: image 127.0.0.1:5000/base/debian:bookworm-slim" in err


def test_base_build_push_from_a_dirty_checkout_is_refused_under_clean_push(tmp_path: Path, capsys) -> None:
    config = write(tmp_path / "config.yaml", "policies:\n  clean_push: true\n")
    base = write(tmp_path / "bases" / "debian-slim.yaml", BASE.format(image="127.0.0.1:5000/base/debian:bookworm"))
    committed(tmp_path)
    write(tmp_path / "bases" / "extra.txt", "x\n")
    assert main(["base", "build", "--push", "--config", str(config), str(base)]) == 2
    err = capsys.readouterr().err
    assert f"{base}:3:1: --push: the checkout has uncommitted changes (bases/extra.txt)" in err
    assert f"policy `clean_push` set at {config}:2:3" in err
