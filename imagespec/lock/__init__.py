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

from imagespec.lock.file import LOCK_FORMAT, read_pins

__all__ = ["LOCK_FORMAT", "read_pins"]
