"""The result cache of `imagespec generate` and `imagespec check`.

A pre-commit hook, an editor or a CI step runs these on specs that mostly did not
change. Compiling needs pydantic, YAML and Jinja, whose imports are most of an uncached
start (BENCHMARKS.md, "Compiler speed"); a spec whose inputs did not change is
answered from here instead.

An entry is kept per spec path and invocation (working directory, the configuration
file chosen (--config or IMAGESPEC_CONFIG), -o target). It holds what the compile produced and every look the compiler took
at the disk (imagespec.spec.files notes them: the bytes of each file read, and whether
each probed path existed). A lookup is a hit only when imagespec's code and templates (by
content) and the libraries it compiles with are the same as when the entry was written and every
look, taken again, sees the same thing. Compiles that fail are never stored: errors are
always reported by the compiler itself.

The fleet commands (imagespec.fleet.load) keep another kind of entry under the same rule:
a spec's facts (tags, bases, inputs, its bake target) with the notes of the compile that
found them (`store_facts`/`lookup_facts`), so that a fleet whose specs did not change
loads without a compile.

Where: $IMAGESPEC_CACHE_DIR, else $XDG_CACHE_HOME/imagespec, else ~/.cache/imagespec.
IMAGESPEC_NO_CACHE=1 (or --no-cache) neither reads nor writes it. The cache is only an
optimisation: an unreadable, corrupt or unwritable cache is a miss, never an error.

May import: imagespec.spec.files (the notes it replays), imagespec.resources; nothing that
compiles (a hit never loads pydantic, YAML or Jinja).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import json
import os
import sys
from functools import cache
from pathlib import Path
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from imagespec.resources import templates_dir
from imagespec.spec.files import Note, observe

# Bumped when an entry's layout or meaning changes.
FORMAT = 2
DIR_VAR, OFF_VAR = "IMAGESPEC_CACHE_DIR", "IMAGESPEC_NO_CACHE"
# what the compiler's output depends on besides imagespec itself
LIBRARIES = ("pydantic", "pydantic_core", "yaml", "jinja2", "markupsafe")


class Result(NamedTuple):
    """What `generate` and `check` need of a compiled spec."""

    spec_file: str  # the spec's name in messages
    dockerfile_path: Path
    dockerignore_path: Path
    dockerfile: str
    dockerignore: str
    # (file, line, col) of the spec's `dockerfile:` (its first line when unset): where a
    # clash between two specs' outputs is reported
    origin: tuple[str, int, int]

    def outputs(self, dockerfile_to: Path | None = None) -> dict[Path, str]:
        """Every file `generate` writes for this spec, and its text (the Dockerfile at
        `dockerfile_to`, -o's path, when given)."""
        return {dockerfile_to or self.dockerfile_path: self.dockerfile, self.dockerignore_path: self.dockerignore}


def cache_dir(environ: Mapping[str, str]) -> Path | None:
    """Where the cache lives, from the environment imagespec.settings.read_environment
    read (None: switched off)."""
    if environ.get(OFF_VAR, "") not in ("", "0"):
        return None
    if environ.get(DIR_VAR):
        return Path(environ[DIR_VAR])
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "imagespec"


@cache  # the installation does not change while the process runs
def code_fingerprint() -> str:
    """imagespec's code, templates, presets and built-in catalog by content, the
    libraries' entry files by size and mtime: an edit, an upgrade or a reinstall changes it.
    By content because an edit can keep a file's size and mtime (a checkout, a copy with
    preserved times, a same-length fix within the clock's resolution); what reading them
    costs a cached start is in BENCHMARKS.md ("Content fingerprint")."""
    digest = hashlib.sha256(f"{FORMAT} {sys.version} {sys.executable}".encode())
    for root in (Path(__file__).parent, templates_dir()):
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(names):
                if not name.endswith((".pyc", ".pyo")):
                    _add_content(digest, os.path.join(folder, name))
    for library in LIBRARIES:  # a pip upgrade or reinstall rewrites these: their stat is enough
        spec = importlib.machinery.PathFinder.find_spec(library)  # finds, without importing
        _add_stat(digest, spec.origin if spec and spec.origin else library)
    return digest.hexdigest()


class _Digest(Protocol):
    """What a hashlib object offers that the fingerprint needs."""

    def update(self, data: bytes, /) -> None: ...


def _add_content(digest: _Digest, path: str) -> None:
    try:
        with open(path, "rb") as handle:
            body = handle.read()
        digest.update(f"{path}\0{len(body)}\n".encode())
        digest.update(body)
    except OSError:
        digest.update(f"{path}\0missing\n".encode())


def _add_stat(digest: _Digest, path: str) -> None:
    try:
        st = os.stat(path)
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    except OSError:
        digest.update(f"{path}\0missing\n".encode())


def _entry_path(root: Path, spec: Path, config: Path | None, written_to: Path | None, kind: str = "compile") -> Path:
    invocation = [FORMAT, os.path.abspath(spec), os.getcwd(), config and os.path.abspath(config),
                  written_to and os.path.abspath(written_to)]  # `config`: --config or $IMAGESPEC_CONFIG
    key = hashlib.sha256(json.dumps(invocation).encode()).hexdigest()
    # a folder per installation: two of them (a project's venv, a pre-commit hook's) share
    # the cache without overwriting each other's entries
    return root / f"{kind}-v{FORMAT}" / code_fingerprint()[:16] / f"{key}.json"


def lookup(root: Path | None, spec: Path, config: Path | None, written_to: Path | None) -> Result | None:
    """The stored result in the cache folder `root` when every input is unchanged, else None."""
    if root is None:
        return None
    entry = _valid_entry(_entry_path(root, spec, config, written_to))
    try:
        r = entry["result"] if entry is not None else None
        if r is None:
            return None
        return Result(r["spec_file"], Path(r["dockerfile_path"]), Path(r["dockerignore_path"]),
                      r["dockerfile"], r["dockerignore"], tuple(r["origin"]))
    except (KeyError, TypeError):
        return None


def _valid_entry(path: Path, looks: dict[tuple[str, str], object] | None = None) -> dict[str, Any] | None:
    """The entry at `path` when it was written by this code and every look it noted, taken
    again, sees the same thing; else None (a missing or corrupt entry is a miss). `looks`:
    what each look saw in this run already (many specs share a configuration, a catalog
    and templates: each is hashed once per run)."""
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        if entry["code"] != code_fingerprint():
            return None
        if any(_look(kind, path, looks) != seen for kind, path, seen in entry["notes"]):
            return None
        return entry if isinstance(entry, dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _look(kind: str, path: str, looks: dict[tuple[str, str], object] | None) -> object:
    if looks is None:
        return observe(kind, path)
    key = (kind, path)
    if key not in looks:
        looks[key] = observe(kind, path)
    return looks[key]


def store(root: Path | None, spec: Path, config: Path | None, written_to: Path | None, notes: list[Note],
          result: Result) -> None:
    payload = {**result._asdict(), "dockerfile_path": str(result.dockerfile_path),
               "dockerignore_path": str(result.dockerignore_path)}
    if root is not None:
        _store_entry(_entry_path(root, spec, config, written_to), notes, "result", payload)


def lookup_facts(root: Path | None, kind: str, spec: Path, config: Path | None,
                 looks: dict[tuple[str, str], object] | None = None) -> dict[str, Any] | None:
    """Another job's facts about a compiled spec (``kind``: e.g. "fleet"), under the same
    rule as `lookup`: a hit only when every file and probe the compile noted is unchanged.
    ``looks``: one dict for the looks of one run over many specs (see _valid_entry)."""
    if root is None:
        return None
    entry = _valid_entry(_entry_path(root, spec, config, None, kind), looks)
    facts = entry.get("facts") if entry is not None else None
    return facts if isinstance(facts, dict) else None


def store_facts(root: Path | None, kind: str, spec: Path, config: Path | None, notes: list[Note],
                facts: dict[str, Any]) -> None:
    if root is not None:
        _store_entry(_entry_path(root, spec, config, None, kind), notes, "facts", facts)


def _store_entry(target: Path, notes: list[Note], key: str, payload: dict[str, Any]) -> None:
    unique: dict[tuple[str, str], object] = {}
    for kind, path, seen in notes:
        if unique.setdefault((kind, path), seen) != seen:
            return  # a file changed while it was compiled: nothing to trust
    entry = {"code": code_fingerprint(), "notes": [[k, p, s] for (k, p), s in unique.items()], key: payload}
    staged = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        if not target.parent.is_dir():
            _forget_stale_installations(target.parent.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged.write_text(json.dumps(entry), encoding="utf-8")
        os.replace(staged, target)  # readers see the old entry or the new one, never half
    except OSError:
        with contextlib.suppress(OSError):  # e.g. the folder could not be made: nothing staged
            staged.unlink(missing_ok=True)


def _forget_stale_installations(folder: Path, days: float = 14) -> None:
    """Entries of code that changed (or of an installation unused) for `days` go when another
    installation starts its folder: the cache does not grow with every edit of imagespec."""
    import shutil
    import time

    if not folder.is_dir():
        return
    cutoff = time.time() - days * 86400
    for old in folder.iterdir():
        with contextlib.suppress(OSError):
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old)
