"""Terminal presentation with rich; imported only by commands that print tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text


def console(stderr: bool = False) -> Console:
    # no emoji codes or markup: generated text such as `root:x:0:` must print as written
    return Console(stderr=stderr, emoji=False, highlight=False, markup=False)


def explain_table(lines) -> None:
    table = Table(show_lines=False, expand=False)
    for column in ("stage", "instruction", "spec", "practice", "why"):
        table.add_column(column, overflow="fold")
    for line in lines:
        table.add_row(*(Text(cell) for cell in (line.stage, line.instruction, "\n".join(line.locations),
                                                " ".join(line.practices), line.why)))
    console().print(table)
