"""The measurements behind code that looks more elaborate than it needs to be
(BENCHMARKS.md, "Why the compiler is shaped this way"). Not a test: tests never time things.

    python bench/shape.py

Each figure is the best of 7 `timeit` repeats (in-process) or `python -X importtime`'s
cumulative time (a new process); on a shared machine the ratios hold better than the
absolute times.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from imagespec.errors import Location
from imagespec.plan import model as p
from imagespec.plan.frozen import as_dataclass
from imagespec.render.dockerfile import TEMPLATE, _environment
from imagespec.resources import templates_dir
from imagespec.spec.model import _empty_list

ROOT = Path(__file__).resolve().parent.parent


def _best_ns(call: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=7)) / number * 1e9


def frozen_init() -> str:
    run = p.Run(commands=("true",), phase=p.Phase.SYSTEM, origin=p.Origin(("final",)))
    values = {f.name: getattr(run, f.name) for f in dataclasses.fields(p.Run)}
    reference = as_dataclass(p.Run).__init__  # the __init__ dataclasses makes

    def dataclass_init() -> None:
        reference(object.__new__(p.Run), **values)

    ours, theirs = _best_ns(lambda: p.Run(**values), 20000), _best_ns(dataclass_init, 20000)
    return f"@frozen Run ({len(values)} fields): {ours:.0f} ns, dataclass __init__ {theirs:.0f} ns, {theirs / ours:.1f}x"


def location_init() -> str:
    @dataclasses.dataclass(frozen=True)
    class Plain:
        file: str
        line: int = 0
        col: int = 0

    ours, theirs = _best_ns(lambda: Location("f", 1, 2), 50000), _best_ns(lambda: Plain("f", 1, 2), 50000)
    return f"Location: {ours:.0f} ns, frozen dataclass {theirs:.0f} ns, {theirs / ours:.1f}x"


def yaml_parsers() -> str:
    text = (ROOT / "examples" / "go-hello" / "imagespec.yaml").read_text(encoding="utf-8")
    fast = _best_ns(lambda: yaml.compose(text, Loader=yaml.CSafeLoader), 200)
    pure = _best_ns(lambda: yaml.compose(text, Loader=yaml.SafeLoader), 200)
    return f"compose go-hello: libyaml {fast / 1e3:.0f} us, pure {pure / 1e3:.0f} us, {pure / fast:.1f}x"


def template_compile() -> str:
    env = _environment()
    source = (templates_dir() / "dockerfile" / TEMPLATE).read_text(encoding="utf-8")
    start, rounds = time.perf_counter(), 5
    for _ in range(rounds):
        env.compile(source, TEMPLATE)
    return f"Jinja compiling {TEMPLATE}: {(time.perf_counter() - start) / rounds * 1e3:.1f} ms (the committed code: none)"


def default_factories() -> str:
    def model(factory: Callable[[], list[str]]) -> type[BaseModel]:
        fields: dict[str, object] = {f"f{i}": Field(default_factory=factory) for i in range(16)}
        return type("M", (BaseModel,), {"__annotations__": dict.fromkeys(fields, list[str]), **fields})

    builtin = min(timeit.repeat(lambda: model(list), number=5, repeat=5)) / 5 * 1e3
    ours = min(timeit.repeat(lambda: model(_empty_list), number=5, repeat=5)) / 5 * 1e3
    return f"16-field model: default_factory=list {builtin:.1f} ms, _empty_list {ours:.1f} ms"


def import_times() -> list[str]:
    rows = []
    for module in ("docker", "rich.console", "urllib.request", "jinja2", "pydantic"):
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                              text=True, check=True)
        cumulative = int(done.stderr.strip().splitlines()[-1].split("|")[1])
        rows.append(f"import {module}: {cumulative / 1e3:.0f} ms")
    return rows


def main() -> None:
    for line in (frozen_init(), location_init(), yaml_parsers(), template_compile(), default_factories(),
                 *import_times()):
        print(line)


if __name__ == "__main__":
    main()
