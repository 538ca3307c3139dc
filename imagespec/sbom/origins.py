"""What a static image holds that no record in its file system names: the C library
linked into a static program, and the tini imagespec's init stage compiled.

Role: the build's own knowledge, joined to the facts ``scan`` read from the image's
executables (``executable``), as Components whose note says where each part of the
knowledge came from. The image shows that a program is static, which C library left
its marks in it, and tini's version string; the build stage's package database (read
by the caller from its image) shows which package of that library it linked, and the
plan shows that tini was compiled from Debian's source package. Pure. May import: the
standard library and its own package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from imagespec.sbom.component import Component
from imagespec.sbom.dpkg import Package
from imagespec.sbom.executable import Executable

#: tini's licence (its LICENSE file; Debian's copyright file names it Expat, the same)
TINI_LICENSE = "MIT"
_GLIBC = "libc6-dev"
_MUSL = "musl-dev"


@dataclass(frozen=True)
class BuildStage:
    """Where the static program at ``location`` was compiled: stage ``stage`` on the
    image ``image``, whose dpkg status lists ``packages`` (only the C libraries' are
    needed); ``cross`` is the target's cross C library package when the stage
    cross-compiles, ``architecture`` the target's Debian architecture ("" when the
    build is for the engine's own)."""

    location: str
    stage: str
    image: str
    packages: tuple[Package, ...]
    cross: str = ""
    architecture: str = ""


@dataclass(frozen=True)
class InitStage:
    """imagespec's init stage: tini at ``location``, compiled with musl-gcc from the Debian
    source package ``source`` by the stage ``stage``."""

    location: str
    stage: str
    source: str = "tini"


def built_in(executables: Sequence[Executable], stages: Sequence[BuildStage],
             init: InitStage | None) -> tuple[list[Component], list[str]]:
    """(Components, notes): tini, and each static program's C library where the build
    stage's image records it; a note for each one that is not known."""
    found: list[Component] = []
    notes: list[str] = []
    by_location = {stage.location: stage for stage in stages}
    for program in sorted(executables, key=lambda e: e.location):
        if init is not None and program.location == init.location:
            if program.program == "tini" and program.version:
                found.append(_tini(program, init))
            else:
                notes.append(f"{program.location}: the init stage's tini, without a version string to read")
        elif program.static and program.location in by_location:
            library, note = _library(program, by_location[program.location])
            found += [library] if library else []
            notes += [note] if note else []
    return _unique(found), notes


def _tini(program: Executable, init: InitStage) -> Component:
    return Component(
        "deb", init.source, program.version, (TINI_LICENSE,), location=program.location, architecture="source",
        note=(f"compiled with musl-gcc from the Debian source package {init.source} {program.version}, linked "
              "statically against musl (whose version is not recorded)"),
        evidence=(f"the build plan: imagespec's init stage '{init.stage}' compiles Debian's source package "
                  f"{init.source}; the version is the one compiled into the binary"))


def _library(program: Executable, stage: BuildStage) -> tuple[Component | None, str]:
    names = [stage.cross] if stage.cross and program.libc == "glibc" else []
    names.append(_GLIBC if program.libc == "glibc" else _MUSL)
    for name in names:
        for package in stage.packages:
            native = name == stage.cross or not stage.architecture or package.architecture == stage.architecture
            if package.name == name and native:
                return Component(
                    "deb", package.name, package.version, package.licenses, location=program.location,
                    architecture=package.architecture, note="the C library linked statically into it",
                    evidence=f"the build stage '{stage.stage}': the dpkg status of its image {stage.image}"), ""
    kind = "glibc" if program.libc == "glibc" else "a C library other than glibc (musl?)"
    return None, (f"{program.location} is linked statically with {kind}; the build stage '{stage.stage}''s image "
                  f"{stage.image} records no {' or '.join(names)}"
                  + (f" for {stage.architecture}" if stage.architecture else "")
                  + ": installed while building, so its version is not known")


def _unique(components: list[Component]) -> list[Component]:
    """One entry per package: two programs linked with the same library name it once (at
    the first program, in sorted order)."""
    seen: dict[tuple[str, ...], Component] = {}
    for component in components:
        seen.setdefault((*component.key, component.version), component)
    return list(seen.values())
