"""The spec `imagespec init` writes builds and passes `imagespec test` with no edit, for
every preset's example app (its own spec and generated files removed first)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.adopt.conftest import FLAGS, PRESET_EXAMPLES
from tests.adopt.test_init import DEV_SERVER_APP
from tests.integration.conftest import LOCAL_CONFIG, docker, imagespec
from tests.integration.test_examples import PROBES

#: java-maven's example builds offline from Debian's packaged plugins, which only its
#: hand-written spec lists (README "imagespec init"): not built here.
BUILT = [name for name in PRESET_EXAMPLES if name != "preset-java-maven"]


@pytest.mark.engine
@pytest.mark.parametrize("example", BUILT)
def test_init_spec_builds_and_passes_imagespec_test(project, built, example: str) -> None:
    folder = project(example)
    name = f"imagespec-inittest-{example}"
    done = subprocess.run([sys.executable, "-m", "imagespec", "init", str(folder), "--name", name,
                           *FLAGS.get(example, [])], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    spec = folder / "imagespec.yaml"
    summary = built(spec)
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--image", summary["tags"][0], "--format", "json",
                       *PROBES[example], str(spec))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    checks = {c["name"] for c in json.loads(result.stdout)["checks"] if c["ok"] and not c["skipped"]}
    assert {"process-user", "pid1-app", "stop-graceful", "zombies-reaped"} <= checks


NO_DEPS_SERVER = """\
const http = require("http");
const server = http.createServer((_, res) => res.end("ok\\n"));
server.listen(Number(process.env.PORT || 3000), "127.0.0.1", () => console.log("listening"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
"""


@pytest.mark.engine
def test_a_node_app_with_no_dependencies_builds_from_its_init_spec(tmp_path, built) -> None:  # type: ignore[no-untyped-def]
    """npm ci makes no node_modules when the lockfile lists nothing to install; the preset
    copies that folder into the final (was: "/src/node_modules": not found, at the preset)."""
    folder = tmp_path / "plain-node"
    (folder / "src").mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({"name": "plain-node", "version": "1.0.0", "dependencies": {},
                                                     "scripts": {"start": "node src/server.js"}}))
    (folder / "package-lock.json").write_text(json.dumps({"name": "plain-node", "version": "1.0.0",
                                                          "lockfileVersion": 3, "requires": True, "packages": {
                                                              "": {"name": "plain-node", "version": "1.0.0"}}}))
    (folder / "src" / "server.js").write_text(NO_DEPS_SERVER)
    done = subprocess.run([sys.executable, "-m", "imagespec", "init", str(folder), "--name", "imagespec-inittest-nodeps"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = built(folder / "imagespec.yaml")
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--format", "json", "--ready-log", "listening",
                       str(folder / "imagespec.yaml"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert summary["tags"]


PLAIN_PYTHON_SERVER = """\
import http.server
import os

server = http.server.HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), http.server.SimpleHTTPRequestHandler)
print("listening", flush=True)
server.serve_forever()
"""


@pytest.mark.engine
def test_a_plain_python_server_stops_at_once_under_its_init_spec(tmp_path, built) -> None:  # type: ignore[no-untyped-def]
    """A server that installs no SIGTERM handler: the python preset runs it under tini, so
    `docker stop` ends it at once (was: 10 s, then SIGKILL: stop-graceful failed)."""
    folder = tmp_path / "plain-python"
    _init(folder, {"app.py": PLAIN_PYTHON_SERVER, "requirements.txt": ""}, "imagespec-inittest-plainpy")
    built(folder / "imagespec.yaml")
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--format", "json", "--ready-log", "listening",
                       str(folder / "imagespec.yaml"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["stop-graceful"]["ok"] and checks["pid1-init"]["ok"], checks


def _init(folder: Path, files: dict[str, str], name: str) -> subprocess.CompletedProcess[str]:
    """Write `files` into a new `folder` and `init` it as `name` (exit 0)."""
    folder.mkdir()
    for file, text in files.items():
        (folder / file).write_text(text)
    return _init_folder(folder, name)


def _init_folder(folder: Path, name: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "imagespec", "init", str(folder), "--name", name],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def _init_build_and_test(folder, name: str, built) -> None:  # type: ignore[no-untyped-def]
    """`init` the folder, build its spec and pass `imagespec test` (the app logs "listening")."""
    _init_folder(folder, name)
    built(folder / "imagespec.yaml")
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--format", "json", "--ready-log", "listening",
                       str(folder / "imagespec.yaml"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.engine
def test_a_src_layout_package_starts_from_its_init_spec(tmp_path, built) -> None:  # type: ignore[no-untyped-def]
    """`src/webapp/__main__.py` importing `webapp`: run as `python -m webapp` with /app/src on
    the import path (was `python /app/src/webapp/__main__.py`: ModuleNotFoundError at start)."""
    from tests.adopt.test_init import src_layout_app

    _init_build_and_test(src_layout_app(tmp_path / "srcapp"), "imagespec-inittest-srcpy", built)


@pytest.mark.engine
def test_a_console_script_starts_from_its_init_spec(tmp_path, built) -> None:  # type: ignore[no-untyped-def]
    """`[project.scripts] svc = "svc.cli:main"` in a src layout: the entrypoint imports and
    calls it, under tini (was exit 2: no program to run)."""
    from tests.adopt.test_init import console_script_app

    _init_build_and_test(console_script_app(tmp_path / "cliapp"), "imagespec-inittest-clipy", built)


@pytest.mark.engine
def test_a_node_entry_made_by_the_build_script_starts_from_its_init_spec(tmp_path, built) -> None:  # type: ignore[no-untyped-def]
    """`main: dist/server.js` made by `npm run build`: init's build stage makes it (was: main
    server.js, a file that does not exist)."""
    from tests.adopt.test_init import built_node_app

    folder = built_node_app(tmp_path / "builtnode")
    (folder / "public").mkdir()
    (folder / "public" / "index.html").write_text("<p>hi</p>\n")
    (folder / "tsconfig.json").write_text("{}\n")
    _init_folder(folder, "imagespec-inittest-nodebuild")
    tag = built(folder / "imagespec.yaml")["tags"][0]
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--format", "json", "--ready-log", "listening",
                       str(folder / "imagespec.yaml"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # the output and what the app reads at run time, not its sources (was: the whole folder)
    container = docker("create", tag).stdout.strip()
    try:
        paths = ("dist/server.js", "package.json", "public/index.html", "src", "tsconfig.json")
        present = {path: docker("cp", f"{container}:/app/{path}", str(tmp_path / f"out{n}"), check=False).returncode == 0
                   for n, path in enumerate(paths)}
    finally:
        docker("rm", container)
    assert present == {"dist/server.js": True, "package.json": True, "public/index.html": True, "src": False,
                       "tsconfig.json": False}, present


C_SERVER = """\
#include <stdio.h>
#include <unistd.h>

int main(void) {
    puts("listening");
    fflush(stdout);
    pause(); /* until a signal: tini forwards docker stop's SIGTERM */
    return 0;
}
"""


@pytest.mark.engine
def test_a_dynamically_linked_c_program_starts_from_its_init_spec(tmp_path, built) -> None:  # type: ignore[no-untyped-def]
    """A Makefile that links without -static: init picks the glibc final (cc). Was scratch,
    and the container failed at start: `exec …: no such file or directory` (no loader)."""
    folder = tmp_path / "dyn-c"
    folder.mkdir()
    (folder / "main.c").write_text(C_SERVER)
    (folder / "Makefile").write_text("server: main.c\n\t$(CC) -O2 -o $@ main.c\n")
    _init_build_and_test(folder, "dvn-init-dyn-c", built)


@pytest.mark.engine
def test_included_requirements_build_from_the_init_spec(tmp_path, built) -> None:  # type: ignore[no-untyped-def]
    """`-r requirements/base.txt` and `-c constraints.txt`: copied into the dependency step
    (was: only requirements.txt, and pip failed: "Could not open requirements file")."""
    folder = tmp_path / "reqs-py"
    (folder / "requirements").mkdir(parents=True)
    (folder / "app.py").write_text(PLAIN_PYTHON_SERVER)
    (folder / "requirements.txt").write_text("-r requirements/base.txt\n")
    (folder / "requirements" / "base.txt").write_text("-c ../constraints.txt\n")
    (folder / "constraints.txt").write_text("# nothing pinned yet\n")
    _init_build_and_test(folder, "dvn-init-reqs", built)


@pytest.mark.engine
def test_a_start_script_with_variables_starts_from_its_init_spec(tmp_path, built) -> None:  # type: ignore[no-untyped-def]
    """`NODE_ENV=production GREETING=hi node srv.js`: srv.js is the entry, GREETING is in
    the image's env (was: main server.js, a file that does not exist)."""
    folder = tmp_path / "start-node"
    folder.mkdir()
    (folder / "package.json").write_text(json.dumps({"name": "start-node", "version": "1.0", "dependencies": {},
                                                     "scripts": {"start": "GREETING=hi node srv.js"}}))
    (folder / "package-lock.json").write_text(json.dumps({"name": "start-node", "version": "1.0.0",
                                                          "lockfileVersion": 3, "requires": True, "packages": {
                                                              "": {"name": "start-node", "version": "1.0.0"}}}))
    (folder / "srv.js").write_text("if (process.env.GREETING !== 'hi') process.exit(3);\n" + NO_DEPS_SERVER)
    _init_build_and_test(folder, "dvn-init-start", built)


@pytest.mark.engine
def test_imagespec_test_names_a_missing_dynamic_loader(tmp_path, built) -> None:  # type: ignore[no-untyped-def]
    """The spec init wrote before the fix (scratch for a dynamically linked binary): the
    failure names the cause, not only "exec …: No such file or directory"."""
    folder = tmp_path / "dyn-c-scratch"
    folder.mkdir()
    (folder / "main.c").write_text(C_SERVER)
    (folder / "Makefile").write_text("server: main.c\n\t$(CC) -O2 -o $@ main.c\n")
    (folder / "imagespec.yaml").write_text("extends: c\nwith: {binary: server, name: server}\n"
                                           "name: dvn-verify-dyn-c\nversion: 0.1.0\n")
    built(folder / "imagespec.yaml")
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--format", "json", str(folder / "imagespec.yaml"))
    assert result.returncode == 1, result.stdout[-4000:] + result.stderr[-2000:]
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert not checks["runs-read-only"]["ok"]
    detail = checks["runs-read-only"]["detail"]
    assert "/usr/local/bin/server is dynamically linked (its loader /lib" in detail, detail  # /lib64/ld-linux-…
    assert "but the final has no dynamic loader: link it statically (-static), or build on a final with glibc " \
           "(final.from: cc)" in detail


FASTAPI_MODULE = """\
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def root() -> dict:
    return {"served": "by uvicorn"}
"""


@pytest.mark.engine
@pytest.mark.parametrize(("files", "server"), [
    ({"main.py": FASTAPI_MODULE, "requirements.txt": "fastapi==0.111.0\nuvicorn==0.30.1\n"},
     "main.py: a FastAPI app (`app`), served by uvicorn"),
    ({"app.py": DEV_SERVER_APP.format(arguments="debug=True"), "requirements.txt": "flask==3.0.3\ngunicorn==22.0.0\n"},
     "app.py: a Flask app (`app`), served by gunicorn"),
], ids=["fastapi-module", "flask-dev-server"])
def test_a_web_app_is_served_by_the_server_the_project_installs(tmp_path, built, files: dict,  # type: ignore[no-untyped-def]
                                                                 server: str) -> None:
    """Stranger QA: a FastAPI `main.py` (no `if __name__ == "__main__"`) was run as `python
    main.py`, which defines the app and exits: the image could not start. And a Flask
    `if __name__ == "__main__": app.run(debug=True)` was the start: the development server on
    127.0.0.1 inside the container, which the probe (and any published port) could not
    reach, with Werkzeug's debugger on. init now finds the app object and the server in
    requirements.txt, and that server answers."""
    folder = tmp_path / "web-app"
    done = _init(folder, files, f"imagespec-inittest-{server.split(':')[0].replace('.', '-')}")
    assert server in done.stderr
    built(folder / "imagespec.yaml")
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--format", "json", "--http-port", "8000",
                       str(folder / "imagespec.yaml"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["ready"]["detail"] == "GET http://127.0.0.1:8000/ → 200", checks["ready"]
    program = server.rsplit(" ", 1)[-1]
    assert f"/opt/venv/bin/{program}" in checks["config-entrypoint"]["detail"], checks["config-entrypoint"]
