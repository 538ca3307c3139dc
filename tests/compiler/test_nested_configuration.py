"""A configuration file nearer a spec than the company's (an app folder's own
`.imagespec.yaml`) sets its own settings, but the company's rules still hold: the
policies of every configuration file up to the repository root apply, a nested file's
only tightening them (spec.config, spec.policy_levels). For one spec and for a folder
(the fleet loads each file once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagespec.cli import main

COMPANY = "policies:\n  allowed_registries: [registry.example.com]\n"
EVIL = """name: evil
version: 1.0.0
final:
  from: {image: "evil.example.com/x:1", family: debian}
  entrypoint: [/bin/true]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    write(tmp_path, ".imagespec.yaml", COMPANY)
    write(tmp_path, "sandbox/evil/imagespec.yaml", EVIL)
    return tmp_path


def generate(target: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["generate", "--no-cache", "-o", "-", str(target)])
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("target", ["sandbox/evil/imagespec.yaml", "sandbox"])
@pytest.mark.parametrize("nested", ["catalog: []\n", "images: {}\n", "policies: {}\n", ""])
def test_a_nested_configuration_keeps_the_companys_policies(repo: Path, target: str, nested: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, "sandbox/evil/.imagespec.yaml", nested)
    code, err = generate(repo / target, capsys)
    assert code == 2
    assert err[0].endswith("sandbox/evil/imagespec.yaml:4:17: image 'evil.example.com/x:1' is not from an allowed "
                           f"registry (registry.example.com): policy `allowed_registries` set at {repo}/.imagespec.yaml:2:3")


def test_a_nested_configuration_cannot_loosen_a_rule(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, "sandbox/.imagespec.yaml", "policies:\n  size_budget: 20MB\n")
    nested = write(repo, "sandbox/evil/.imagespec.yaml",
                   "policies:\n  allowed_registries: [evil.example.com]\n  size_budget: 1GB\n")
    code, err = generate(repo / "sandbox/evil/imagespec.yaml", capsys)
    assert code == 2
    assert err[0] == (f"{nested}:2:24: registry 'evil.example.com' is not one the policy `allowed_registries` set at "
                      f"{repo}/.imagespec.yaml:2:3 allows (registry.example.com)")
    assert any(line.startswith(f"{nested}:3:16: size_budget 1GB is larger than the 20MB set at "
                               f"{repo}/sandbox/.imagespec.yaml:2:3") for line in err)


def test_a_nested_configuration_may_tighten_a_rule(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nested = write(repo, "sandbox/evil/.imagespec.yaml", "policies:\n  allowed_registries: [registry.example.com/team]\n")
    spec = repo / "sandbox/evil/imagespec.yaml"
    spec.write_text(EVIL.replace("evil.example.com/x:1", "registry.example.com/team/x:1"), encoding="utf-8")
    assert generate(spec, capsys)[0] == 0
    spec.write_text(EVIL.replace("evil.example.com/x:1", "registry.example.com/other/x:1"), encoding="utf-8")
    code, err = generate(spec, capsys)
    assert code == 2 and f"policy `allowed_registries` set at {nested}:2:3" in err[0]


def test_a_configuration_above_the_repository_is_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, ".imagespec.yaml", COMPANY)  # outside the repository: another project's
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    write(repo, ".imagespec.yaml", "images: {}\n")
    spec = write(repo, "imagespec.yaml", EVIL)
    assert generate(spec, capsys)[0] == 0


def test_a_configuration_named_on_the_command_line_stands_alone(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--config (or $IMAGESPEC_CONFIG) is the caller's choice, not an app folder's: it
    replaces the files found, as it always has."""
    chosen = write(repo.parent, "ci.yaml", "images: {}\n")
    assert main(["generate", "--no-cache", "-o", "-", "--config", str(chosen),
                 str(repo / "sandbox/evil/imagespec.yaml")]) == 0


ROOT_IMAGES = """images:
  debian-slim: {image: "registry.example.com/base/debian:bookworm-slim", family: debian}
"""
NO_SHELL_APP = """name: app
version: 1.0.0
policies: {no_shell: true}
final:
  from: static
  entrypoint: [/app]
"""


@pytest.mark.parametrize("target", ["app/imagespec.yaml", "app"])
def test_a_nested_configuration_cannot_call_a_known_shell_image_shell_less(
        tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]) -> None:
    """BP6: the root configuration knows the company's Debian image has a shell (its
    `debian-slim`); an app folder's `.imagespec.yaml` repointing `static` at it with
    `shell: false` is exit 2 at that claim. Was: only the nearest file's catalog was read,
    and the no_shell policy passed on a Debian final."""
    (tmp_path / ".git").mkdir()
    write(tmp_path, ".imagespec.yaml", ROOT_IMAGES)
    nested = write(tmp_path, "app/.imagespec.yaml", 'images:\n  static: {image: "registry.example.com/base/'
                   'debian:bookworm-slim", family: distroless, shell: false, user: 65532}\n')
    write(tmp_path, "app/imagespec.yaml", NO_SHELL_APP)
    code, err = generate(tmp_path / target, capsys)
    assert code == 2
    assert err[0] == (f"{nested}:2:3: `shell: false`, but 'registry.example.com/base/debian:bookworm-slim' has a "
                      f"shell: the catalog entry 'debian-slim' ({tmp_path}/.imagespec.yaml:2:3) says so, and a "
                      "configuration cannot say otherwise")
    # the same entry naming the real shell-less image is fine
    write(tmp_path, "app/.imagespec.yaml", 'images:\n  static: {image: "registry.example.com/base/static:nonroot", '
                    'family: distroless, shell: false, user: 65532}\n')
    assert generate(tmp_path / target, capsys)[0] == 0
