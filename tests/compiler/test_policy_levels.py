"""Policies only tighten (imagespec/spec/policy_levels.py): a spec cannot loosen a rule its
template or the configuration set (QA: an app widened `allowed_registries` and raised
`size_budget`); every violation is reported, each at the spec value that breaks it,
naming where its rule was set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler_helpers import INVALID, compile_path
from imagespec.cli import main
from imagespec.compiler import effective_policies
from imagespec.errors import PolicyError, SpecError, SpecErrors
from imagespec.spec.config import load_config
from imagespec.spec.model import Policies
from imagespec.spec.policy_levels import RULES

COMPANY = """\
final:
  from: {image: "127.0.0.1:5000/static:1", family: distroless, user: 65532}
  cmd: [/app]
policies:
  allowed_registries: [127.0.0.1:5000, imagespec-test]
  size_budget: 50MB
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def app(folder: Path, policies: str, *, final: str = "", config: str | None = None) -> Path:
    """templates/company-base.yaml (COMPANY), an app spec that extends it with `policies`
    (indented lines), and a configuration when given."""
    write(folder, "templates/company-base.yaml", COMPANY)
    if config is not None:
        write(folder, ".imagespec.yaml", config)
    return write(folder, "app/imagespec.yaml", f"extends: company-base\nname: app\npolicies:\n{policies}\n{final}")


def errors_of(spec: Path) -> list[SpecError]:
    with pytest.raises(SpecError) as caught:
        compile_path(spec)
    error = caught.value
    assert error.exit_code == 2
    return list(error.errors) if isinstance(error, SpecErrors) else [error]


def test_every_policy_key_has_a_rule_for_tightening() -> None:
    assert set(RULES) == set(Policies.model_fields)


@pytest.mark.parametrize("written", ["allowed_registries: [docker.io]", "allowed_registries+: [docker.io]",
                                     "allowed_registries: [127.0.0.1:5000, docker.io]"])
def test_a_spec_cannot_widen_its_templates_allowed_registries(tmp_path: Path, written: str) -> None:
    spec = app(tmp_path, f"  {written}")
    [error] = errors_of(spec)
    assert "registry 'docker.io' is not one the policy `allowed_registries` set at" in error.message
    assert "templates/company-base.yaml:5:3" in error.message  # where the narrower rule is
    assert error.location.file.endswith("app/imagespec.yaml") and error.location.line == 4
    assert error.location.col == written.index("docker.io") + 3


def test_a_spec_narrows_allowed_registries_and_the_narrower_list_holds(tmp_path: Path, capsys) -> None:
    spec = app(tmp_path, "  allowed_registries: [127.0.0.1:5000/team]",
               final='final:\n  from: {image: "imagespec-test/base:1", family: distroless, user: 65532}\n')
    assert main(["generate", "--effective", str(spec)]) == 2  # imagespec-test is no longer allowed
    assert "policy `allowed_registries` set at" in capsys.readouterr().err
    spec.write_text(spec.read_text().replace("imagespec-test/base:1", "127.0.0.1:5000/team/base:1"))
    assert main(["generate", "--effective", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "allowed_registries:\n  - 127.0.0.1:5000/team\n" in out and "imagespec-test" not in out


def test_the_configurations_allowed_registries_cannot_be_widened(tmp_path: Path) -> None:
    write(tmp_path, ".imagespec.yaml", "policies:\n  allowed_registries: [127.0.0.1:5000]\n")
    spec = write(tmp_path, "app/imagespec.yaml", "name: app\npolicies:\n"
                 "  allowed_registries: [127.0.0.1:5000/team, docker.io]\n" + COMPANY.split("policies:")[0])
    [error] = errors_of(spec)
    assert "'docker.io'" in error.message and ".imagespec.yaml:2:3" in error.message
    assert error.location.file.endswith("app/imagespec.yaml")


def test_the_configuration_and_a_template_meet_without_blaming_the_app(tmp_path: Path) -> None:
    """Neither is above the other: the stricter of the two holds, named where it was set."""
    config = "policies:\n  allowed_registries: [127.0.0.1:5000]\n  size_budget: 20MB\n"
    spec = app(tmp_path, "  non_root: true", config=config)
    loaded_config = load_config(start=spec.parent)
    effective = effective_policies(compile_path(spec).loaded, loaded_config)
    assert effective.policies.allowed_registries == ["127.0.0.1:5000"]
    assert effective.policies.size_budget == 20_000_000
    assert str(effective.set_at(("policies", "size_budget"))).endswith(".imagespec.yaml:3:3")
    write(tmp_path, ".imagespec.yaml", "policies:\n  allowed_registries: [registry.example.com]\n")
    [error] = errors_of(spec)
    assert "allows no registry that the one set at" in error.message


def test_a_spec_cannot_raise_its_templates_size_budget(tmp_path: Path) -> None:
    spec = app(tmp_path, "  size_budget: 10GB")
    [error] = errors_of(spec)
    assert error.message.startswith("size_budget 10GB is larger than the 50MB set at")
    assert "templates/company-base.yaml:6:3" in error.message
    assert (error.location.line, error.location.col) == (4, 16)  # the value
    spec.write_text(spec.read_text().replace("10GB", "20MB"))
    assert compile_path(spec).loaded.spec.policies.size_budget == 20_000_000  # lowering is fine
    spec.write_text(spec.read_text().replace("20MB", "null"))
    assert compile_path(spec).loaded.spec.policies.size_budget == 50_000_000


def test_the_configurations_size_budget_cannot_be_raised(tmp_path: Path, capsys) -> None:
    spec = app(tmp_path, "  size_budget: 40MB", final="version: 1.0.0\n", config="policies:\n  size_budget: 25MB\n")
    [error] = errors_of(spec)
    assert "larger than the 25MB set at" in error.message and ".imagespec.yaml:2:3" in error.message
    spec.write_text(spec.read_text().replace("40MB", "10MB"))
    # nor by `imagespec test --size-budget` (refused before any engine is asked)
    assert main(["test", str(spec), "--size-budget", "1GB"]) == 2
    assert "--size-budget 1.00 GB is larger than the policy `size_budget` (10.0 MB)" in capsys.readouterr().err


LOOSENED = """\
final:
  from: debian-slim
  packages: [curl]
  user: {uid: 0, root_reason: "binds port 80"}
  cmd: [sleep, infinity]
"""


@pytest.mark.parametrize("loosening", [
    "  no_shell: false\n  non_root: false\n  forbidden_packages: []\n  required_labels: []",
    "  no_shell: 0\n  non_root: 'no'",  # values validation would read as false
    "  forbidden_packages+: []\n  required_labels+: [other]",
    "  null",
])
def test_switches_and_demands_cannot_be_loosened(tmp_path: Path, loosening: str) -> None:
    write(tmp_path, "templates/strict.yaml", "policies:\n  no_shell: true\n  non_root: true\n"
                                             "  forbidden_packages: [curl]\n  required_labels: [team]\n")
    spec = write(tmp_path, "imagespec.yaml", f"extends: strict\nname: app\npolicies:\n{loosening}\n{LOOSENED}")
    errors = errors_of(spec)
    assert {e.message.split("policy `")[1].split("`")[0] for e in errors} >= {
        "no_shell", "non_root", "forbidden_packages", "required_labels"}
    assert all(isinstance(e, PolicyError) for e in errors)


def test_a_policy_takes_no_template_parameter(tmp_path: Path) -> None:
    write(tmp_path, "templates/param.yaml", "parameters:\n  budget: {type: string, default: 50MB}\n"
                                            "policies:\n  size_budget: ${{ budget }}\n")
    spec = write(tmp_path, "imagespec.yaml", "extends: param\nwith: {budget: 10GB}\nname: app\n"
                                             "final:\n  from: scratch\n  cmd: [/app]\n")
    [error] = errors_of(spec)
    assert "a policy takes no `${{ parameter }}`" in error.message


def test_a_rule_from_the_configuration_is_named_there_not_at_the_specs_false(tmp_path: Path) -> None:
    write(tmp_path, ".imagespec.yaml", "policies:\n  non_root: true\n")
    spec = write(tmp_path, "imagespec.yaml", "name: app\npolicies:\n  non_root: false\n" + LOOSENED)
    [error] = errors_of(spec)
    assert error.message.endswith(f"policy `non_root` set at {tmp_path / '.imagespec.yaml'}:2:3")
    assert error.location.line == 7  # the spec's `user:`


def test_a_missing_label_is_reported_at_the_spec(tmp_path: Path) -> None:
    write(tmp_path, "templates/labelled.yaml", "final:\n  from: static\n  cmd: [/app]\n"
                                               "policies:\n  required_labels: [team, source]\n")
    spec = write(tmp_path, "app/imagespec.yaml", "extends: labelled\nname: app\nfinal:\n  labels: {team: a}\n")
    [error] = errors_of(spec)
    assert "needs the label 'source'" in error.message and "templates/labelled.yaml:5:27" in error.message
    assert error.location.file.endswith("app/imagespec.yaml") and error.location.line == 4


def test_an_images_override_is_reported_at_the_specs_images_entry(tmp_path: Path) -> None:
    write(tmp_path, "templates/company.yaml", "final:\n  from: static\n  cmd: [/app]\n"
                                              "policies:\n  allowed_registries: [127.0.0.1:5000]\n")
    spec = write(tmp_path, "app/imagespec.yaml", "extends: company\nname: app\nimages:\n"
                                                 "  static: {image: docker.io/library/busybox:1, family: distroless, user: 65532}\n")
    [error] = errors_of(spec)
    assert "image 'docker.io/library/busybox:1' is not from an allowed registry" in error.message
    assert error.location.file.endswith("app/imagespec.yaml") and error.location.line == 4
    assert "templates/company.yaml:5:3" in error.message


def test_lint_json_lists_every_violation(capsys) -> None:
    assert main(["lint", "--format", "json", str(INVALID / "policy-violations-together.yaml")]) == 2
    report = json.loads(capsys.readouterr().out)
    assert "more" not in report["message"] and report["more"] == 0
    assert len(report["errors"]) == 7 and len({e["location"] for e in report["errors"]}) == 5
