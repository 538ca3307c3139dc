"""imagespec.lock: pin every base image by digest, say which images a moved base makes stale,
and move the pins (BP13: rebuild on a patched base, never patch a running container).

Role: the lock file beside each spec (``file``: its format, read at the boundary and handed
to the compiler as data, pinned references -> digests), the bases a compiled spec builds from
(``bases``), their look-up in the registry with one request per distinct base (``resolve``,
over ``imagespec.publish.registry``), and the jobs ``lock``, ``lock --check``, ``lock --update``
and ``outdated`` (``jobs``). Which specs build on which is the fleet's graph
(``imagespec.fleet.links``), following pinned references.

May import: anything below ``imagespec.cli`` (it sits with ``jobs``, ``settings`` and
``pipeline`` at the top: it compiles specs and asks registries).
"""

from __future__ import annotations

import os
from pathlib import Path

from imagespec.spec import files


def read_pins(lock_path: Path | None) -> dict[str, str]:
    """reference -> digest from a spec's lock file; {} without one. Every compile asks, and
    most specs have no lock: the lock format's models (``file``) are made only when there is
    one to read (a look noted like read_lock's, for the result cache)."""
    if lock_path is None or not (files.is_file(lock_path) or os.path.lexists(lock_path)):
        return {}
    from imagespec.lock.file import read_lock

    found = read_lock(lock_path)
    return found.pins if found else {}


def __getattr__(name: str) -> object:
    if name != "LOCK_FORMAT":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from imagespec.lock.file import LOCK_FORMAT

    return LOCK_FORMAT


__all__ = ["LOCK_FORMAT", "read_pins"]
