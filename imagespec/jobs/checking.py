"""imagespec.jobs.checking: `check` — whether each spec's committed generated files (and its
lock file) are what it generates now. Apart from ``compiling``, which it builds on, so that
`generate` does not make its result types.

May import: as imagespec.jobs (anything below ``imagespec.cli``; pydantic, YAML and Jinja only
inside functions, so that ``imagespec check`` answered from the cache stays fast).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from imagespec.jobs.compiling import generated, specs_only
from imagespec.notes import OnNote, ignore


# NamedTuples, not dataclasses: a class is made at every start of `check`, and a dataclass
# costs several times more to make (BENCHMARKS.md, "No speed regression")
class Stale(NamedTuple):
    """A committed generated file that no longer matches its spec."""

    spec: str
    file: str
    diff: str  # unified diff, committed -> expected
    hand_written: bool = False  # no generated header: `generate` replaces it only with --force


class Checked(NamedTuple):
    specs: int
    stale: tuple[Stale, ...]
    locks: tuple[str, ...] = ()  # lock files that are not their spec's: `lock PATH: why`

    @property
    def ok(self) -> bool:
        return not self.stale and not self.locks


def check(specs: Sequence[Path], *, config: Path | None = None, use_cache: bool = True,
          on_note: OnNote = ignore) -> Checked:
    """Compare each spec's committed generated files with what it generates now."""
    from imagespec.output import read_current, stale_diff, written_by_hand
    from imagespec.spec.read_spec import display

    stale = []
    results = generated(specs, config, None, use_cache=use_cache, on_note=on_note)
    for result in results:
        for path, expected in result.outputs().items():
            actual = read_current(path)
            if actual != expected:
                shown = display(path)  # named as the spec is: from the working directory
                diff = stale_diff(actual, expected, f"{shown} (committed)", f"{shown} (from {result.spec_file})")
                stale.append(Stale(result.spec_file, shown, diff, written_by_hand(path)))
    return Checked(len(results), tuple(stale), _stale_locks(specs, config, on_note))


def _stale_locks(specs: Sequence[Path], config: Path | None, on_note: OnNote) -> tuple[str, ...]:
    """The lock files (of specs that have one) made for other inputs or other bases: the
    Dockerfile may match the lock, but the lock no longer matches the spec."""
    from imagespec.spec.read_spec import lock_path_for

    locked = [path for path in specs_only(specs, on_note) if lock_path_for(path).is_file()]
    if not locked:
        return ()
    from imagespec.lock.jobs import check_locks

    return tuple(str(p) for p in check_locks(locked, config=config, required=False))
