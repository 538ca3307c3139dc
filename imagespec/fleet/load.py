"""Making a fleet: discover the specs, compile each (or take its facts from the result
cache), name the targets and link the graph.

``load_fleet(paths, config)`` is the entry point of every fleet command (bake, the fleet
build, --changed-since). Each configuration file is loaded once and shared by the specs
that use it. What a compile found out about a spec (imagespec.fleet.model.Target's facts)
is kept in the result cache (imagespec.cache, kind "fleet") with the notes of every file
and probe the compile took: while none of them changed, a fleet of 500 specs loads without
compiling any (BENCHMARKS.md, "Fleet"). Everything is decided here, before anything is
written or built: bad input (a clash, a cycle, an unknown platform) is exit 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagespec.errors import Location, SpecError, raise_together
from imagespec.settings import CA_BUNDLE_ENV
from imagespec.fleet import names
from imagespec.fleet.discover import discover
from imagespec.fleet.model import BaseUse, BuildFacts, Fleet, RunsAs, Secret, Target
from imagespec.spec.files import Note, recording
from imagespec.notes import OnNote, ignore

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.compiler import Compiled
    from imagespec.spec.config import Config

CACHE_KIND = "fleet"
# the bake variable naming the CA bundle is imagespec's own environment variable for it
CA_VARIABLE = CA_BUNDLE_ENV
SECRET_PREFIX = "IMAGESPEC_SECRET_"


def secret_variable(secret_id: str) -> str:
    """The bake variable naming a declared secret's file: IMAGESPEC_SECRET_<ID>."""
    return SECRET_PREFIX + re.sub(r"[^A-Z0-9_]", "_", secret_id.upper())


def fleet_root(specs: Sequence[Path]) -> Path:
    """The folder target names are relative to: the git repository holding the specs (or
    the common folder of the repositories, or of the specs outside git). ``specs`` are real
    paths; a spec inside a root found already needs no walk of its own."""
    from imagespec.spec.repository import repository_root

    roots: list[str] = []
    for spec in specs:
        folder = str(spec.parent)
        if not any(folder == root or folder.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
            roots.append(str(repository_root(spec.parent)))
    return Path(os.path.commonpath(sorted(roots)))


class _RealPaths:
    """Real paths of the compiler's notes, each folder resolved once: a fleet's specs share
    their parents, configuration and catalog (os.path.realpath lstat()s every part, every time)."""

    def __init__(self) -> None:
        self.folders: dict[str, str] = {}
        self.paths: dict[str, str] = {}

    def of(self, path: str) -> str:
        known = self.paths.get(path)
        if known is None:
            known = self.paths[path] = self._real(path)
        return known

    def folder(self, path: str) -> str:
        """The real path of ``path``'s folder (the file itself, a link or not, is not followed)."""
        folder = os.path.dirname(os.path.abspath(path))
        real = self.folders.get(folder)
        if real is None:
            real = self.folders[folder] = os.path.realpath(folder)
        return real

    def _real(self, path: str) -> str:
        joined = os.path.join(self.folder(path), os.path.basename(path))
        # the file itself may be a link (a spec linked from elsewhere): its own target counts
        return os.path.realpath(joined) if os.path.islink(joined) else joined

    def of_notes(self, notes: Iterable[Note]) -> frozenset[str]:
        return frozenset(self.of(path) for _kind, path, _seen in notes)


class _Configs:
    """Each configuration file loaded once (a fleet of 1,000 specs shares one or a few),
    with the looks its loading took: they are inputs of every spec that uses it."""

    def __init__(self, explicit: Path | None) -> None:
        self.explicit = explicit
        self.loaded: dict[str, tuple[Config, list[Note]]] = {}

    def for_spec(self, folder: Path) -> tuple[Config, list[Note]]:
        """The configuration of a spec in ``folder``, and the looks that chose and read it."""
        from imagespec.spec.config import find_config, load_config, load_found_config

        with recording() as notes:
            path = self.explicit or find_config(folder)
        key = str(path)
        if key not in self.loaded:
            with recording() as more:
                # a found file holds under the ones above it (their looks start at its folder:
                # they are the same for every spec that shares it)
                config = load_config(path) if self.explicit or path is None else load_found_config(path)
            self.loaded[key] = (config, list(more))
        config, read = self.loaded[key]
        return config, [*notes, *read]


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
    from imagespec.pipeline.platform_bases import runs_on

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
        # a helper stage is located at the key that made imagespec add it (its final.from)
        where = document.location(key or stage.origin.path)
        uses.append(BaseUse(stage.base.ref, key, where, runs_on(compiled.plan, stage)))
    return tuple(uses)


def _runs_as(compiled: Compiled) -> RunsAs | None:
    """The final image's user, and whether the final stage makes it: the add_nonroot_user
    pass's step, by its origin, so this does not repeat the pass's rule."""
    from imagespec.plan.model import Run

    runtime, final = compiled.plan.runtime, compiled.plan.final
    if runtime.uid == 0:
        return None
    makes = any(isinstance(step, Run) and step.origin.path == ("final", "user") for step in final.instructions)
    return RunsAs(runtime.uid, runtime.user_name, makes)


def _platforms(compiled: Compiled) -> tuple[str, ...]:
    """The platforms the spec builds for: its `platforms:`, else the configuration's
    `build.platforms` (the plan holds the effective list, validated by imagespec.platform)."""
    return compiled.plan.platforms


def _platforms_at(compiled: Compiled, config: Config) -> Location | None:
    from imagespec.pipeline import platforms_location

    return platforms_location(compiled, config) if compiled.plan.platforms else None


def _location_json(location: Location | None) -> list[Any] | None:
    return None if location is None else [location.file, location.line, location.col]


def _flag_values(args: Sequence[str], flag: str) -> tuple[str, ...]:
    """The values of ``--flag V`` / ``--flag=V`` among the configuration's build.extra_args."""
    values = []
    for index, item in enumerate(args):
        if item == flag and index + 1 < len(args):
            values.append(args[index + 1])
        elif item.startswith(flag + "="):
            values.append(item.split("=", 1)[1])
    return tuple(values)


def _labels(compiled: Compiled) -> tuple[tuple[str, str], ...]:
    """The OCI labels `imagespec build` adds that are the same on every build (BP13: the
    base's name); revision, created and the base's digest are the build's."""
    from imagespec.publish import oci_labels

    spec, final = compiled.loaded.spec, compiled.plan.final
    base = None if final.base.ref == "scratch" or final.base.from_stage else final.base.ref
    return tuple(oci_labels(title=spec.name, description=spec.description, version=spec.version, created="",
                            source=spec.source, licenses=spec.license, base_name=base, environ={}).items())


def _build_facts(compiled: Compiled, config: Config) -> BuildFacts:
    from imagespec.engine.backend import DEFAULT_NETWORK
    from imagespec.contract import SECRET_ID

    build = config.build
    secrets = []
    if f"id={SECRET_ID}" in compiled.dockerfile:  # the Dockerfile mounts the CA bundle (plan/ca_trust.py)
        secrets.append(Secret(SECRET_ID, CA_VARIABLE, build.ca_bundle or None))
    for declared in compiled.loaded.spec.secrets:
        secrets.append(Secret(declared.id, secret_variable(declared.id), build.secrets.get(declared.id)))
    extra = list(build.extra_args)
    loaded = compiled.loaded
    return BuildFacts(context=loaded.context, dockerfile=loaded.dockerfile_path, labels=_labels(compiled),
                      secrets=tuple(secrets), network=build.network or DEFAULT_NETWORK,
                      cache_from=_flag_values(extra, "--cache-from"), cache_to=_flag_values(extra, "--cache-to"),
                      ignore=tuple(compiled.plan.dockerignore))


# -- the facts as the result cache keeps them (JSON) ---------------------------------------

def _to_json(target: Target) -> dict[str, Any]:
    b = target.build
    return {"tags": list(target.tags), "platforms": list(target.platforms),
            "platforms_at": _location_json(target.platforms_at), "name_at": _location_json(target.name_at),
            "bases": [[u.ref, list(u.key), u.location.file, u.location.line, u.location.col, u.runs]
                      for u in target.bases],
            "inputs": sorted(target.inputs), "config_inputs": sorted(target.config_inputs),
            "build": {"context": str(b.context), "dockerfile": str(b.dockerfile), "labels": [list(i) for i in b.labels],
                      "secrets": [[s.id, s.variable, s.default] for s in b.secrets], "network": b.network,
                      "cache_from": list(b.cache_from), "cache_to": list(b.cache_to), "ignore": list(b.ignore)},
            "runs_as": None if target.runs_as is None else [target.runs_as.uid, target.runs_as.name,
                                                            target.runs_as.makes]}


def _from_json(facts: dict[str, Any], **identity: Any) -> Target:
    b = facts["build"]
    build = BuildFacts(context=Path(b["context"]), dockerfile=Path(b["dockerfile"]),
                       labels=tuple((k, v) for k, v in b["labels"]),
                       secrets=tuple(Secret(i, v, d) for i, v, d in b["secrets"]), network=b["network"],
                       cache_from=tuple(b["cache_from"]), cache_to=tuple(b["cache_to"]), ignore=tuple(b["ignore"]))
    bases = tuple(BaseUse(ref, tuple(key), Location(file, line, col), runs)
                  for ref, key, file, line, col, runs in facts["bases"])
    at, name_at = facts["platforms_at"], facts["name_at"]
    user = facts["runs_as"]
    return Target(tags=tuple(facts["tags"]), bases=bases, platforms=tuple(facts["platforms"]), build=build,
                  platforms_at=Location(*at) if at is not None else None,
                  name_at=Location(*name_at) if name_at is not None else None,
                  inputs=frozenset(facts["inputs"]), config_inputs=frozenset(facts["config_inputs"]),
                  runs_as=None if user is None else RunsAs(int(user[0]), str(user[1]), bool(user[2])), **identity)


def _compiled_target(configs: _Configs, paths: _RealPaths, cache_root: Path | None, **identity: Any) -> Target:
    """Compile ``spec`` and keep what the fleet needs (in the result cache too)."""
    from imagespec import cache
    from imagespec.compiler import compile_spec
    from imagespec.spec.read_spec import load_spec
    from imagespec.spec.repository import check_confined

    spec = identity["spec"]
    assert isinstance(spec, Path)
    config, config_notes = configs.for_spec(spec.parent)
    with recording() as notes:
        compiled = compile_spec(load_spec(spec, config), config)
        loaded = compiled.loaded  # the bake file names the files generate writes: inside the repository too
        check_confined(loaded, [loaded.dockerfile_path, loaded.dockerignore_path])
        build = _build_facts(compiled, config)  # the context's resolve is a look too
    config_inputs = paths.of_notes(config_notes)
    target = Target(tags=_own_tags(compiled), bases=_bases(compiled), platforms=_platforms(compiled),
                    platforms_at=_platforms_at(compiled, config), build=build,
                    name_at=compiled.loaded.document.location(("name",)),
                    inputs=config_inputs | paths.of_notes(notes) | {str(identity["real"])},
                    config_inputs=config_inputs, runs_as=_runs_as(compiled), **identity)
    cache.store_facts(cache_root, CACHE_KIND, spec, configs.explicit, [*config_notes, *notes], _to_json(target))
    lock = compiled.loaded.lock_path
    if lock is not None and lock.is_file():
        # the facts (the graph) follow the spec's references as written; what is built is
        # compiled with its lock's pins, as `imagespec build` of the spec does (Target.compiled)
        return target
    return target.keep_compiled(compiled, config)


def load_fleet(paths: Iterable[Path], config: Path | None = None, *, on_note: OnNote = ignore,
               use_cache: bool = True) -> Fleet:
    """Discover, compile and link the specs ``paths`` name (files and folders).
    ``config``: --config, else $IMAGESPEC_CONFIG, else each spec's nearest .imagespec.yaml.
    ``use_cache``: take each spec's facts from the result cache when none of its inputs
    changed (imagespec's cache folder, unless IMAGESPEC_NO_CACHE). Raises SpecError (exit 2)
    for bad input: no spec, a spec that does not compile, a target name clash, a cycle, an
    unknown platform, a platform a spec's parent in the fleet does not build."""
    from imagespec import cache
    from imagespec.engine.emulation import native_platform
    from imagespec.fleet.graph import link
    from imagespec.settings import config_path, read_environment

    env = read_environment()
    cache_root = env.cache_dir if use_cache else None
    specs = discover(paths, on_note)
    real = _RealPaths()
    configs = _Configs(config_path(config, env))
    real_specs = [Path(real.of(str(spec))) for spec in specs]
    # a spec file that is a link is named, and its context found, where the link is: one
    # leading out of the repository must not move the fleet's root (and every name)
    placed = [Path(real.folder(str(spec))) / spec.name for spec in specs]
    root = fleet_root(placed)
    targets: dict[str, Target] = {}
    broken: list[SpecError] = []  # every spec that does not compile, reported together
    looks: dict[tuple[str, str], object] = {}  # the cache's looks at shared files, taken once
    for spec, real_path, place in zip(specs, real_specs, placed, strict=True):
        path = names.spec_path(place, root)
        identity: dict[str, Any] = {"name": names.name_of(path), "spec": spec, "real": real_path, "path": path,
                                    "group": names.group_of(path), "config_flag": configs.explicit}
        facts = cache.lookup_facts(cache_root, CACHE_KIND, spec, configs.explicit, looks)
        try:
            target = _from_json(facts, **identity) if facts is not None else None
        except (KeyError, TypeError, ValueError):  # an entry of another shape: compile afresh
            target = None
        if target is None:
            try:
                target = _compiled_target(configs, real, cache_root, **identity)
            except SpecError as error:
                broken.append(error)
                continue
        first = targets.get(target.name)
        if first is not None:
            raise SpecError(f"target name {target.name!r} of {spec} is also the name of {first.spec}",
                            location=Location(str(spec), 1, 1),
                            hint=f"{first.spec}:1:1 has it too; target names come from spec paths "
                                 "(README, \"Fleets\"): rename a folder, or use NAME.imagespec.yaml")
        targets[target.name] = target
    raise_together(broken)
    _refuse_shared_secret_variables(targets)
    return link(root, targets, native=native_platform())


def _refuse_shared_secret_variables(targets: dict[str, Target]) -> None:
    """Two secret ids that one bake variable would name (`pip-index` and `pip_index`:
    IMAGESPEC_SECRET_PIP_INDEX) would be handed one file: bad input, not a silent mix-up.
    One id in several specs is one secret, one variable."""
    seen: dict[str, tuple[str, Target]] = {}
    for target in targets.values():
        for secret in target.build.secrets:
            first = seen.setdefault(secret.variable, (secret.id, target))
            if first[0] != secret.id:
                raise SpecError(f"secrets {first[0]!r} ({first[1].spec}) and {secret.id!r} would both be read "
                                f"from the bake variable {secret.variable}", location=Location(str(target.spec), 1, 1),
                                hint="rename one of the ids: the variable is the id upper-cased, every character "
                                     "outside A-Z, 0-9 and _ turned into _")


__all__ = ["CA_VARIABLE", "fleet_root", "load_fleet", "secret_variable"]
