"""Which files are specs: the arguments of a fleet command, folders searched recursively.

The rule (README, "Fleets"): a file named ``imagespec.yaml``, or ``NAME.imagespec.yaml``
(several specs in one folder), is a spec. Folders are searched recursively, except
hidden ones (``.git``, ``.venv``, …) and the ones that hold other people's files
(``node_modules``, ``venv``, ``__pycache__``, ``vendor``): a spec there is not the
project's. A file named on the command line is taken as it is (a spec need not follow
the rule to be built alone). The result is sorted and each spec appears once, however
often (or by whichever path) it was named. A spec found in a folder is read only when it
lies in the folder's repository (imagespec.spec.repository): a committed link to a file
elsewhere (`svc/imagespec.yaml -> /etc/shadow`) is left out, never read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from imagespec.errors import Location, SpecError, one_line
from imagespec.spec.files import CONFIG_NAME
from imagespec.notes import OnNote, ignore

SPEC_NAME = "imagespec.yaml"
SPEC_SUFFIX = ".imagespec.yaml"
# folders that never hold the project's own specs (besides every hidden one)
SKIPPED = frozenset({"node_modules", "venv", "__pycache__", "vendor", "site-packages"})


def is_spec_name(name: str) -> bool:
    """The file-name rule for specs found in folders. A hidden file is not one, as a hidden
    folder is not searched: an editor's lock or backup (Emacs's `.#api.imagespec.yaml`, a
    link that leads nowhere while the spec is edited) would fail every fleet command."""
    return name == SPEC_NAME or (name.endswith(SPEC_SUFFIX) and len(name) > len(SPEC_SUFFIX)
                                 and not name.startswith("."))


def _skipped(folder: str) -> bool:
    return folder.startswith(".") or folder in SKIPPED


def _not_special(parent: str, name: str) -> bool:
    """Not a FIFO, socket or device (reading a FIFO waits for a writer for ever); a link that
    leads nowhere or in a circle stays, for the loader to name."""
    path = os.path.join(parent, name)
    return os.path.isfile(path) or not os.path.exists(path)


def _near_miss(name: str) -> bool:
    """A file meant as a spec whose name the rule does not take (``imagespec.yml``,
    ``Imagespec.yaml``, ``app.imagespec.yml``): said, not silently left out of the fleet."""
    lower = name.lower()
    if lower.startswith("."):  # hidden: an editor's file, or a configuration (`.imagespec.yaml`)
        return False
    meant = lower in (SPEC_NAME, "imagespec.yml") or lower.endswith((SPEC_SUFFIX, ".imagespec.yml"))
    return meant and not is_spec_name(name)


def _leads_out(path: str, root: Path) -> str | None:
    """Why a spec found in a folder is not read: a link leading out of the repository
    ``root``, whose contents a spec's errors would echo. Only a link can: the walk follows
    none to folders."""
    from imagespec.spec.repository import outside  # lazy: discovery runs on the cached path

    if not os.path.islink(path):
        return None
    try:
        real = outside(Path(path), root)
    except SpecError:  # a loop of links: the loader says so, and reads nothing
        return None
    if real is None:
        return None
    return f"a link to a file outside the repository ({root}), not read; name the file on the command line to use it as it is"


def specs_in(folder: Path, missed: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Every spec below ``folder`` by the rule, in sorted order (links to folders are not
    followed: a link loop cannot make the search endless). What looks meant as a spec and
    is left out goes to ``missed``, with why: a near-miss name, a spec name on a folder,
    FIFO, socket or device, or on a link leading out of the repository (the git root;
    outside git, ``folder``)."""
    from imagespec.spec.repository import repository_root

    found = []
    root = repository_root(Path(os.path.realpath(folder)))
    for parent, dirs, names in os.walk(folder):
        for name in dirs:
            if missed is not None and is_spec_name(name) and not _skipped(name):
                missed.append((Path(parent) / name, "a folder, not a spec file (it is searched as a folder)"))
        dirs[:] = sorted(d for d in dirs if not _skipped(d))
        for name in sorted(names):
            away = is_spec_name(name) and _leads_out(os.path.join(parent, name), root)
            if is_spec_name(name) and _not_special(parent, name) and not away:
                found.append(Path(parent) / name)
            elif missed is None:
                continue
            elif away:
                missed.append((Path(parent) / name, away))
                continue
            elif is_spec_name(name):
                missed.append((Path(parent) / name, "not a regular file (a FIFO, socket or device, or a link to one)"))
            elif _near_miss(name):
                missed.append((Path(parent) / name, f"a spec in a folder is named {SPEC_NAME} or NAME{SPEC_SUFFIX} "
                                                    "(name the file on the command line to use it as it is)"))
    return found


def searched_for(path: str, folder: str) -> bool:
    """Whether ``specs_in(folder)`` would take a file at ``path`` (both real paths) by the
    rule: under ``folder``, through no hidden or skipped folder, named as a spec. For a file
    that is gone (--changed-since names a deleted spec)."""
    relative = os.path.relpath(path, folder)
    *folders, name = Path(relative).parts or ("",)
    return not relative.startswith("..") and is_spec_name(name) and not any(map(_skipped, folders))


def _named_by(paths: Iterable[Path]) -> Path:
    """Which path of one spec file names it (its folder is its context and target name):
    the file itself over a link to it, else the first in sorted order, whatever the order
    of the arguments (two links to one spec give one target, always the same). A path
    through a linked folder (`pay-link/api/imagespec.yaml`) is a link too: `sorted` alone
    would name the file by it and say the file itself was skipped."""
    return min(paths, key=lambda path: (path.is_symlink(), _through_link(path), str(path)))


def _through_link(path: Path) -> bool:
    folder = os.path.abspath(path.parent)
    return os.path.realpath(folder) != folder


def discover(paths: Iterable[Path], on_note: OnNote = ignore) -> list[Path]:
    """The specs that ``paths`` (files and folders) name: sorted by path, each once (by its
    real path). A path that does not exist, or a folder without a spec, is bad input
    (exit 2); so is an empty list."""
    named: dict[str, dict[str, Path]] = {}  # real path -> the paths naming it, each once
    near: list[tuple[Path, str]] = []
    given = list(paths)
    if not given:
        raise SpecError("no spec given", hint="name spec files or folders holding imagespec.yaml files")
    for path in given:
        if path.is_dir():
            missed: list[tuple[Path, str]] = []
            inside = specs_in(path, missed)
            if not inside:
                raise SpecError(f"no spec in folder {path}", location=Location(str(path)),
                                hint=f"a spec is a file named {SPEC_NAME} or NAME{SPEC_SUFFIX} (hidden folders, "
                                     f"{', '.join(sorted(SKIPPED))} are not searched)"
                                     + (f"; {missed[0][0]} was left out: {missed[0][1]}" if missed else ""))
            near += missed
        elif path.is_file() or path.is_symlink():  # a broken or looping link: the loader says which
            if path.name == CONFIG_NAME:  # a glob such as examples/**/*.yaml matches these too
                on_note(f"skipped {one_line(str(path))}: a configuration file, not a spec")
                continue
            inside = [path]
        elif path.exists():  # /dev/null, a pipe, a socket: there, but no file to read a spec from
            raise SpecError(f"not a regular file or a folder: {path}", location=Location(str(path)),
                            hint="give spec files or folders of them")
        else:
            raise SpecError(f"no such spec or folder: {path}", location=Location(str(path)),
                            hint="give spec files or folders of them")
        for spec in inside:
            named.setdefault(os.path.realpath(spec), {}).setdefault(os.path.normpath(spec), spec)
    chosen: dict[str, Path] = {}
    for real, naming in named.items():
        chosen[real] = _named_by(naming.values())
        for other in sorted(map(str, naming.values())):
            if other != str(chosen[real]):
                linked = Path(other).is_symlink() or _through_link(Path(other))
                on_note(f"skipped {one_line(other)}: the same file as {one_line(str(chosen[real]))}, built once "
                        f"({'a link to a spec is that spec' if linked else 'one spec, named twice'})")
    for path, why in near:
        if os.path.realpath(path) not in chosen:  # named on the command line too: a spec after all
            on_note(f"skipped {one_line(str(path))}: {why}")
    if not chosen:
        raise SpecError("no spec among the files given", hint=f"{CONFIG_NAME} files configure specs; name the specs")
    return [chosen[real] for real in sorted(chosen)]


__all__ = ["SKIPPED", "SPEC_NAME", "SPEC_SUFFIX", "discover", "is_spec_name", "searched_for", "specs_in"]
