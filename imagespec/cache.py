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
import time
from functools import cache
from operator import attrgetter
from pathlib import Path
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

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


# A file whose status changed less than this long before it was hashed is hashed again
# next time instead of being trusted from the hash notes: a same-size rewrite within one
# tick of the filesystem's clock would leave its status unchanged (git's "racily clean"
# files). Seconds; a tick is a few milliseconds on Linux filesystems.
RACY_SECONDS = 2.0


@cache  # the installation does not change while the process runs
def code_fingerprint(root: Path | None = None) -> str:
    """imagespec's code, templates, presets and built-in catalog by content, the
    libraries' entry files by size and mtime: an edit, an upgrade or a reinstall changes it.
    By content because an edit can keep a file's size and mtime (a checkout, a copy with
    preserved times, a same-length fix within the clock's resolution). A file's content hash
    is taken from the hash notes in the cache folder `root` while its status (inode, size,
    mtime, ctime) is what it was when hashed: no write leaves all four as they were (the
    ctime cannot be set back), and a file written just before it was hashed is never noted
    (RACY_SECONDS). Without `root`, every file is read. What this saves a cached start is in
    BENCHMARKS.md ("No speed regression (issue 13)")."""
    return _fingerprint(_code_files(), _notes_path(root) if root is not None else None)


def _code_files() -> list[str]:
    found: list[str] = []
    for top in (Path(__file__).parent, templates_dir()):
        _add_files(str(top), found)
    return found


def _add_files(folder: str, found: list[str]) -> None:
    """The files under `folder` in os.walk's order (a folder's files by name, then each
    subfolder's), no __pycache__ or compiled file, links to folders not followed: one
    scandir per folder, without os.walk's generator and a second look at each link."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=_NAME)
    except OSError:  # as os.walk: a folder that cannot be listed has no files
        return
    folders = []
    for entry in entries:
        if entry.is_dir():
            if entry.name != "__pycache__" and not entry.is_symlink():
                folders.append(entry.path)
        elif not entry.name.endswith((".pyc", ".pyo")):
            found.append(entry.path)
    for path in folders:
        _add_files(path, found)


_NAME = attrgetter("name")


def _notes_path(root: Path) -> Path:
    # one file per installation: its paths are absolute
    where = hashlib.sha256(f"{sys.executable}\0{Path(__file__).parent}".encode()).hexdigest()[:16]
    return root / f"code-v{FORMAT}" / f"{where}.json"


def _fingerprint(files: list[str], notes_at: Path | None, racy: float = RACY_SECONDS) -> str:
    digest = hashlib.sha256(f"{FORMAT} {sys.version} {sys.executable}".encode())
    notes = _read_hash_notes(notes_at) if notes_at is not None else {}
    trusted_before = time.time() - racy  # taken before any status below
    fresh = False
    lines = []  # hashed at once: the same digest as one update per file
    for path in files:
        try:
            st = os.stat(path)
        except OSError:
            lines.append(f"{path}\0missing\n")
            continue
        status = [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]  # a list: as the notes hold it (JSON)
        noted = notes.get(path)
        if type(noted) is list and len(noted) == 5 and noted[:4] == status and type(noted[4]) is str:
            body_hash = noted[4]
        else:
            body_hash = _content_hash(path)
            if max(status[2], status[3]) < trusted_before * 1e9 and body_hash != "missing":
                notes[path], fresh = [*status, body_hash], True
        lines.append(f"{path}\0{body_hash}\n")
    digest.update("".join(lines).encode())
    for library in LIBRARIES:  # a pip upgrade or reinstall rewrites these: their stat is enough
        spec = importlib.machinery.PathFinder.find_spec(library)  # finds, without importing
        _add_stat(digest, spec.origin if spec and spec.origin else library)
    if fresh and notes_at is not None:
        kept = set(files)  # a file gone from the installation leaves the notes
        _write_json(notes_at, {path: noted for path, noted in notes.items() if path in kept})
    return digest.hexdigest()


def _content_hash(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return "missing"


def _read_hash_notes(path: Path) -> dict[str, Any]:
    """path -> [inode, size, mtime_ns, ctime_ns, sha256]; anything unreadable is no notes (a
    malformed note is checked where it is used: it matches no status)."""
    try:
        notes = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return notes if isinstance(notes, dict) else {}


if TYPE_CHECKING:  # pragma: no cover  # a class made at every start, for the type checker only
    class _Digest(Protocol):
        """What a hashlib object offers that the fingerprint needs."""

        def update(self, data: bytes, /) -> None: ...


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
    return root / f"{kind}-v{FORMAT}" / code_fingerprint(root)[:16] / f"{key}.json"


def lookup(root: Path | None, spec: Path, config: Path | None, written_to: Path | None) -> Result | None:
    """The stored result in the cache folder `root` when every input is unchanged, else None."""
    if root is None:
        return None
    entry = _valid_entry(root, _entry_path(root, spec, config, written_to))
    try:
        r = entry["result"] if entry is not None else None
        if r is None:
            return None
        return Result(r["spec_file"], Path(r["dockerfile_path"]), Path(r["dockerignore_path"]),
                      r["dockerfile"], r["dockerignore"], tuple(r["origin"]))
    except (KeyError, TypeError):
        return None


def _valid_entry(root: Path, path: Path, looks: dict[tuple[str, str], object] | None = None) -> dict[str, Any] | None:
    """The entry at `path` when it was written by this code and every look it noted, taken
    again, sees the same thing; else None (a missing or corrupt entry is a miss). `looks`:
    what each look saw in this run already (many specs share a configuration, a catalog
    and templates: each is hashed once per run)."""
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        if entry["code"] != code_fingerprint(root):
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
        _store_entry(root, _entry_path(root, spec, config, written_to), notes, "result", payload)


def lookup_facts(root: Path | None, kind: str, spec: Path, config: Path | None,
                 looks: dict[tuple[str, str], object] | None = None) -> dict[str, Any] | None:
    """Another job's facts about a compiled spec (``kind``: e.g. "fleet"), under the same
    rule as `lookup`: a hit only when every file and probe the compile noted is unchanged.
    ``looks``: one dict for the looks of one run over many specs (see _valid_entry)."""
    if root is None:
        return None
    entry = _valid_entry(root, _entry_path(root, spec, config, None, kind), looks)
    facts = entry.get("facts") if entry is not None else None
    return facts if isinstance(facts, dict) else None


def store_facts(root: Path | None, kind: str, spec: Path, config: Path | None, notes: list[Note],
                facts: dict[str, Any]) -> None:
    if root is not None:
        _store_entry(root, _entry_path(root, spec, config, None, kind), notes, "facts", facts)


def _store_entry(root: Path, target: Path, notes: list[Note], key: str, payload: dict[str, Any]) -> None:
    unique: dict[tuple[str, str], object] = {}
    for kind, path, seen in notes:
        if unique.setdefault((kind, path), seen) != seen:
            return  # a file changed while it was compiled: nothing to trust
    entry = {"code": code_fingerprint(root), "notes": [[k, p, s] for (k, p), s in unique.items()], key: payload}
    if not target.parent.is_dir():
        _forget_stale_installations(target.parent.parent)
    _write_json(target, entry)


def _write_json(target: Path, value: object) -> None:
    staged = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staged.write_text(json.dumps(value), encoding="utf-8")
        os.replace(staged, target)  # readers see the old entry or the new one, never half
    except OSError:
        with contextlib.suppress(OSError):  # e.g. the folder could not be made: nothing staged
            staged.unlink(missing_ok=True)


def _forget_stale_installations(folder: Path, days: float = 14) -> None:
    """Entries of code that changed (or of an installation unused) for `days` go when another
    installation starts its folder: the cache does not grow with every edit of imagespec."""
    import shutil

    if not folder.is_dir():
        return
    cutoff = time.time() - days * 86400
    for old in folder.iterdir():
        with contextlib.suppress(OSError):
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old)
