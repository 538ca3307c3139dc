"""A fleet's progress: each target's steps as one image's (engine.progress), told apart.

Role: one ``ProgressDisplay`` per target, all writing to one stream under a lock: plain
lines prefixed with ``[target] ``, JSON events with a ``"target"`` field. Targets build at
the same time, so the live per-step view of one image has no fleet form here: ``auto``
is plain lines.

May import: the standard library, ``imagespec.errors`` and ``imagespec.engine``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Callable, Sequence
from typing import IO, cast

from imagespec.engine.backend import BuildEvent, BuildResult, ProgressMode
from imagespec.engine.progress import ProgressDisplay
from imagespec.errors import ImageSpecError


_PREFIXED = re.compile(r"\[(\S+?)(?: ([^\]]*))?\] (.*)", re.S)


def split_target(name: str, targets: Sequence[str]) -> tuple[str | None, str]:
    """A step of a several-target bake invocation, ``[web 2/3] RUN make`` or ``[web]
    exporting to image``: (``web``, ``[2/3] RUN make`` / ``exporting to image``);
    (None, name) when no target of ``targets`` is named."""
    match = _PREFIXED.fullmatch(name)
    if match is None or match[1] not in targets:
        return None, name
    return match[1], f"[{match[2]}] {match[3]}" if match[2] else match[3]


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

    def demux(self, targets: Sequence[str]) -> Callable[[BuildEvent], None]:
        """The events of one invocation of several targets, each to its target's display
        under the name of one image's build (bake's own steps go to the first)."""
        displays = {target: self._of(target) for target in targets}

        def show(event: BuildEvent) -> None:
            owner, name = split_target(event.name, targets)
            displays[owner or targets[0]](dataclasses.replace(event, name=name))

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
