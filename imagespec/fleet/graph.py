"""The fleet's graph: a spec depends on another when one of its stages starts FROM an
image reference (as the catalog resolved it) that the other spec's tags produce.

The Dockerfiles do not change: in the bake file the dependent target gets a named
context ``{REF: "target:PRODUCER"}``, so BuildKit uses the image built in the same run.
A digest-pinned reference names an image in a registry, never one of this run. A cycle
is bad input, reported at the `from:` that closes it with the chain of specs; so is a
platform a spec builds for (a target without `platforms:`: the build machine's) that the
target whose image it starts FROM does not build, before anything builds. The graph
itself (image names, producers, order, cycles) is ``fleet.links``, the one the locks follow
too; this module adds the fleet's targets, its refusals, its groups and which target keeps
a tag two versions of one image share (``fleet.shared_tags``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from imagespec import reference as grammar
from imagespec.errors import Location, SpecError
from imagespec.fleet import links, names, shared_tags
from imagespec.fleet.model import BaseUse, Fleet, Target


def _parents(target: Target, made: Mapping[str, list[str]], targets: Mapping[str, Target]) -> tuple[str, ...]:
    found: list[str] = []
    for use in target.bases:
        makers = links.makers(use.ref, made)  # pinned by digest: none (the registry's image)
        # a moving tag two versions of one image share (`same:1`) names the newest one's
        # image, which alone gets it (_newest_keeps_shared_tags)
        newest = shared_tags.keeper(makers, _claims({m: targets[m] for m in makers})) if len(makers) > 1 else None
        if newest is not None:
            makers = [newest]
        if len(makers) > 1:
            first, second = (targets[m].spec for m in makers[:2])
            raise SpecError(f"{use.ref} is built by both {first} and {second}: which one {target.spec} builds on "
                            "is ambiguous", location=use.location,
                            hint="give each spec its own name or version (its tags), or build FROM a tag only one has")
        if makers and makers[0] not in found:
            found.append(makers[0])
    return tuple(found)


def _uses_towards(target: Target, parent: Target) -> list[BaseUse]:
    """The `from:`s of ``target`` that name an image ``parent`` builds."""
    made = {links.name(tag) for tag in parent.tags}
    return [use for use in target.bases if links.key(use.ref) in made]


def _use_towards(target: Target, parent: Target) -> BaseUse:
    return _uses_towards(target, parent)[0]


def _refuse_cycle(left: Mapping[str, Target]) -> None:
    """Reported at the `from:` of the chain's first spec, naming the whole chain
    (``a.yaml -> b.yaml``: a builds FROM an image b builds)."""
    chain = links.cycle({name: target.parents for name, target in left.items()})
    files = " -> ".join(str(left[name].spec) for name in chain)
    raise SpecError(f"the specs build FROM each other in a cycle: {files}",
                    location=_use_towards(left[chain[0]], left[chain[1]]).location,
                    hint="X -> Y: X builds FROM an image Y builds; a spec cannot start FROM an image built, "
                         "directly or not, FROM its own: break the chain at one of these `from:`")


def _ordered(targets: Mapping[str, Target]) -> dict[str, Target]:
    """Build order (links.order: the smallest name first among the ready ones)."""
    ordered, left = links.order({name: target.parents for name, target in targets.items()})
    if left:
        _refuse_cycle({name: targets[name] for name in left})
    return {name: targets[name] for name in ordered}


def _refuse_platforms_parents_lack(targets: Mapping[str, Target], made: Mapping[str, list[str]],
                                   native: str | None) -> None:
    """A stage FROM another target's image runs on that image, built in the same run, for
    each platform the stage runs on: the spec's platforms (none listed: the build machine's,
    BuildKit's default, ``native``), or the build machine's alone for a stage that
    cross-compiles. A platform the parent does not build has no image to start from:
    BuildKit would fail after other targets built, or build on the parent's image of another
    platform. Bad input at the `platforms:` that asked for it (the spec's, or its
    configuration's), else at the `from:`."""
    for child in targets.values():
        for use in sorted(child.bases, key=lambda use: not use.key):  # the spec's own stages first
            # the parent it was linked to (of two versions sharing a tag, the newest)
            makers = [m for m in links.makers(use.ref, made) if m in child.parents or m == child.name]
            if not makers or makers[0] == child.name or use.runs == "unused":
                continue
            parent = targets[makers[0]]
            needed = (native,) if use.runs == "build" or not child.platforms else child.platforms
            built = parent.platforms or (native,)
            missing = [platform for platform in needed if platform is not None and platform not in built]
            if missing:
                raise _lacking(child, use, parent, missing, native)


def _lacking(child: Target, use: BaseUse, parent: Target, missing: list[str], native: str | None) -> SpecError:
    lacks = ", ".join(missing)
    if parent.platforms:
        builds = f"its `platforms:` ({parent.platforms_at}) lists {', '.join(parent.platforms)} only"
    else:
        builds = f"it has no `platforms:`, so it builds this machine's platform ({native}) only"
    stage = ("the final stage" if use.key[:1] == ("final",) else f"stage `{use.key[1]}`" if use.key
             else "a helper stage imagespec adds")
    made = f"starts FROM {use.ref}, which {parent.spec} (target {parent.name!r}) builds in this run, but not for " \
           f"{lacks}: {builds}"
    add = f"add {lacks} to the `platforms:` of {parent.spec}"
    if use.runs == "build":
        return SpecError(f"{stage} cross-compiles on this machine's platform ({lacks}) and {made}",
                         location=use.location,
                         hint=f"{add}: a cross-compiling stage runs on the build machine's platform, whatever the "
                              "spec's platforms")
    if not child.platforms:
        return SpecError(f"no `platforms:`: this spec builds for this machine's platform ({lacks}), and {stage} "
                         f"{made}", location=use.location,
                         hint=f"list in this spec's `platforms:` the platforms to build (ones its parent builds), or "
                              f"{add}")
    return SpecError(f"{lacks}: {stage} {made}", location=child.platforms_at,
                     hint=f"{add}, or drop {lacks} from these `platforms:`: each platform's build starts FROM the "
                          "parent's image of that platform (README, \"Building a fleet\")")


def _groups(targets: Mapping[str, Target]) -> dict[str, tuple[str, ...]]:
    """One group per folder (names.group_of) and ``default`` with every target."""
    members: dict[str, list[str]] = {}
    folders: dict[str, Target] = {}  # group name -> a target of the folder it was first named after
    for target in targets.values():
        if target.group is not None:
            _refuse_two_folders(target, folders.setdefault(target.group, target))
            members.setdefault(target.group, []).append(target.name)
    groups: dict[str, tuple[str, ...]] = {names.DEFAULT_GROUP: tuple(sorted(targets))}
    made_of: dict[str, str] = {}  # group name -> the folder group it was named after
    for folder, inside in sorted(members.items()):
        name = folder + names.GROUP_SUFFIX if folder in targets or folder == names.DEFAULT_GROUP else folder
        if name in targets:
            target = targets[name]
            raise SpecError(f"group {name!r} (the folder of {targets[inside[0]].spec}) has the name of target "
                            f"{target.spec}", location=_start(target),
                            hint="rename one of the folders: a group and a target cannot share a name")
        if name in made_of:  # `x/` renamed `x-group` (target x has its name) beside a folder `x-group/`
            first = targets[groups[name][0]]
            raise SpecError(f"group {name!r} would be the group of two folders: that of {first.spec} and that of "
                            f"{targets[inside[0]].spec}", location=_start(targets[inside[0]]),
                            hint="rename one of the folders: each folder's specs are one group")
        made_of[name] = folder
        groups[name] = tuple(sorted(inside))
    return groups


def _refuse_two_folders(target: Target, first: Target) -> None:
    """Two folders whose names give one group name (`Web/` and `web/`, `a/b/` and `a-b/`):
    bake would build both folders' specs under one group, each folder's name for it."""
    if target.path.parent != first.path.parent:
        raise SpecError(f"group {target.group!r} would be the group of two folders: that of {first.spec} and that "
                        f"of {target.spec}", location=_start(target),
                        hint="rename one of the folders: group names come from folder paths (README, \"Fleets\"), "
                             "and each folder's specs are one group")


def _refuse_shared_dockerfiles(targets: Mapping[str, Target]) -> None:
    """Each target its own Dockerfile, as `generate` demands: the bake file names it, and
    two specs of one folder that both leave `dockerfile:` unset would build one of them twice."""
    writers: dict[str, Target] = {}
    for name in sorted(targets):
        target = targets[name]
        path = os.path.normpath(target.dockerfile)
        first = writers.setdefault(path, target)
        if first is not target:
            # said where `dockerfile:` is written (QA: at 1:1, with `b/../a/Dockerfile`)
            written = [t for t in (target, first) if ("dockerfile",) in t.compiled.loaded.document.locations]
            blamed, other = (written[0], first if written[0] is target else target) if written else (target, first)
            raise SpecError(f"{blamed.spec} and {other.spec} both write {path}",
                            location=blamed.compiled.loaded.document.location(("dockerfile",)),
                            hint="give each spec its own `dockerfile:` (and `context:`)")


def _refuse_shared_versions(targets: Mapping[str, Target]) -> None:
    """Two specs of one fleet may share moving tags (``:1``, ``:latest`` of two versions of
    an image), never an X.Y.Z one: BP14 says it names one image, and the second build would
    move it (a spec copied beside its original, name and version unchanged)."""
    owner: dict[str, Target] = {}
    for name in sorted(targets):
        target = targets[name]
        for tag in target.tags:
            try:
                parsed = grammar.parse(tag)
            except grammar.Invalid:
                continue
            if parsed.tag is None or not grammar.is_immutable_tag(parsed.tag):
                continue
            first = owner.setdefault(links.name(tag), target)
            if first is not target:
                raise SpecError(f"{target.spec} and {first.spec} both tag {tag}: an X.Y.Z tag names one image "
                                "(BP14)", location=target.tags_at,
                                hint="give each spec its own name or version, or build one of them in a run of its own")


def _refuse_second_user(targets: Mapping[str, Target]) -> None:
    """An app whose final stage starts FROM another spec's image and makes its non-root
    user (BP8) would add a user that image already has (imagespec made it there): groupadd
    and useradd refuse a name or ID that exists, so the build would fail at that step.
    Said before anything builds, at the app's `final.from`."""
    for target in targets.values():
        mine = target.runs_as
        if mine is None or not mine.makes:
            continue
        for parent_name in target.parents:
            parent, theirs = targets[parent_name], targets[parent_name].runs_as
            # the final stage's base, not a build stage's that names the same spec's image
            use = next((u for u in _uses_towards(target, parent) if u.key == ("final", "from")), None)
            if use is None or theirs is None or (mine.uid != theirs.uid and mine.name != theirs.name):
                continue
            raise SpecError(f"{use.ref} already has the user {theirs.name} ({theirs.uid}): {parent.spec} makes it "
                            "there, and this spec's final stage would make its user again (groupadd and useradd "
                            "refuse a name or ID that exists)", location=use.location,
                            hint=f"say the base has it: `user: {theirs.uid}` in this `from:` (the app then runs "
                                 f"as {theirs.uid} with no useradd step, BP8)"
                                 + ("" if mine.uid == theirs.uid else ", or give this spec's `user:` another name"))


def _start(target: Target) -> Location:
    return Location(str(target.spec), 1, 1)


def link(root: Path, targets: Mapping[str, Target], *, native: str | None = None) -> Fleet:
    """The fleet of ``targets`` with each one's parents, in build order, with its groups.
    ``native``: the build machine's platform, what a target without `platforms:` builds."""
    if names.DEFAULT_GROUP in targets:
        raise SpecError(f"{targets[names.DEFAULT_GROUP].spec} would be target {names.DEFAULT_GROUP!r}, bake's "
                        "default group", location=_start(targets[names.DEFAULT_GROUP]),
                        hint="rename its folder (or the spec file)")
    # before the parents: two specs tagging one X.Y.Z also make a FROM of it ambiguous, and
    # the clash is the cause to say (QA: only the ambiguity was said, at the third spec)
    _refuse_shared_versions(targets)
    made = links.producers({name: target.tags for name, target in targets.items()})
    linked = {name: t.with_parents(_parents(t, made, targets)) for name, t in targets.items()}
    ordered = _ordered(linked)
    _refuse_shared_dockerfiles(ordered)
    _refuse_second_user(ordered)
    _refuse_platforms_parents_lack(ordered, made, native)
    return Fleet(root, _newest_keeps_shared_tags(ordered), _groups(ordered))


def _claims(targets: Mapping[str, Target]) -> dict[str, shared_tags.Claim]:
    return {name: shared_tags.Claim(t.tags, t.version, t.tags_at) for name, t in targets.items()}


def _newest_keeps_shared_tags(targets: Mapping[str, Target]) -> dict[str, Target]:
    """Two versions of one image in the fleet: the moving tags they share stay on the newest
    (fleet.shared_tags, BP14), in the bake file and in the build alike. After the graph is
    linked: a FROM that names a shared tag builds on the newest one (_parents)."""
    lost = shared_tags.withheld(_claims(targets))
    return {name: t.without_tags(lost[name]) if lost[name] else t for name, t in targets.items()}


__all__ = ["link"]
