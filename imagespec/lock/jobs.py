"""The lock jobs: ``lock`` (pin what is not pinned yet), ``lock --update`` (move pins),
``lock --check`` (is each lock the spec's, with no network) and ``outdated`` (which specs a
moved base makes stale). Each returns values; printing and exit codes are the CLI's.

Everything is looked up before anything is written: a registry that does not answer
(exit 3) or an image that does not exist (exit 2, at the spec line naming it) leaves every
lock file as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from imagespec.errors import SpecError
from imagespec.fleet import links
from imagespec.lock.bases import BaseUse, bases_of, catalog_digest
from imagespec.lock.file import LOCK_FORMAT, LockedBase, LockFile, read_lock, render_lock
from imagespec.lock.resolve import Resolver, pinned_by_spec, with_digest
from imagespec.notes import OnNote, ignore

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.compiler import Compiled
    from imagespec.sbom import SbomDiff
    from imagespec.spec.config import Config

_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_age(text: str) -> timedelta:
    """``3d``, ``12h``, ``1w2d``, ``90m``, ``45s``: --min-age's durations."""
    match = _DURATION.fullmatch(text)
    if not text or match is None or not any(match.groups()):
        raise SpecError(f"--min-age {text!r} is not a duration", hint="write e.g. 3d, 12h, 1w2d, 90m or 45s")
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    try:
        return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:  # more days than a clock holds (timedelta's limit: 999,999,999)
        raise SpecError(f"--min-age {text!r} is not a duration: longer than any clock counts",
                        hint="write e.g. 3d, 12h, 1w2d, 90m or 45s") from None


def parse_created(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def age_text(created: str | None, now: datetime) -> str | None:
    when = parse_created(created)
    if when is None:
        return None
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class _Spec:
    path: Path
    name: str  # as shown: the spec's file
    compiled: Compiled  # without the lock: the references as the spec and catalog write them
    config: Config
    uses: tuple[BaseUse, ...]
    lock_path: Path
    lock: LockFile | None


def _load(specs: Sequence[Path], config: Path | None, on_note: OnNote) -> list[_Spec]:
    """The specs ``specs`` name (files, and folders searched as the fleet searches them)."""
    from imagespec import jobs
    from imagespec.fleet import discover

    loaded = []
    # a spec named twice (a glob and its file) is one spec: one lock, one line of the report
    for path in dict.fromkeys(p.resolve() for p in discover(specs, on_note)):
        compiled, cfg = jobs.compile_one(path, config, locked=False)
        lock_path = compiled.loaded.lock_path
        assert lock_path is not None
        loaded.append(_Spec(path, compiled.loaded.document.file, compiled, cfg, tuple(bases_of(compiled)),
                            lock_path, read_lock(lock_path)))
    return loaded


# --- lock, lock --update ----------------------------------------------------------------

@dataclass(frozen=True)
class Move:
    """One base's pin in one spec's lock, before and after."""

    spec: str
    image: str
    old: str | None  # None: newly locked
    new: str
    created: str | None
    skipped: str | None = None  # why the pin stayed (--min-age)
    # the spec of this run that builds this base and is itself to be rebuilt: the pin stays
    # until the fleet build pushes that spec's image, and then moves to what it pushed
    waits_for: str | None = None

    @property
    def moved(self) -> bool:
        """Whether the lock's pin changed (a skipped or waiting one stays)."""
        return self.old != self.new and self.skipped is None and self.waits_for is None


@dataclass(frozen=True)
class LockReport:
    written: tuple[Path, ...]  # lock files whose text changed
    unchanged: tuple[Path, ...]
    moves: tuple[Move, ...]
    requests: int  # registry requests made
    rebuild: tuple[str, ...] = ()  # specs to rebuild, in an order where bases come first
    # (image, old, new) -> the packages that changed, from the SBOMs (with packages=True)
    packages: Mapping[tuple[str, str, str], SbomDiff] = field(default_factory=dict)

    def lines(self) -> list[str]:
        from imagespec.lock.report import lock_lines

        return lock_lines(self)

    def to_dict(self) -> dict[str, object]:
        from imagespec.lock.report import lock_json

        return lock_json(self)


def lock(specs: Sequence[Path], *, config: Path | None = None, update: bool = False,
         names: Sequence[str] = (), min_age: timedelta | None = None, now: datetime | None = None,
         packages: bool = False, follow: Mapping[str, str] | None = None, resolver: Resolver | None = None,
         on_note: OnNote = ignore) -> LockReport:
    """Write each spec's lock file. Without ``update`` a base already locked keeps its pin
    (only new bases are looked up); with it, the bases ``names`` names (all when empty) are
    looked up again and move, unless republished within ``min_age``, or unless another spec
    given builds that base and is itself to be rebuilt (its pin waits for the fleet build,
    which moves it once that image is pushed: the cascade, in one run). ``follow``: image
    name (``links.name``) -> the digest this run pushed under it; only those pins move, to
    exactly that digest (the fleet build, after pushing a spec's image, moves the specs on
    it). ``packages``: compare the SBOMs of each moved base's old and new image (pulls both;
    before anything is written)."""
    from imagespec.output import write_atomically

    now = now or datetime.now(UTC)
    resolver = resolver or Resolver()
    loaded = _load(specs, config, on_note)
    if names:
        _refuse_unknown_names(loaded, names)
    made = links.producers(_tags(loaded))
    up = _upstream(loaded, made)
    files: dict[Path, str] = {}
    moves: list[Move] = []
    stale: set[str] = set()  # specs of this run to rebuild, decided in build order (producers first)
    by_name = {spec.name: spec for spec in loaded}
    ordered, in_cycle = links.order(up)
    for spec in (by_name[name] for name in ordered + in_cycle):
        locked = []
        for use in spec.uses:
            producer = _producer(spec, use, made) if update and follow is None else None
            if follow is not None:
                entry, move = _follow_base(spec, use, resolver, follow.get(links.name(use.image)))
            elif producer in stale:  # its image is rebuilt first: the fleet build moves this pin
                entry, move = _wait_for(spec, use, producer, resolver)
            else:
                entry, move = _lock_base(spec, use, resolver, update and _named(use, names), min_age, now)
            locked.append(entry)
            moves += [move] if move is not None else []
        if _rebuilds(spec.name, moves) or up.get(spec.name, set()) & stale:
            stale.add(spec.name)
        lock_file = LockFile(lock=LOCK_FORMAT, spec=spec.path.name, inputs=spec.compiled.lock_inputs,
                             bases=locked)
        files[spec.lock_path] = render_lock(lock_file, generator="imagespec lock")
    files = {spec.lock_path: files[spec.lock_path] for spec in loaded}  # in the order given
    changes = {}
    if packages:
        from imagespec.lock.packages import package_changes

        changes = package_changes(moves, on_note)
    changed = write_atomically(files)
    moved_specs = {m.spec for m in moves if _rebuilds(m.spec, (m,))}
    # a spec whose pin moved needs a rebuild, and so does every spec built on its image
    # (whose pin the fleet build moves once that image is pushed)
    rebuild_set = links.descendants(moved_specs, up)
    ordered, in_cycle = links.order({spec: up.get(spec, set()) for spec in rebuild_set})
    rebuild = tuple(ordered + in_cycle)  # a cycle of tags is not the lock's to refuse: those last
    given = {spec.name: index for index, spec in enumerate(loaded)}
    return LockReport(tuple(p for p in files if p in changed), tuple(p for p in files if p not in changed),
                      tuple(sorted(moves, key=lambda m: given[m.spec])), resolver.requests, rebuild, changes)


def _rebuilds(spec: str, moves: Sequence[Move]) -> bool:
    """Whether ``moves`` make ``spec``'s image stale: a pin moved (not a new one), or waits."""
    return any(m.spec == spec and ((m.moved and m.old is not None) or m.waits_for) for m in moves)


def _producer(spec: _Spec, use: BaseUse, made: Mapping[str, list[str]]) -> str | None:
    """The spec of this run whose tags make the image ``use`` names (None: none does)."""
    found = [maker for maker in links.makers(use.image, made, follow_pinned=True) if maker != spec.name]
    return found[0] if found else None


def _wait_for(spec: _Spec, use: BaseUse, producer: str, resolver: Resolver) -> tuple[LockedBase, Move | None]:
    """A base that ``producer`` (a spec of this run, to be rebuilt) makes: the pin stays as it
    is, or is looked up when new, until the fleet build pushes that spec's image."""
    entry, move = _lock_base(spec, use, resolver, False, None, datetime.now(UTC))
    if move is not None:  # newly locked: the image as it is now, moved by the build later
        return entry, move
    return entry, Move(spec.name, use.image, entry.digest, entry.digest, entry.created, waits_for=producer)


def _follow_base(spec: _Spec, use: BaseUse, resolver: Resolver, pushed: str | None) -> tuple[LockedBase, Move | None]:
    """The pin of a base this run pushed moves to the digest pushed; any other stays."""
    old = spec.lock.base(use.image) if spec.lock else None
    if pushed is None or (old is not None and old.digest == pushed):
        return _lock_base(spec, use, resolver, False, None, datetime.now(UTC))
    found = resolver.resolve(with_digest(use.image, pushed))
    if found is None:
        raise SpecError(f"image {use.image} was pushed as {pushed}, which its registry does not have",
                        location=use.location, hint="push it again (`imagespec build --push`)")
    entry = LockedBase(image=use.image, digest=found.digest, media_type=found.media_type, created=found.created,
                       platforms=dict(found.platforms), used_by=list(use.keys), catalog=use.catalog)
    return entry, Move(spec.name, use.image, old.digest if old else None, found.digest, found.created)


def _names_of(use: BaseUse) -> tuple[str, ...]:
    """What --base may call a base: the reference, its catalog name, its repository (as
    written, or as BuildKit names it)."""
    names = (use.image, use.catalog, links.name(use.image).rpartition(":")[0], use.image.rpartition(":")[0])
    return tuple(name for name in names if name)


def _named(use: BaseUse, names: Sequence[str]) -> bool:
    return not names or any(name in _names_of(use) for name in names)


def _refuse_unknown_names(loaded: list[_Spec], names: Sequence[str]) -> None:
    """Each --base NAME must name a base of the specs given: a typo moves nothing, and says so (exit 2)."""
    import difflib

    for name in names:
        if not any(_named(use, (name,)) for spec in loaded for use in spec.uses):
            known = sorted({use.catalog or use.image for spec in loaded for use in spec.uses})
            spellings = sorted({word for spec in loaded for use in spec.uses for word in _names_of(use)})
            close = difflib.get_close_matches(name, spellings, n=1, cutoff=0.6)
            guess = f"did you mean {close[0]}? " if close else ""
            raise SpecError(f"lock --update --base {name}: no spec given builds from it",
                            hint=f"{guess}name a base as the lock writes it, its repository or its catalog name: "
                                 f"{', '.join(known) or 'none'}")


def _lock_base(spec: _Spec, use: BaseUse, resolver: Resolver, update: bool, min_age: timedelta | None,
               now: datetime) -> tuple[LockedBase, Move | None]:
    old = spec.lock.base(use.image) if spec.lock else None
    if old is not None and not update:
        return old.model_copy(update={"used_by": list(use.keys), "catalog": use.catalog}), None
    found = None
    if old is None and not pinned_by_spec(use.image):
        # the catalog's digest, where it records one, is what the fleet built: pin that; an
        # image ID (a base never pushed) is no registry digest, and the tag is looked up instead
        recorded = catalog_digest(spec.compiled, use.catalog, spec.config.catalog)
        if recorded:
            found = resolver.resolve(with_digest(use.image, recorded))
    found = found or resolver.resolve(use.image)
    if found is None:
        raise SpecError(f"image {use.image} does not exist in its registry", location=use.location,
                        hint="check the name and tag (`docker buildx imagetools inspect IMAGE`), or push it first")
    entry = LockedBase(image=use.image, digest=found.digest, media_type=found.media_type, created=found.created,
                       platforms=dict(found.platforms), used_by=list(use.keys), catalog=use.catalog)
    if old is not None and old.digest != found.digest and min_age is not None:
        published = parse_created(found.created)
        if published is not None and now - published < min_age:
            kept = old.model_copy(update={"used_by": list(use.keys), "catalog": use.catalog})
            return kept, Move(spec.name, use.image, old.digest, found.digest, found.created,
                              skipped=f"republished {age_text(found.created, now)} ago, under --min-age")
    return entry, Move(spec.name, use.image, old.digest if old else None, found.digest, found.created)


def _tags(loaded: list[_Spec]) -> dict[str, tuple[str, ...]]:
    """Each spec -> the references its build tags (the fleet's producers)."""
    from imagespec import pipeline
    from imagespec.build_settings import BuildSettings

    produced: dict[str, tuple[str, ...]] = {}
    for spec in loaded:
        try:
            produced[spec.name] = pipeline.references(spec.compiled, BuildSettings())
        except SpecError:  # a spec that would get no tag: no other spec can build on it by name
            produced[spec.name] = ()
    return produced


def _upstream(loaded: list[_Spec], made: Mapping[str, list[str]] | None = None) -> dict[str, set[str]]:
    """spec -> the specs of this run whose images it is locked on (fleet.links, following a
    pinned reference: a locked spec still builds on the spec whose tag it was locked on).
    Two specs tagging one image: the first given is the one (the fleet refuses it; a lock need not)."""
    made = links.producers(_tags(loaded)) if made is None else made
    return {spec.name: {producer for use in spec.uses if (producer := _producer(spec, use, made)) is not None}
            for spec in loaded}


# --- lock --check -------------------------------------------------------------------------

@dataclass(frozen=True)
class LockProblem:
    spec: str
    lock: str
    reason: str

    def __str__(self) -> str:
        return f"{self.lock}: {self.reason}"


def check_locks(specs: Sequence[Path], *, config: Path | None = None, required: bool = True,
                on_note: OnNote = ignore) -> list[LockProblem]:
    """Each spec's lock against the spec, without the network: missing (when ``required``),
    made for other inputs, or missing a base the spec now builds from."""
    return [problem for spec in _load(specs, config, on_note) for problem in _problems(spec, required)]


def _problems(spec: _Spec, required: bool) -> list[LockProblem]:
    where = str(spec.lock_path)
    if spec.lock is None:
        return [LockProblem(spec.name, where, "no lock file: run `imagespec lock`")] if required else []
    problems = []
    inputs = spec.compiled.lock_inputs
    if spec.lock.inputs != inputs:
        problems.append(LockProblem(spec.name, where, f"made for other inputs ({spec.lock.inputs}, the spec's are "
                                    f"{inputs}): run `imagespec lock`"))
    wanted = {use.image for use in spec.uses}
    locked = {base.image for base in spec.lock.bases}
    for image in sorted(wanted - locked):
        problems.append(LockProblem(spec.name, where, f"{image} is not locked: run `imagespec lock`"))
    for image in sorted(locked - wanted):
        problems.append(LockProblem(spec.name, where, f"{image} is locked but the spec no longer uses it: "
                                    "run `imagespec lock`"))
    return problems


# --- outdated -------------------------------------------------------------------------------

@dataclass(frozen=True)
class MovedBase:
    image: str
    old: str
    new: str
    locked_created: str | None  # when the locked image was made
    age: str | None  # how old the locked image is
    specs: tuple[str, ...]  # specs locked on it directly
    affected: int  # specs it makes stale, downstream ones included


@dataclass(frozen=True)
class StaleSpec:
    spec: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Outdated:
    specs: int
    bases: int  # distinct bases looked up
    requests: int
    moved: tuple[MovedBase, ...]
    stale: tuple[StaleSpec, ...]
    missing: tuple[str, ...] = field(default=())  # specs without a lock

    @property
    def ok(self) -> bool:
        return not self.stale

    def lines(self) -> list[str]:
        from imagespec.lock.report import outdated_lines

        return outdated_lines(self)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok, "specs": self.specs, "bases": self.bases, "requests": self.requests,
            "moved": [vars(m) | {"specs": list(m.specs)} for m in self.moved],
            "stale": [{"spec": s.spec, "reasons": list(s.reasons)} for s in self.stale],
            "missing": list(self.missing),
        }


def outdated(specs: Sequence[Path], *, config: Path | None = None, now: datetime | None = None,
             resolver: Resolver | None = None, on_note: OnNote = ignore) -> Outdated:
    """Each lock against the registry now: one HEAD per distinct base across all specs. A
    spec built on a stale one's image is stale too, whatever made that one stale."""
    now = now or datetime.now(UTC)
    resolver = resolver or Resolver()
    loaded = _load(specs, config, on_note)
    locked: dict[str, list[tuple[_Spec, LockedBase]]] = {}
    reasons: dict[str, list[str]] = {}
    causes: dict[str, list[str]] = {}  # a spec stale on its own -> why, for the specs built on it

    def on_its_own(spec: _Spec, reason: str, cause: str) -> None:
        reasons.setdefault(spec.name, []).append(reason)
        causes.setdefault(spec.name, []).append(cause)

    for spec in loaded:
        if spec.lock is None:
            on_its_own(spec, "no lock file: run `imagespec lock`", "no lock file")
            continue
        for problem in _problems(spec, required=False):
            on_its_own(spec, f"the lock is stale: {problem.reason}", "its lock is stale")
        for base in spec.lock.bases:
            locked.setdefault(base.image, []).append((spec, base))
    looked_up = [image for image in sorted(locked) if not pinned_by_spec(image)]
    moved_roots: dict[str, tuple[str, str, str]] = {}  # image -> (old, new, created)
    direct: dict[str, list[str]] = {}
    for image in looked_up:
        now_digest = resolver.digest_now(image)
        for spec, base in locked[image]:
            if now_digest is None:
                gone = f"{image} no longer exists in its registry"
                on_its_own(spec, gone, gone)
            elif now_digest != base.digest:
                moved_roots.setdefault(image, (base.digest, now_digest, base.created or ""))
                direct.setdefault(image, []).append(spec.name)
                on_its_own(spec, f"{image} moved: {base.digest} -> {now_digest}", f"{image} moved")
    up = _upstream(loaded)
    passed_on: set[tuple[str, str]] = set()  # (spec, cause): one chain each, from the first root by name
    for root, why in sorted(causes.items()):
        for spec_name, chain in links.descendants([root], up).items():
            for cause in why if len(chain) > 1 else ():
                if (spec_name, cause) not in passed_on:
                    passed_on.add((spec_name, cause))
                    reasons.setdefault(spec_name, []).append(
                        f"builds on {' -> '.join(chain[:-1])}, which is stale ({cause})")
    affected_by = {image: links.descendants(spec_names, up) for image, spec_names in direct.items()}
    moved = tuple(MovedBase(image, old, new, created or None, age_text(created or None, now),
                            tuple(sorted(direct[image])), len(affected_by[image]))
                  for image, (old, new, created) in sorted(moved_roots.items()))
    stale = tuple(StaleSpec(name, tuple(dict.fromkeys(found))) for name, found in sorted(reasons.items()))
    return Outdated(len(loaded), len(looked_up), resolver.requests, moved, stale,
                    tuple(sorted(s.name for s in loaded if s.lock is None)))
