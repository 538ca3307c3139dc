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

from tests.compiler.test_read_confinement import SECRET, repo, run  # noqa: F401 - the fixture this one extends

SPEC = ("name: app\nversion: 1.0.0\nsecrets: [{id: token}]\nfinal:\n  from: debian-slim\n"
        "  cmd: [sleep, infinity]\n")
CERT = ("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ1\n-----END CERTIFICATE-----\n")
KEY = ("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49Ag SECRET-HASH-42\n-----END PRIVATE KEY-----\n")
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture
def checkout(repo: Path) -> Path:  # noqa: F811 - the imported fixture, asked for by name
    """test_read_confinement's checkout (beside it the machine's file tmp_path/secret, which
    `run` checks is never printed), its app declaring the secret `token`."""
    (repo / "app/imagespec.yaml").write_text(SPEC, encoding="utf-8")
    return repo


def configure(checkout: Path, build: str) -> None:
    (checkout / ".imagespec.yaml").write_text(f"build:\n{build}", encoding="utf-8")


@pytest.mark.parametrize("written", ["{secret}", "../secret", "inside-link"])
@pytest.mark.parametrize("command", [["generate", "app"], ["lint", "app"], ["bake", "app", "-o", "-"],
                                     ["build", "app"]])
def test_a_found_configurations_secret_outside_the_repository_is_refused(
        checkout: Path, tmp_path: Path, written: str, command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    (checkout / "inside-link").symlink_to(tmp_path / "secret")
    configure(checkout, f"  secrets: {{token: {written.format(secret=tmp_path / 'secret')}}}\n")
    code, said = run(capsys, *command)
    assert code == 2, said
    first = said.splitlines()[0]
    assert first.startswith(f"{checkout}/.imagespec.yaml:2:") and "build.secrets.token: " in first, said
    via = {"inside-link": f" (a link to {tmp_path / 'secret'})",
           "../secret": f" (read from the working directory: {tmp_path / 'secret'})"}.get(written, "")
    assert first.endswith(f"is outside the configuration's repository ({checkout}){via}: not handed to the build"), said
    assert "--secret id=token,src=FILE" in said and "--config" in said
    assert not (checkout / "app" / "Dockerfile").exists()


def test_a_secret_file_in_the_repository_is_handed_over(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (checkout / ".secrets").mkdir()
    (checkout / ".secrets/token").write_text("t\n", encoding="utf-8")
    configure(checkout, "  secrets: {token: .secrets/token}\n")
    code, said = run(capsys, "bake", "app", "-o", "-")
    assert code == 0, said
    assert '"default": ".secrets/token"' in said or '"default": "../.secrets/token"' in said, said


def test_a_relative_secret_path_is_read_from_the_working_directory(checkout: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """As every configuration path (build_settings): run from outside the checkout, a path
    meant inside it leads out, and the message says where it was read."""
    (checkout / ".secrets").mkdir()
    (checkout / ".secrets/token").write_text("t\n", encoding="utf-8")
    configure(checkout, "  secrets: {token: .secrets/token}\n")
    monkeypatch.chdir(tmp_path)
    code, said = run(capsys, "generate", "repo/app")
    assert code == 2, said
    assert f"(read from the working directory: {tmp_path / '.secrets/token'}): not handed to the build" in said


def test_the_machines_own_configuration_may_name_any_secret_file(checkout: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """--config (or IMAGESPEC_CONFIG) is whoever runs imagespec choosing, as for catalogs."""
    config = tmp_path / "ci.yaml"
    config.write_text(f"build:\n  secrets: {{token: {tmp_path / 'secret'}}}\n", encoding="utf-8")
    code, said = run(capsys, "bake", "--config", str(config), "app", "-o", "-")
    assert code == 0, said
    assert str(tmp_path / "secret") in said


@pytest.mark.skipif(not SYSTEM_BUNDLE.is_file(), reason="no system CA bundle on this machine")
def test_the_systems_ca_bundle_is_taken_from_a_found_configuration(checkout: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    configure(checkout, f"  ca_bundle: {SYSTEM_BUNDLE}\n")
    code, said = run(capsys, "generate", "app", "-o", "-")
    assert code == 0, said


@pytest.mark.parametrize(("content", "problem"), [
    (CERT + KEY, "holds a 'PRIVATE KEY' PEM block, not only certificates"),
    (KEY, "holds a 'PRIVATE KEY' PEM block, not only certificates"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blb\n-----END OPENSSH PRIVATE KEY-----\n",
     "holds a 'OPENSSH PRIVATE KEY' PEM block, not only certificates"),
    (SECRET, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
    ("", "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
    pytest.param(Path("/proc/kmsg"), "holds no PEM certificate (-----BEGIN CERTIFICATE-----)",  # a read would wait
                 marks=pytest.mark.skipif(not Path("/proc/kmsg").is_file(), reason="no /proc/kmsg here")),
])
def test_a_found_ca_bundle_outside_the_repository_must_hold_only_certificates(
        checkout: Path, tmp_path: Path, content: str | Path, problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = content if isinstance(content, Path) else tmp_path / "bundle.pem"
    if not isinstance(content, Path):
        bundle.write_text(content, encoding="utf-8")
    configure(checkout, f"  ca_bundle: {bundle}\n")
    code, said = run(capsys, "generate", "app")
    assert code == 2, said
    assert said.startswith(f"{checkout}/.imagespec.yaml:2:14: build.ca_bundle: {bundle} is outside the configuration's "
                           f"repository and {problem}: not handed to the build"), said
    assert "--ca-bundle FILE" in said
    assert not (checkout / "app" / "Dockerfile").exists()


def test_a_ca_bundle_outside_the_repository_with_certificates_and_comments_is_taken(
        checkout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """curl's cacert.pem and RHEL's bundle put a title or comment before each certificate."""
    bundle = tmp_path / "cacert.pem"
    bundle.write_text("##\n## Bundle of CA Root Certificates\n##\n\nGlobalSign Root CA\n==================\n"
                      + CERT + "# ACCVRAIZ1\n" + CERT, encoding="utf-8")
    configure(checkout, f"  ca_bundle: {bundle}\n")
    assert run(capsys, "generate", "app", "-o", "-")[0] == 0


def test_a_ca_bundle_not_on_this_machine_is_left_to_the_build(checkout: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """generate needs no bundle: a developer's machine without the CI's file still compiles."""
    configure(checkout, f"  ca_bundle: {tmp_path / 'missing.pem'}\n")
    assert run(capsys, "generate", "app", "-o", "-")[0] == 0


def test_a_ca_bundle_inside_the_repository_is_the_repositorys_own(checkout: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (checkout / "ca.pem").write_text(CERT + KEY.replace("SECRET-HASH-42", "x"), encoding="utf-8")
    configure(checkout, "  ca_bundle: ca.pem\n")
    assert run(capsys, "generate", "app", "-o", "-")[0] == 0
