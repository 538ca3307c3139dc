"""What imagespec reads for a spec stays in the spec's repository (a stranger QA's
finding): a committed link found in a folder, or an `extends:` path or template that
leads out, was read and each of its lines echoed as `unknown key 'root:…'`, so a pull
request could put a CI runner's files into a public log. Now such a file is never read;
the templates of a configured folder and the presets still are (tests/compiler/test_extends.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagespec.cli import main

SECRET = "".join(f"user{i}:SECRET-HASH-{i}:20228:0:99999:7:::\n" for i in range(30))
SPEC = "name: app\nversion: 1.0.0\nfinal:\n  from: debian-slim\n  cmd: [sleep, infinity]\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git checkout beside a file that is not the repository's: tmp_path/secret."""
    (tmp_path / "secret").write_text(SECRET, encoding="utf-8")
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "app").mkdir()
    (root / "app/imagespec.yaml").write_text(SPEC, encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main([*args])
    out, err = capsys.readouterr()
    assert "SECRET-HASH" not in out + err, (out + err)[:2000]
    return code, out + err


@pytest.mark.parametrize("command", [["lint", "."], ["check", ".", "--format", "json"], ["generate", "."],
                                     ["bake", ".", "-o", "-"]])
def test_a_link_found_in_a_folder_that_leads_out_is_skipped_unread(repo: Path, command: list[str],
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "svc").mkdir()
    (repo / "svc/imagespec.yaml").symlink_to(repo.parent / "secret")
    code, said = run(capsys, *command, "--no-cache") if command[0] in ("generate", "check") else run(capsys, *command)
    assert "skipped svc/imagespec.yaml: a link to a file outside the repository" in said, said
    assert code in (0, 1), said  # app's spec alone: generated, linted, checked (stale: 1)


def test_a_folder_holding_only_such_a_link_has_no_spec(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "svc").mkdir()
    (repo / "svc/imagespec.yaml").symlink_to(repo.parent / "secret")
    code, said = run(capsys, "lint", "svc")
    assert code == 2 and said.startswith("svc: no spec in folder svc\n"), said
    assert "svc/imagespec.yaml was left out: a link to a file outside the repository" in said


def test_a_link_within_the_repository_is_still_its_spec(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "svc").mkdir()
    (repo / "svc/imagespec.yaml").symlink_to(repo / "app/imagespec.yaml")
    code, said = run(capsys, "lint", "svc")
    assert code == 0 and "outside" not in said, said


@pytest.mark.parametrize("target", ["ABSOLUTE", "../../secret", "./../../secret", "linked"])
def test_extends_outside_the_repository_is_refused_at_its_line(repo: Path, target: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    if target == "ABSOLUTE":
        target = str(repo.parent / "secret")
    elif target == "linked":  # found by name, in the repository's own templates folder
        (repo / "templates").mkdir()
        (repo / "templates/linked.yaml").symlink_to(repo.parent / "secret")
    (repo / "app/imagespec.yaml").write_text(f"# a comment\nextends: {target}\n" + SPEC, encoding="utf-8")
    code, said = run(capsys, "lint", "app/imagespec.yaml")
    assert code == 2
    assert said.splitlines()[0] == (f"app/imagespec.yaml:2:10: `extends: {target}` leads outside the repository (.): "
                                    "not read"), said


def test_a_template_extends_within_its_own_repository_only(tmp_path: Path, repo: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A company's template folder (configured, outside the app's repository) is read; a
    path in one of its templates that leads out of the company's checkout is not."""
    company = tmp_path / "company"
    (company / ".git").mkdir(parents=True)
    (company / "templates").mkdir()
    (company / "templates/company-go.yaml").write_text("extends: ../../secret\n", encoding="utf-8")
    (repo / ".imagespec.yaml").write_text("templates: [../company/templates]\n", encoding="utf-8")
    (repo / "app/imagespec.yaml").write_text("extends: company-go\n" + SPEC, encoding="utf-8")
    code, said = run(capsys, "lint", "app/imagespec.yaml")
    assert code == 2 and ":1:10: `extends: ../../secret` leads outside the repository (" in said, said
    (company / "templates/company-go.yaml").write_text("final:\n  env: {COMPANY: '1'}\n", encoding="utf-8")
    assert run(capsys, "lint", "app/imagespec.yaml")[0] == 0


def test_a_file_named_on_the_command_line_that_is_no_spec_is_one_error(repo: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Named explicitly, a file is taken as it is; when none of its keys is a spec's, one
    error says so without its keys (was: 20 of its lines, then "10 more")."""
    code, said = run(capsys, "lint", str(repo.parent / "secret"))
    assert code == 2
    assert said.splitlines()[0].endswith(":1:1: this is not an imagespec spec: none of its 30 top-level key(s) is a "
                                         "key of the format"), said
    assert len(said.splitlines()) == 2


@pytest.mark.parametrize("name", [".imagespec.yaml", "app/.imagespec.yaml", "app/imagespec.lock.yaml"])
def test_a_settings_or_lock_file_linked_out_of_the_repository_is_refused_unread(
        repo: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by name beside the spec, so a committed link would make imagespec take any
    file on the CI machine as the company's settings (another registry's images, looser
    policies) or as pins: a file that would be read as valid ones is refused unread."""
    outside = repo.parent / "elsewhere.yaml"
    outside.write_text("images:\n  debian-slim: {image: evil.example/debian:12, family: debian}\n" if name.endswith(".imagespec.yaml")
                       else "lock: 1\nspec: app\nbases: []\n", encoding="utf-8")
    (repo / name).symlink_to(outside)
    code, said = run(capsys, "generate", "app", "-o", "-", "--no-cache")
    what = "lock file" if name.endswith(".lock.yaml") else "configuration file"
    assert code == 2, said
    assert said.splitlines()[0] == f"{name}: the {what} is a link to {outside}, outside its repository: not read", said
    assert "evil.example" not in said


def test_a_settings_file_linked_within_the_repository_is_read(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "company.yaml").write_text("images:\n  debian-slim: {image: registry.example.com/debian:12, family: debian}\n", encoding="utf-8")
    (repo / "app/.imagespec.yaml").symlink_to(repo / "company.yaml")
    code, said = run(capsys, "generate", "app", "-o", "-", "--no-cache")
    assert code == 0 and "FROM registry.example.com/debian:12" in said, said


@pytest.mark.parametrize("written", ["{secret}", "../../secret", "../inside-link"])
@pytest.mark.parametrize("command", [["generate", "app"], ["lint", "app"], ["bake", "app", "-o", "-"]])
def test_a_found_configurations_catalog_outside_the_repository_is_refused_unread(
        repo: Path, tmp_path: Path, written: str, command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """QA: a committed `.imagespec.yaml` with `catalog: /etc/shadow` (or a path or a link out
    to it) was read, and its lines echoed as `unknown key '_apt:*:20228…'`. A configuration
    named by --config is the machine's own and may still name any catalog."""
    (repo / "inside-link").symlink_to(tmp_path / "secret")
    (repo / "app" / ".imagespec.yaml").write_text(f"catalog: {written.format(secret=tmp_path / 'secret')}\n",
                                                  encoding="utf-8")
    code, said = run(capsys, *command)
    assert code == 2, said
    assert said.startswith(f"{repo}/app/.imagespec.yaml:1:1: catalog file {tmp_path / 'secret'} is outside the "
                           f"configuration's repository ({repo}): not read"), said
    assert "--config" in said
    assert not (repo / "app" / "Dockerfile").exists()


def test_a_catalog_named_by_a_config_given_with_the_flag_is_the_machines_own_choice(
        repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = tmp_path / "company-catalog.yaml"
    catalog.write_text("images:\n  debian-slim: {image: \"corp.example/debian:12\", family: debian}\n",
                       encoding="utf-8")
    (repo / "app" / ".imagespec.yaml").write_text(f"catalog: {catalog}\n", encoding="utf-8")
    assert run(capsys, "generate", "app")[0] == 2  # found: refused
    config = tmp_path / "ci.yaml"
    config.write_text(f"catalog: {catalog}\n", encoding="utf-8")
    code, said = run(capsys, "generate", "--config", str(config), "-o", "-", "app/imagespec.yaml")
    assert code == 0 and "FROM corp.example/debian:12 AS final" in said, said
