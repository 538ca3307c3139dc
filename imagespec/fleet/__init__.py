"""imagespec.fleet: many specs as one graph — discovery, target names, the FROM graph,
the bake file, and which specs changed since a git revision.

Role: the top layer for fleets (issue #14). ``load_fleet(paths, config)`` finds and
compiles the specs and links them; ``bake.write_bake`` writes the committed bake file;
``changes.select_changed`` picks the specs whose inputs changed. The fleet build uses
this API: ``build`` makes each target's build (tags, labels, secret files, the failure
mapping), ``run`` drives `docker buildx bake` (keep going, bounded jobs, tags only for
what built) over the pure ``schedule``, ``builder`` asks buildx which builder it runs on,
``display`` shows each target's progress, ``records`` the summary and --rerun-failed's
state.

May import: both halves, ``settings``, ``pipeline`` (it sits with ``jobs`` at the top);
never ``cli``. pydantic, YAML and the engine only inside functions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from imagespec.fleet.discover import discover, is_spec_name

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.fleet.load import load_fleet
    from imagespec.fleet.model import BaseUse, BuildFacts, Fleet, Secret, Target

# The graph and its loader on first use (PEP 562): `imagespec generate SPECS` answered from
# the result cache only finds its specs (discover), and pays for no more of the fleet
_LAZY = {"load_fleet": "imagespec.fleet.load", **dict.fromkeys(("BaseUse", "BuildFacts", "Fleet", "Secret", "Target"),
                                                                 "imagespec.fleet.model")}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


__all__ = ["BaseUse", "BuildFacts", "Fleet", "Secret", "Target", "discover", "is_spec_name", "load_fleet"]
