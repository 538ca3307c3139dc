"""The bake definition a fleet run hands BuildKit, made from the committed one.

Role: read the graph out of a bake definition (``contexts`` whose value is
``target:NAME``: an image built in the same run) and rewrite the definition for one run:
each target builds the Dockerfile compiled in memory (as `imagespec build` of one spec
does), without tags (imagespec applies them only once that target built, all or nothing:
BP14), and, on a builder whose images land in the engine's store (the docker driver),
FROM its parents' images as already built and tagged instead of `target:` contexts,
which would make bake build the parent again inside every child's invocation. Pure.

May import: the standard library and ``imagespec.errors``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from imagespec.errors import SpecError

TARGET_CONTEXT = "target:"
#: Keys of a target that this run decides itself: tags after the build, the output by --load.
_RUN_DECIDES = ("tags", "output", "dockerfile-inline")


def targets(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    found = definition.get("target")
    if not isinstance(found, dict):
        raise SpecError("the bake definition has no `target` table", hint="generate it with `imagespec bake`")
    return found


def parents(definition: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Each target -> the targets whose images it builds on (its `target:` contexts)."""
    graph = {}
    names = targets(definition)
    for name, target in names.items():
        wanted = {str(v).removeprefix(TARGET_CONTEXT) for v in (target.get("contexts") or {}).values()
                  if str(v).startswith(TARGET_CONTEXT)}
        unknown = sorted(wanted - set(names))
        if unknown:
            raise SpecError(f"bake target {name!r} builds on target {unknown[0]!r}, which the definition lacks",
                            hint="regenerate the bake file from all the specs it names")
        graph[name] = frozenset(wanted)
    return graph


def for_run(definition: Mapping[str, Any], overrides: Mapping[str, Mapping[str, Any]],
            tags: Mapping[str, tuple[str, ...]], *, local_store: bool) -> dict[str, Any]:
    """The definition this run writes: each target's ``overrides`` (the Dockerfile compiled
    for it, this build's labels and secret files) replace its committed values; its tags
    (``tags``: what imagespec applies once it built) and outputs are the run's own, and
    the definition's variables are spent (the overrides name the files)."""
    run: dict[str, dict[str, Any]] = {}
    for name, target in sorted(targets(definition).items()):
        target = copy.deepcopy(target)
        for key in _RUN_DECIDES:
            target.pop(key, None)
        target.update(copy.deepcopy(dict(overrides.get(name, {}))))
        if local_store and target.get("contexts"):
            target["contexts"] = _from_store(target["contexts"], tags)
        run[name] = {key: value for key, value in target.items() if value not in ({}, [], None)}
    return {"target": run}


def _from_store(contexts: Mapping[str, str], all_tags: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """`target:P` contexts as P's image in the engine's store: nothing to say when the
    FROM names one of P's tags (the engine resolves it), else P's first tag."""
    kept = {}
    for key, value in sorted(contexts.items()):
        parent = str(value).removeprefix(TARGET_CONTEXT) if str(value).startswith(TARGET_CONTEXT) else None
        if parent is None:
            kept[key] = value
        elif key not in all_tags.get(parent, ()) and all_tags.get(parent):
            kept[key] = f"docker-image://{all_tags[parent][0]}"
    return kept
