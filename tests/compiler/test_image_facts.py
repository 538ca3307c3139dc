"""A spec cannot declare an image shell-less that the configuration's catalog (or its
`images:`) says has a shell: the `no_shell` policy (BP6) would believe the spec, and
only `build --verify` would look. An image the catalog does not know is taken as
declared. Found by a stranger's QA: `final.from: {image: <the catalog's debian-slim>,
family: debian, shell: false, user: 65532}` passed generate, lint and check."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagespec.cli import main

SLIM = "imagespec-test/debian:bookworm-slim"
CATALOG = (f"images:\n  debian-slim: {{image: \"{SLIM}\", family: debian, libc: glibc, digest: \"sha256:{'5' * 64}\"}}\n"
           "  static: {image: \"imagespec-test/static:nonroot\", family: distroless, user: 65532}\n")
CONFIG = "catalog: catalog.yaml\npolicies:\n  no_shell: true\n"


def spec_with(final_from: str, more: str = "") -> str:
    return f"name: sneaky\nversion: 1.0.0\n{more}final:\n  from: {final_from}\n  entrypoint: [/bin/true]\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    (tmp_path / ".imagespec.yaml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


CASES = {  # spec text, and the false fact in its line 4 (the error is at its value)
    "shell-false": (spec_with(f"{{image: \"{SLIM}\", family: debian, shell: false, user: 65532}}"), "shell: false"),
    "pinned-by-digest": (spec_with(f"{{image: \"{SLIM}@sha256:{'6' * 64}\", family: debian, shell: false, "
                                   "user: 65532}"), "shell: false"),
    "catalog-digest": (spec_with(f"{{image: \"imagespec-test/debian@sha256:{'5' * 64}\", family: debian, "
                                 "shell: false, user: 65532}"), "shell: false"),
    "family-distroless": (spec_with(f"{{image: \"{SLIM}\", family: distroless, user: 65532}}"), "family: distroless"),
    "own-images-entry": (spec_with("slim", f"images:\n  slim: {{image: \"{SLIM}\", family: debian, shell: false, "
                                   "user: 65532}\n"), "shell: false"),
}


def at_value(text: str, fact: str) -> str:
    line = text.splitlines()[3]
    return f"4:{line.index(fact) + fact.index(' ') + 2}"


@pytest.mark.parametrize("command", ["generate", "lint", "check"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_shell_less_claim_about_a_catalog_image_is_exit_2_at_it(repo: Path, case: str, command: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    text, fact = CASES[case]
    at = at_value(text, fact)
    spec = repo / "imagespec.yaml"
    spec.write_text(text, encoding="utf-8")
    assert main([command, "--no-cache", str(spec)] if command != "lint" else [command, str(spec)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{spec}:{at}: ") and "has a shell: the catalog entry 'debian-slim' " \
        f"({repo}/catalog.yaml:2:3) says so" in err[0], err
    assert "only `imagespec build --verify` would find the shell" in err[1]


def test_the_configurations_own_images_entry_is_a_fact_too(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / ".imagespec.yaml").write_text(CONFIG + "images:\n  tools: {image: \"corp.example/tools:1\", family: debian}\n",
                                          encoding="utf-8")
    spec = repo / "imagespec.yaml"
    spec.write_text(spec_with("{image: \"corp.example/tools:1\", family: debian, shell: false, user: 65532}"),
                    encoding="utf-8")
    assert main(["generate", "--no-cache", "-o", "-", str(spec)]) == 2
    assert "the catalog entry 'tools' (" in capsys.readouterr().err


def test_an_image_the_catalog_does_not_know_is_taken_as_declared(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = repo / "imagespec.yaml"
    spec.write_text(spec_with("{image: \"corp.example/slim:12\", family: debian, shell: false, user: 65532}"),
                    encoding="utf-8")
    assert main(["generate", "--no-cache", "-o", "-", str(spec)]) == 0, capsys.readouterr().err
    spec.write_text(spec_with(f"{{image: \"{SLIM}\", family: debian, user: 65532}}"), encoding="utf-8")
    assert main(["generate", "--no-cache", "-o", "-", str(spec)]) == 2  # as the catalog says: the policy holds
    assert "has a shell; use scratch or a distroless-style base (BP6): policy `no_shell`" in capsys.readouterr().err
