"""Where each instruction of a Dockerfile text starts, for mapping build steps to lines.

Role: a small line scanner (not a parser): continuation lines, comments, the
``# escape=`` directive and ``FROM … AS name`` stages. Used when the builder does not
say ``Dockerfile:12`` itself (the legacy builder, Engine 20.10's client) to find the
line of a failed step from its name (``[build 3/5] RUN go build ./...``). Pure.

May import: the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Instruction:
    line: int  # 1-based line where the instruction starts
    stage: int  # 0-based index of the FROM it belongs to
    stage_name: str  # ``AS`` name, or BuildKit's ``stage-N``
    text: str  # continuation lines joined, whitespace collapsed


def instructions(dockerfile: str) -> list[Instruction]:
    escape = "\\"
    found: list[tuple[int, list[str]]] = []
    directives = True
    continued = False
    for number, raw in enumerate(dockerfile.splitlines(), start=1):
        stripped = raw.strip()
        if directives:
            match = re.match(r"#\s*escape\s*=\s*(\S)\s*$", stripped, re.IGNORECASE)
            if match:
                escape = match.group(1)
                continue
        if not stripped or stripped.startswith("#"):
            continue  # comments and blank lines never end a continuation either
        directives = False
        part = stripped[:-1] if stripped.endswith(escape) else stripped
        if continued:
            found[-1][1].append(part)
        else:
            found.append((number, [part]))
        continued = stripped.endswith(escape)
    result = []
    stage, name = -1, ""
    for line, parts in found:
        text = " ".join(" ".join(parts).split())
        if text.upper().startswith("FROM "):
            stage += 1
            words = text.split()
            name = words[3] if len(words) >= 4 and words[2].upper() == "AS" else f"stage-{stage}"
        result.append(Instruction(line, max(stage, 0), name, text))
    return result


def instruction_lines(dockerfile: str) -> list[int]:
    """The 1-based line where each instruction starts, in order (legacy "Step N" → line)."""
    return [i.line for i in instructions(dockerfile)]


_STEP = re.compile(r"^\[(?:(?P<stage>\S+) )?\d+/\d+\] (?P<text>.*)$", re.S)


def locate(dockerfile: str, step_name: str) -> int | None:
    """The line of the instruction a BuildKit step name refers to, when it is unambiguous."""
    match = _STEP.match(step_name)
    if match is None:
        return None
    text = " ".join(match.group("text").split())
    stage = match.group("stage")
    candidates = [
        i for i in instructions(dockerfile)
        if i.text == text and (stage is None or i.stage_name.lower() == stage.lower())
    ]
    return candidates[0].line if len(candidates) == 1 else None
