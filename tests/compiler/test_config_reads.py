"""The machine files a found configuration hands to a build (spec.config_reads): a
committed `.imagespec.yaml` is the repository's, so a pull request could point
`build.secrets` at any file of the CI machine and have its own step print the mount.
Secret files of a found configuration stay in its repository; a CA bundle outside it is
taken only when it holds certificates and nothing else. The machine's own files come from
the command line or a configuration named by --config. No engine: refused before any
build (the engine test of the system bundle is tests/fleet/test_bake.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagespec.cli import main

SECRET = "machine ci.example.com login ci password SECRET-TOKEN-42\n"
SPEC = ("name: app\nversion: 1.0.0\nsecrets: [{id: token}]\nfinal:\n  from: debian-slim\n"
        "  cmd: [sleep, infinity]\n")
CERT = ("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ1\n-----END CERTIFICATE-----\n")
KEY = ("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49Ag SECRET-TOKEN-42\n-----END PRIVATE KEY-----\n")
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git checkout, and beside it a machine file that is not the repository's: tmp_path/netrc."""
    (tmp_path / "netrc").write_text(SECRET, encoding="utf-8")
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "app").mkdir()
    (root / "app/imagespec.yaml").write_text(SPEC, encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main([*args])
    out, err = capsys.readouterr()
    assert "SECRET-TOKEN" not in out + err, (out + err)[:2000]
    return code, out + err


def configure(repo: Path, build: str) -> None:
    (repo / ".imagespec.yaml").write_text(f"build:\n{build}", encoding="utf-8")


@pytest.mark.parametrize("written", ["{netrc}", "../netrc", "inside-link"])
@pytest.mark.parametrize("command", [["generate", "app"], ["lint", "app"], ["bake", "app", "-o", "-"],
                                     ["build", "app"]])
def test_a_found_configurations_secret_outside_the_repository_is_refused(
        repo: Path, tmp_path: Path, written: str, command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "inside-link").symlink_to(tmp_path / "netrc")
    configure(repo, f"  secrets: {{token: {written.format(netrc=tmp_path / 'netrc')}}}\n")
    code, said = run(capsys, *command)
    assert code == 2, said
    first = said.splitlines()[0]
    assert first.startswith(f"{repo}/.imagespec.yaml:2:") and "build.secrets.token: " in first, said
    via = {"inside-link": f" (a link to {tmp_path / 'netrc'})",
           "../netrc": f" (read from the working directory: {tmp_path / 'netrc'})"}.get(written, "")
    assert first.endswith(f"is outside the configuration's repository ({repo}){via}: not handed to the build"), said
    assert "--secret id=token,src=FILE" in said and "--config" in said
    assert not (repo / "app" / "Dockerfile").exists()


def test_a_secret_file_in_the_repository_is_handed_over(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / ".secrets").mkdir()
    (repo / ".secrets/token").write_text("t\n", encoding="utf-8")
    configure(repo, "  secrets: {token: .secrets/token}\n")
    code, said = run(capsys, "bake", "app", "-o", "-")
    assert code == 0, said
    assert '"default": ".secrets/token"' in said or '"default": "../.secrets/token"' in said, said


def test_a_relative_secret_path_is_read_from_the_working_directory(repo: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """As every configuration path (build_settings): run from outside the checkout, a path
    meant inside it leads out, and the message says where it was read."""
    (repo / ".secrets").mkdir()
    (repo / ".secrets/token").write_text("t\n", encoding="utf-8")
    configure(repo, "  secrets: {token: .secrets/token}\n")
    monkeypatch.chdir(tmp_path)
    code, said = run(capsys, "generate", "repo/app")
    assert code == 2, said
    assert f"(read from the working directory: {tmp_path / '.secrets/token'}): not handed to the build" in said


def test_the_machines_own_configuration_may_name_any_secret_file(repo: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """--config (or IMAGESPEC_CONFIG) is whoever runs imagespec choosing, as for catalogs."""
    config = tmp_path / "ci.yaml"
    config.write_text(f"build:\n  secrets: {{token: {tmp_path / 'netrc'}}}\n", encoding="utf-8")
    code, said = run(capsys, "bake", "--config", str(config), "app", "-o", "-")
    assert code == 0, said
    assert str(tmp_path / "netrc") in said


@pytest.mark.skipif(not SYSTEM_BUNDLE.is_file(), reason="no system CA bundle on this machine")
def test_the_systems_ca_bundle_is_taken_from_a_found_configuration(repo: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    configure(repo, f"  ca_bundle: {SYSTEM_BUNDLE}\n")
    code, said = run(capsys, "generate", "app", "-o", "-")
    assert code == 0, said


@pytest.mark.parametrize(("content", "problem"), [
    (CERT + KEY, "holds a PRIVATE KEY block, not only certificates"),
    (KEY, "holds a PRIVATE KEY block, not only certificates"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blb\n-----END OPENSSH PRIVATE KEY-----\n",
     "holds a OPENSSH PRIVATE KEY block, not only certificates"),
    (SECRET, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
    ("", "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
])
def test_a_found_ca_bundle_outside_the_repository_must_hold_only_certificates(
        repo: Path, tmp_path: Path, content: str, problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(content, encoding="utf-8")
    configure(repo, f"  ca_bundle: {bundle}\n")
    code, said = run(capsys, "generate", "app")
    assert code == 2, said
    assert said.startswith(f"{repo}/.imagespec.yaml:2:14: build.ca_bundle: {bundle} is outside the configuration's "
                           f"repository and {problem}: not handed to the build"), said
    assert "--ca-bundle FILE" in said
    assert not (repo / "app" / "Dockerfile").exists()


def test_a_ca_bundle_outside_the_repository_with_certificates_and_comments_is_taken(
        repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """curl's cacert.pem and RHEL's bundle put a title or comment before each certificate."""
    bundle = tmp_path / "cacert.pem"
    bundle.write_text("##\n## Bundle of CA Root Certificates\n##\n\nGlobalSign Root CA\n==================\n"
                      + CERT + "# ACCVRAIZ1\n" + CERT, encoding="utf-8")
    configure(repo, f"  ca_bundle: {bundle}\n")
    assert run(capsys, "generate", "app", "-o", "-")[0] == 0


def test_a_ca_bundle_not_on_this_machine_is_left_to_the_build(repo: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """generate needs no bundle: a developer's machine without the CI's file still compiles."""
    configure(repo, f"  ca_bundle: {tmp_path / 'missing.pem'}\n")
    assert run(capsys, "generate", "app", "-o", "-")[0] == 0


def test_a_ca_bundle_inside_the_repository_is_the_repositorys_own(repo: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "ca.pem").write_text(CERT + KEY.replace("SECRET-TOKEN-42", "x"), encoding="utf-8")
    configure(repo, "  ca_bundle: ca.pem\n")
    assert run(capsys, "generate", "app", "-o", "-")[0] == 0
