"""imagespec.jobs: one orchestrator per job — generate, check, build, test, base build, and
every other command's (explain, lint, schema, manifest, init, import, base check, dockerfile,
sbom, bake, lock, outdated) — so that every front end (the CLI, a script, an editor plugin)
calls the same glue instead of copying it.

Role: find the configuration, compile (through the result cache where it applies),
and hand the result to output/ or the engine. Each function returns values; printing,
exit codes and the command line's flags stay in ``imagespec.cli``. One module per family of
jobs: ``compiling`` (the configuration, ``compile_one``, generate, explain, lint, schema,
manifest: every other module builds on it), ``checking`` (check), ``building`` (build, test), ``adopting`` (init,
import), ``bases`` (base images), ``sboms``, ``fleets`` (bake, the fleet build), ``locks``.
Every public name is here too: ``jobs.build``, ``imagespec.build``. (A module is never named
like one of its functions: ``jobs.build`` is the function, not a module it would shadow.)

May import: anything below ``imagespec.cli`` (it sits with ``settings``, ``pipeline`` and
``bases`` at the top); pydantic, YAML, Jinja and the engine only inside functions, so that
``imagespec generate`` answered from the cache stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from imagespec.jobs.compiling import (
    DEFAULT_JOBS,
    MAX_JOBS,
    compile_one,
    config_file,
    configured_builder,
    configured_builder_of,
    dockerfile_text,
    effective,
    explain,
    generate,
    generated,
    image_option,
    lint,
    listed_spec_files,
    manifest,
    note_unread_configs,
    one_spec_for_output,
    schema,
    spec_files,
    specs_only,
)
from imagespec.notes import OnNote

if TYPE_CHECKING:  # pragma: no cover  # the types the command line names as jobs.X
    from imagespec.jobs.fleets import FleetBuilt, bake, bake_by_hand, build_fleet, builder_name, link_specs, select_specs, stale_bake
    from imagespec.engine.backend import ProgressMode as ProgressMode
    from imagespec.jobs.adopting import import_dockerfile, init
    from imagespec.jobs.checking import Checked, Stale, check
    from imagespec.jobs.bases import base_build, base_check, base_dockerfile, base_files, base_sbom
    from imagespec.jobs.building import (
        Built,
        NotPushed,
        build,
        platforms_origin,
        sbom_file_for,
        test,
        test_specs,
        verify_compiled,
        verify_platforms,
    )
    from imagespec.jobs.locks import lock, lock_check, outdated
    from imagespec.jobs.sboms import sbom, sbom_diff
    from imagespec.verify import Report as Report

# The families a cached `generate` never uses are imported on first use (PEP 562):
# `imagespec generate`, answered from the result cache, loads compiling only
_LAZY = {
    **dict.fromkeys(("Checked", "Stale", "check"), "checking"),
    **dict.fromkeys(("import_dockerfile", "init"), "adopting"),
    **dict.fromkeys(("base_build", "base_check", "base_dockerfile", "base_files", "base_sbom"), "bases"),
    **dict.fromkeys(("Built", "NotPushed", "build", "platforms_origin", "sbom_file_for", "test", "test_specs",
                     "verify_compiled", "verify_platforms"), "building"),
    **dict.fromkeys(("FleetBuilt", "bake", "bake_by_hand", "build_fleet", "builder_name", "link_specs", "select_specs", "stale_bake"), "fleets"),
    **dict.fromkeys(("lock", "lock_check", "outdated"), "locks"),
    **dict.fromkeys(("sbom", "sbom_diff"), "sboms"),
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"imagespec.jobs.{_LAZY[name]}"), name)
    globals()[name] = value  # later lookups skip this function
    return value

__all__ = [
    "Built", "Checked", "DEFAULT_JOBS", "FleetBuilt", "MAX_JOBS", "NotPushed", "OnNote", "Stale", "bake", "bake_by_hand", "base_build", "base_check", "base_dockerfile",
    "base_files", "base_sbom", "build", "build_fleet", "builder_name", "check", "compile_one", "config_file",
    "configured_builder", "configured_builder_of", "dockerfile_text", "effective", "explain", "generate", "generated", "image_option",
    "import_dockerfile", "init", "link_specs", "lint", "listed_spec_files", "lock", "lock_check", "manifest", "note_unread_configs",
    "one_spec_for_output", "outdated",
    "platforms_origin", "sbom", "sbom_diff", "sbom_file_for", "schema", "select_specs", "spec_files",
    "specs_only", "stale_bake", "test", "test_specs", "verify_compiled", "verify_platforms",
]
