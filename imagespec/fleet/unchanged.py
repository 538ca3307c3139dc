"""Whether a fleet target's bake build can be left out: the image its tag names was built
from exactly these inputs (#14, the no-op rebuild).

Role: hash everything one target's bake build reads: its Dockerfile and ignore file, its
entry in the run's bake definition (context, named contexts, args, labels but
``created``, secrets by id and file, network, cache settings), every file under its
context (path, type, mode, content or link target: nothing is left out, so no reading of
the ignore file here can differ from BuildKit's), the ID the engine gives each image the
Dockerfile and the named contexts name, the builder, and the job's own facts (its SBOM's
path and settings, SOURCE_DATE_EPOCH, which buildx passes on to the build too,
imagespec's and the scanners' versions: BuildJob.facts). A fleet run keeps, per image it
tagged, the hash it was made with (``remember``, in the result cache's folder, not in a
label); when the image under the target's first tag was made with this one,
BuildKit would solve every step from its cache and return an image built the same way,
whose SBOM the tagged image holds: bake is not run (a process, a session and a solve per
target, about a second). Whatever cannot be hashed surely and cheaply answers None and
bake runs as before: several platforms, a builder whose images do not land in the local
engine's store, --no-cache, a context over the limits, an image the engine lacks (an
``ARG`` in a FROM, a base BuildKit must pull), an ``ADD`` (whose source BuildKit may
fetch again).

May import: the standard library, ``imagespec.contract`` and ``imagespec.engine``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from imagespec.contract import LABEL_SBOM

#: past these a context is not hashed (bake reads it; a no-op rebuild pays for its bake)
MAX_FILES = 20_000
MAX_BYTES = 512 << 20
#: the run file's keys that are not what is built: where this run wrote the Dockerfile
_RUN_ONLY = ("dockerfile",)
_CREATED = "org.opencontainers.image.created"  # "now" on every build without SOURCE_DATE_EPOCH
_STAGE = re.compile(r"(?im)^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$")
_REMOTE = re.compile(r"(?im)^ADD\s")  # imagespec writes none; a Dockerfile that has one is not hashed
_FROM_FLAG = re.compile(r"--from=([^\s,]+)|[\s,]from=([^\s,]+)")


def inputs_hash(entry: Mapping[str, Any], dockerfile: str, dockerignore: str | None, facts: str, *,
                folder: Path, builder: str, client: Any) -> str | None:
    """The hash of what one target's bake build reads (see the module), or None."""
    if _REMOTE.search(dockerfile):  # BuildKit fetches an ADD's URL or repository again on every build
        return None
    images = _images(dockerfile, entry)
    ids = {}
    for image in images:
        try:
            ids[image] = str(client.images.get(image).id)
        except Exception:  # not in the engine's store (or a reference with an ARG in it): bake decides
            return None
    tree = _tree(folder / str(entry.get("context") or "."))
    if tree is None:
        return None
    run = {key: value for key, value in entry.items() if key not in _RUN_ONLY}
    run["labels"] = {k: v for k, v in (entry.get("labels") or {}).items() if k != _CREATED}
    facts_now = [facts, dockerfile, dockerignore, run, tree, ids, builder]
    return hashlib.sha256(json.dumps(facts_now, sort_keys=True).encode()).hexdigest()


def unchanged(client: Any, reference: str, inputs: str, sbom_path: str,
              records: Path | None) -> tuple[str, str | None] | None:
    """(image ID, its SBOM's path) of the image ``reference`` names when a fleet run made
    it from these build inputs (``inputs_hash``, as ``remember`` kept it in ``records``)
    and its SBOM is at ``sbom_path``; else None."""
    if records is None:
        return None
    try:
        attrs = client.images.get(reference).attrs
    except Exception:  # never built, or removed since
        return None
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    if labels.get(LABEL_SBOM) != sbom_path or _recalled(records, str(attrs["Id"])) != inputs:
        return None
    return str(attrs["Id"]), labels.get(LABEL_SBOM)


def remember(records: Path | None, image_id: str, inputs: str) -> None:
    """Keep, on this machine, that the image ``image_id`` was made from ``inputs``. Not a
    label: the same spec built alone (`imagespec build SPEC`, no bake) must be the same
    image, or its X.Y.Z could not be pushed after the fleet's (BP14)."""
    if records is None:
        return
    path = _record_path(records, image_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(inputs, encoding="ascii")
        os.replace(partial, path)  # whole or not at all: a reader never sees half a hash
    except OSError:  # a cache that cannot be written only costs the next run its bake
        pass


def _recalled(records: Path, image_id: str) -> str | None:
    try:
        return _record_path(records, image_id).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None


def _record_path(records: Path, image_id: str) -> Path:
    return records / image_id.removeprefix("sha256:")


def _images(dockerfile: str, entry: Mapping[str, Any]) -> list[str]:
    """Every image the build may read: each FROM and ``--from=``/``from=`` that names no
    stage, and each named context of the run that is an image (``docker-image://``). A
    line that only looks like one (in a heredoc) adds an image to check, never hides one."""
    stages = {m.group(2).lower() for m in _STAGE.finditer(dockerfile) if m.group(2)}
    named = [m.group(1) for m in _STAGE.finditer(dockerfile)]
    named += [a or b for a, b in _FROM_FLAG.findall(dockerfile)]
    contexts = entry.get("contexts") or {}
    found = {name for name in named if name.lower() not in stages and name.lower() != "scratch"
             and name not in contexts}
    found |= {str(v).removeprefix("docker-image://") for v in contexts.values()
              if str(v).startswith("docker-image://")}
    return sorted(found)


def _tree(context: Path) -> list[list[Any]] | None:
    """Every entry under ``context``: [path, mode, content hash or link target]; None
    past the limits or when it cannot be read."""
    found: list[list[Any]] = []
    size = 0
    try:
        for root, dirs, files in os.walk(context):
            dirs.sort()
            for name in sorted([*dirs, *files]):
                path = Path(root, name)
                info = path.lstat()
                where = path.relative_to(context).as_posix()
                if stat.S_ISLNK(info.st_mode):
                    found.append([where, info.st_mode, os.readlink(path)])
                elif stat.S_ISREG(info.st_mode):
                    size += info.st_size
                    if size > MAX_BYTES:
                        return None
                    found.append([where, info.st_mode, hashlib.sha256(path.read_bytes()).hexdigest()])
                else:
                    found.append([where, info.st_mode, ""])
                if len(found) > MAX_FILES:
                    return None
    except OSError:
        return None
    return found
