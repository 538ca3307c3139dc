"""What kind of project a folder holds, read from its own files (never run).

One detector per ecosystem, tried in a fixed order (the first that recognises the folder
wins, so the order is part of the contract): each returns a `Project` that says which
preset fits, the preset parameters (`with:`) it could read, and, line by line, what it
found and what it only guessed. Everything here only reads small text files under the
folder, none larger than MAX_READ, and follows no link out of it.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagespec.adopt.node_runtime import runtime_copies
from imagespec.adopt.node_start import NodeStart, read_start
from imagespec.adopt.pip_requirements import included_files, local_installs
from imagespec.adopt.python_scripts import console_script
from imagespec.adopt.manifest import parse_json, parse_toml, parse_xml, semantic_version
from imagespec.errors import Location, SpecError

if TYPE_CHECKING:  # pragma: no cover  # an annotation only
    from imagespec.adopt.python_server import Served

DEFAULT_VERSION = "0.1.0"  # a project's version when its manifest states none a spec can take
MAX_READ = 1 << 20  # a manifest or source file bigger than this is not read
MAX_FILES = 2000  # files looked at per search, so a huge tree cannot stall init
SKIP_DIRS = frozenset({".git", "node_modules", "target", "vendor", ".venv", "venv", "__pycache__", "dist", "build"})


@dataclass
class Project:
    preset: str
    name: str | None = None
    version: str | None = None
    license: str | None = None
    with_: dict[str, str] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)
    entrypoint: list[str] | None = None
    # a command line read from the project (a Procfile's `web:`, the server of a web app's
    # module), split and checked as `--entrypoint` is, after its $PORT is given the image's
    # port (adopt/init_spec.py); command_source says whose command it is
    command: str | None = None
    command_source: str = "the Procfile's command"
    # the server a web app's module needs, where the Procfile's command cannot be the
    # entrypoint (shell syntax beyond $PORT: `--workers $WEB_CONCURRENCY`): init takes it then
    served_instead: Served | None = None
    # the preset parameter that names the program its own entrypoint runs (python's
    # `script`): not written when the entrypoint is another
    program_parameter: str | None = None
    final: dict[str, object] = field(default_factory=dict)  # more final-stage keys (service preset)
    stages: dict[str, object] = field(default_factory=dict)  # build stages of the spec's own
    # why the program to run could not be found: init's exit 2, unless a flag names it
    # (`--with` the program parameter, or `--entrypoint`)
    unresolved: SpecError | None = None
    # why the detected preset cannot build this project, whatever flag names the program
    # (a Node package without a lock): init's exit 2 unless --preset names another
    unbuildable: SpecError | None = None
    found: list[str] = field(default_factory=list)  # "file: what it told us"
    guessed: list[str] = field(default_factory=list)  # "what: why it is only a guess"


def read(path: Path) -> str:
    """A small text file's content; '' when absent, too large, not text, or a link out of
    its folder (QA: `package.json -> /elsewhere/package.json` gave the spec that file's name
    and version; import refuses such links too)."""
    return "" if _not_to_read(path) else _text(path)


def why_unread(path: Path) -> str | None:
    """Why `read` gives '' for a file that is there (None: absent, or read): the same rules."""
    if not (path.exists() or path.is_symlink()):
        return None
    return _not_to_read(path) or (None if _text(path) else "empty, or not UTF-8 text")


def _not_to_read(path: Path) -> str | None:
    """What keeps `read` from opening a path, None when it may."""
    try:
        if path.is_symlink() and not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(path.parent)):
            return "a link out of the folder"
        if not path.is_file():
            return "not a regular file (a folder, a pipe or a device)"
        if path.stat().st_size > MAX_READ:
            return f"over {MAX_READ // (1 << 20)} MiB"
    except OSError as exc:
        return f"not readable ({exc.strerror})"
    return None


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def walk(root: Path, suffixes: tuple[str, ...]) -> Iterator[Path]:
    """Files under root with one of the suffixes, in sorted order, skipping dependency
    and output folders; at most MAX_FILES entries are looked at."""
    seen = 0
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        folders = []
        for entry in entries:  # a folder's files first, in name order (QA: they came last first)
            seen += 1
            if seen > MAX_FILES:
                return
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name not in SKIP_DIRS and not entry.name.startswith("."):
                    folders.append(entry)
            elif entry.name.endswith(suffixes):
                yield entry
        stack.extend(reversed(folders))  # then its folders, in name order, each searched whole


def rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


# --- ports: the usual ways a program names the port it listens on ---------------------

_PORT_PATTERNS = (
    re.compile(r"""["'](?:[0-9.]*|localhost|\[::\])?:([0-9]{2,5})["']"""),  # ":8080", "0.0.0.0:8080"
    # listen(3000), port=8000, PORT || '3000'
    re.compile(r"""\b(?:listen|PORT|port)\b\s*(?:\(|=|:|\|\||\?\?)\s*["']?([0-9]{2,5})\b"""),
    re.compile(r"""\bPORT["']?\s*,\s*["']?([0-9]{2,5})\b"""),  # getenv("PORT", "8080")
    re.compile(r"""^EXPOSE\s+([0-9]{2,5})""", re.MULTILINE),  # an existing Dockerfile
    # a host and a port as two arguments: new InetSocketAddress("127.0.0.1", 8090) (Java),
    # HTTPServer(("", 8000), …) (Python); or the port alone: new InetSocketAddress(8090)
    # (the host an address or empty: in parseInt(PORT || '3000', 10) the 10 is the radix)
    re.compile(r"""["'](?:|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|localhost|::)["']\s*,\s*([0-9]{2,5})\s*\)"""),
    re.compile(r"""\bInetSocketAddress\(\s*([0-9]{2,5})\s*\)"""),
)


def find_port(root: Path, candidates: list[Path]) -> tuple[int, str] | None:
    for path in candidates:
        text = read(path)
        for pattern in _PORT_PATTERNS:
            for match in pattern.finditer(text):
                port = int(match.group(1))
                if 1 <= port <= 65535:
                    line = text.count("\n", 0, match.start()) + 1
                    return port, f"{rel(root, path)}:{line}"
    return None


def add_port(project: Project, root: Path, candidates: list[Path]) -> None:
    hit = find_port(root, [*candidates, root / "Dockerfile"])
    if hit:
        project.ports.append(hit[0])
        project.guessed.append(f"port {hit[0]}: the number at {hit[1]} (--port to change, --port 0 for none)")


# --- one detector per ecosystem --------------------------------------------------------

#: go.mod's module path: bare, or a Go string (`module "example.com/foo"`, QA: the quote
#: stayed in the binary's name and the spec did not compile)
_GO_MODULE = re.compile(r'^module\s+(?:"([^"]+)"|`([^`]+)`|(\S+))', re.MULTILINE)


def detect_go(root: Path) -> Project | None:
    mod = read(root / "go.mod")
    if not mod:
        return None
    project = Project("go")
    found = _GO_MODULE.search(mod)
    module = next(path for path in found.groups() if path is not None) if found else None
    project.found.append("go.mod: a Go module" + (f" ({module})" if module else ""))
    mains = [p for p in walk(root, (".go",)) if not p.name.endswith("_test.go")
             and re.search(r"^package\s+main\b", read(p), re.MULTILINE) and not _GO_LEFT_OUT.search(read(p))]
    # the shallowest main package; of several as shallow, one that serves (QA: cmd/migrate
    # was taken beside cmd/server, and the port read from cmd/server)
    serves = {p.parent for p in mains if _GO_SERVES.search(read(p))}
    folders = sorted({p.parent for p in mains}, key=lambda d: (len(d.parts), d not in serves, str(d)))
    if folders:
        chosen = folders[0]
        package = "." if chosen == root else "./" + rel(root, chosen)
        project.with_["package"] = package
        project.found.append(f"{rel(root, mains[[p.parent for p in mains].index(chosen)])}: package main"
                             f" (with.package {package})")
        if len(folders) > 1:
            others = ", ".join("./" + rel(root, f) for f in folders[1:4])
            serving = " that serves (it listens)" if chosen in serves else ""
            project.guessed.append(f"package {package}: the shallowest of several main packages{serving} ({others}; "
                                   "--with package=…)")
        named = _module_name(module) if module else None
        base = chosen.name if chosen != root else (named or root.name)
        project.with_["binary"] = base
        if named:  # the manifest names the project (README "init"): not the main package's folder
            project.name = named
            project.found.append(f"name {named}: go.mod's module")
    else:  # QA: `go build .` of a library, an image that cannot start, exit 0
        project.program_parameter = "package"  # what names it (init_spec._apply)
        project.unresolved = SpecError(
            "no program to build: no `package main` in the module's .go files (a library?)",
            location=Location(str(root / "go.mod"), 1, 1),
            hint="name it: --with package=./cmd/NAME (the folder of its main package), or the whole command: "
                 "--entrypoint '/usr/local/bin/NAME'")
    add_port(project, root, [p for p in mains if folders and p.parent == folders[0]])
    return project


#: a file `go build` leaves out by its build constraint: `//go:build ignore` (a generator run
#: with `go run`), `//go:build tools` (a module's tool imports); QA: such a `package main`
#: beside a library was taken as the program
_GO_LEFT_OUT = re.compile(r"^//(?:go:build|\s*\+build)\s+(?:ignore|tools)\s*$", re.MULTILINE)
_GO_SERVES = re.compile(r"\bListenAndServe(?:TLS)?\(|\bnet\.Listen\(|\.Serve\(|\.Run\(\s*\"?:")


def _module_name(module: str) -> str:
    """A Go module path's last element, not its major-version suffix (`…/api/v2`: api)."""
    parts = [part for part in module.split("/") if part]
    if len(parts) > 1 and re.fullmatch(r"v[0-9]+", parts[-1]):
        parts.pop()
    return parts[-1] if parts else module


def detect_rust(root: Path) -> Project | None:
    text = read(root / "Cargo.toml")
    if not text:
        return None
    cargo = parse_toml(root / "Cargo.toml", text)
    project = Project("rust")
    package = cargo.get("package", {}) if isinstance(cargo.get("package"), dict) else {}
    bins = [b.get("name") for b in cargo.get("bin", []) if isinstance(b, dict) and isinstance(b.get("name"), str)]
    binary = bins[0] if bins else package.get("name")
    project.found.append("Cargo.toml: a Rust package" + (f" ({package.get('name')})" if package.get("name") else ""))
    if isinstance(binary, str):
        project.with_["binary"] = binary
        project.name = binary
    else:  # QA: a `[workspace]` alone built `--bin app`, which no member has, exit 0
        project.program_parameter = "binary"  # what names it (init_spec._apply)
        project.unresolved = SpecError(
            "no program to build: Cargo.toml has no [package] or [[bin]] (a workspace names its members)",
            location=Location(str(root / "Cargo.toml"), 1, 1),
            hint="name it: --with binary=NAME (a binary of a member), or run init in the member's folder")
    take_metadata(project, package, "Cargo.toml")
    if not (root / "Cargo.lock").is_file():
        project.guessed.append("Cargo.lock is missing: the preset builds with --locked; run `cargo generate-lockfile`")
    add_port(project, root, list(walk(root / "src", (".rs",))))
    return project


_PY_SCRIPTS = ("app.py", "main.py", "server.py", "wsgi.py", "run.py", "__main__.py")


def detect_python(root: Path) -> Project | None:
    pyproject_text = read(root / "pyproject.toml")
    has_requirements = (root / "requirements.txt").is_file()
    included: list[str] = []  # the files requirements.txt includes
    if (root / "uv.lock").is_file() and pyproject_text:
        project = Project("python-uv")
        project.found.append("pyproject.toml + uv.lock: locked by uv")
    elif (root / "poetry.lock").is_file() and pyproject_text:
        project = Project("python-poetry")
        project.found.append("pyproject.toml + poetry.lock: locked by Poetry")
    elif has_requirements:
        project = Project("python")
        project.found.append("requirements.txt: pip requirements")
        included = _copy_included_requirements(root, project)
    else:
        return None
    meta: dict[str, Any] = {}
    if pyproject_text:
        meta = parse_toml(root / "pyproject.toml", pyproject_text)
    table = _metadata_table(meta)
    if table:
        take_metadata(project, table, "pyproject.toml")
    sources = list(walk(root, (".py",)))
    script = next((s for s in _PY_SCRIPTS if (root / s).is_file()), None)
    scripts = console_script(root, meta, str(table.get("name", "")), f"{_VENV_BIN}/python3") if script is None else None
    if scripts is not None and scripts.entrypoint is not None:
        project.entrypoint = scripts.entrypoint
        project.found.append(f"pyproject.toml script {scripts.taken}: the program to run, as pip's wrapper would "
                             "run it (the project is not installed)")
        project.guessed += [f"pyproject.toml: {why}, so not the entrypoint" for why in scripts.refused]
        if scripts.others:
            project.guessed.append(f"pyproject.toml: script {scripts.name}, not "
                                   f"{', '.join(scripts.others)}: --entrypoint runs another")
        project.program_parameter = "script"  # `--with script=FILE` runs that file instead
        return _python_rest(root, project, None, scripts.packages, sources, included, meta)
    if script is None:
        runnable = [p for p in sources if "__name__" in read(p) and "__main__" in read(p)]
        if runnable:
            script = rel(root, runnable[0])
            project.guessed.append(f"script {script}: the first file with `if __name__ == \"__main__\"`")
    if script is None:  # a Procfile's command may still name the program (init_spec._apply)
        # QA: a script pyproject.toml declares but init could not take was not said
        refused = "".join(f"; pyproject.toml's {why}" for why in (scripts.refused if scripts else [])[:3])
        project.unresolved = SpecError(
            f"no program to run: no {', '.join(_PY_SCRIPTS[:-1])}, console script in pyproject.toml or file with an "
            f"`if __name__ == \"__main__\"` block{refused}", location=Location(str(root)),
            hint="name it: --with script=FILE (relative to the folder), or the whole command: "
            "--entrypoint '/opt/venv/bin/python3 -m PACKAGE'")
    module = _python_module(root, script) if script else None
    if module is not None:  # `python FILE` puts FILE's folder first on the path: its package's imports fail
        project.entrypoint = ["/opt/venv/bin/python3", "-m", module[0]]
        project.found.append(f"{script}: the program to run, as `python -m {module[0]}` (it is in a package)")
    elif script is not None:
        if script != "app.py":
            project.with_["script"] = script
        project.found.append(f"{script}: the program to run")
    project.program_parameter = "script"
    packages = module[1] if module else ("src" if any(walk_packages(root / "src")) else ".")
    return _python_rest(root, project, script if module is None else None, packages, sources, included, meta)


def _python_rest(root: Path, project: Project, script: str | None, packages: str, sources: list[Path],
                 included: list[str], meta: dict[str, Any]) -> Project:
    """What follows the program: the packages' folder, the server a web app is served by
    (a Procfile's, or the one its requirements install), the port."""
    if packages != ".":  # the source is copied to /app (the python preset)
        project.final["env"] = {"PYTHONPATH": f"/app/{packages}"}
        project.found.append(f"{packages}/: the packages' folder (src layout): PYTHONPATH /app/{packages}")
    procfile = read(root / "Procfile")
    web = re.search(r"^web:[ \t]*(\S+)(.*)$", procfile, re.MULTILINE)
    requirements = _python_requirements(root, included, meta)
    if web and web.group(1) in ("gunicorn", "uvicorn", "hypercorn", "waitress-serve"):
        project.command = f"{_VENV_BIN}/{web.group(1)}{web.group(2).rstrip()}"
        project.found.append(f"Procfile: web runs {web.group(1)} (entrypoint from the venv)")
        from imagespec.adopt.python_server import served

        instead = served(root, script, requirements, _VENV_BIN, read)
        project.served_instead = instead if instead is not None and instead.command is not None else None
    else:  # QA: a `web: flask run` left `python app.py`, which defines the app and exits
        if web:
            project.guessed.append(f"Procfile: web runs {web.group(1)}, not a server of the project's venv "
                                   "(gunicorn, uvicorn, hypercorn, waitress-serve): not the entrypoint")
        _serve_the_app(root, project, script, requirements)
    add_port(project, root, [root / "Procfile", *sources])
    return project


_VENV_BIN = "/opt/venv/bin"  # where the python presets' venv puts the servers a project installs


def _metadata_table(meta: dict[str, Any]) -> dict[str, Any]:
    """pyproject.toml's `[project]`, else Poetry's `[tool.poetry]`; {} when neither is a
    table (QA: `tool = "x"` was a traceback)."""
    project, tool = meta.get("project"), meta.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    for table in (project, poetry):
        if isinstance(table, dict) and table:
            return table
    return {}


def _serve_the_app(root: Path, project: Project, script: str | None, requirements: list[str]) -> None:
    """A web app's module (FastAPI, Flask, a Django project) is no program of its own:
    its server's command is the entrypoint, or, with no server installed, init is exit 2
    saying which to add (adopt/python_server.py)."""
    from imagespec.adopt.python_server import served

    serving = served(root, script, requirements, _VENV_BIN, read)
    if serving is None:
        return
    project.found = [f for f in project.found if ": the program to run" not in f]
    project.found.append(serving.found)
    project.with_.pop("script", None)
    if serving.command is None:
        project.unresolved = serving.missing
        return
    project.command, project.command_source = serving.command, serving.source


def _python_requirements(root: Path, included: list[str], meta: dict[str, Any]) -> list[str]:
    """The requirement lines the project installs: requirements.txt's (and the files it
    includes), pyproject.toml's dependencies, Poetry's table."""
    lines = [line for name in ("requirements.txt", *included) for line in read(root / name).splitlines()
             if line.strip() and not line.lstrip().startswith(("#", "-"))]
    project, tool = meta.get("project"), meta.get("tool")
    listed = project.get("dependencies") if isinstance(project, dict) else None
    lines += [d for d in listed if isinstance(d, str)] if isinstance(listed, list) else []
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    table = poetry.get("dependencies") if isinstance(poetry, dict) else None
    lines += [str(name) for name in table] if isinstance(table, dict) else []
    return lines


def _copy_included_requirements(root: Path, project: Project) -> list[str]:
    """The files requirements.txt includes (`-r requirements/base.txt`), copied into the
    dependency step beside it (the preset copies requirements.txt alone, BP4); they are
    returned."""
    files, notes = included_files(root, "requirements.txt")
    project.guessed += notes + local_installs(root, ["requirements.txt", *files])
    if files:
        project.stages["venv"] = {"dependencies": {"copy+": files}}
        project.found.append(f"requirements.txt includes {', '.join(files)}: copied into the dependency step too")
    return files


def walk_packages(folder: Path) -> Iterator[Path]:
    """The Python packages (folders with `__init__.py`) right in `folder`."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return
    yield from (e for e in entries if not e.is_symlink() and e.is_dir() and (e / "__init__.py").is_file())


def _python_module(root: Path, script: str) -> tuple[str, str] | None:
    """(`python -m` name, the folder its top package is in, relative to root) for a
    script inside a package (`src/webapp/__main__.py`: webapp, src); None otherwise."""
    path = root / script
    if path.parent == root or not (path.parent / "__init__.py").is_file():
        return None
    top = path.parent
    while top.parent != root and (top.parent / "__init__.py").is_file():
        top = top.parent
    parts = list(path.relative_to(top.parent).with_suffix("").parts)
    if parts[-1] == "__main__":  # `python -m pkg` runs pkg/__main__.py
        parts.pop()
    if not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts), rel(root, top.parent) if top.parent != root else "."


def _node_entry(root: Path, package: dict[str, Any], project: Project) -> tuple[str | None, bool, NodeStart]:
    """(the entry file, whether `npm run build` makes it, the start script's command). The
    file `npm start` runs (how the author starts the app), else package.json's `main` (often
    a library entry, or a leftover of `npm init`), else a usual name; only a file that
    exists, or one the `build` script makes (`dist/server.js`): a wrong guess would build
    an image that cannot start."""
    named: list[str] = []
    given = package.get("scripts")
    scripts: dict[str, Any] = given if isinstance(given, dict) else {}
    start = NodeStart()
    if isinstance(scripts.get("start"), str):
        start = read_start(scripts["start"])
        if start.file is None:
            project.guessed.append(f"package.json's start script: {start.note}, so it names no entry file")
        else:
            start.file = _node_file(root, start.file)
            named.append(start.file)
    if isinstance(package.get("main"), str):
        named.append(_node_file(root, package["main"].removeprefix("./")))
    named = list(dict.fromkeys(named))  # `start` and `main` often name one file: one note
    for name in named:
        if _confined(name) and (root / name).is_file():
            return name, False, start
    builds = isinstance(scripts.get("build"), str)
    for name in named:
        if builds and _confined(name):
            return name, True, start
        project.guessed.append(f"{name}: named in package.json but not in the folder, so not the entry file")
    usual = next((n for n in _NODE_ENTRIES if (root / n).is_file()), None)
    if usual is None:  # a guessed file that is not there would build an image that cannot start
        named_but_missing = f"package.json names {', '.join(named)}, not in the folder" if named else \
            "no `node FILE` in package.json's start script and no `main`"
        project.unresolved = SpecError(
            f"no entry file: {named_but_missing}; no {', '.join(_NODE_ENTRIES)} either",
            location=Location(str(root / "package.json"), 1, 1),
            hint="name the file node runs: --with main=FILE (relative to the folder), or the whole command: "
            "--entrypoint 'node /app/FILE'")
    return usual, False, start


_NODE_ENTRIES = ("server.js", "index.js", "app.js", "main.js")  # the usual names, in the order tried


def _confined(name: str) -> bool:
    """A path inside the project (the image has it at /app/NAME), not `/srv/x.js` or `../x.js`."""
    return bool(name) and not name.startswith("/") and ".." not in Path(name).parts


def _node_file(root: Path, name: str) -> str:
    """`node srv` runs srv.js when there is no file `srv` (node's own resolution)."""
    if _confined(name) and not (root / name).is_file() and (root / f"{name}.js").is_file():
        return f"{name}.js"
    return name


def _take_start_command(project: Project, start: NodeStart, main: str) -> None:
    """The start script's variables as the final's env, and node's options before the file
    in the entrypoint, when it runs the entry file: the image starts the app as `npm start`
    does, without npm as PID 1 (BP2). A value the shell would expand (`$HOME`), or one
    under a secret's name (BP15: never written into an image), is left out and said."""
    from imagespec.lint import looks_like_secret

    env: dict[str, str] = {}
    for key, value in start.env.items():
        if "$" in value or "`" in value:
            project.guessed.append(f"env {key}: the start script's value {value[:80]!r} is expanded by a shell; "
                                   "not written (set final.env)")
        elif looks_like_secret(key):
            project.guessed.append(f"env {key}: the start script sets a secret; not written into the image (BP15: "
                                   "pass it at run time)")
        else:
            env[key] = value
    if env:
        project.final["env"] = env
        project.found.append("package.json's start script: env " + " ".join(f"{k}={v}" for k, v in env.items()))
    expanded = [word for word in (*start.options, *start.args) if "$" in word or "`" in word]
    if expanded:  # exec form would pass `$PORT` as it is written
        project.guessed.append(f"package.json's start script: {shlex.join(expanded)[:80]} is expanded by a shell; "
                               "node's options and arguments not written (--entrypoint)")
    elif start.options or start.args:  # as `npm start` runs it (QA: `--port 8080` after the file was lost)
        project.entrypoint = ["node", *start.options, f"/app/{main}", *start.args]
        project.found.append(f"package.json's start script: node {shlex.join([*start.options, main, *start.args])} "
                             "(the entrypoint)")
    for other in start.others:
        project.guessed.append(f"package.json's start script also runs {other[:120]!r}, which the image does not "
                               "(it starts node alone, as PID 1): put it in --entrypoint, or in a build step")


def _build_stage(root: Path, project: Project, main: str, lock: str | None) -> None:
    """`npm run build` in a stage of its own, with every dependency (the build's tools are
    devDependencies), and its output copied into the final with what else of the folder
    runs (adopt.node_runtime): the node preset's final list again, since a spec's list
    replaces the template's (BP11)."""
    output = Path(main).parts[0]
    if lock != "package-lock.json":  # pnpm and yarn install differently: the spec says what npm does
        project.guessed.append(f"{main}: made by the `build` script, which the {project.preset} preset does not run:"
                               f" add a stage that runs it (as init writes for npm) and copy its {output} into /app")
        return
    project.stages["build"] = {
        "from": "node-build",
        "cache": ["/root/.npm"],
        "dependencies": {"copy": ["package.json", lock], "run": "npm ci --no-audit --no-fund"},
        "copy": ["."],
        "run": "npm run build",
        "artifacts": [f"/src/{output}"],
    }
    copies, left_out = runtime_copies(root, output, read)
    project.final["copy"] = [{"from": "deps", "src": "/src/node_modules", "dest": "/app/node_modules"}, *copies,
                             {"from": "build", "src": f"/src/{output}", "dest": f"/app/{output}"}]
    project.found.append(f"{main}: the entry file, made by `npm run build` (package.json's `build` script) in the "
                         f"stage `build`, its {output} copied to /app/{output}")
    if left_out:
        project.guessed.append(f"the final runs the build's output: {', '.join(left_out)} (sources, tests, the tools' "
                               "settings) not copied into /app; add to final.copy what the app reads at run time")


def detect_node(root: Path) -> Project | None:
    text = read(root / "package.json")
    if not text:
        return None
    package = parse_json(root / "package.json", text)
    if not isinstance(package, dict):
        return None
    locks = {"pnpm-lock.yaml": "node-pnpm", "yarn.lock": "node-yarn", "package-lock.json": "node"}
    lock = next((name for name in locks if (root / name).is_file()), None)
    project = Project(locks[lock] if lock else "node")
    project.found.append(f"package.json{' + ' + lock if lock else ''}: a Node package")
    if lock is None:
        # the node preset's dependency step copies package-lock.json for `npm ci`: its
        # build failed at that COPY (the python presets refuse a pyproject.toml alone too)
        project.unbuildable = SpecError(
            "package.json without a lock: the node presets install package-lock.json (npm ci), yarn.lock "
            "(node-yarn) or pnpm-lock.yaml (node-pnpm), and the build would fail at its COPY",
            location=Location(str(root / "package.json"), 1, 1),
            hint="lock it first: `npm install --package-lock-only` writes package-lock.json (commit it); then run "
                 "init again")
    if package.get("workspaces") and project.unbuildable is None:
        # QA: the dependency step copies the root's package.json and lock alone, and `npm ci`
        # then installs no member's dependencies ("up to date"): the app failed at its require
        project.unbuildable = SpecError(
            "package.json names `workspaces`: the node presets install one package from its package.json and "
            "lock, without the members' package.json files, so no member's dependencies would be installed",
            location=Location(str(root / "package.json"), 1, 1),
            hint="run init in the member's folder with a lock of its own, or write the spec by hand: copy every "
                 "member's package.json into the dependency step (the README's spec reference: dependencies.copy)")
    take_metadata(project, package, "package.json")
    project.program_parameter = "main"
    main, built, start = _node_entry(root, package, project)
    if main and built:
        _build_stage(root, project, main, lock)
        if not project.stages:  # made by a build the preset does not run: no file to name
            project.unresolved = SpecError(
                f"no entry file: {main} is made by package.json's `build` script, which the {project.preset} "
                "preset does not run", location=Location(str(root / "package.json"), 1, 1),
                hint=f"add a stage that runs the build (as init writes for npm) and copies its {Path(main).parts[0]}"
                " into /app, then --with main=FILE; or --entrypoint 'node /app/FILE' for a file in the folder")
            main = None
    if main and main == start.file:
        _take_start_command(project, start, main)
    if main:
        if main != "server.js":
            project.with_["main"] = main
        if not built:
            project.found.append(f"{main}: the entry file")
    add_port(project, root, [root / main] if main and not built else list(walk(root, (".js",)))[:20])
    return project


def detect_maven(root: Path) -> Project | None:
    text = read(root / "pom.xml")
    if not text:
        return None
    project = Project("java-maven")
    project.found.append("pom.xml: a Maven project")
    pom = parse_xml(root / "pom.xml", text)
    ns = {"m": pom.tag[1:].split("}")[0]} if pom.tag.startswith("{") else {}
    tag = (lambda t: f"m:{t}") if ns else (lambda t: t)
    name, version = pom.findtext(tag("artifactId"), None, ns), pom.findtext(tag("version"), None, ns)
    take_metadata(project, {"name": name, "version": version}, "pom.xml")
    project.guessed.append("Maven reaches Maven Central for plugins and dependencies; where it cannot, see the "
                           "java-maven preset's `maven` parameter (offline with Debian's packaged plugins)")
    add_port(project, root, list(walk(root / "src", (".java",)))[:50])
    return project


def detect_java(root: Path) -> Project | None:
    sources = list(walk(root, (".java",)))
    mains = [p for p in sources if re.search(r"public\s+static\s+void\s+main\s*\(", read(p))]
    if not mains:
        return None
    project = Project("java")
    text = read(mains[0])
    package = re.search(r"^\s*package\s+([\w.]+)\s*;", text, re.MULTILINE)
    main_class = (f"{package.group(1)}." if package else "") + mains[0].stem
    project.with_["main_class"] = main_class
    project.found.append(f"{rel(root, mains[0])}: main() in {main_class}")
    if len(mains) > 1:
        project.guessed.append(f"main_class {main_class}: the first of {len(mains)} classes with main() (--with main_class=…)")
    _gradle(root, project)
    add_port(project, root, sources[:50])
    return project


#: a dependency of the app's own class path in a Gradle build file (Groovy or Kotlin DSL);
#: `classpath` (the build script's) and the test configurations are not the app's
_GRADLE_DEPENDENCY = re.compile(r"^[ \t]*(implementation|api|compile|runtimeOnly|compileOnly|annotationProcessor)"
                                r"\b[ \t]*\(?[ \t]*['\"]?([^'\"\s)]*)", re.MULTILINE)
_GRADLE_VALUE = r"^[ \t]*{key}[ \t]*=?[ \t]*['\"]([^'\"\n]+)['\"]"


def _gradle(root: Path, project: Project) -> None:
    """A Gradle build: its name (settings.gradle's rootProject.name) and version; Gradle
    itself does not run (the java preset compiles with javac alone, and no Gradle image is
    in the catalog), so a build that declares dependencies is refused, located: its spec
    would fail at javac's first import of them."""
    build = next((root / name for name in ("build.gradle", "build.gradle.kts") if (root / name).is_file()), None)
    if build is None:
        return
    text = read(build)
    dependency = _GRADLE_DEPENDENCY.search(text)
    if dependency:
        start = dependency.start(1)
        line, column = text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start)
        raise SpecError(f"{build.name} declares dependencies ({dependency.group(1)} "
                        f"{dependency.group(2)[:80] or '…'}): the java preset compiles with javac alone, which "
                        "cannot fetch them", location=Location(str(build), line, column),
                        hint="write the spec with a build stage that runs Gradle (`from: {image: gradle:8-jdk17, "
                             "family: debian}`, `run: gradle installDist --no-daemon`), or build with Maven (a "
                             "pom.xml: the java-maven preset)")
    project.found.append(f"{build.name}: a Gradle build without dependencies, compiled with javac (Gradle does not run)")
    settings = next(filter(None, (read(root / name) for name in ("settings.gradle", "settings.gradle.kts"))), "")
    name = re.search(_GRADLE_VALUE.format(key=r"rootProject\.name"), settings, re.MULTILINE)
    version = re.search(_GRADLE_VALUE.format(key="version"), text, re.MULTILINE)
    if name:
        take_metadata(project, {"name": name.group(1)}, "settings.gradle")
    if version:
        take_metadata(project, {"version": version.group(1)}, build.name)


def detect_c(root: Path) -> Project | None:
    makefile = read(root / "Makefile")
    cmake = read(root / "CMakeLists.txt")
    sources = list(walk(root, (".c", ".cc", ".cpp")))
    if not (makefile or cmake or sources):
        return None
    project = Project("c")
    target = None
    if makefile:
        project.found.append("Makefile: built with make")
        target = _make_target(makefile)
        if target is None:
            project.guessed.append("binary app: no Makefile target names a file (a `$(BIN):` target is not read;"
                                   " --with binary=PATH, the file make builds)")
    elif cmake:
        project.found.append("CMakeLists.txt: built with CMake")
        exe = re.search(r"add_executable\s*\(\s*([A-Za-z0-9_.-]+)", cmake)
        target = exe.group(1) if exe else None
        project.with_["build"] = "cmake -S . -B cmake-build -DCMAKE_EXE_LINKER_FLAGS=-static && cmake --build cmake-build"
        if target:
            project.with_["binary"] = f"cmake-build/{target}"
    else:
        project.found.append(f"{rel(root, sources[0])}: C sources without a build file")
        target = "app"
        names = " ".join(rel(root, s) for s in sources[:50])
        project.with_["build"] = f"cc -O2 -static -o app {names}"
        project.guessed.append("build: one cc -static command over the sources (--with build=…)")
    if target:
        project.with_.setdefault("binary", target)  # the path make writes, relative to /src
        project.with_["name"] = Path(target).name
        project.name = Path(target).name
        project.found.append(f"binary {target}: the build's first target")
    if makefile:
        _choose_c_final(project, _static_link(makefile, "Makefile"))
    else:  # init's own build command links with -static: the preset's scratch final fits
        project.found.append("a static binary (init's build command links with -static): the preset's scratch final")
    add_port(project, root, sources[:50])
    return project


#: `-static` (or `-static-pie`) as a word of its own: not -static-libgcc or
#: -static-libstdc++, which leave the binary needing the dynamic loader
_STATIC = re.compile(r"(?<![\w-])-static(?:-pie)?(?![\w-])")


def _static_link(build_file: str, name: str) -> str | None:
    """`FILE:LINE` of the first `-static` outside a comment, or None."""
    for number, line in enumerate(build_file.splitlines(), 1):
        if _STATIC.search(line.split("#", 1)[0]):
            return f"{name}:{number}"
    return None


def _choose_c_final(project: Project, static_at: str | None) -> None:
    """A binary linked without -static needs glibc's dynamic loader at run time, which the
    preset's scratch final lacks ("exec …: no such file or directory" at start): then the
    catalog's distroless glibc runtime, cc (BP10: still no shell, no package manager)."""
    if static_at:
        project.found.append(f"{static_at}: links with -static, so the binary runs alone: the preset's scratch final")
        return
    project.final["from"] = "cc"
    project.guessed.append("final.from cc: the Makefile links without -static, so the binary needs glibc's dynamic "
                           "loader, which scratch has not; cc is distroless with glibc (link with -static and drop "
                           "final.from for scratch)")


#: targets that name no file the build makes, by convention
_NOT_BUILT = frozenset({"all", "clean", "distclean", "install", "uninstall", "test", "check", "lint", "format"})


def _make_target(makefile: str) -> str | None:
    """The first target that names a file (`bin/wc-tool`), not a phony one (`.PHONY:`, `all`),
    a pattern (`%.o`) or a variable (`$(BIN)`)."""
    phony = {word for line in re.findall(r"^\.PHONY\s*:(.*)$", makefile, re.MULTILINE) for word in line.split()}
    for match in re.finditer(r"^([A-Za-z0-9_][A-Za-z0-9_./-]*)\s*:(?![=:])", makefile, re.MULTILINE):
        target = match.group(1).removeprefix("./")
        if target not in _NOT_BUILT and target not in phony and not target.endswith((".o", "/")) \
                and ".." not in target.split("/"):
            return target
    return None


def detect_service(root: Path) -> Project | None:
    """A service from Debian's packages, recognised by its configuration file."""
    if not (root / "nginx.conf").is_file():
        return None
    project = Project("service")
    project.found.append("nginx.conf: nginx from Debian's packages (the `service` preset)")
    project.final = {
        "packages": ["nginx"],
        "copy": [{"src": "nginx.conf", "dest": "/etc/nginx/nginx.conf"}],
        "writable+": ["/var/lib/nginx"],
        "stop_signal": "SIGQUIT",  # nginx's graceful shutdown (BP2)
    }
    project.entrypoint = ["nginx", "-g", "daemon off;"]
    add_port(project, root, [root / "nginx.conf"])
    listen = re.search(r"^\s*listen\s+(?:[0-9.]+:)?([0-9]+)", read(root / "nginx.conf"), re.MULTILINE)
    if listen and int(listen.group(1)) < 1024:
        project.guessed.append(f"nginx listens on {listen.group(1)}: a non-root user cannot bind below 1024; listen on 8080")
    return project


_SCRIPTS = ("entrypoint.sh", "docker-entrypoint.sh", "start.sh", "run.sh")


def detect_script(root: Path) -> Project | None:
    """A program that is a shell script (an entrypoint script, nothing else known): the
    `service` preset's slim Debian, the script copied executable and run under tini, since
    a script that does not `exec` its last command leaves sh as PID 1, which ignores
    SIGTERM and reaps nothing (BP2, BP3)."""
    script = next((n for n in _SCRIPTS if read(root / n).startswith("#!")), None)
    if script is None:
        return None
    project = Project("service")
    project.found.append(f"{script}: a shell script to run (the `service` preset: Debian slim, with a shell)")
    dest = f"/usr/local/bin/{script}"
    project.final = {"copy": [{"src": script, "dest": dest}], "init": True}
    project.entrypoint = [dest]
    if not (root / script).stat().st_mode & 0o111:  # COPY keeps the mode; a mode of its own needs copy-chmod
        project.guessed.append(f"{script} is not executable: `chmod +x {script}` (git keeps the bit), or the"
                               " container cannot start it")
    project.guessed.append("packages: none; add the Debian packages the script runs (`final.packages`)")
    add_port(project, root, [root / script])
    return project


def take_metadata(project: Project, table: dict[str, Any], source: str) -> None:
    from imagespec.spec.values import license_expression

    for key in ("name", "version", "license"):
        value = table.get(key)
        if key == "license" and isinstance(value, dict):  # PEP 621's table: {text = "MIT"} or {file = "LICENSE"}
            if isinstance(value.get("file"), str):
                project.guessed.append(f"no license: {source} names the file {value['file'][:80]!r} (--license)")
            value = value.get("text")
        if isinstance(value, str) and value.strip():
            if key == "version":
                take_version(project, value.strip(), source)
                continue
            if key == "license":
                try:  # npm's "SEE LICENSE IN FILE" and the like: no label value
                    license_expression(value.strip())
                except ValueError:
                    project.guessed.append(f"no license: {source}'s {value.strip()[:80]!r} is not an SPDX "
                                           "expression (--license)")
                    continue
            setattr(project, key, value.strip())
            project.found.append(f"{source}: {key} {value.strip()}")


def take_version(project: Project, written: str, source: str) -> None:
    """The manifest's version, as a semantic version (BP14's tags need one): PEP 440's
    `0.1` or Maven's `1.0-SNAPSHOT` mapped and said; one with no clean mapping
    (`1.0.0.post1`) gives way to DEFAULT_VERSION, said too, never an exit 2."""
    version = semantic_version(written)
    if version == written:
        project.version = version
        project.found.append(f"{source}: version {version}")
    elif version is not None:
        project.version = version
        project.guessed.append(f"version {version}: {source}'s {written[:80]!r} as a semantic version (--version)")
    else:
        project.version = DEFAULT_VERSION
        project.guessed.append(f"version {DEFAULT_VERSION}: {source}'s {written[:80]!r} is not a semantic version "
                               "and maps to none that orders as it does (--version)")


#: In this order: a manifest beats a bare source folder; Maven before plain java sources.
DETECTORS: tuple[Callable[[Path], Project | None], ...] = (
    detect_go, detect_rust, detect_python, detect_node, detect_maven, detect_java, detect_c, detect_service,
    detect_script,
)
KNOWN_FILES = ("go.mod", "Cargo.toml", "requirements.txt", "pyproject.toml + uv.lock or poetry.lock", "package.json",
               "pom.xml", "*.java with main()", "Makefile", "CMakeLists.txt", "*.c", "nginx.conf",
               "entrypoint.sh")


def detect(root: Path) -> Project | None:
    for detector in DETECTORS:
        project = detector(root)
        if project is not None:
            return project
    return None
