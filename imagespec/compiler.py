"""load -> lower -> passes -> render: the one entry point of the compiler.

Pure given its inputs (a LoadedSpec and a Config): the same inputs give the same
bytes on every machine. May import errors, spec, plan and render.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from imagespec.errors import Location, PolicyError, PolicyErrors, SpecError, SpecErrors, SpecPathError, raise_together
from imagespec.plan.policy import Violation, check_policies
from imagespec.spec.model import NO_POLICIES, Policies
from imagespec.spec.policy_levels import tighten, written_policies
from imagespec.spec.yaml_source import DataPath, Document
from imagespec.plan.lower import lower
from imagespec.plan.frozen import frozen
from imagespec.plan.model import Plan
from imagespec.plan.passes import run_passes
from imagespec.plan.pin_bases import pin_bases
from imagespec.render.dockerfile import render_dockerfile, render_dockerignore
from imagespec.spec.config import Config
from imagespec.spec.read_spec import LoadedSpec

if TYPE_CHECKING:
    from imagespec.render.line_map import LineMap

# Bumped when the generated text changes for the same spec, so the header hash
# tells a stale file from one written by an older imagespec.
OUTPUT_FORMAT = 1


@frozen  # a frozen dataclass made without object.__setattr__ per field (plan/frozen.py)
class Compiled:
    loaded: LoadedSpec
    plan: Plan
    dockerfile: str
    dockerignore: str
    inputs_hash: str  # of the spec and its bases as built: pinned ones with their digests
    # of the spec and its bases as written, before any lock pinned them: what a lock
    # file records, so that a lock made for another spec (or an older one) is seen as stale
    lock_inputs: str = ""

    @cached_property
    def image_inputs(self) -> str:
        """Of what the image holds (no policies, registry, tags): its provenance label. Made
        when asked (a build), so compiling pays nothing for it."""
        return inputs_hash(self.loaded, self.plan, image_only=True)

    @property
    def bases_pinned(self) -> bool:
        """Every image this one builds from is pinned by digest (by the lock, or written
        `@sha256:` in the spec or the catalog), or there is none (scratch, files of the
        context): what a build starts from is known, so an image recording these inputs
        is one a rebuild would not change (BP13). A spec whose catalog pins every base
        needs no lock for that."""
        return all(stage.base.from_stage or stage.base.ref == "scratch" or "@" in stage.base.ref
                   for stage in self.plan.stages)

    def line_map(self) -> LineMap:
        """Each Dockerfile line's spec origin (render/line_map.py): made when asked (a
        failed build), so compiling pays nothing for it, not even the import."""
        from imagespec.render.line_map import line_map

        return line_map(self.plan, self.dockerfile)


# json.dumps(payload, sort_keys=True, ensure_ascii=False) without a new encoder per hash,
# and without its check for cycles: a payload is a fresh tree of a dump's dicts and lists
_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, check_circular=False)

#: spec keys that decide how an image is checked, named and pushed, not what it holds
_NOT_IN_THE_IMAGE = frozenset({"policies", "registry", "tags"})


def inputs_hash(loaded: LoadedSpec, plan: Plan, *, image_only: bool = False) -> str:
    """Hash of what determines the output: the validated spec and the resolved bases.
    ``image_only``: without the keys that do not change the image (policies, registry, tags),
    for the provenance label `imagespec test` compares: a budget tightened after the build
    is not a different image."""
    return _digest(_dumped(loaded), plan, image_only=image_only)


def _dumped(loaded: LoadedSpec) -> dict[str, Any]:
    # without defaults: adding an optional field to the format must not change every hash
    return loaded.spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def _digest(dumped: dict[str, Any], plan: Plan, *, image_only: bool = False) -> str:
    """inputs_hash of a spec dumped once (compile_spec takes two hashes of it when a lock
    pins a base): `dumped` is read, never changed."""
    spec = {key: value for key, value in dumped.items() if not (image_only and key in _NOT_IN_THE_IMAGE)}
    if plan.platforms:
        # the configuration's default counts as much as the spec's own
        spec["platforms"] = list(plan.platforms)
    elif "stages" in spec:
        # `cross_compile` changes nothing without platforms: a preset declaring it leaves
        # every single-platform Dockerfile (and its header) as it was
        spec["stages"] = {name: {key: value for key, value in stage.items() if key != "cross_compile"}
                          for name, stage in spec["stages"].items()}
    payload = {"format": OUTPUT_FORMAT, "spec": spec,
               "bases": [[s.name, s.base.ref, s.base.family] for s in plan.stages]}
    digest = hashlib.sha256(_JSON.encode(payload).encode()).hexdigest()
    return f"sha256:{digest[:16]}"


def compile_spec(loaded: LoadedSpec, config: Config, *, source: str | None = None,
                 pins: Mapping[str, str] | None = None) -> Compiled:
    """`source`: the spec's name in the Dockerfile's header; by default relative to the
    spec's own `dockerfile`, so the text is the same on every machine. `pins`: base
    reference -> digest, from the spec's lock file (imagespec.lock), read by the caller."""
    try:
        unpinned = run_passes(lower(loaded.spec, config.catalog, own_files=loaded.own_files,
                                    platforms=config.platforms))
        plan = pin_bases(unpinned, pins or {})
        dumped = _dumped(loaded)
        digest = _digest(dumped, plan)
        source = source or loaded.display_name()
        dockerfile = render_dockerfile(plan, source=source, inputs_hash=digest)
        _refuse_long_lines(plan, dockerfile)
        # the ignore file is the context's .dockerignore or <Dockerfile>.dockerignore beside it
        # (a spec given as text has neither: its name is all there is, and no path is resolved)
        ignore_source = loaded.display_name(loaded.dockerignore_path.parent) if loaded.path else source
        dockerignore = render_dockerignore(plan, source=ignore_source)
    except SpecPathError as exc:
        raise _located(loaded, exc) from None
    except SpecErrors as exc:  # several entries of one list, each wrong (final.copy)
        raise SpecErrors([_located(loaded, one) for one in exc.errors], more=exc.more) from None
    enforce_policies(loaded, config, plan)
    return Compiled(loaded, plan, dockerfile, dockerignore, digest,
                    digest if plan is unpinned else _digest(dumped, unpinned))


#: BuildKit's Dockerfile reader refuses a longer line ("dockerfile line greater than max
#: allowed size of 65535"); spec.values holds each value to a quarter of it, but escaping
#: (JSON's \u005c for a backslash) and a script's lines joined into one exec-form RUN can
#: still pass it (QA): checked on the text itself, at the spec key the line came from
MAX_DOCKERFILE_LINE = 65535


def _refuse_long_lines(plan: Plan, dockerfile: str) -> None:
    if len(dockerfile) <= MAX_DOCKERFILE_LINE // 4:  # no line can be too long, whatever its characters
        return
    for number, line in enumerate(dockerfile.split("\n"), 1):
        size = len(line.encode("utf-8", "surrogatepass"))
        if size > MAX_DOCKERFILE_LINE:
            from imagespec.render.line_map import line_map

            origin = line_map(plan, dockerfile).origin_at(number)
            raise SpecPathError(f"this writes a Dockerfile line of {size} bytes (line {number}), and BuildKit refuses "
                                f"a line over {MAX_DOCKERFILE_LINE} bytes: the build would fail on it",
                                path=origin.path if origin else (), hint="ship long content as a file (copied "
                                "from the context) and pass its path; split a long script into several `run` items")


def _located(loaded: LoadedSpec, error: SpecError) -> SpecError:
    """The core's errors are about what a key says (a stage name, a path, a catalog name):
    the spec's document knows where that key's value is."""
    if not isinstance(error, SpecPathError):
        return error
    document = loaded.document
    places = [document.value_origin(path) for path in (error.path, *error.or_at)]
    own = next((place for place in places if place.file == document.file), places[0])
    return SpecError(error.message, location=own, hint=error.hint)


@frozen
class EffectivePolicies:
    """The rules a spec is held to, and where each (each entry of a list) was made as strict as it is."""

    policies: Policies
    places: Mapping[DataPath, Location]

    def set_at(self, rule: DataPath) -> Location | None:
        return self.places.get(rule) or self.places.get(rule[:2])


def effective_policies(loaded: LoadedSpec, config: Config) -> EffectivePolicies:
    """The spec's (and its templates') policies, tightened by the configuration's
    (spec.policy_levels): only what the spec itself writes is held to the configuration's
    rules, a template being written apart from it."""
    written, places = written_policies(loaded.document)
    if not config.policies:
        spec = loaded.spec.policies
        return EffectivePolicies(spec, {} if spec is NO_POLICIES else places)
    # as written (`25MB`, for the messages), each side validated already
    merged, places = tighten(config.rules, config.rules_at, written, places,
                             strict=lambda loc: loc is not None and loc.file == loaded.document.file)
    return EffectivePolicies(Policies.model_validate(merged or {}), places)


def configured_policies(config: Config) -> EffectivePolicies:
    """The configuration's rules alone (its files' tightened: spec.config), for what no spec
    holds: a base image pushed by `imagespec base build --push`."""
    return EffectivePolicies(Policies.model_validate(config.policies), config.rules_at)


def enforce_policies(loaded: LoadedSpec, config: Config, plan: Plan) -> None:
    """Every violation is a compile error at the spec value that breaks the rule, naming the
    rule and where it was written (a template, the configuration or the spec) (BP15);
    they are reported together, in the order of the spec's lines."""
    effective = effective_policies(loaded, config)
    violations = check_policies(plan, effective.policies, loaded.spec)
    errors = [_violation_error(loaded, effective, violation) for violation in violations]
    raise_together(sorted(errors, key=lambda error: error.location or Location("")), together=PolicyErrors)


def _violation_error(loaded: LoadedSpec, effective: EffectivePolicies, violation: Violation) -> PolicyError:
    defined = effective.set_at(violation.rule)
    return PolicyError(f"{violation.message}: policy `{violation.rule[1]}`" + (f" set at {defined}" if defined else ""),
                       location=_in_spec(loaded.document, violation.path) if violation.lacking
                       else loaded.document.origin(violation.path).of_value(),
                       hint=violation.hint or "change the spec to follow the rule (policies only tighten: a spec "
                                              "cannot loosen a rule of its templates or the configuration)")


def _in_spec(document: Document, path: DataPath) -> Location:
    """Where the spec itself writes `path`, or its nearest part the spec writes: what lacks a
    label is the spec, even where a template wrote the rest of its `final`."""
    for end in range(len(path), -1, -1):
        found = document.locations.get(path[:end])
        if found is not None and found.file == document.file:
            return found.of_value()  # a scalar's value (`from: debian-slim`), else the key
    return Location(document.file, 1, 1)
