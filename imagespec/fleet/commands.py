"""The fleet side of the commands (`bake`, and folders and --changed-since for generate,
check, lint and test): functions of their arguments returning values; printing and exit
codes stay in imagespec.cli.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from imagespec.fleet.discover import discover
from imagespec.notes import OnNote, ignore

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.fleet.changes import Reason
    from imagespec.fleet.model import Fleet

# The graph (fleet.model, fleet.changes: git, the compiler) is imported where it is used:
# select without --changed-since, what `imagespec generate SPECS` asks, only discovers.


@dataclass(frozen=True)
class Selection:
    """The specs a command works on, and (with --changed-since) why each was chosen."""

    specs: tuple[Path, ...]
    why: dict[str, list[Reason]] = field(default_factory=dict)
    fleet: Fleet | None = None  # loaded only when the graph was needed

    def explain(self) -> list[str]:
        """`--explain`'s lines: ``TARGET (SPEC): REASON``."""
        from imagespec.fleet.changes import explain_lines

        return explain_lines(self.fleet, self.why) if self.fleet is not None else []


def select(paths: Sequence[Path], config: Path | None = None, *, changed_since: str | None = None,
           on_note: OnNote = ignore) -> Selection:
    """The specs ``paths`` name (folders searched by the file-name rule); with
    ``changed_since``, only those whose inputs changed since that git revision, and the
    specs that build FROM them. Without it nothing is compiled here (generate's result
    cache stays fast)."""
    if changed_since is None:
        return Selection(tuple(discover(paths, on_note)))
    from imagespec.fleet.changes import select_changed
    from imagespec.fleet.load import load_fleet

    fleet, why = select_changed(load_fleet(paths, config, on_note=on_note), changed_since,
                                folders=[path for path in paths if path.is_dir()], on_note=on_note)
    return Selection(tuple(target.spec for target in fleet), why, fleet)


@dataclass(frozen=True)
class Baked:
    fleet: Fleet
    text: str
    changed: bool
    why: dict[str, list[Reason]] = field(default_factory=dict)

    def explain(self) -> list[str]:
        from imagespec.fleet.changes import explain_lines

        return explain_lines(self.fleet, self.why)

    def build_command(self, output: Path) -> list[str]:
        """The command that builds the bake file ``output``, in its folder (fleet.bake.build_command)."""
        from imagespec.fleet.bake import build_command

        return build_command(self.fleet, output)


def bake(paths: Sequence[Path], output: Path, *, config: Path | None = None, force: bool = False,
         changed_since: str | None = None, write: bool = True, on_note: OnNote = ignore) -> Baked:
    """Write the bake file of the specs ``paths`` name to ``output`` (``write=False``: only
    make its text). Everything is checked before the file is written."""
    from imagespec.fleet.bake import bake_text, write_bake
    from imagespec.fleet.changes import select_changed
    from imagespec.fleet.load import load_fleet

    fleet = load_fleet(paths, config, on_note=on_note)
    why: dict[str, list[Reason]] = {}
    if changed_since is not None:
        fleet, why = select_changed(fleet, changed_since, folders=[path for path in paths if path.is_dir()],
                                    on_note=on_note)
    text = bake_text(fleet, output)
    changed = write_bake(fleet, output, force=force) if write else False
    _note_missing_dockerfiles(fleet, on_note)
    return Baked(fleet, text, changed, why)


def _note_missing_dockerfiles(fleet: Fleet, on_note: OnNote) -> None:
    """The bake file names each target's committed Dockerfile, which `docker buildx bake`
    reads: one not generated yet fails that run ("failed to read dockerfile"), so say it here."""
    from imagespec.spec.read_spec import display

    missing = [display(target.dockerfile) for target in fleet if not target.dockerfile.is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        on_note(f"not generated yet: {shown}: `docker buildx bake` reads each target's Dockerfile, so run "
                "`imagespec generate` on these specs first (`imagespec build` needs none: it compiles in memory)")


def stale_bake_file(paths: Sequence[Path], bake_file: Path, *, config: Path | None = None,
                    on_note: OnNote = ignore) -> tuple[str | None, list[str]]:
    """`check --bake FILE`: the diff when FILE is not what `imagespec bake SPECS -o FILE`
    writes (else None), and FILE's targets those specs do not make."""
    from imagespec.fleet.bake import stale_bake, targets_beyond
    from imagespec.fleet.load import load_fleet

    fleet = load_fleet(paths, config, on_note=on_note)
    diff = stale_bake(fleet, bake_file)
    return diff, targets_beyond(fleet, bake_file) if diff is not None else []


__all__ = ["Baked", "Selection", "bake", "select", "stale_bake_file"]
