"""Spec files -> LoadedSpec: the validated Spec, its source Document and paths.

The only place (with config.py and catalog.py) that reads files for the compiler.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar, overload

from imagespec.errors import SpecError, SpecErrors, raise_together
from imagespec.spec import files
from imagespec.spec.config import Config, load_config
from imagespec.spec.extends import RejectedValues, resolve
from imagespec.spec.yaml_source import Document, parse_yaml, read_yaml
from imagespec.spec.model import Spec
from imagespec.spec.repository import outside_git_hint, repository_root
from imagespec.spec.templates import TemplateResolver
from imagespec.spec.validate import validate


#: a spec's lock file is its name with this ending: imagespec.yaml -> imagespec.lock.yaml,
#: api.imagespec.yaml -> api.imagespec.lock.yaml (imagespec.lock writes and reads it)
LOCK_SUFFIX = ".lock.yaml"


def lock_path_for(spec: Path) -> Path:
    name = spec.name
    stem = name.removesuffix(".yaml") if name.endswith(".yaml") else name.removesuffix(".yml")
    return spec.with_name(stem + LOCK_SUFFIX)


_T = TypeVar("_T")


class _once(Generic[_T]):
    """functools.cached_property without its lock: Python 3.11's takes an RLock at each
    first use, which costs more than making most of the paths it keeps here (3.12 dropped
    the lock). Made once per spec, on the thread that compiles it."""

    def __init__(self, make: Callable[[Any], _T]) -> None:
        self.make, self.__doc__ = make, make.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, spec: None, owner: type | None = None) -> _once[_T]: ...
    @overload
    def __get__(self, spec: object, owner: type | None = None) -> _T: ...
    def __get__(self, spec: object | None, owner: type | None = None) -> _T | _once[_T]:
        if spec is None:
            return self
        value = vars(spec)[self.name] = self.make(spec)  # read from the instance's dict from now on
        return value


class _Paths(NamedTuple):
    """A spec's real context and where its Dockerfile and ignore file go, as text:
    compiling needs only their names relative to the context (own_files), which strings
    give without a pathlib object each (pathlib's parsing of these few paths cost more
    than lowering the spec: BENCHMARKS.md, issue 13)."""

    context: str
    dockerfile: str
    dockerignore: str


def ignore_file_for(context: str, dockerfile: str) -> str:
    """The ignore file the build of ``dockerfile`` reads (both normalized, absolute).
    `docker build CONTEXT` reads CONTEXT/Dockerfile and CONTEXT/.dockerignore, which every
    builder knows. Any other Dockerfile gets its own <Dockerfile>.dockerignore beside it,
    which BuildKit reads instead of the context's: two specs in one folder never share (and
    fight over) one ignore file."""
    if dockerfile == _lexical(context, "Dockerfile"):  # both normal: == as Paths
        return _lexical(context, ".dockerignore")
    return dockerfile + ".dockerignore"  # Path.with_name(name + ".dockerignore")


def _lexical(folder: str, relative: str) -> str:
    """str(Path(folder) / relative) for a real folder and a relative path: pathlib drops
    empty and `.` parts and keeps `..` (it does not look at the disk to collapse them)."""
    parts = [part for part in relative.split("/") if part and part != "."]
    return "/".join([folder.rstrip("/"), *parts]) if parts else folder


@dataclass(frozen=True)
class LoadedSpec:
    spec: Spec
    document: Document
    path: Path | None  # None for specs given as text

    # folder and context resolve real paths (a stat per path component), and every path
    # below is made from them: each is made once per spec, not once per use (own_files,
    # the ignore file's path and the header's name ask for them again and again); the
    # first use is inside the result cache's recording, which notes the look once
    @_once
    def _folder(self) -> str:
        return str(files.resolve(self.path.parent)) if self.path else files.working_directory()

    @_once
    def _paths(self) -> _Paths:
        folder = self._folder
        # the default context `.` is the spec's folder, whose real path is known
        context = folder if self.spec.context == "." else str(files.resolve(Path(folder) / self.spec.context))
        dockerfile = _lexical(folder, self.spec.dockerfile)
        return _Paths(context, dockerfile, ignore_file_for(context, dockerfile))

    @_once
    def folder(self) -> Path:
        return Path(self._folder)

    @_once
    def context(self) -> Path:
        return Path(self._paths.context)

    @_once
    def dockerfile_path(self) -> Path:
        return Path(self._paths.dockerfile)

    @_once
    def dockerignore_path(self) -> Path:
        return Path(self._paths.dockerignore)

    @property
    def lock_path(self) -> Path | None:
        """Where the spec's lock file is (whether or not it exists); None for a spec given as text."""
        return None if self.path is None else lock_path_for(self.folder / self.path.name)

    @_once
    def own_files(self) -> tuple[str, ...]:
        """The spec, its Dockerfile, its ignore file and its lock file (when there is one)
        relative to the build context, for those inside it (POSIX paths, the .dockerignore's
        syntax): kept out of the context, so that moving a lock re-runs no COPY step."""
        where = self._paths
        lock = self.lock_path
        paths = (os.path.join(self._folder, self.path.name) if self.path else None, where.dockerfile,
                 where.dockerignore, lock if lock and files.is_file(lock) else None)
        return tuple(relative for path in paths if path and (relative := _inside(path, where.context)) is not None)

    @_once
    def _real_path(self) -> Path:
        assert self.path is not None
        return files.resolve(self.path)

    def display_name(self, relative_to: Path | None = None) -> str:
        """The spec's name as written in headers: relative to the Dockerfile's folder,
        so the text is the same on every machine."""
        if self.path is None:
            return self.document.file
        base = relative_to or self.dockerfile_path.parent
        return Path(os.path.relpath(self._real_path, base)).as_posix()


def _inside(path: Path | str, folder: Path | str) -> str | None:
    """`path` relative to `folder` (a real path) when it lies inside it, else None. The
    same as os.path.relpath (and Path.relative_to) for two absolute paths, by prefix:
    this runs for several paths of every spec compiled."""
    target, root = os.path.normpath(path), os.fspath(folder)
    if target == root:
        return os.curdir
    prefix = root if root.endswith(os.sep) else root + os.sep
    return target[len(prefix):] if target.startswith(prefix) else None


def display(path: Path, *, resolved: bool = False) -> str:
    """A file's name in messages: relative to the working directory when it is below it.
    `resolved`: the path is real already (no second look at its links)."""
    real = path if resolved else files.resolve(path)
    below = _inside(real, os.getcwd())  # a real path below the working directory (itself real)
    return str(path) if below is None else below


def merge_extends(document: Document, folder: Path | None, config: Config, path: Path | None) -> Document:
    """The document with its `extends` chain merged in (a no-op without `extends`);
    `folder` is where it lives (None: the working directory), whose `templates/` are searched."""
    if not isinstance(document.data, dict) or "extends" not in document.data:
        if isinstance(document.data, dict) and document.data.get("with"):
            raise SpecError("`with` gives values to the parameters of the template a spec extends, "
                            "and this spec extends none", location=document.location(("with",)),
                            hint="add `extends: TEMPLATE`, or write the values where they go")
        return document
    resolver = TemplateResolver(config.templates, folder, show=display)
    if path is not None:
        resolver.remember(document.file, path)

    def read(parent: Path) -> Document:
        # the resolver gives real paths; resolve() copies what it merges, so the parse is shared
        parsed = read_yaml(parent, display=display(parent, resolved=True), shared=True)
        resolver.remember(parsed.file, parent)
        return parsed

    return resolve(document, resolver, read)


def check_context(loaded: LoadedSpec) -> None:
    """`context:` names an existing folder: the files a build sends, and where lint looks."""
    if loaded.path is None:
        return
    try:
        context = loaded.context
    except files.LinkLoop as exc:
        raise SpecError(f"context: {exc.path}: {exc.message}", location=loaded.document.location(("context",)),
                        hint=exc.hint) from None
    if files.is_dir(context) and context.parent != context:
        if loaded.spec.context == ".":  # the spec's folder: the repository's, or the repository
            return
        root = repository_root(loaded.folder)
        if context.is_relative_to(root):  # `context` is real (links followed): outside()'s test
            return
        # a build sends every file of the context to the engine, and the spec's COPY steps
        # put any of them in an image: a pull request could ship the CI runner's files
        not_git = outside_git_hint(root)
        raise SpecError(f"context: {display(context, resolved=True)} is outside the spec's repository "
                        f"({display(root, resolved=True)})", location=loaded.document.location(("context",)),
                        hint="name a folder of the spec's repository (its git root; outside git, the spec's own "
                             "folder)" + (f"; {not_git}" if not_git else ""))
    if files.is_dir(context):  # `..` enough times: a build would send every file of the machine
        raise SpecError("context: resolves to / (the whole file system)", location=loaded.document.location(("context",)),
                        hint="name the folder the build reads, relative to the spec (default: `.`)")
    shown = display(context, resolved=True)
    problem = "is a file, not a folder" if files.exists(context) else "does not exist"
    raise SpecError(f"context: {shown} {problem}",
                    location=loaded.document.location(("context",)),
                    hint="name the folder the build reads, relative to the spec (default: `.`)")


def _merged_and_valid(read: Callable[[], Document]) -> tuple[Document, Spec]:
    """The merged document and its Spec. Invalid `with:` values are reported together with
    the spec's other errors, found in the document merged with stand-ins for them; an error
    at a rejected value's own `with:` line (a field it filled) is that value's, said once."""
    try:
        document = read()
    except RejectedValues as rejected:
        said = {error.location for error in rejected.errors}
        try:
            validate(rejected.document)
        except SpecError as invalid:
            others = [error for error in (invalid.errors if isinstance(invalid, SpecErrors) else (invalid,))
                      if error.location not in said]
            raise_together([*rejected.errors, *others])
        raise
    return document, validate(document)


def load_spec(path: Path, config: Config | None = None) -> LoadedSpec:
    """Read, merge (`extends`) and validate a spec; `config` defaults to the one found
    from the spec's folder."""
    config = config if config is not None else load_config(start=path.parent)
    document, spec = _merged_and_valid(
        lambda: merge_extends(read_yaml(path, display=display(path)), path.parent, config, path))
    loaded = LoadedSpec(spec, document, path)
    check_context(loaded)
    return loaded


def load_spec_text(text: str, name: str = "<spec>", config: Config | None = None,
                   folder: Path | None = None) -> LoadedSpec:
    """A spec given as text; `folder` is where it will live (its templates/ folders are
    searched), the working directory by default."""
    config = config if config is not None else load_config()
    document, spec = _merged_and_valid(lambda: merge_extends(parse_yaml(text, name), folder, config, None))
    return LoadedSpec(spec, document, None)


__all__ = ["LoadedSpec", "SpecError", "load_spec", "load_spec_text", "merge_extends"]
