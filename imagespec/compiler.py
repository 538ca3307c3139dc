"""load -> lower -> passes -> render: the one entry point of the compiler.

Pure given its inputs (a LoadedSpec and a Config): the same inputs give the same
bytes on every machine. May import errors, spec, plan and render.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from imagespec.errors import SpecError, SpecPathError
from imagespec.plan.lower import lower
from imagespec.plan.model import Plan
from imagespec.plan.passes import run_passes
from imagespec.render.dockerfile import render_dockerfile, render_dockerignore
from imagespec.spec.config import Config
from imagespec.spec.load import LoadedSpec

# Bumped when the generated text changes for the same spec, so the header hash
# tells a stale file from one written by an older imagespec.
OUTPUT_FORMAT = 1


@dataclass(frozen=True)
class Compiled:
    loaded: LoadedSpec
    plan: Plan
    dockerfile: str
    dockerignore: str
    inputs_hash: str


def inputs_hash(loaded: LoadedSpec, plan: Plan) -> str:
    """Hash of what determines the output: the validated spec and the resolved bases."""
    payload = {
        "format": OUTPUT_FORMAT,
        "spec": loaded.spec.model_dump(mode="json", by_alias=True),
        "bases": [[s.name, s.base.ref, s.base.family] for s in plan.stages],
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"sha256:{digest[:16]}"


def compile_spec(loaded: LoadedSpec, config: Config, *, source: str | None = None) -> Compiled:
    """`source`: the spec's name in the Dockerfile's header; by default relative to the
    spec's own `dockerfile`, so the text is the same on every machine."""
    try:
        plan = run_passes(lower(loaded.spec, config.catalog))
        digest = inputs_hash(loaded, plan)
        source = source or loaded.display_name()
        dockerfile = render_dockerfile(plan, source=source, inputs_hash=digest)
        # the .dockerignore lives in the context, which need not be the Dockerfile's folder
        dockerignore = render_dockerignore(plan, source=loaded.display_name(loaded.dockerignore_path.parent))
    except SpecPathError as exc:
        raise SpecError(exc.message, location=loaded.document.location(exc.path), hint=exc.hint) from None
    return Compiled(loaded, plan, dockerfile, dockerignore, digest)
