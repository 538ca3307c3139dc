"""A fleet: many specs, each a bake target, joined into one graph (the values only;
imagespec.fleet.load makes them).

A Target holds the facts about its spec that the fleet needs — tags, the images it
builds FROM, platforms, what its build is handed (context, Dockerfile, labels, secrets
by id, network, cache) and every file its compile read — so that a fleet answered from
the result cache needs no compile at all. The compiled spec itself is there on demand
(``Target.compiled``), compiled then if the facts came from the cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from imagespec.contract import LABEL_OCI_VERSION
from imagespec.errors import Location
from imagespec.fleet import links, names
from imagespec.notes import OnNote, ignore

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.compiler import Compiled
    from imagespec.spec.config import Config


@dataclass(frozen=True)
class BaseUse:
    """An image a spec's stage starts FROM, as the FROM line names it (after the catalog),
    the spec key that chose it (where a cycle through it is reported), and where the
    stage runs (pipeline.platform_bases.runs_on): on each of the spec's platforms, on the
    build machine (a cross-compiling stage), or not at all (a stage the image does not use)."""

    ref: str
    key: tuple[str, ...]  # ("final", "from"), ("stages", NAME, "from"); () for a helper stage imagespec added
    location: Location
    runs: str = "target"  # "target", "build" or "unused" (platform_bases.ON_TARGET, ON_BUILD_MACHINE, UNUSED)


@dataclass(frozen=True)
class Secret:
    """A secret the build mounts, by id: the bake variable that names its file at build
    time, and the file the configuration names (the variable's default), if any."""

    id: str
    variable: str
    default: str | None = None


@dataclass(frozen=True)
class BuildFacts:
    """What a build of the spec is handed besides the Dockerfile's text (imagespec.pipeline
    decides the same for `imagespec build`), minus what changes per build (revision,
    created, git-sha tag)."""

    context: Path  # real path
    dockerfile: Path  # the generated Dockerfile's path (committed beside the spec)
    labels: tuple[tuple[str, str], ...] = ()
    secrets: tuple[Secret, ...] = ()
    network: str = "host"
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    #: the ignore file's patterns (plan.dockerignore): a change to a file they keep out of
    #: the context changes nothing the build reads (fleet.changes)
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunsAs:
    """The non-root user a spec's image runs as, and whether the spec's final stage makes
    it (a groupadd/useradd step on a base that has a shell and a package manager): an
    image built FROM another spec's image already has that spec's user (BP8)."""

    uid: int
    name: str
    makes: bool


@dataclass(frozen=True)
class Target:
    """One spec of the fleet: one bake target."""

    name: str
    spec: Path  # the spec file, as found (relative to the working directory when named so)
    real: Path  # its real path
    path: PurePosixPath  # its path in the fleet (names.spec_path)
    group: str | None
    tags: tuple[str, ...]  # the spec's own tags, without the git-sha tag (it changes every commit)
    bases: tuple[BaseUse, ...]
    platforms: tuple[str, ...]  # empty: the build machine's platform (BuildKit's default)
    build: BuildFacts
    inputs: frozenset[str]  # real paths of every file the compile read or probed (the result cache's notes)
    config_inputs: frozenset[str] = frozenset()  # those of `inputs` that the configuration (and catalogs) read
    parents: tuple[str, ...] = ()  # targets whose images this one builds FROM
    config_flag: Path | None = None  # --config or $IMAGESPEC_CONFIG as the fleet was loaded with (None: nearest)
    runs_as: RunsAs | None = None  # None: root
    platforms_at: Location | None = None  # where `platforms:` was written (the spec or its configuration), if anywhere
    name_at: Location | None = None  # where the spec's `name:` is: its tags are made of it (a clash is said there)
    #: tags of the spec that a newer version of its image in the fleet keeps (fleet.shared_tags,
    #: BP14): left out of ``tags`` and never applied to this target's image
    withheld: frozenset[str] = frozenset()

    @property
    def tags_at(self) -> Location:
        """Where the spec's tags come from, for a clash of tags: its `name:`."""
        return self.name_at or Location(str(self.spec), 1, 1)

    @property
    def context(self) -> Path:
        return self.build.context

    @property
    def dockerfile(self) -> Path:
        return self.build.dockerfile

    @property
    def display(self) -> str:
        return str(self.spec)

    @cached_property
    def _compiled(self) -> tuple[Compiled, Config]:
        from imagespec.jobs import compile_one

        return compile_one(self.spec, self.config_flag)

    @property
    def compiled(self) -> Compiled:
        """The compiled spec (for the build's error locations, `imagespec test`'s expectations)."""
        return self._compiled[0]

    @property
    def config(self) -> Config:
        return self._compiled[1]

    @property
    def version(self) -> str | None:
        """The spec's `version:` (its image's OCI version label), None without one."""
        return dict(self.build.labels).get(LABEL_OCI_VERSION)

    def with_parents(self, parents: tuple[str, ...]) -> Target:
        """This target with its parents set (its compile, if kept, kept too)."""
        return self._replaced(parents=parents)

    def without_tags(self, withheld: frozenset[str]) -> Target:
        """This target without the ``withheld`` tags, which a newer version keeps."""
        return self._replaced(tags=tuple(t for t in self.tags if t not in withheld), withheld=self.withheld | withheld)

    def _replaced(self, **changes: Any) -> Target:
        changed = replace(self, **changes)
        if "_compiled" in self.__dict__:
            changed.__dict__["_compiled"] = self.__dict__["_compiled"]
        return changed

    def keep_compiled(self, compiled: Compiled, config: Config) -> Target:
        """This target with its compile kept (no second compile when it is asked for)."""
        self.__dict__["_compiled"] = (compiled, config)  # what cached_property would store
        return self


@dataclass(frozen=True)
class Fleet:
    """The targets in build order (every target after its parents; ties by name), the
    folder the names are relative to, and the groups (folder groups plus ``default``)."""

    root: Path
    targets: Mapping[str, Target]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Target]:
        return iter(self.targets.values())

    def __len__(self) -> int:
        return len(self.targets)

    def order(self) -> list[str]:
        return list(self.targets)

    def children(self, name: str) -> tuple[str, ...]:
        return tuple(t.name for t in self.targets.values() if name in t.parents)

    def downstream(self, names_: Iterable[str]) -> set[str]:
        """``names_`` and every target that builds on one of them, however indirectly."""
        return set(links.descendants(names_, {name: t.parents for name, t in self.targets.items()}))

    def contexts(self, name: str) -> dict[str, str]:
        """The named-context overrides of a target: each FROM reference another target of
        the fleet builds -> ``target:PRODUCER`` (BuildKit then uses the image built in this
        run, without a push)."""
        found: dict[str, str] = {}
        for use in self.targets[name].bases:
            producer = next(iter(links.makers(use.ref, self.producers)), None)  # pinned: none
            if producer is not None and producer != name:
                found[use.ref] = f"target:{producer}"
        return dict(sorted(found.items()))

    @cached_property
    def producers(self) -> dict[str, list[str]]:
        """Each image name the targets' tags produce -> the targets, by name (the first is
        the one: imagespec.fleet.graph refuses two where anyone builds on it)."""
        return links.producers({name: self.targets[name].tags for name in sorted(self.targets)})

    def subset(self, chosen: Iterable[str]) -> Fleet:
        """The fleet restricted to ``chosen`` (kept in build order; groups keep their members among them)."""
        keep = set(chosen)
        targets = {n: t for n, t in self.targets.items() if n in keep}
        groups = {g: tuple(m for m in members if m in keep) for g, members in self.groups.items()}
        return Fleet(self.root, targets, {g: m for g, m in groups.items() if m or g == names.DEFAULT_GROUP})


def load_fleet(paths: Iterable[Path], config: Path | None = None, *, on_note: OnNote = ignore,
               use_cache: bool = True) -> Fleet:
    """imagespec.fleet.load.load_fleet (here too: the fleet's one entry point)."""
    from imagespec.fleet.load import load_fleet as load

    return load(paths, config, on_note=on_note, use_cache=use_cache)


__all__ = ["BaseUse", "BuildFacts", "Fleet", "Secret", "Target", "load_fleet"]
