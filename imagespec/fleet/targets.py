"""The bake definition of a set of compiled specs, and each one's executor Target.

Role: until the fleet model (discovery, graph, `imagespec bake`) is merged in, the small
part of it a build needs: find the specs in folders, name one bake target per spec, put
its tags, labels, build args, secrets (by file, never contents) and network in it, and a
`target:` context for each FROM that names another spec's image (built in the same run).

May import: ``imagespec.pipeline``, ``imagespec.settings`` and below.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagespec.errors import BuildFailed, ImageSpecError, SpecError
from imagespec.fleet.bake_file import TARGET_CONTEXT
from imagespec.fleet.run import Target

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.compiler import Compiled
    from imagespec.settings import BuildSettings
    from imagespec.spec.catalog import Catalog

SPEC_FILE = "imagespec.yaml"
SPEC_SUFFIX = ".imagespec.yaml"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def discover(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders searched recursively for `imagespec.yaml` and
    `*.imagespec.yaml` (hidden folders skipped), each folder's in name order."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        for folder, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found += [Path(folder) / n for n in sorted(names) if n == SPEC_FILE or (n.endswith(SPEC_SUFFIX) and n != SPEC_SUFFIX)]
    unique = list(dict.fromkeys(found))
    if not unique:
        raise SpecError(f"no spec in {', '.join(map(str, paths))}",
                        hint=f"a folder's specs are files named {SPEC_FILE} or *{SPEC_SUFFIX}")
    return unique


def target_name(compiled: Compiled) -> str:
    """The spec's image name as a bake target name (letters, digits, `-`, `_`)."""
    return _UNSAFE.sub("-", compiled.loaded.spec.name)


def definition(specs: Sequence[tuple[Compiled, BuildSettings]]) -> dict[str, Any]:
    """The bake definition (`{"target": …}`) of ``specs``; two specs with one target name
    are bad input, at the second spec's `name`."""
    from imagespec import pipeline

    names: dict[str, Compiled] = {}
    tags: dict[str, tuple[str, ...]] = {}
    for compiled, settings in specs:
        name = target_name(compiled)
        if name in names:
            raise SpecError(f"{compiled.loaded.document.file} and {names[name].loaded.document.file} are both "
                            f"bake target {name!r}", location=compiled.loaded.document.location(("name",)),
                            hint="give each spec of a fleet its own `name`")
        names[name] = compiled
        tags[name] = pipeline.references(compiled, settings)
    owner = {_normal(tag): name for name, refs in tags.items() for tag in refs}
    found: dict[str, Any] = {}
    for compiled, settings in specs:
        name = target_name(compiled)
        options = pipeline.build_options(compiled, settings)
        target: dict[str, Any] = {
            "context": str(compiled.loaded.context), "dockerfile": str(compiled.loaded.dockerfile_path),
            "tags": list(tags[name]), "labels": dict(sorted(options.labels.items())),
            "args": dict(sorted(options.build_args.items())), "network": options.network,
            "secret": [s.to_flag() for s in options.secrets if s.src.is_file() or not s.optional],
        }
        if options.no_cache:
            target["no-cache"] = True
        contexts = {ref: f"{TARGET_CONTEXT}{owner[_normal(ref)]}" for ref in _bases(compiled)
                    if owner.get(_normal(ref)) not in (None, name)}
        if contexts:
            target["contexts"] = dict(sorted(contexts.items()))
        found[name] = {k: v for k, v in target.items() if v not in ({}, [])}
    return {"target": dict(sorted(found.items()))}


def executor_targets(specs: Sequence[tuple[Compiled, Catalog | None]]) -> list[Target]:
    """``specs``: each compiled spec with its configuration's catalog (to place a base
    that cannot be pulled)."""
    return [Target(target_name(c), str(Path(c.loaded.document.file).resolve()), c.dockerfile, c.dockerignore,
                   _locator(c, catalog)) for c, catalog in specs]


def _locator(compiled: Compiled, catalog: Catalog | None):  # type: ignore[no-untyped-def]
    """The one-image failure mapping (pipeline.locate_failure) for this spec."""
    from imagespec import pipeline

    def locate(failure: BuildFailed) -> ImageSpecError:
        return pipeline.locate_failure(compiled, failure, catalog)

    return locate


def _bases(compiled: Compiled) -> list[str]:
    return sorted({s.base.ref for s in compiled.plan.stages if not s.base.from_stage and s.base.ref != "scratch"})


def _normal(reference: str) -> str:
    from imagespec.pipeline import normalized

    return normalized(reference)
