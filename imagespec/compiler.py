"""load -> lower -> passes -> render: the one entry point of the compiler.

Pure given its inputs (a LoadedSpec and a Config): the same inputs give the same
bytes on every machine. May import errors, spec, plan and render.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from pydantic import ValidationError

from imagespec.errors import PolicyError, SpecError, SpecPathError
from imagespec.plan.policy import check_policies
from imagespec.spec.extends import merge_policies
from imagespec.spec.model import Policies
from imagespec.plan.lower import lower
from imagespec.plan.frozen import frozen
from imagespec.plan.model import Plan
from imagespec.plan.passes import run_passes
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
    inputs_hash: str

    def line_map(self) -> LineMap:
        """Each Dockerfile line's spec origin (render/line_map.py): made when asked (a
        failed build), so compiling pays nothing for it, not even the import."""
        from imagespec.render.line_map import line_map

        return line_map(self.plan, self.dockerfile)


def inputs_hash(loaded: LoadedSpec, plan: Plan) -> str:
    """Hash of what determines the output: the validated spec and the resolved bases."""
    spec = loaded.spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if plan.platforms:
        # the configuration's default counts as much as the spec's own
        spec["platforms"] = list(plan.platforms)
    else:
        # `cross_compile` changes nothing without platforms: a preset declaring it leaves
        # every single-platform Dockerfile (and its header) as it was
        for stage in spec.get("stages", {}).values():
            stage.pop("cross_compile", None)
    payload = {
        "format": OUTPUT_FORMAT,
        # without defaults: adding an optional field to the format must not change every hash
        "spec": spec,
        "bases": [[s.name, s.base.ref, s.base.family] for s in plan.stages],
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"sha256:{digest[:16]}"


def compile_spec(loaded: LoadedSpec, config: Config, *, source: str | None = None) -> Compiled:
    """`source`: the spec's name in the Dockerfile's header; by default relative to the
    spec's own `dockerfile`, so the text is the same on every machine."""
    try:
        plan = run_passes(lower(loaded.spec, config.catalog, own_files=loaded.own_files,
                                platforms=tuple(config.build.platforms or ())))
        digest = inputs_hash(loaded, plan)
        source = source or loaded.display_name()
        dockerfile = render_dockerfile(plan, source=source, inputs_hash=digest)
        # the ignore file is the context's .dockerignore or <Dockerfile>.dockerignore beside it
        # (a spec given as text has neither: its name is all there is, and no path is resolved)
        ignore_source = loaded.display_name(loaded.dockerignore_path.parent) if loaded.path else source
        dockerignore = render_dockerignore(plan, source=ignore_source)
    except SpecPathError as exc:
        raise SpecError(exc.message, location=loaded.document.origin(exc.path), hint=exc.hint) from None
    enforce_policies(loaded, config, plan)
    return Compiled(loaded, plan, dockerfile, dockerignore, digest)


def effective_policies(loaded: LoadedSpec, config: Config) -> Policies:
    """The spec's (and its templates') policies plus the configuration's: rules only add up."""
    if not config.policies:
        # nothing to add: the spec's own policies were validated with the spec
        return loaded.spec.policies
    merged = merge_policies(config.policies, loaded.spec.policies.model_dump(exclude_defaults=True))
    try:
        return Policies.model_validate(merged)
    except ValidationError as exc:
        where = config.document.location(("policies",)) if config.document else None
        raise SpecError(f"invalid policies: {exc.errors()[0]['msg']}", location=where) from None


def enforce_policies(loaded: LoadedSpec, config: Config, plan: Plan) -> None:
    """A violation is a compile error at the breaking spec line, naming the rule and
    where the rule was written (a template or the configuration) (BP15)."""
    policies = effective_policies(loaded, config)
    spec = loaded.spec
    packages = tuple(spec.final.packages if isinstance(spec.final.packages, list) else spec.final.packages)
    violations = check_policies(plan, policies, packages)
    if not violations:
        return
    first = violations[0]
    rule_path = ("policies", first.rule)
    if rule_path in loaded.document.locations:
        defined = loaded.document.locations[rule_path]
    elif config.document is not None:
        defined = config.document.location(rule_path)
    else:
        defined = None
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    raise PolicyError(f"{first.message}: policy `{first.rule}`" + (f" set at {defined}" if defined else "") + more,
                      location=loaded.document.location(first.path),
                      hint="change the spec to follow the rule; rules from a template cannot be switched off")
