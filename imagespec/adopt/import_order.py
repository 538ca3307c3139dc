"""The last stage's RUN steps that use what a COPY --from put there before them.

A spec's final stage copies the artifacts after the stage's own RUN steps (a build
stage copies only from the context), so a Dockerfile's `COPY --from=bin /tini
/usr/bin/tini` then `RUN chmod +x /usr/bin/tini` cannot keep its order: the RUN would
find nothing and fail the build. A `chmod` that only makes copied files executable
becomes the copies' `mode` (BP11: no extra layer); any other use of a copied path is
taken out of its RUN and said, never left to fail the build.
"""

from __future__ import annotations

import re
import shlex

from imagespec.adopt.dockerfile_run import split_and
from imagespec.adopt.dockerfile_stage import Report, StageRead, Step

#: chmod modes that make a file executable for everyone, as 0755 does for a copied binary
_EXECUTABLE = frozenset({"+x", "a+x", "ugo+x", "755", "0755", "u+x,g+x,o+x"})


def settle_copy_order(read: StageRead, report: Report) -> None:
    """Rewrite ``read``'s RUN steps that come after one of its COPY --from steps and name
    a path it copied (see the module's docstring)."""
    copied: dict[str, Step] = {}  # destination path -> the COPY --from that puts it there
    for step in list(read.steps):
        if step.kind == "artifact":
            for destination in _destinations(step):
                copied[destination] = step
        elif step.kind == "run" and copied:
            _settle(step, copied, read, report)


def _destinations(step: Step) -> list[str]:
    dest = step.data["absolute"]
    if dest.endswith("/"):
        return [dest + source.rstrip("/").rsplit("/", 1)[-1] for source in step.data["sources"]] + [dest.rstrip("/")]
    return [dest]


def _settle(step: Step, copied: dict[str, Step], read: StageRead, report: Report) -> None:
    command = step.data["command"]
    if not isinstance(command, str):
        return
    parts = split_and(command)
    if parts is None:
        used = _uses(command, copied)
        if used:
            report.differences.append(f"Dockerfile:{step.line}: this RUN uses {used}, which a COPY --from puts there "
                                      "before it; in the spec the final stage copies it after the stage's RUN steps: "
                                      "check that the build still passes")
        return
    kept = []
    for part in parts:
        used = _uses(part, copied)
        if not used:
            kept.append(part)
        elif (executable := _executable(part, copied)) is not None:
            steps, rest = executable
            for copy in steps:
                copy.data["mode"] = "0755"
            kept += [rest] if rest else []
            report.differences.append(f"Dockerfile:{step.line}: `{part}` is `mode: \"0755\"` on the COPY --from "
                                      "of the files it names (the final stage copies artifacts after the stage's RUN "
                                      "steps)")
        else:
            report.comments.append((step.line, part, f"it uses {used}, which the COPY --from on line "
                                    f"{copied[used].line} puts there; the spec's final stage copies artifacts after "
                                    "the stage's RUN steps, where the build would fail"))
    if kept == parts:
        return
    if kept:
        step.data["command"] = " && ".join(kept)
    else:
        read.steps.remove(step)
        report.expressed[:] = [e for e in report.expressed if e != (step.line, "RUN")]


def _uses(text: str, copied: dict[str, Step]) -> str | None:
    """The first copied path ``text`` names as a whole path."""
    return next((path for path in sorted(copied, key=len, reverse=True)
                 if re.search(rf"(?<![\w./-]){re.escape(path)}(?![\w.-])", text)), None)


def _executable(part: str, copied: dict[str, Step]) -> tuple[list[Step], str | None] | None:
    """For a `chmod +x PATH…` naming copied files: the COPY --from steps it makes
    executable, and the chmod of its other paths (None when it names only copied ones)."""
    try:
        words = shlex.split(part)
    except ValueError:
        return None
    if len(words) < 3 or words[0] != "chmod" or words[1] not in _EXECUTABLE:
        return None
    steps = [copied[path] for path in words[2:] if path in copied]
    if any(len(s.data["sources"]) > 1 or s.data["absolute"].endswith("/") for s in steps):
        return None  # a folder's or several files' copy: not one mode for one file
    rest = [path for path in words[2:] if path not in copied]
    return steps, shlex.join(["chmod", words[1], *rest]) if rest else None
