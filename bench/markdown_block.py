"""One generated block of BENCHMARKS.md, between its own BEGIN/END markers: each benchmark
script rewrites its block and leaves the prose and the other blocks as they are."""

from __future__ import annotations

from pathlib import Path


def replace_block(path: Path, begin: str, end: str, block: str, heading: str) -> None:
    """`block` starts with `begin` and ends with `end`; it replaces the block between the same
    markers, or is appended under `heading` the first time."""
    text = path.read_text(encoding="utf-8")
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
