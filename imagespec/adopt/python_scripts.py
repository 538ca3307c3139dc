"""The program a Python project declares as a console script in pyproject.toml
(`[project.scripts]`, Poetry's `[tool.poetry.scripts]`), as an entrypoint.

Role: a project without `app.py` or a `__main__` block often names its program only there
(`svc = "svc.cli:main"`). The python presets never install the project (its source is
copied to /app), so no wrapper script exists in the venv: the entrypoint does what pip's
wrapper would, `sys.exit(main())` after importing the module, with /app (or /app/src) on
the import path. Of several scripts, the one named like the project is taken, else the
first whose module is in the source; one init cannot take is said, never written to fail
at start.

Pure but for looking at the project's files. May import: the standard library and
``imagespec.adopt``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the entry point grammar's `module:attr [extras]`, spaces allowed around the colon
_REFERENCE = re.compile(r"\s*([^\s:\[\]]+)\s*:\s*([^\s:\[\]]+)\s*(?:\[[^\]]*\])?\s*")


@dataclass
class Scripts:
    """What the declared scripts gave: the entrypoint and the packages' folder of the one
    taken (None: none), and why each other one was not taken."""

    entrypoint: list[str] | None = None
    packages: str = "."
    name: str = ""  # the script's name
    taken: str = ""  # `NAME = 'module:function'`
    others: list[str] = field(default_factory=list)  # the names of the other scripts init could take
    refused: list[str] = field(default_factory=list)


def console_script(root: Path, meta: Mapping[str, Any], project_name: str, python: str) -> Scripts:
    """The console script of pyproject.toml (``meta``) that can be the entrypoint, run by
    ``python`` (the venv's interpreter)."""
    result = Scripts()
    declared = declared_scripts(meta)
    ordered = sorted(declared, key=lambda name: _normal(name) != _normal(project_name))  # stable: as written
    for name in ordered:
        reference = declared[name]
        parsed = _parsed(reference)
        if parsed is None:
            result.refused.append(f"script {name} = {reference[:80]!r} is no `module:function` reference")
            continue
        module, attribute = parsed
        packages = _module_folder(root, module)
        if packages is None:
            result.refused.append(f"script {name} = {reference[:80]!r}: module {module} is not in the source")
            continue
        if result.entrypoint is None:
            result.entrypoint = [python, "-c", f"import sys, {module}; sys.exit({module}.{attribute}())"]
            result.packages, result.name, result.taken = packages, name, f"{name} = {reference!r}"
        else:
            result.others.append(name)
    return result


def declared_scripts(meta: Mapping[str, Any]) -> dict[str, str]:
    """pyproject.toml's console scripts {name: reference}, those whose value is text."""
    project, tool = meta.get("project"), meta.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    found: dict[str, str] = {}
    for table in (project.get("scripts") if isinstance(project, dict) else None,
                  poetry.get("scripts") if isinstance(poetry, dict) else None):
        for name, value in (table.items() if isinstance(table, dict) else ()):
            if isinstance(value, dict):  # Poetry: {callable = "…"} or {reference = "…", type = "console"}
                value = value.get("callable") or (value.get("reference") if value.get("type") == "console" else None)
            if isinstance(name, str) and isinstance(value, str):
                found.setdefault(name, value)
    return found


def _parsed(reference: str) -> tuple[str, str] | None:
    """(module, attribute) of `module:attr [extras]` when each is a dotted Python name: the
    text lands in `python -c`, so nothing else may (QA: `os:system('id')`). A top package
    named `sys` would hide the module the code calls exit of."""
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        return None
    module, attribute = match.group(1), match.group(2)
    if not all(part.isidentifier() for part in (*module.split("."), *attribute.split("."))):
        return None
    return None if module.split(".")[0] == "sys" else (module, attribute)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _module_folder(root: Path, module: str) -> str | None:
    """Where the module is, as a file or a package folder: the project folder (".") or src;
    None when neither holds it (QA: `mytool.missing:main` with no missing.py started to fail)."""
    parts = module.split(".")
    for folder in (".", "src"):
        base = root / folder / Path(*parts)
        if (base.with_suffix(".py").is_file() or base.is_dir()) and not base.is_symlink():
            return folder
    return None
