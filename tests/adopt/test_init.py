"""`imagespec init` (no engine): the right preset and parameters for every preset's
example, a spec that generates, and bad input as a located exit 2 with nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.adopt.conftest import PRESET_EXAMPLES, original, run_init

#: what a user adds on the command line where the files cannot tell (README "imagespec init")
FLAGS = {"preset-python-distroless": ["--preset", "python-distroless"],
         "preset-node-distroless": ["--preset", "node-distroless"]}


def generate(spec: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imagespec", "generate", str(spec)], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("example", PRESET_EXAMPLES)
def test_init_picks_the_examples_preset_and_parameters(project, example: str) -> None:
    folder = project(example)
    done = run_init(str(folder), "--format", "json", *FLAGS.get(example, []))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    written = yaml.safe_load((folder / "imagespec.yaml").read_text(encoding="utf-8"))
    expected = original(example)
    assert written["extends"] == expected["extends"] == report["preset"]
    if example != "preset-java-maven":  # its `maven` option says how to reach no repository: not in the files
        assert written.get("with", {}) == expected.get("with", {})
    assert report["found"], report
    assert generate(folder / "imagespec.yaml").returncode == 0
    assert (folder / "Dockerfile").read_text(encoding="utf-8").startswith("# syntax=") or (folder / "Dockerfile").exists()


def test_init_reads_name_version_licence_and_port_from_the_manifest(project) -> None:
    folder = project("preset-node")
    assert run_init(str(folder)).returncode == 0
    spec = yaml.safe_load((folder / "imagespec.yaml").read_text(encoding="utf-8"))
    assert (spec["name"], spec["version"], spec["license"], spec["final"]["ports"]) == ("preset-node", "1.0.0", "MIT", [8080])


def test_every_guess_is_overridable_by_a_flag(project) -> None:
    folder = project("preset-go")
    done = run_init(str(folder), "--name", "api-server", "--version", "2.3.4", "--license", "MIT", "--port", "9090",
                    "--entrypoint", "/usr/local/bin/api --verbose", "--with", "binary=api")
    assert done.returncode == 0, done.stderr
    spec = yaml.safe_load((folder / "imagespec.yaml").read_text(encoding="utf-8"))
    assert spec["name"] == "api-server" and spec["version"] == "2.3.4" and spec["license"] == "MIT"
    assert spec["final"] == {"ports": [9090], "entrypoint": ["/usr/local/bin/api", "--verbose"]}
    assert spec["with"] == {"binary": "api", "package": "./cmd/api"}
    assert "port 8080" not in done.stderr  # the guess it replaced is not reported


def test_the_spec_says_what_was_found_and_guessed(project) -> None:
    folder = project("preset-go")
    done = run_init(str(folder))
    text = (folder / "imagespec.yaml").read_text(encoding="utf-8")
    assert "#   go.mod: a Go module" in text and "# Guessed (check these):" in text
    assert "guessed  version 0.1.0" in done.stderr and "found    go.mod" in done.stderr


def test_hostile_manifest_values_are_made_safe(project) -> None:
    folder = project("preset-node")
    package = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    package["name"] = "@evil/Name; rm -rf /"
    # a newline in a value quoted in a comment must not start a key of its own
    package["version"] = "1.0.0\nfinal: {user: {uid: 0, root_reason: injected}}"
    package["main"] = "server.js"
    (folder / "package.json").write_text(json.dumps(package), encoding="utf-8")
    done = run_init(str(folder))
    assert done.returncode in (0, 2), done.stderr
    assert "Traceback" not in done.stderr
    if done.returncode == 0:
        spec = yaml.safe_load((folder / "imagespec.yaml").read_text(encoding="utf-8"))
        assert spec["name"] == "name-rm-rf"
        assert "user" not in spec.get("final", {})


def test_a_folder_with_nothing_it_knows_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    done = run_init(str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith(f"{tmp_path}: no project imagespec knows") and "hint: " in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "imagespec.yaml").exists()


def test_an_existing_spec_is_never_overwritten(project) -> None:
    folder = project("preset-go")
    (folder / "imagespec.yaml").write_text("# mine\n", encoding="utf-8")
    done = run_init(str(folder))
    assert done.returncode == 2 and "imagespec.yaml:1:1: a spec exists here already" in done.stderr
    assert (folder / "imagespec.yaml").read_text(encoding="utf-8") == "# mine\n"


@pytest.mark.parametrize("args", [["--with", "nokey"], ["--entrypoint", "'unclosed"], ["--preset", "no-such-preset"]])
def test_bad_flags_are_exit_2_and_write_nothing(project, args: list[str]) -> None:
    folder = project("preset-go")
    done = run_init(str(folder), *args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and not (folder / "imagespec.yaml").exists()


def test_a_hand_written_dockerfile_is_named_and_kept(project) -> None:
    folder = project("preset-go")
    (folder / "Dockerfile").write_text("FROM golang:1.22\nRUN go build ./...\n", encoding="utf-8")
    done = run_init(str(folder))
    assert done.returncode == 0 and "Dockerfile: hand-written" in done.stderr
    assert generate(folder / "imagespec.yaml").returncode == 1  # generate keeps it (issue #11)
    assert (folder / "Dockerfile").read_text(encoding="utf-8").startswith("FROM golang:1.22")
