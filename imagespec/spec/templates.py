"""Finding what `extends:` names: a spec path, or a template by name.

Search order for a name in a spec: the configuration's `templates:` folders (a
company's shared repo), every `templates/` folder from the spec's folder up to the
repository root (the project's own), then imagespec's built-in presets. A name in a
template: the template's own folder first, then the same order from there.

What a file's `extends` reaches stays in that file's repository (imagespec.spec.repository:
the git root; outside git, its folder), links followed, or is a template found by name in a
configured folder or among the presets (in that folder's repository): a spec from a pull
request cannot read /etc/shadow and echo its lines as errors.

One rule keeps a company's templates the company's: a name is served by one file of the
folders searched (from the document that writes it, and from the spec), but for a
built-in preset, which the file a lookup takes may override. Nearest-first order alone
would let an app's `templates/company-go.yaml` replace the company's, policies and all.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path

from imagespec.errors import Location, SpecError
from imagespec.spec import files
from imagespec.spec.repository import outside, outside_git_hint, repository_root
from imagespec.resources import templates_dir
from imagespec.spec.yaml_source import Document

SUFFIXES = (".yaml", ".yml")


@cache  # where the package is installed does not change while it runs
def builtin_presets() -> Path:
    return templates_dir() / "presets"


def project_template_dirs(start: Path | None) -> list[Path]:
    """Every `templates/` folder from `start` (None: the working directory) up to the
    repository root (or /), nearest first. Walked as strings: this runs for every spec
    that extends a template."""
    found = []
    folder = str(files.resolve(start)) if start is not None else files.working_directory()
    builtin = templates_dir()
    while True:
        candidate = os.path.join(folder, "templates")
        if files.is_dir(candidate) and files.resolve(Path(candidate)) != builtin:
            found.append(Path(candidate))
        parent = os.path.dirname(folder)
        if parent == folder or files.exists(os.path.join(folder, ".git")):
            return found
        folder = parent


def available(dirs: Sequence[Path]) -> list[str]:
    return sorted({p.stem for d in dirs if files.is_dir(d) for p in files.listdir(d) if p.suffix in SUFFIXES})


class TemplateResolver:
    """Maps an `extends:` value, seen in a document of one spec's chain, to a file.

    A name is looked up from the place of the document that writes it: the spec's from
    its folder; a template's in its own folder first, then as from a spec beside it
    (`search`). So a company template's `extends: company-base` is always the company's.
    A second file of the name in a folder searched from there or from the spec is refused
    (`_refuse_shadow`), unless it is a built-in preset: an app's copy of a company template
    would replace the company's rules (a spec's lookup is nearest first), and an app's copy
    of a template's base would look as if it replaced part of the template's chain."""

    def __init__(self, configured: Sequence[Path], folder: Path | None, show: Callable[[Path], str] = str) -> None:
        self.configured = list(configured)
        self.folder = folder  # the spec's (None: the working directory)
        self.show = show  # a file's name in messages
        self.files: dict[str, Path] = {}  # displayed name -> path, for relative extends
        self.by_name: set[Path] = set()  # the templates found by name
        self._searched: dict[tuple[Path | None, bool], list[Path]] = {}
        self._roots: dict[Path, Path] = {}  # real folder -> its repository

    def remember(self, display: str, path: Path) -> None:
        self.files[display] = path

    def search(self, current: Document) -> list[Path]:
        """The folders a name written in `current` is looked up in, in order."""
        origin = self.files.get(current.file)
        return self._dirs(self.folder if origin is None else origin.parent, origin in self.by_name)

    def _dirs(self, folder: Path | None, own_first: bool) -> list[Path]:
        key = (folder, own_first)
        if key not in self._searched:
            # the presets are imagespec's own: nothing around the installed package is searched
            around = [] if folder == builtin_presets() else project_template_dirs(folder)
            own = [folder] if own_first and folder is not None else []
            self._searched[key] = list(dict.fromkeys([*own, *self.configured, *around, builtin_presets()]))
        return self._searched[key]

    def _root(self, folder: Path) -> Path:
        real = files.resolve(folder)
        if real not in self._roots:
            self._roots[real] = repository_root(real)
        return self._roots[real]

    def _confine(self, target: str, current: Document, path: Path, found_in: Path | None = None) -> None:
        """Refuse, before reading it, a file that `current`'s `extends` reaches outside the
        writer's repository; a template found by name (`found_in`: its folder) may also lie in
        the repository of the folder holding that folder (a company's templates live in theirs,
        the presets in imagespec's), but a link there leads nowhere else."""
        writer = self.files.get(current.file, Path(current.file))
        root = self._root(writer.parent)
        if outside(path, root) is None or (found_in is not None and outside(path, self._root(found_in.parent)) is None):
            return
        # outside git the spec's folder is all there is: `git init` at the top makes the project one
        not_git = outside_git_hint(root)
        raise SpecError(f"`extends: {target}` leads outside the repository ({self.show(root)}): not read",
                        location=current.value_origin(("extends",)),
                        hint="extend files of the spec's own repository (its git root; outside git, its folder), "
                             "or a template by name from the configuration's `templates:` folders or the presets "
                             "(README, \"Presets, templates and `extends`\")" + (f"; {not_git}" if not_git else ""))

    def __call__(self, target: str, current: Document) -> Path:
        """The file's real path (links followed)."""
        where = current.value_origin(("extends",))  # at the name, the part to fix (was: at the key, 1:1)
        if "/" in target or target.endswith(SUFFIXES):
            origin = self.files.get(current.file, Path(current.file))
            path = files.resolve(origin.parent / target)
            self._confine(target, current, path)
            if not files.is_file(path):
                raise SpecError(f"no spec at '{target}'", location=where,
                                hint="a path is relative to the file that extends it")
            return path
        dirs = self.search(current)
        found = _find(target, dirs)
        if found is None:
            self._refuse_not_regular(target, dirs, where)
            names = available(dirs)
            # or the longest name the target begins with: golang is go, nodejs node, python3 python
            close = difflib.get_close_matches(target, names, n=1) or sorted(
                (name for name in names if len(name) > 1 and target.startswith(name)), key=len)[-1:]
            raise SpecError(f"unknown template '{target}'", location=where,
                            hint=f"did you mean '{close[0]}'?" if close else f"templates: {', '.join(names)}")
        self._confine(target, current, found[1], found[0])
        self._refuse_shadow(target, current, found[1], dirs)
        self.by_name.add(found[1])
        return found[1]

    @staticmethod
    def _refuse_not_regular(target: str, dirs: list[Path], where: Location) -> None:
        """A FIFO, folder or device of the template's name: said as what it is, never read
        (was: "unknown template 'x'", "did you mean 'x'?")."""
        for folder in dirs:
            for suffix in SUFFIXES:
                probe = os.path.join(folder, f"{target}{suffix}")
                kind = files.not_regular(probe)
                if kind is not None:
                    raise SpecError(f"template '{target}' is {probe}, which is not a regular file ({kind})",
                                    location=where, hint="make it a YAML file, or remove it")

    def _refuse_shadow(self, target: str, current: Document, found: Path, dirs: list[Path]) -> None:
        """Any other file of the name in the folders searched from `current` or from the
        spec (a nested `templates/`, another configured folder): only a built-in preset
        may be overridden, and only by the file this lookup takes."""
        spec = self._dirs(self.folder, False)
        builtin = builtin_presets()
        other = next((path for folder, path in _find_all(target, [*dirs, *(d for d in spec if d not in dirs)])
                      if path != found and folder != builtin), None)
        if other is None:
            return
        served = f"the preset '{target}'" if found.parent == builtin else self.show(found)
        shadow = self.show(other)
        raise SpecError(f"`extends: {target}` here names {served}, but {shadow} (in another template folder "
                        "searched from here or from the spec) has the same name: a template is never replaced "
                        "by a file of its name in another folder",
                        location=current.location(("extends",)),
                        hint="rename or remove the app's own copy of the two: a name is looked up in the "
                             "configuration's folders and every `templates/` up to the repository root, and only a "
                             "built-in preset may be overridden (README, \"Presets, templates and `extends`\"); a "
                             "spec changes what it inherits by overriding fields")


def _find(target: str, dirs: Sequence[Path]) -> tuple[Path, Path] | None:
    """(the folder, the file's real path) of the first template `target` in `dirs`."""
    return next(_found(target, dirs), None)


def _find_all(target: str, dirs: Sequence[Path]) -> list[tuple[Path, Path]]:
    """Every (folder, real path) of a template `target` in `dirs`, each file once (a
    folder linked into two places holds one template)."""
    first: dict[Path, tuple[Path, Path]] = {}
    for folder, path in _found(target, dirs):
        first.setdefault(path, (folder, path))
    return list(first.values())


def _found(target: str, dirs: Sequence[Path]) -> Iterator[tuple[Path, Path]]:
    builtin = builtin_presets()
    for folder in dirs:
        for suffix in SUFFIXES:
            # probed as a string (the same one folder / name gives): a Path only for the one found
            probe = os.path.join(folder, f"{target}{suffix}")
            if files.is_file(probe):
                # the built-in presets' folder is a real path already (templates_dir())
                yield folder, Path(probe) if folder == builtin else files.resolve(Path(probe))
                break  # `NAME.yml` beside `NAME.yaml` is the folder's own business
