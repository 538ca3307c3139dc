"""The lock jobs' results as text lines and JSON documents (the CLI prints them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.lock.jobs import LockReport, Outdated


def lock_lines(report: LockReport) -> list[str]:
    lines = []
    for move in report.moves:
        if move.skipped:
            lines.append(f"{move.spec}: {move.image} kept at {move.old} ({move.skipped}; the registry has {move.new})")
        elif move.waits_for:
            lines.append(f"{move.spec}: {move.image} waits for {move.waits_for}: `imagespec build --push` of both "
                         "moves it to the image that build pushes")
        elif move.old is None:
            lines.append(f"{move.spec}: {move.image} locked at {move.new}")
        elif move.moved:
            lines.append(f"{move.spec}: {move.image} {move.old} -> {move.new}")
    for (image, old, new), changes in sorted(report.packages.items()):
        counts = f"{len(changes.added)} added, {len(changes.removed)} removed, {len(changes.changed)} changed"
        lines.append(f"{image} {old[:19]} -> {new[:19]}: {counts}")
        lines += [f"  {line}" for line in changes.lines()]
    lines += [f"wrote {path}" for path in report.written]
    lines += [f"unchanged {path}" for path in report.unchanged]
    if report.rebuild:
        lines.append("rebuild, in this order (one `imagespec build --push` of them all moves the pins that wait): "
                     + ", ".join(report.rebuild))
    lines.append(f"{report.requests} registry request(s)")
    return lines


def lock_json(report: LockReport) -> dict[str, object]:
    return {
        "written": [str(p) for p in report.written], "unchanged": [str(p) for p in report.unchanged],
        "moves": [{"spec": m.spec, "image": m.image, "old": m.old, "new": m.new, "created": m.created,
                   "moved": m.moved, "skipped": m.skipped, "waits_for": m.waits_for} for m in report.moves],
        "rebuild": list(report.rebuild), "requests": report.requests,
        "packages": [{"image": image, "old": old, "new": new, **changes.to_dict()}
                     for (image, old, new), changes in sorted(report.packages.items())],
    }


def outdated_lines(result: Outdated) -> list[str]:
    lines = []
    for base in result.moved:
        age = f", locked image {base.age} old" if base.age else ""
        lines.append(f"{base.image} moved: {base.old} -> {base.new}{age}; {base.affected} image(s) affected")
    for spec in result.stale:
        lines.append(f"{spec.spec}: rebuild")
        lines += [f"  {reason}" for reason in spec.reasons]
    return lines
