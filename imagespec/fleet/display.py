"""A fleet's progress: each target's steps as one image's (engine.progress), told apart.

Role: one ``ProgressDisplay`` per target, all writing to one stream under a lock: plain
lines prefixed with ``[target] ``, JSON events with a ``"target"`` field. Targets build at
the same time, so the live per-step view of one image has no fleet form here: ``auto``
is plain lines.

May import: the standard library, ``imagespec.errors`` and ``imagespec.engine``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import IO, cast

from imagespec.engine.backend import BuildEvent, BuildResult, ProgressMode
from imagespec.engine.progress import ProgressDisplay
from imagespec.errors import ImageSpecError


class _Tagged:
    """A text stream that marks each whole line with its target before passing it on."""

    def __init__(self, display: Display, target: str) -> None:
        self.display, self.target = display, target
        self._partial = ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self.display.line(self.target, line)
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False


class Display:
    def __init__(self, mode: ProgressMode, stream: IO[str]) -> None:
        self.mode: ProgressMode = "plain" if mode == "auto" else mode
        self.stream = stream
        self._lock = threading.Lock()
        self._targets: dict[str, ProgressDisplay] = {}

    def _of(self, target: str) -> ProgressDisplay:
        with self._lock:
            found = self._targets.get(target)
            if found is None:
                found = self._targets[target] = ProgressDisplay(self.mode, stream=cast(IO[str], _Tagged(self, target)))
            return found

    def events(self, target: str) -> Callable[[BuildEvent], None]:
        display = self._of(target)

        def show(event: BuildEvent) -> None:
            display(event)

        return show

    def built(self, target: str, result: BuildResult) -> None:
        self._of(target).result(result)

    def failed(self, target: str, error: ImageSpecError) -> None:
        self._of(target).failed(error)
        if self.mode == "plain":
            self.line(target, f"=> failed: {error}")

    def note(self, target: str, text: str) -> None:
        if self.mode == "json":
            self.line(target, json.dumps({"event": "note", "message": text}))
        elif self.mode == "plain":
            self.line(target, f"=> {text}")

    def line(self, target: str, text: str) -> None:
        if self.mode == "json" and text.startswith("{"):
            text = json.dumps({"target": target, **json.loads(text)}, ensure_ascii=False)
        else:
            text = f"[{target}] {text}"
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()
