"""A job's notes to whoever runs it (a file skipped, a build's status line): a callback
taking one line, which the command line prints and a library caller may leave out.

May import: nothing of imagespec (the bottom layer).
"""

from __future__ import annotations

from collections.abc import Callable

OnNote = Callable[[str], None]


def ignore(_: str) -> None:
    """Every job's default callback: nobody asked to hear the notes."""
    return None
