"""The imported spec's text: a header that says where it came from and what to check,
the YAML written by the YAML library (it does the quoting), then one comment line per
instruction the spec cannot express, with its Dockerfile line number."""

from __future__ import annotations

import shlex
from typing import Any

import yaml

from imagespec.adopt.dockerfile_stage import Report
from imagespec.adopt.import_ignore import IgnoreComment
from imagespec.errors import one_line

MAX_QUOTED = 160  # a comment quotes at most this much of an instruction


class _Dumper(yaml.SafeDumper):
    """Scripts (heredocs) as `|` blocks, as a person writes them; the library still
    falls back to a quoted scalar where a block cannot hold the text exactly."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _dump_key(key: str, value: object) -> str:
    if key == "ignore":
        return _dump_ignore(value)  # type: ignore[arg-type]  # import_ignore writes `ignore:` as a list of str
    flow = None if isinstance(value, (dict, list)) else False
    return yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=flow,
                     width=100)


def _dump_ignore(entries: list[str]) -> str:
    """`ignore:` as a block list whose comments are the ignore file's, where they were."""
    lines = ["ignore:"]
    for entry in entries:
        if isinstance(entry, IgnoreComment):
            lines.append(one_line(entry))
        else:
            lines.append(yaml.dump([entry], Dumper=_Dumper, allow_unicode=True, default_flow_style=False,
                                   width=1000).rstrip("\n"))
    return "\n".join(lines) + "\n"


def comment_line(line: int, original: str, why: str) -> str:
    first = original.splitlines()[0] if original.strip() else original
    if len(first) > MAX_QUOTED or first != original.rstrip("\n"):
        first = first[:MAX_QUOTED] + " …"
    return f"# Dockerfile:{line}: {one_line(first)} (not expressed: {one_line(why)})"


def render(data: dict[str, Any], report: Report, dockerfile: str, spec: str = "imagespec.yaml") -> str:
    lines = [f"# Written by `imagespec import` from {one_line(dockerfile)} (README \"imagespec import\": what maps "
             "to what)."]
    if report.differences:
        lines += ["# The generated Dockerfile differs from it:", *(f"#   {one_line(d)}" for d in report.differences)]
    if report.guessed:
        lines += ["# Guessed (check these):", *(f"#   {one_line(g)}" for g in report.guessed)]
    lines += [f"# Next: imagespec generate {one_line(shlex.quote(spec))} (it writes the Dockerfile beside the spec)", ""]
    body = "".join(_dump_key(key, value) for key, value in data.items())
    tail = []
    if report.comments:
        tail = ["", "# Not expressed in this spec (the Dockerfile's instructions, by line):",
                *(comment_line(line, text, why) for line, text, why in sorted(report.comments))]
    return "\n".join(lines) + body + ("\n".join(tail) + "\n" if tail else "")
