"""imagespec.jobs.adopting: adopt a project — a first spec from its files (``init``), or the
spec that means the same image as its Dockerfile (``import_dockerfile``).

May import: as imagespec.jobs; imagespec.adopt only inside functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from imagespec.jobs.compiling import config_file

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.adopt import ImportResult, InitResult

def init(folder: Path, *, preset: str | None = None, name: str | None = None, version: str | None = None,
         license: str | None = None, ports: tuple[int, ...] | None = None,
         entrypoint: str | tuple[str, ...] | None = None, with_: dict[str, str] | None = None,
         output: Path | None = None) -> InitResult:
    """Write a first spec for ``folder`` from its project files (``imagespec.adopt.InitResult``:
    the file written, the preset, what was found and what was guessed). A string
    ``entrypoint`` is a command line, split and checked as a spec's entrypoint string is."""
    from imagespec.adopt import InitOptions, init_project

    options = InitOptions(preset=preset, name=name, version=version, license=license, ports=ports,
                          entrypoint=entrypoint, with_=with_ or {}, output=output, config=config_file(None))
    return init_project(folder, options)


def import_dockerfile(dockerfile: Path, *, output: Path | None = None, config: Path | None = None) -> ImportResult:
    """Write the spec that means the same image as ``dockerfile`` (``imagespec.adopt``'s
    result: the file written and the report of what was and was not expressed)."""
    from imagespec.adopt import import_dockerfile as import_file

    return import_file(dockerfile, output, config_file(config))
