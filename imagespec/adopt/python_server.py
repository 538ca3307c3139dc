"""The server a Python web app needs, when its file is no program of its own.

Role: `python main.py` of a FastAPI or Flask module defines the app and exits (nothing
calls `uvicorn.run`), and `python manage.py` of a Django project prints its help: an
image that cannot start. Where no Procfile names the start command, the app object a
module defines (`app = FastAPI()`, a Django project's `wsgi.py`) and the server the
project installs (uvicorn or hypercorn for ASGI; gunicorn or waitress for WSGI) make the
command, `$PORT` for its port (init_spec writes the number in). So does a module whose
`__main__` block starts the framework's development server (`app.run()`: Flask's listens
on 127.0.0.1 unless told otherwise, which no published port reaches; with debug=True its
debugger runs code for whoever does), when the project installs a server, and one whose
`uvicorn.run(…)` listens on 127.0.0.1 or reloads (`reload=True`, a development mode). An app
with no server to run it is said, with the one to add. A Procfile `web:` command that cannot
be the entrypoint (shell syntax beyond $PORT) leaves the app to this server (init_spec).

Pure but for reading the project's small files (detect.read). May import: the standard
library, ``imagespec.errors`` and ``imagespec.adopt``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from imagespec.errors import Location, SpecError

#: module-level `NAME = Framework(`, `NAME: FastAPI = FastAPI(` or `NAME = flask.Flask(`
_APP = re.compile(r"^([A-Za-z_]\w*)[ \t]*(?::[ \t]*[\w.]+[ \t]*)?=[ \t]*(?:\w+\.)?"
                  r"(FastAPI|Starlette|Quart|Litestar|Flask|Bottle)\(", re.MULTILINE)
_ASGI = frozenset({"FastAPI", "Starlette", "Quart", "Litestar"})
#: the servers of each kind, in the order one is preferred, with their start command
_SERVERS = {
    "asgi": (("uvicorn", "uvicorn {target} --host 0.0.0.0 --port $PORT"),
             ("hypercorn", "hypercorn {target} --bind 0.0.0.0:$PORT")),
    "wsgi": (("gunicorn", "gunicorn --bind 0.0.0.0:$PORT {target}"),
             ("waitress", "waitress-serve --listen=0.0.0.0:$PORT {target}")),
}
_MAIN_BLOCK = re.compile(r"^if[ \t]+__name__[ \t]*==[ \t]*['\"]__main__['\"]", re.MULTILINE)
_DJANGO_WSGI = re.compile(r"^application[ \t]*=[ \t]*get_wsgi_application\(", re.MULTILINE)
#: a small file's text ('' when absent or not to be read: detect.read)
Reader = Callable[[Path], str]


@dataclass(frozen=True)
class Served:
    """The start command (`$PORT` for the port, the server from VENV) and what was found;
    or, with no server installed, the error that says which to add."""

    command: str | None
    found: str
    source: str  # what the command serves, for init's words about its $PORT
    missing: SpecError | None = None


def served(root: Path, script: str | None, installed: Iterable[str], venv_bin: str,
           read: Reader) -> Served | None:
    """The command that serves the app `script` (or a Django project) defines, when the
    file is no program of its own; None when it is one, or defines no app."""
    names = {_normal(name) for name in installed}
    django = _django_wsgi(root, read)
    if django is not None and (root / "manage.py").is_file():
        return _with_server(root / django / "wsgi.py", "wsgi", f"{django}.wsgi:application",
                            "a Django project's WSGI application", names, venv_bin, root,
                            ran="`python manage.py`, which prints its help")
    if script is None or not script.endswith(".py") or "/" in script:
        return None
    text = read(root / script)
    app = _APP.search(text)
    if app is None:
        return None
    name, framework = app.group(1), app.group(2)
    kind = "asgi" if framework in _ASGI else "wsgi"
    what, ran, reason = f"a {framework} app (`{name}`)", "", ""
    main = _MAIN_BLOCK.search(text)
    if main is not None:  # a program of its own, unless it starts a development server
        dev = _development_server(text, name)  # in the block, or in the function it calls
        if dev is None or (dev.public and not dev.debug and (dev.server or not names & {s for s, _ in _SERVERS[kind]})):
            return None  # `uvicorn.run(host="0.0.0.0")` is the server itself
        server = "uvicorn" if dev.server else f"{framework}'s development server"
        reason = f" (its `{dev.call}()` {'runs' if dev.server else 'is'} {server}{dev.why})"
        ran = f"`python {script}`: {server}{dev.why}"
    return _with_server(root / script, kind, f"{script[:-3]}:{name}", what, names, venv_bin, root, ran=ran,
                        reason=reason)


@dataclass(frozen=True)
class _DevServer:
    call: str  # `app.run` (the framework's development server) or `uvicorn.run`
    public: bool  # host= names every address (0.0.0.0, ::): reachable from outside the container
    debug: bool  # debug=True (Werkzeug's debugger runs code for whoever reaches it) or reload=True

    @property
    def server(self) -> bool:
        """The production server itself, run from the module (uvicorn.run)."""
        return self.call == "uvicorn.run"

    @property
    def why(self) -> str:
        if not self.public:
            return " on 127.0.0.1, which nothing outside the container reaches"
        if self.debug:
            return " with reload=True (a development mode that watches the files)" if self.server else \
                " with debug=True (its debugger runs code for whoever reaches it)"
        return " (not for production, its own docs say)"


def _development_server(text: str, app: str) -> _DevServer | None:
    """`APP.run(…)` (Flask, Quart and Bottle's development server) or `uvicorn.run(…)` in a
    module with a __main__ block: 127.0.0.1 unless `host=` says otherwise; with its
    arguments up to the closing paren."""
    call = re.search(rf"^[ \t]*({re.escape(app)}\.run|uvicorn\.run)\(", text, re.MULTILINE)
    if call is None:
        return None
    depth, end = 1, call.end()
    while end < len(text) and depth:
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        end += 1
    arguments = text[call.end():end]
    host = re.search(r"\bhost[ \t]*=[ \t]*(?:['\"]([^'\"]*)['\"])?", arguments)
    # a host from the environment (`host=os.environ.get("HOST", "0.0.0.0")`) is the author's choice
    return _DevServer(call.group(1), public=host is not None and (host.group(1) is None or host.group(1) in _EVERY_ADDRESS),
                      debug=re.search(r"\b(?:debug|reload)[ \t]*=[ \t]*True\b", arguments) is not None)


_EVERY_ADDRESS = frozenset({"0.0.0.0", "::", "[::]", ""})


def _with_server(file: Path, kind: str, target: str, what: str, names: set[str], venv_bin: str,
                 root: Path, ran: str = "", reason: str = "") -> Served:
    """`reason`: why the file's own __main__ block is not the start (a development server)."""
    where = file.relative_to(root).as_posix()
    ran = ran or f"`python {where}`, which exits at once"
    for server, command in _SERVERS[kind]:
        if server in names:
            return Served(f"{venv_bin}/{command.format(target=target)}",
                          f"{where}: {what}, served by {server}{reason}", f"the command that serves {where}'s app")
    servers = " or ".join(name for name, _ in _SERVERS[kind])
    first = _SERVERS[kind][0][0]
    listen = '; or listen on every address, without debug=True: `.run(host="0.0.0.0")`' if reason else ""
    return Served(None, f"{where}: {what}", "", SpecError(
        f"{where} defines {what}, but nothing the project installs serves it ({servers}): the image would run "
        f"{ran}", location=Location(str(file), 1, 1),
        hint=f"add {first} to the project's dependencies and run init again{listen}; or name the command: "
             f"--entrypoint '{venv_bin}/{_SERVERS[kind][0][1].format(target=target)}'"))


def _django_wsgi(root: Path, read: Reader) -> str | None:
    """The package of a Django project's wsgi.py (`mysite` for mysite/wsgi.py)."""
    for wsgi in sorted(root.glob("*/wsgi.py")):
        if not wsgi.is_symlink() and _DJANGO_WSGI.search(read(wsgi)):
            return wsgi.parent.name
    return None


def _normal(requirement: str) -> str:
    """A distribution's name from a requirement line (`uvicorn[standard]>=0.30`): PEP 503's."""
    name = re.split(r"[\s\[<>=!~;@(]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()
