"""The bake definition a fleet run hands BuildKit, made from the committed one.

Role: read the graph out of a bake definition (``contexts`` whose value is
``target:NAME``: an image built in the same run) and rewrite the definition for one run:
each target builds the Dockerfile compiled in memory (as `imagespec build` of one spec
does), without tags (imagespec applies them only once that target built, all or nothing:
BP14), and, on a builder whose images land in the engine's store (the docker driver),
FROM its parents' images as already built and tagged instead of `target:` contexts,
which would make bake build the parent again inside every child's invocation. A target
of several platforms is one target per platform in the run (``NAME--linux-arm64``): no
builder's ``--load`` takes an index into the engine's classic image store (the docker
driver refuses even to build one), so each platform's image is loaded, tagged and pushed
on its own and the index made of them, as `imagespec build` of one spec does; a child's
build whose cross-compiling stage starts FROM such a target takes its pushed index instead
(a named context is one image for every stage: BuildKit picks each stage's platform). Pure.

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
#: between a target's name and its platform's in the run's per-platform targets; fleet
#: target names never hold two dashes in a row (imagespec.fleet.names), so none clashes
PLATFORM_SEPARATOR = "--"


def platform_target(name: str, platform: str) -> str:
    """The run's target building ``name`` for ``platform``: ``app--linux-arm-v7``."""
    return f"{name}{PLATFORM_SEPARATOR}{platform.replace('/', '-')}"


def split_platforms(target: Mapping[str, Any]) -> tuple[str, ...]:
    """The platforms a target is built for one by one (none: it is built as it is)."""
    found = tuple(str(p) for p in target.get("platforms") or ())
    return found if len(found) > 1 else ()


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
            tags: Mapping[str, tuple[str, ...]], *, local_store: bool,
            platform_tags: Mapping[str, Mapping[str, str]] | None = None,
            on_build_machine: Mapping[str, frozenset[str]] | None = None,
            pushed: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The definition this run writes: each target's ``overrides`` (the Dockerfile compiled
    for it, this build's labels and secret files) replace its committed values; its tags
    (``tags``: what imagespec applies once it built) and outputs are the run's own, and
    the definition's variables are spent (the overrides name the files). A target of
    several platforms becomes one per platform (``platform_target``); ``platform_tags``:
    each such target's local tag per platform, which its children's same platform
    builds FROM on the docker driver; ``on_build_machine``: each target's FROM references
    that a stage of it running on the build machine (cross-compiling) starts from;
    ``pushed``: each reference this run pushed -> its digest (a parent's index is named by
    it, so no other image under that tag can stand in for what this run built)."""
    committed = targets(definition)
    split = {name: split_platforms(target) for name, target in committed.items()}
    run: dict[str, dict[str, Any]] = {}
    for name, target in sorted(committed.items()):
        target = copy.deepcopy(target)
        for key in _RUN_DECIDES:
            target.pop(key, None)
        target.update(copy.deepcopy(dict(overrides.get(name, {}))))
        contexts = target.pop("contexts", None) or {}
        for platform in split[name] or (None,):
            built = dict(target)
            if platform is not None:
                built["platforms"] = [platform]
            own = platform or _only(built.get("platforms"))
            built["contexts"] = _contexts(contexts, own, tags, split, platform_tags or {},
                                          (on_build_machine or {}).get(name, frozenset()), pushed or {},
                                          local_store=local_store)
            run[platform_target(name, platform) if platform else name] = {
                key: value for key, value in built.items() if value not in ({}, [], None)}
    return {"target": run}


def _pushed_index(reference: str, pushed: Mapping[str, str]) -> str:
    """A parent's index as a named context: ``reference@digest`` once this run pushed it
    (an older image the builder holds under the tag cannot stand in for it), else by tag."""
    digest = pushed.get(reference)
    return f"docker-image://{reference}@{digest}" if digest else f"docker-image://{reference}"


def _only(platforms: Any) -> str | None:
    return str(platforms[0]) if isinstance(platforms, list) and len(platforms) == 1 else None


def _contexts(contexts: Mapping[str, str], platform: str | None, all_tags: Mapping[str, tuple[str, ...]],
              split: Mapping[str, tuple[str, ...]], platform_tags: Mapping[str, Mapping[str, str]],
              on_build_machine: frozenset[str], pushed: Mapping[str, str], *, local_store: bool) -> dict[str, str]:
    """A target's contexts for one build of it (``platform``: the one it builds for, if
    known). A parent of several platforms has no image of the run under its own name: the
    child's build for one of its platforms takes that platform's (its local tag on the
    docker driver, its per-platform target elsewhere); any other build, and any build where
    a cross-compiling stage starts FROM the parent (``on_build_machine``), the index the
    parent pushed before this one started, by its digest when ``pushed`` has it."""
    kept = {}
    for key, value in sorted(contexts.items()):
        parent = str(value).removeprefix(TARGET_CONTEXT) if str(value).startswith(TARGET_CONTEXT) else None
        if parent is None:
            kept[key] = value
        elif split.get(parent):
            if key in on_build_machine and all_tags.get(parent):
                # A named context is one image for every stage naming the reference: the
                # arm64 build's platform image would reach the stage that runs on the build
                # machine too (an arm64 toolchain under QEMU, silently). The index (pushed:
                # a parent of several platforms is refused without --push) lets BuildKit
                # pick each stage's platform: the build machine's for this one.
                kept[key] = _pushed_index(all_tags[parent][0], pushed)
            elif platform in split[parent] and not local_store:
                kept[key] = TARGET_CONTEXT + platform_target(parent, platform)
            elif platform in split[parent] and platform in platform_tags.get(parent, {}):
                kept[key] = f"docker-image://{platform_tags[parent][platform]}"
            elif all_tags.get(parent):
                kept[key] = _pushed_index(all_tags[parent][0], pushed)
        elif not local_store:
            kept[key] = value
        elif key not in all_tags.get(parent, ()) and all_tags.get(parent):
            # the engine resolves a FROM that names one of the parent's tags by itself
            kept[key] = f"docker-image://{all_tags[parent][0]}"
    return kept
