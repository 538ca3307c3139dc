"""`imagespec init` on what a stranger's project holds (no engine): a dynamically linked
C build, versions that are not semantic ones, start scripts with more than `node FILE`,
requirements files that include others, broken manifests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.adopt.conftest import run_init


def spec_of(folder: Path, *flags: str) -> tuple[dict, str]:
    done = run_init(str(folder), "-o", "-", *flags)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout), done.stderr


# --- 1. C: a binary linked without -static needs the dynamic loader ---------------------

def c_project(folder: Path, makefile: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hello.c").write_text("int main(void) { return 0; }\n")
    (folder / "Makefile").write_text(makefile)
    return folder


@pytest.mark.parametrize("makefile", [
    "hello: hello.c\n\t$(CC) -O2 -o $@ hello.c\n",
    "LDFLAGS = -static-libgcc\nhello: hello.c\n\t$(CC) $(LDFLAGS) -o $@ hello.c\n",  # still needs the loader
    "# LDFLAGS = -static\nhello: hello.c\n\t$(CC) -o $@ hello.c\n",  # a comment links nothing
])
def test_a_makefile_without_static_linking_gets_the_glibc_final(tmp_path: Path, makefile: str) -> None:
    """Was: scratch, and the image failed at start (`exec …: no such file or directory`)."""
    spec, said = spec_of(c_project(tmp_path / "c", makefile))
    assert spec["final"] == {"from": "cc"}
    assert "guessed  final.from cc: the Makefile links without -static, so the binary needs glibc's dynamic loader" \
        in said


@pytest.mark.parametrize(("makefile", "line"), [
    ("LDFLAGS ?= -static\nhello: hello.c\n\t$(CC) $(LDFLAGS) -o $@ hello.c\n", 1),
    ("hello: hello.c\n\t$(CC) -static-pie -o $@ hello.c\n", 2),
])
def test_a_makefile_that_links_statically_keeps_scratch(tmp_path: Path, makefile: str, line: int) -> None:
    spec, said = spec_of(c_project(tmp_path / "c", makefile))
    assert "final" not in spec
    assert f"found    Makefile:{line}: links with -static, so the binary runs alone: the preset's scratch final" in said


def test_c_sources_without_a_makefile_are_linked_statically_by_inits_command(tmp_path: Path) -> None:
    (tmp_path / "main.c").write_text("int main(void) { return 0; }\n")
    spec, said = spec_of(tmp_path)
    assert "-static" in spec["with"]["build"] and "final" not in spec
    assert "the preset's scratch final" in said


# --- 2. versions that are no semantic version ------------------------------------------

def python_project(folder: Path, pyproject: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text("print('hi')\n")
    (folder / "requirements.txt").write_text("")
    (folder / "pyproject.toml").write_text(pyproject)
    return folder


@pytest.mark.parametrize(("written", "version"), [("0.1", "0.1.0"), ("2", "2.0.0"), ("v1.2", "1.2.0"),
                                                  ("1.0rc1", "1.0.0-rc.1"), ("2024.01.15", "2024.1.15")])
def test_a_pep440_version_that_maps_cleanly_is_normalised_and_said(tmp_path: Path, written: str, version: str) -> None:
    """Was exit 2, "'0.1' is not a semantic version", at no location."""
    spec, said = spec_of(python_project(tmp_path / "p", f'[project]\nname = "p"\nversion = "{written}"\n'))
    assert spec["version"] == version
    assert f"guessed  version {version}: pyproject.toml's '{written}' as a semantic version (--version)" in said


@pytest.mark.parametrize("written", ["1.0.0.post1", "1!2.0", "1.2.3.4", "1.0.dev3"])
def test_a_version_with_no_clean_mapping_gives_way_to_the_default_and_is_said(tmp_path: Path, written: str) -> None:
    spec, said = spec_of(python_project(tmp_path / "p", f'[project]\nname = "p"\nversion = "{written}"\n'))
    assert spec["version"] == "0.1.0"
    assert f"guessed  version 0.1.0: pyproject.toml's '{written}' is not a semantic version" in said
    assert "no version in the project's manifest" not in said  # one note, not two


def test_a_package_json_and_a_pom_version_are_mapped_too(tmp_path: Path) -> None:
    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "server.js").write_text("")
    (tmp_path / "n" / "package.json").write_text(json.dumps({"name": "n", "version": "1.2"}))
    (tmp_path / "n" / "package-lock.json").write_text(NPM_LOCK)
    assert spec_of(tmp_path / "n")[0]["version"] == "1.2.0"
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "pom.xml").write_text("<project><artifactId>j</artifactId><version>1.0-SNAPSHOT</version>"
                                           "</project>")
    assert spec_of(tmp_path / "j")[0]["version"] == "1.0.0-SNAPSHOT"


def test_a_version_given_by_flag_replaces_the_guess_and_is_checked_as_a_flag(tmp_path: Path) -> None:
    folder = python_project(tmp_path / "p", '[project]\nname = "p"\nversion = "0.1"\n')
    spec, said = spec_of(folder, "--version", "3.0.0")
    assert spec["version"] == "3.0.0" and "guessed  version" not in said
    done = run_init(str(folder), "--version", "1.0")
    assert done.returncode == 2 and done.stderr.startswith("imagespec: --version: '1.0' is not a semantic version")
    assert "hint: write three numbers" in done.stderr and not (folder / "imagespec.yaml").exists()


# --- 3. node start scripts ----------------------------------------------------------------

NPM_LOCK = '{"name": "n", "lockfileVersion": 3, "requires": true, "packages": {}}\n'


@pytest.mark.parametrize("flags", [[], ["--preset", "node"], ["--with", "main=server.js"]])
def test_a_node_package_without_a_lock_is_exit_2(tmp_path: Path, flags: list[str]) -> None:
    """Was a warning, and a spec whose build failed at `COPY package.json package-lock.json`
    (the preset's `npm ci` step); a pyproject.toml without a lock was exit 2 already."""
    (tmp_path / "package.json").write_text(json.dumps({"name": "n", "version": "1.0.0"}))
    (tmp_path / "server.js").write_text("require('http').createServer().listen(3000)\n")
    done = run_init(str(tmp_path), *flags)
    assert done.returncode == 2 and not (tmp_path / "imagespec.yaml").exists(), done.stderr
    assert done.stderr.startswith(f"{tmp_path / 'package.json'}:1:1: package.json without a lock: the node presets "
                                  "install package-lock.json (npm ci), yarn.lock (node-yarn) or pnpm-lock.yaml "
                                  "(node-pnpm)"), done.stderr
    assert "hint: lock it first: `npm install --package-lock-only`" in done.stderr
    (tmp_path / "package-lock.json").write_text(NPM_LOCK)
    assert run_init(str(tmp_path), *flags).returncode == 0

@pytest.mark.parametrize("flags", [[], ["--with", "main=packages/api/index.js"]])
def test_an_npm_workspace_root_is_exit_2(tmp_path: Path, flags: list[str]) -> None:
    """Stranger QA: with `--with main=packages/api/index.js` init wrote a spec whose `npm ci`
    of the root's package.json and lock installed no member's dependencies ("up to date"),
    so the app failed at its first require."""
    (tmp_path / "package.json").write_text(json.dumps({"name": "mono", "private": True, "workspaces": ["packages/*"]}))
    (tmp_path / "package-lock.json").write_text(NPM_LOCK)
    (tmp_path / "packages/api").mkdir(parents=True)
    (tmp_path / "packages/api/package.json").write_text(json.dumps({"name": "api", "dependencies": {"ms": "2"}}))
    (tmp_path / "packages/api/index.js").write_text("require('ms')\n")
    done = run_init(str(tmp_path), *flags)
    assert done.returncode == 2 and not (tmp_path / "imagespec.yaml").exists(), done.stderr
    assert done.stderr.startswith(f"{tmp_path / 'package.json'}:1:1: package.json names `workspaces`"), done.stderr
    assert "hint: run init in the member's folder" in done.stderr


def node_project(folder: Path, start: str, *files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text(json.dumps({"name": "n", "version": "1.0.0", "scripts": {"start": start}}))
    (folder / "package-lock.json").write_text(NPM_LOCK)
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("require('http').createServer().listen(3000)\n")
    return folder


@pytest.mark.parametrize(("start", "final"), [
    ("NODE_ENV=production node srv.js", {"env": {"NODE_ENV": "production"}, "ports": [3000]}),
    ("node srv.js && echo done", {"ports": [3000]}),
    ("tsc; node srv", {"ports": [3000]}),  # node runs srv.js for `srv`
    ("cross-env LOG_LEVEL=debug node ./srv.js", {"env": {"LOG_LEVEL": "debug"}, "ports": [3000]}),
    ("node --enable-source-maps -r ./tracing.js srv.js",
     {"ports": [3000], "entrypoint": ["node", "--enable-source-maps", "-r", "./tracing.js", "/app/srv.js"]}),
])
def test_the_file_a_start_script_runs_is_the_entry(tmp_path: Path, start: str, final: dict) -> None:
    """Was: "guessed main server.js" and an entrypoint for a file that does not exist."""
    spec, said = spec_of(node_project(tmp_path / "n", start, "srv.js", "tracing.js"))
    assert spec.get("with", {}) == ({} if "entrypoint" in final else {"main": "srv.js"})
    assert spec["final"] == final
    assert "found    srv.js: the entry file" in said and "server.js" not in said


def test_a_start_scripts_secret_or_shell_variable_is_not_written(tmp_path: Path) -> None:
    spec, said = spec_of(node_project(tmp_path / "n", "API_TOKEN=abc123 HOME_DIR=$HOME MODE=x node srv.js", "srv.js"))
    assert spec["final"]["env"] == {"MODE": "x"}
    assert "abc123" not in yaml.safe_dump(spec) and "guessed  env API_TOKEN: the start script sets a secret" in said
    assert "guessed  env HOME_DIR: the start script's value '$HOME' is expanded by a shell" in said


@pytest.mark.parametrize("start", ["nodemon srv.js", "node -e 'require(\"./srv\")'", "node 'unclosed"])
def test_no_entry_file_is_exit_2_with_the_flags_that_name_one(tmp_path: Path, start: str) -> None:
    folder = node_project(tmp_path / "n", start, "lib/srv.js")
    done = run_init(str(folder))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"{folder / 'package.json'}:1:1: no entry file: ")
    assert "--with main=FILE" in done.stderr and "--entrypoint" in done.stderr
    assert not (folder / "imagespec.yaml").exists()
    assert spec_of(folder, "--with", "main=lib/srv.js")[0]["with"] == {"main": "lib/srv.js"}
    assert spec_of(folder, "--entrypoint", "node /app/lib/srv.js")[0]["final"]["entrypoint"] == \
        ["node", "/app/lib/srv.js"]


@pytest.mark.parametrize("start", ["node /srv/app.js", "node ../outside.js"])
def test_a_start_script_file_outside_the_folder_is_never_the_entry(tmp_path: Path, start: str) -> None:
    (tmp_path / "outside.js").write_text("")
    folder = node_project(tmp_path / "n", start)
    done = run_init(str(folder))
    assert done.returncode == 2 and "no entry file" in done.stderr, done.stderr


def test_a_python_folder_with_no_program_is_exit_2(tmp_path: Path) -> None:
    """The same for python: was `script app.py` guessed, a file that is not there."""
    (tmp_path / "requirements.txt").write_text("")
    (tmp_path / "lib.py").write_text("X = 1\n")
    done = run_init(str(tmp_path))
    assert done.returncode == 2 and done.stderr.startswith(f"{tmp_path}: no program to run: no app.py"), done.stderr
    assert "--with script=FILE" in done.stderr and not (tmp_path / "imagespec.yaml").exists()
    assert spec_of(tmp_path, "--with", "script=lib.py")[0]["with"] == {"script": "lib.py"}


# --- 4. requirements files that include others --------------------------------------------

def test_included_requirements_are_copied_into_the_dependency_step(tmp_path: Path) -> None:
    """Was: only requirements.txt copied, and pip failed in the build ("Could not open
    requirements file: requirements/base.txt")."""
    (tmp_path / "requirements").mkdir()
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "requirements.txt").write_text("-r requirements/base.txt\n--constraint=constraints.txt  # pins\n"
                                               "-r https://example.invalid/r.txt\n-r ../shared.txt\n-r gone.txt\n")
    (tmp_path / "requirements" / "base.txt").write_text("flask\n-c ../constraints.txt\n-r \\\n  more.txt\n")
    (tmp_path / "requirements" / "more.txt").write_text("-r base.txt\n")  # a cycle: each file once
    (tmp_path / "constraints.txt").write_text("flask<4\n")
    spec, said = spec_of(tmp_path)
    copied = ["requirements/base.txt", "constraints.txt", "requirements/more.txt"]
    assert spec["stages"] == {"venv": {"dependencies": {"copy+": copied}}}
    assert "requirements.txt:4 includes '../shared.txt', outside the folder" in said
    assert "requirements.txt:5 includes 'gone.txt', which is not a file in the folder" in said
    assert "requirements.txt:3 includes 'https://example.invalid/r.txt': a URL" in said
    (tmp_path / "imagespec.yaml").write_text(yaml.safe_dump(spec))
    dockerfile = subprocess.run([sys.executable, "-m", "imagespec", "generate", str(tmp_path / "imagespec.yaml"), "-o",
                                 "-"], capture_output=True, text=True, timeout=120)
    assert dockerfile.returncode == 0, dockerfile.stderr
    assert "COPY requirements.txt constraints.txt ./\nCOPY requirements/base.txt requirements/more.txt " \
           "./requirements/\n" in dockerfile.stdout, dockerfile.stdout


def test_a_link_out_of_the_folder_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("x\n")
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "app.py").write_text("")
    (folder / "base.txt").symlink_to(tmp_path / "secret.txt")
    (folder / "requirements.txt").write_text("-r base.txt\n")
    spec, said = spec_of(folder)
    assert "stages" not in spec and "includes 'base.txt', which is not a file in the folder" in said


# --- 5. broken manifests --------------------------------------------------------------------

@pytest.mark.parametrize(("name", "text", "where", "what"), [
    ("package.json", '{"name": "ok",', "1:15", "not valid JSON: Expecting property name enclosed in double quotes"),
    ("package.json", '{"name": "ok",\n', "2:1", "(the file ends there)"),
    ("Cargo.toml", '[package]\nname = "x\n', "2:10", "not valid TOML: Illegal character"),
    ("pom.xml", "<project><version>1</project>", "1:22", "not valid XML: mismatched tag"),
])
def test_a_broken_manifest_is_exit_2_at_its_line(tmp_path: Path, name: str, text: str, where: str, what: str) -> None:
    """Was: "no project imagespec knows in this folder" (the manifest was skipped)."""
    (tmp_path / name).write_text(text)
    done = run_init(str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"{tmp_path / name}:{where}: ") and what in done.stderr.splitlines()[0], done.stderr
    assert f"hint: fix {name}" in done.stderr and not (tmp_path / "imagespec.yaml").exists()


@pytest.mark.parametrize("lock", ["requirements.txt", None])
def test_a_broken_pyproject_is_exit_2_at_its_line(tmp_path: Path, lock: str | None) -> None:
    """With requirements.txt it was read as no metadata; without a lock "pyproject.toml
    without a lock" hid that the file itself is broken."""
    (tmp_path / "app.py").write_text("")
    if lock:
        (tmp_path / lock).write_text("")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = 1.0.0\n')
    done = run_init(str(tmp_path))
    assert done.returncode == 2 and done.stderr.startswith(f"{tmp_path / 'pyproject.toml'}:3:"), done.stderr
    assert "not valid TOML" in done.stderr


@pytest.mark.parametrize(("start", "final", "guessed"), [
    # QA: the arguments after the file were lost (the app listened elsewhere)
    ("node srv.js --port 8080", {"ports": [3000], "entrypoint": ["node", "/app/srv.js", "--port", "8080"]}, None),
    ("node srv.js --port $PORT", {"ports": [3000]}, "'$PORT' is expanded by a shell; node's options and arguments"),
    # QA: a variable on a line of its own is the shell's, not node's; it was written into env
    ("DEBUG=1\nnode srv.js", {"ports": [3000]}, "also runs 'DEBUG=1', which the image does not"),
    # QA: dropped without a word
    ("FOO=$(id) node srv.js", {"ports": [3000]}, "also runs \"a command substitution"),
    ("node srv.js && node other.js", {"ports": [3000]}, "also runs 'node other.js', which the image does not"),
])
def test_what_a_start_script_runs_besides_node_file_is_carried_or_said(tmp_path: Path, start: str, final: dict,
                                                                       guessed: str | None) -> None:
    spec, said = spec_of(node_project(tmp_path / "n", start, "srv.js"))
    assert spec["final"] == final
    if guessed:
        assert "guessed  package.json's start script" in said and guessed in said, said


def test_a_requirement_that_installs_code_of_the_folder_is_said(tmp_path: Path) -> None:
    """QA: `-e .` (or `./libs/x`) in requirements.txt: the dependency step copies the
    requirements alone, and pip failed there ("does not appear to be a Python project"),
    with nothing said by init. A repository pip clones is no local code."""
    folder = tmp_path / "p"
    (folder / "libs").mkdir(parents=True)
    (folder / "app.py").write_text("print('hi')\n")
    (folder / "base.txt").write_text("./libs/x  # a local package\n")
    (folder / "requirements.txt").write_text("flask==3.0.3\n-r base.txt\n--editable .\n"
                                            "-e git+https://example.com/a/b#egg=b\nfoo @ file:///srv/foo\n-e .[dev]\n")
    spec, said = spec_of(folder)
    notes = [line for line in said.splitlines() if "installs code of the folder" in line]
    assert [note.split(": '")[0] for note in notes] == [
        "guessed  requirements.txt:3", "guessed  requirements.txt:5", "guessed  requirements.txt:6",
        "guessed  base.txt:1"], said


@pytest.mark.parametrize(("files", "manifest", "flag", "written"), [
    # QA: a module without `package main` built `.` into app, an image that cannot start, exit 0
    ({"go.mod": "module example.com/lib\n\ngo 1.22\n", "lib.go": "package lib\n"}, "go.mod",
     "package=./cmd/x", {"package": "./cmd/x"}),
    # QA: a workspace alone built `--bin app`, which no member has, exit 0
    ({"Cargo.toml": "[workspace]\nmembers = [\"a\"]\n"}, "Cargo.toml", "binary=a", {"binary": "a"}),
])
def test_no_program_to_build_is_exit_2_until_a_flag_names_it(tmp_path: Path, files: dict[str, str], manifest: str,
                                                              flag: str, written: dict[str, str]) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    done = run_init(str(folder))
    assert done.returncode == 2 and done.stderr.startswith(f"{folder / manifest}:1:1: no program to build: "), done.stderr
    assert f"--with {flag.split('=')[0]}=" in done.stderr and not (folder / "imagespec.yaml").exists()
    spec, _ = spec_of(folder, "--with", flag)
    assert spec["with"] == written


def test_a_manifest_linked_out_of_the_folder_is_not_read(tmp_path: Path) -> None:
    """QA: `package.json -> ../other/package.json` named the spec after that file (its name
    and version); init reads no file through a link out of the folder, as import does not."""
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "package.json").write_text(json.dumps({"name": "elsewhere", "version": "9.9.9"}))
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "package.json").symlink_to("../other/package.json")
    (folder / "server.js").write_text("require('http')\n")
    done = run_init(str(folder), "-o", "-")
    assert done.returncode == 2 and "elsewhere" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert f"{folder / 'package.json'}: package.json is a link out of the folder: init does not read it" \
        in done.stderr


@pytest.mark.parametrize(("make", "why"), [
    (lambda p: os.mkfifo(p), "is not a regular file (a folder, a pipe or a device)"),
    (lambda p: p.write_bytes(b" " * (2 << 20)), "is over 1 MiB"),
    (lambda p: p.write_bytes(b""), "is empty, or not UTF-8 text"),
    (lambda p: p.write_bytes(b"\xff\xfe{}"), "is empty, or not UTF-8 text"),
])
def test_a_manifest_init_cannot_read_is_named(tmp_path: Path, make, why: str) -> None:  # type: ignore[no-untyped-def]
    """Stranger QA: a FIFO or a 50 MB package.json was "no project imagespec knows"."""
    make(tmp_path / "package.json")
    done = run_init(str(tmp_path))
    assert done.returncode == 2 and not (tmp_path / "imagespec.yaml").exists(), done.stderr
    assert done.stderr.startswith(f"{tmp_path / 'package.json'}: package.json {why}: init does not read it"), done.stderr
