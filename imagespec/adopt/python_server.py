"""The server a Python web app needs, when its file is no program of its own.

Role: `python main.py` of a FastAPI or Flask module defines the app and exits (nothing
calls `uvicorn.run`), and `python manage.py` of a Django project prints its help: an
image that cannot start. Where no Procfile names the start command, the app object a
module defines (`app = FastAPI()`, a Django project's `wsgi.py`) and the server the
project installs (uvicorn or hypercorn for ASGI; gunicorn or waitress for WSGI) make the
command, `$PORT` for its port (init_spec writes the number in). An app with no server to
run it is said, with the one to add.

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
    if app is None or _MAIN_BLOCK.search(text):
        return None
    kind = "asgi" if app.group(2) in _ASGI else "wsgi"
    return _with_server(root / script, kind, f"{script[:-3]}:{app.group(1)}",
                        f"a {app.group(2)} app (`{app.group(1)}`)", names, venv_bin, root)


def _with_server(file: Path, kind: str, target: str, what: str, names: set[str], venv_bin: str,
                 root: Path, ran: str = "") -> Served:
    where = file.relative_to(root).as_posix()
    ran = ran or f"`python {where}`, which exits at once"
    for server, command in _SERVERS[kind]:
        if server in names:
            return Served(f"{venv_bin}/{command.format(target=target)}", f"{where}: {what}, served by {server}",
                          f"the command that serves {where}'s app")
    servers = " or ".join(name for name, _ in _SERVERS[kind])
    first = _SERVERS[kind][0][0]
    return Served(None, f"{where}: {what}", "", SpecError(
        f"{where} defines {what}, but nothing the project installs serves it ({servers}): the image would run "
        f"{ran}", location=Location(str(file), 1, 1),
        hint=f"add {first} to the project's dependencies and run init again, or name the command: "
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
