"""What a fleet run reports: one record per target, the summary table, and the state
that ``--rerun-failed`` reads back.

Role: plain data and its two renderings (text table, JSON), plus the state file. The
state is one JSON file per cache folder (``<cache>/fleet-state.json``; the cache folder is
the result cache's: ``$IMAGESPEC_CACHE_DIR``, else ``$XDG_CACHE_HOME/imagespec``, else
``~/.cache/imagespec``) mapping each spec file (absolute path) to its last result. It is
written after every run, atomically; a run only replaces the entries of its own specs.

May import: the standard library and ``imagespec.errors``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from imagespec.errors import ImageSpecError, one_line

Result = Literal["built", "failed", "skipped"]
STATE_FILE = "fleet-state.json"
_STATE_FORMAT = 1


@dataclass(frozen=True)
class Timing:
    """Where one target's time went. ``bake_s``: its bake process, start to exit;
    ``solve_s``: the time BuildKit worked on its steps (the union of their intervals, by
    BuildKit's own clock; None when the progress format has no times), so that
    ``bake_s - solve_s`` is bake's own overhead (the process, the session, reading the
    run file) and ``post_s`` imagespec's after the build (the SBOM, the tags, the size, a
    push: outside the --jobs slot, from the bake's end to the target's, a wait for the
    pool that does it included), of which ``sbom_s`` the SBOM layer (None: none was made)."""

    bake_s: float
    solve_s: float | None
    post_s: float
    sbom_s: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {"bake_s": round(self.bake_s, 3), "solve_s": None if self.solve_s is None else round(self.solve_s, 3),
                "post_s": round(self.post_s, 3), "sbom_s": None if self.sbom_s is None else round(self.sbom_s, 3)}


@dataclass(frozen=True)
class Record:
    """One target's outcome. ``failure``: the error (with its spec location) of a failed
    target; ``upstream``: the failed target that stopped a skipped one."""

    target: str
    spec: str
    result: Result
    duration_s: float = 0.0
    size: int | None = None
    image_id: str | None = None
    tags: tuple[str, ...] = ()
    failure: ImageSpecError | None = field(default=None, compare=False)
    upstream: str | None = None
    cached_steps: int = 0
    steps: int = 0
    #: seconds from the run's start to this target's bake invocation starting and ending
    #: (what shows that at most --jobs ran at once, and each after its parents)
    started_s: float | None = None
    ended_s: float | None = None
    pushed: tuple[str, ...] = ()  # the tags pushed (--push)
    #: seconds from the run's start to the moment every parent of this target was done
    #: (``started_s - ready_s``: how long it waited for one of the --jobs slots)
    ready_s: float | None = None
    timing: Timing | None = None
    #: several platforms: the ones built, each image tagged ``TAG-os-arch``; then
    #: ``image_id`` is the index's digest in the registry and ``tags`` name the index
    platforms: tuple[str, ...] = ()
    up_to_date: bool = False  # not built: the image already records this lock, inputs and commit
    #: where the image keeps its SBOM (its ``io.imagespec.sbom`` label; several platforms:
    #: each platform's image, at the same path); None: the image has none
    sbom: str | None = None
    #: built, and each image's SBOM layer was one an earlier run made on this very bake
    #: output, reused as it is (no scan, no layer build: pipeline.sbom_layer.reusable_sbom)
    sbom_reused: bool = False

    @property
    def reason(self) -> str:
        if self.result == "skipped":
            return f"skipped: upstream {self.upstream} failed"
        if self.failure is not None:
            return one_line(str(self.failure))
        return ""

    def to_dict(self) -> dict[str, object]:
        return {
            # a kept image reads as the counts and the table say (was "built", with up_to_date)
            "target": self.target, "spec": self.spec, "result": _shown(self).replace(" ", "_"),
            "duration_s": round(self.duration_s, 2), "size": self.size, "image_id": self.image_id,
            "tags": list(self.tags), "cached_steps": self.cached_steps, "steps": self.steps,
            "upstream": self.upstream, "pushed": list(self.pushed), "platforms": list(self.platforms),
            "up_to_date": self.up_to_date, "sbom": self.sbom, "sbom_reused": self.sbom_reused,
            "started_s": None if self.started_s is None else round(self.started_s, 3),
            "ended_s": None if self.ended_s is None else round(self.ended_s, 3),
            "ready_s": None if self.ready_s is None else round(self.ready_s, 3),
            "timing": self.timing.to_dict() if self.timing is not None else None,
            "failure": self.failure.to_dict() if self.failure is not None else None,
        }


def _shown(record: Record) -> str:
    """The result a reader is told: a kept image is a result of "built" (its tags are this
    run's) but was not built; one kept whose push then failed is failed."""
    return "up to date" if record.result == "built" and record.up_to_date else record.result


def _counts(records: Sequence[Record]) -> dict[str, int]:
    return {result: sum(_shown(r) == result for r in records) for result in ("built", "up to date", "failed",
                                                                              "skipped")}


def summary_json(records: Sequence[Record], *, builder: str, jobs: int, duration_s: float) -> str:
    counts = {key.replace(" ", "_"): value for key, value in _counts(records).items()}
    return json.dumps({"builder": builder, "jobs": jobs, "duration_s": round(duration_s, 2), **counts,
                       "targets": [r.to_dict() for r in sorted(records, key=lambda r: r.target)]}, indent=2)


def summary_table(records: Sequence[Record]) -> list[str]:
    """One line per target (by name), then each failure's location and hint below the table."""
    rows = [("TARGET", "RESULT", "TIME", "SIZE", "TAGS")]
    for r in sorted(records, key=lambda r: r.target):
        time = f"{r.duration_s:.1f}s" if r.result != "skipped" else "-"
        size = human_size(r.size) if r.size is not None else "-"
        # a failed target's tags moved nothing (what it had was put back): its reason instead
        tags = r.reason if r.result != "built" else ", ".join(r.tags) or "-"
        rows.append((r.target, _shown(r), time, size, tags))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4] for row in rows]
    lines.append(", ".join(f"{count} {result}" for result, count in _counts(records).items()))
    return lines


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1000
    return f"{size}B"  # pragma: no cover


# -- the state --rerun-failed reads -------------------------------------------------------

def read_state(cache: Path | None) -> dict[str, Result]:
    """spec file -> its last result; empty when there is no (readable) state."""
    if cache is None:
        return {}
    try:
        data = json.loads((cache / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _STATE_FORMAT or not isinstance(data.get("specs"), dict):
        return {}
    return {str(k): v for k, v in data["specs"].items() if v in ("built", "failed", "skipped")}


def write_state(cache: Path | None, records: Iterable[Record]) -> None:
    """Replace this run's specs' entries (others' stay); a cache folder that cannot be
    written is ignored, as the result cache ignores it."""
    if cache is None:
        return
    specs = read_state(cache) | {r.spec: r.result for r in records}
    text = json.dumps({"format": _STATE_FORMAT, "specs": dict(sorted(specs.items()))}, indent=1)
    staged = None
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=cache, prefix=".fleet-state-", delete=False,
                                         encoding="utf-8") as handle:
            staged = handle.name
            handle.write(text)
        os.replace(staged, cache / STATE_FILE)
    except OSError:  # a full disk, or a folder where the file goes: no stray temporary file left
        if staged is not None and os.path.lexists(staged):
            os.unlink(staged)


def to_rerun(specs: Iterable[str], state: Mapping[str, Result]) -> set[str]:
    """The specs that failed or were skipped last time, or never ran."""
    return {spec for spec in specs if state.get(spec) != "built"}
