"""A fleet: many specs compiled once, each a bake target, joined into one graph.

``load_fleet(paths, config)`` is the entry point for every fleet command (bake, the
fleet build's executor, --changed-since): it discovers the specs, compiles each (the
configuration is loaded once per file, as a compile would find it), names the targets
(imagespec.fleet.names) and links a spec to the specs whose images it builds FROM
(imagespec.fleet.graph). Everything is decided here, before anything is written or built:
bad input (a clash, a cycle, an unknown platform) is exit 2 with nothing done.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from imagespec.errors import Location, SpecError
from imagespec.fleet import names
from imagespec.fleet.discover import discover
from imagespec.spec.files import recording

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.compiler import Compiled
    from imagespec.spec.config import Config

OnNote = Callable[[str], None]

# what `docker buildx` builds for (os/arch[/variant]); anything else is a typo, found before a build
PLATFORMS = frozenset({
    "linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/amd64/v4", "linux/arm64", "linux/arm64/v8",
    "linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/386", "linux/ppc64le", "linux/s390x", "linux/riscv64",
    "linux/mips64le", "linux/mips64", "linux/loong64",
})


def _ignore(_: str) -> None:
    return None


@dataclass(frozen=True)
class BaseUse:
    """An image a spec's stage starts FROM, as the FROM line names it (after the catalog),
    and the spec key that chose it (where a cycle through it is reported)."""

    ref: str
    key: tuple[str, ...]  # ("final", "from"), ("stages", NAME, "from"); () for a helper stage imagespec added
    location: Location


@dataclass(frozen=True)
class Target:
    """One spec of the fleet: one bake target."""

    name: str
    spec: Path  # the spec file, as found (relative to the working directory when named so)
    real: Path  # its real path
    path: PurePosixPath  # its path in the fleet (names.spec_path)
    group: str | None
    compiled: Compiled
    config: Config
    tags: tuple[str, ...]  # the spec's own tags, without the git-sha tag (it changes every commit)
    bases: tuple[BaseUse, ...]
    platforms: tuple[str, ...]
    inputs: frozenset[str]  # real paths of every file the compile read or probed (the result cache's notes)
    parents: tuple[str, ...] = ()  # targets whose images this one builds FROM
    config_inputs: frozenset[str] = frozenset()  # those of `inputs` that the configuration (and catalogs) read

    @property
    def context(self) -> Path:
        return self.compiled.loaded.context

    @property
    def dockerfile(self) -> Path:
        return self.compiled.loaded.dockerfile_path

    @property
    def display(self) -> str:
        return str(self.spec)


@dataclass(frozen=True)
class Fleet:
    """The targets in build order (every target after its parents; ties by name), the
    folder the names are relative to, and the groups (folder groups plus ``default``)."""

    root: Path
    targets: Mapping[str, Target]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.targets.values())

    def __len__(self) -> int:
        return len(self.targets)

    def order(self) -> list[str]:
        return list(self.targets)

    def children(self, name: str) -> tuple[str, ...]:
        return tuple(t.name for t in self.targets.values() if name in t.parents)

    def downstream(self, names_: Iterable[str]) -> set[str]:
        """``names_`` and every target that builds on one of them, however indirectly."""
        chosen = set(names_)
        for target in self.targets.values():  # build order: parents come first
            if chosen.intersection(target.parents):
                chosen.add(target.name)
        return chosen

    def contexts(self, name: str) -> dict[str, str]:
        """The named-context overrides of a target: each FROM reference another target of
        the fleet builds -> ``target:PRODUCER`` (BuildKit then uses the image built in this
        run, without a push)."""
        from imagespec.fleet.graph import producers

        made = producers(self)
        found: dict[str, str] = {}
        for use in self.targets[name].bases:
            producer = made.get(_normal(use.ref))
            if producer is not None and producer != name:
                found[use.ref] = f"target:{producer}"
        return dict(sorted(found.items()))

    def subset(self, chosen: Iterable[str]) -> Fleet:
        """The fleet restricted to ``chosen`` (kept in build order; groups keep their members among them)."""
        keep = set(chosen)
        targets = {n: t for n, t in self.targets.items() if n in keep}
        groups = {g: tuple(m for m in members if m in keep) for g, members in self.groups.items()}
        return Fleet(self.root, targets, {g: m for g, m in groups.items() if m or g == names.DEFAULT_GROUP})


def _normal(reference: str) -> str:
    from imagespec.pipeline import normalized

    return normalized(reference)


def fleet_root(specs: Sequence[Path]) -> Path:
    """The folder target names are relative to: the git repository holding the specs (or
    the common folder of the repositories, or of the specs outside git)."""
    from imagespec.spec.repository import repository_root

    roots = {str(repository_root(spec.parent)) for spec in specs}
    return Path(os.path.commonpath(sorted(roots)))


class _Configs:
    """Each configuration file loaded once (a fleet of 1,000 specs shares one or a few),
    with the files it read: they are inputs of every spec that uses it."""

    def __init__(self, explicit: Path | None) -> None:
        self.explicit = explicit
        self.loaded: dict[str, tuple[Config, frozenset[str]]] = {}

    def for_spec(self, folder: Path) -> tuple[Config, frozenset[str]]:
        from imagespec.spec.config import find_config, load_config

        with recording() as notes:
            path = self.explicit or find_config(folder)
        key = str(path)
        if key not in self.loaded:
            with recording() as more:
                config = load_config(path)
            self.loaded[key] = (config, _paths(more))
        config, read = self.loaded[key]
        return config, read | _paths(notes)


def _paths(notes: Iterable[tuple[str, str, object]]) -> frozenset[str]:
    return frozenset(os.path.realpath(path) for _kind, path, _seen in notes)


def _compile(spec: Path, configs: _Configs) -> tuple[Compiled, Config, frozenset[str], frozenset[str]]:
    from imagespec.compiler import compile_spec
    from imagespec.spec.load import load_spec

    config, config_inputs = configs.for_spec(spec.parent)
    with recording() as notes:
        compiled = compile_spec(load_spec(spec, config), config)
    return compiled, config, config_inputs, _paths(notes)


def _own_tags(compiled: Compiled) -> tuple[str, ...]:
    """The tags `imagespec build` gives, without the git sha (a committed bake file would
    be stale after every commit; the fleet build adds it)."""
    from imagespec.pipeline import repository
    from imagespec.publish import tags_for

    spec = compiled.loaded.spec
    version = spec.version if spec.tags.semver else None
    try:
        return tags_for(repository(compiled), version, None, tuple(spec.tags.extra))
    except SpecError:  # no version and no extra tag: only the git-sha tag, added at build time
        return ()


def _bases(compiled: Compiled) -> tuple[BaseUse, ...]:
    spec, document = compiled.loaded.spec, compiled.loaded.document
    uses = []
    for stage in compiled.plan.stages:
        if stage.base.from_stage or stage.base.ref == "scratch":
            continue
        if stage.final:
            key: tuple[str, ...] = ("final", "from")
        elif stage.name in spec.stages:
            key = ("stages", stage.name, "from")
        else:
            key = ()
        uses.append(BaseUse(stage.base.ref, key, document.location(key)))
    return tuple(uses)


_PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9]+(?:/[a-z0-9]+)?")


def _platforms(compiled: Compiled, config: Config) -> tuple[str, ...]:
    """`platforms:` of the spec, else of the configuration (`build.platforms` or top-level),
    when this version of imagespec has that field; each must be one buildx knows."""
    spec, document = compiled.loaded.spec, compiled.loaded.document
    sources: list[tuple[object, object, tuple[str, ...]]] = [
        (getattr(spec, "platforms", None), document, ("platforms",)),
        (getattr(config.build, "platforms", None), config.document, ("build", "platforms")),
        (getattr(config.file, "platforms", None), config.document, ("platforms",)),
    ]
    for value, where, key in sources:
        if not value:
            continue
        chosen = (value,) if isinstance(value, str) else tuple(str(v) for v in value)  # type: ignore[attr-defined]
        for index, platform in enumerate(chosen):
            if not _PLATFORM.fullmatch(platform) or platform not in PLATFORMS:
                location = where.location((*key, index)) if where is not None else None  # type: ignore[attr-defined]
                raise SpecError(f"unknown platform {platform!r}", location=location,
                                hint=f"one of: {', '.join(sorted(PLATFORMS))}")
        return tuple(dict.fromkeys(chosen))
    return ()


def load_fleet(paths: Iterable[Path], config: Path | None = None, *, on_note: OnNote = _ignore) -> Fleet:
    """Discover, compile and link the specs ``paths`` name (files and folders).
    ``config``: --config, else $IMAGESPEC_CONFIG, else each spec's nearest .imagespec.yaml.
    Raises SpecError (exit 2) for bad input: no spec, a spec that does not compile, a
    target name clash, a cycle, an unknown platform."""
    from imagespec.fleet.graph import link
    from imagespec.settings import config_path, read_environment

    specs = discover(paths, on_note)
    configs = _Configs(config_path(config, read_environment()))
    real = [Path(os.path.realpath(spec)) for spec in specs]
    root = fleet_root(real)
    targets: dict[str, Target] = {}
    for spec, real_path in zip(specs, real):
        compiled, loaded_config, config_inputs, inputs = _compile(spec, configs)
        path = names.spec_path(real_path, root)
        target = Target(name=names.name_of(path), spec=spec, real=real_path, path=path,
                        group=names.group_of(path), compiled=compiled, config=loaded_config,
                        tags=_own_tags(compiled), bases=_bases(compiled),
                        platforms=_platforms(compiled, loaded_config), inputs=inputs | config_inputs | {str(real_path)},
                        config_inputs=config_inputs)
        first = targets.get(target.name)
        if first is not None:
            raise SpecError(f"target name {target.name!r} of {spec} is also the name of {first.spec}",
                            location=Location(str(spec), 1, 1),
                            hint=f"{first.spec}:1:1 has it too; target names come from spec paths "
                                 "(README, \"Fleets\"): rename a folder, or use NAME.imagespec.yaml")
        targets[target.name] = target
    return link(root, targets)


__all__ = ["PLATFORMS", "BaseUse", "Fleet", "Target", "fleet_root", "load_fleet"]
