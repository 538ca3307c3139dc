"""Terminal presentation with rich; imported only by commands that print tables.

May import: rich; nothing of imagespec (it lays out the values it is given).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from imagespec.explain import Line


def console(stderr: bool = False) -> Console:
    # no emoji codes or markup: generated text such as `root:x:0:` must print as written
    return Console(stderr=stderr, emoji=False, highlight=False, markup=False)


def explain_table(lines: Sequence[Line]) -> None:
    """Two lines per instruction, readable at 80 columns: what it does (one line, cut
    with …), then where in the spec it came from, the practice and why, wrapped under it.
    The whole instruction text is in the Dockerfile and in `--format json`."""
    out = console()
    width = max(60, min(out.width, 160))
    stage_width = max(len(line.stage) for line in lines)  # whole: a cut name (imagespec-ro) names no stage
    indent = " " * (stage_width + 2)
    room = max(width - len(indent), 40)  # a long stage name takes columns, never the instruction's all
    for line in lines:
        head = line.summary or line.instruction.split("\n", 1)[0]
        if len(head) > room:
            head = head[: room - 1] + "…"
        out.print(Text(f"{line.stage:<{stage_width}}  {head}"), soft_wrap=True)
        detail = " · ".join(part for part in (", ".join(line.locations), " ".join(line.practices), line.why) if part)
        for wrapped in textwrap.wrap(detail, width=room, break_long_words=True, break_on_hyphens=False):
            out.print(Text(f"{indent}{wrapped}", style="dim"), soft_wrap=True)
