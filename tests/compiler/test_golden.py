"""Golden tests by file name: each spec next to the Dockerfile and .dockerignore it
must compile to, byte for byte. The examples are goldens too (their committed files
are what users read), and tests/compiler/golden/<case>/ covers what they do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler_helpers import EXAMPLES, GOLDEN, GOLDEN_CASES, case_id, compile_path

GOLDEN_EXPECTED = {  # every case named in the test plan; a missing folder is a failure, not a skip
    "apk-alpine", "artifact-mode", "artifact-mode-copy-chmod", "build-args", "copy-dot", "distroless-user",
    "dnf-fedora", "exec-run", "healthcheck-disable", "heredoc", "pinned-packages", "pipes", "root-user",
    "runtime-metadata", "scratch-writable-init", "stage-from-stage", "yum-centos",
}


def test_every_planned_golden_case_exists() -> None:
    assert GOLDEN_EXPECTED <= {case_id(path) for path in GOLDEN_CASES}


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("spec", EXAMPLES + GOLDEN_CASES, ids=lambda p: f"{p.parent.parent.name}/{case_id(p)}")
def test_spec_compiles_to_committed_files(spec: Path, golden) -> None:
    compiled = compile_path(spec)
    new_case = spec.name == "spec.yaml"  # golden/<case>/spec.yaml; examples keep what generate wrote
    golden(spec.parent / "Dockerfile", compiled.dockerfile, create=new_case)
    golden(spec.parent / ".dockerignore", compiled.dockerignore, create=new_case)


@pytest.mark.parametrize("spec", EXAMPLES + GOLDEN_CASES[:3], ids=lambda p: case_id(p))
def test_compiling_twice_gives_identical_bytes(spec: Path) -> None:
    first, second = compile_path(spec), compile_path(spec)
    assert (first.dockerfile, first.dockerignore) == (second.dockerfile, second.dockerignore)


def test_pinned_packages_need_no_pin_ignore() -> None:
    text = (GOLDEN / "pinned-packages" / "Dockerfile").read_text()
    assert "DL3008" not in text
    assert "curl=7.88.1-10+deb12u5" in text


def test_unpinned_packages_say_why_they_are_unpinned() -> None:
    for case, rule in (("apk-alpine", "DL3018"), ("dnf-fedora", "DL3041"), ("yum-centos", "DL3033"),
                       ("stage-from-stage", "DL3008")):
        text = (GOLDEN / case / "Dockerfile").read_text()
        assert f"# hadolint ignore={rule}\n" in text, case
        assert f"# {rule}: unpinned packages follow the base image's release" in text, case
