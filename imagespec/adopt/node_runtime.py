"""What of a built Node project's folder its final needs besides the build's output.

A project whose entry file `npm run build` makes (TypeScript, a bundler) runs the output:
its sources, the compiler's settings, tests and docs are the build stage's, not the
image's (BP5: only what runs). The node preset's final copies the whole folder, which
for such a project put `src/*.ts`, tsconfig.json and the tests into /app. The final keeps
package.json (node reads it: `"type": "module"`, `imports`) and every top-level folder
that is none of those (`public/`, `views/`, `config/`, `migrations/`: read at run time by
many apps, and cheap to keep). Other top-level files are configuration of the tools
(`.eslintrc`, `jest.config.js`, README.md) and stay out. What is left out is said, so a
reviewer adds back a file the app does read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from imagespec.reference import Invalid
from imagespec.spec.values import context_path, copy_destination

#: folders of tests, docs and tooling: never read by the running app
_TOOLING = frozenset({"test", "tests", "__tests__", "spec", "e2e", "coverage", "docs", "scripts", "node_modules",
                      "typings", "types", "fixtures", "__mocks__"})
#: the compiler's input by habit, whatever tsconfig.json names besides
_DEFAULT_SOURCES = frozenset({"src"})
_LINE_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)  # tsconfig.json is JSON with comments


def runtime_copies(root: Path, output: str, read: Callable[[Path], str]) -> tuple[list[dict[str, str]], list[str]]:
    """The final's copies of the folder (package.json, then each runtime folder), and the
    top-level entries left out, both sorted. ``read``: a small file's text, '' when it is
    absent or not to be read (detect.read: a FIFO, a link out of the folder)."""
    sources = _compiler_inputs(read(root / "tsconfig.json"))
    kept, left_out = [], []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name in {"package.json", output} or name.startswith("."):
            continue  # package.json: the first copy; the output: from the build stage
        if entry.is_dir() and name not in sources and name not in _TOOLING and not entry.is_symlink():
            if _copyable(name):
                kept.append(name)
                continue
            left_out.append(f"{name}/ (a name COPY cannot take as it is)")
        else:
            left_out.append(name + ("/" if entry.is_dir() else ""))
    copies = [{"src": "package.json", "dest": "/app/"}] + [{"src": name, "dest": f"/app/{name}"} for name in kept]
    return copies, left_out


def _copyable(name: str) -> bool:
    """Whether the spec can name the folder as a copy's source and destination (`$x`, a
    quote or a backslash would be expanded or removed by COPY: spec.values says so)."""
    try:
        context_path(name)
        copy_destination(f"/app/{name}")
    except Invalid:
        return False
    return True


def _compiler_inputs(tsconfig: str) -> frozenset[str]:
    """The top-level folders tsconfig.json compiles (`rootDir`, `include`), and `src`."""
    try:
        config = json.loads(_LINE_COMMENT.sub("", tsconfig))
    except ValueError:  # none, or JSON with more than line comments: `src`, as tsc's own habit
        return _DEFAULT_SOURCES
    if not isinstance(config, dict):
        return _DEFAULT_SOURCES
    options = config.get("compilerOptions")
    written = [options.get("rootDir")] if isinstance(options, dict) else []
    include = config.get("include")
    written += include if isinstance(include, list) else []
    tops = {Path(str(path).removeprefix("./")).parts[0] for path in written if isinstance(path, str) and path.strip()}
    return frozenset(top for top in tops if top not in {".", "..", "**", "*"}) | _DEFAULT_SOURCES
