"""imagespec.jobs.locks: the lock files (imagespec.lock) — write them, check them without the
network, and say which specs a moved base makes stale.

May import: as imagespec.jobs; imagespec.lock only inside functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imagespec.errors import SpecError
from imagespec.notes import OnNote, ignore

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.lock.jobs import LockProblem, LockReport, Outdated

def lock(specs: Sequence[Path], *, config: Path | None = None, update: bool = False, bases: Sequence[str] = (),
         min_age: str | None = None, packages: bool = False, on_note: OnNote = ignore) -> LockReport:
    """Write each spec's lock file (imagespec.lock.jobs.lock); ``min_age`` as written (3d, 12h)."""
    from imagespec.lock import jobs as lock_jobs

    if (min_age is not None or bases or packages) and not update:
        raise SpecError("--min-age, --base and --packages go with --update",
                        hint="imagespec lock --update [--base NAME]… [--min-age DURATION] [--packages] SPECS")
    return lock_jobs.lock(specs, config=config, update=update, names=bases, packages=packages,
                          min_age=lock_jobs.parse_age(min_age) if min_age is not None else None, on_note=on_note)


def lock_check(specs: Sequence[Path], *, config: Path | None = None, on_note: OnNote = ignore) -> list[LockProblem]:
    """Each spec's lock against the spec, without the network: its problems (none: all fresh)."""
    from imagespec.lock.jobs import check_locks

    return check_locks(specs, config=config, on_note=on_note)


def outdated(specs: Sequence[Path], *, config: Path | None = None, on_note: OnNote = ignore) -> Outdated:
    """Each lock against the registry now, one request per distinct base."""
    from imagespec.lock import jobs as lock_jobs

    return lock_jobs.outdated(specs, config=config, on_note=on_note)
