"""imagespec: compile short YAML image specs into best-practice Dockerfiles, then
build, tag, verify and push the images on a real engine.

The public API: one orchestrator per job (``generate``, ``check``, ``build``, ``test``,
``base_build``, ``base_check``; docs/api.md), the loaders and the compiler beneath them,
and the error tree. Names load on first use (PEP 562), so importing any part of the
package, as `imagespec generate` does, pays only for the modules it needs.

May import: every part but the CLI (lazily: each name's module on first use).
"""

from __future__ import annotations

import importlib as _importlib

# where each exported name lives
_EXPORTS = {
    "imagespec.bases": ("BaseOptions", "build_bases"),
    "imagespec.compiler": ("Compiled", "compile_spec"),
    # one orchestrator per job (docs/api.md)
    "imagespec.jobs": ("base_build", "base_check", "build", "check", "generate", "test"),
    "imagespec.errors": ("BuildFailed", "CheckFailed", "EngineError", "ImageSpecError", "Interrupted", "Location",
                         "PolicyError", "SourceUnreachable", "SpecError", "TagConflict"),
    "imagespec.spec.read_base": ("load_base",),
    "imagespec.spec.base_model": ("BaseSpec",),
    "imagespec.spec.config": ("Config", "load_config"),
    "imagespec.spec.read_spec": ("LoadedSpec", "load_spec", "load_spec_text"),
    "imagespec.spec.model": ("Final", "Image", "Spec", "Stage"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "BaseOptions",
    "BaseSpec",
    "BuildFailed",
    "CheckFailed",
    "Compiled",
    "Config",
    "EngineError",
    "Final",
    "Image",
    "ImageSpecError",
    "Interrupted",
    "LoadedSpec",
    "Location",
    "PolicyError",
    "SourceUnreachable",
    "Spec",
    "SpecError",
    "Stage",
    "TagConflict",
    "base_build",
    "base_check",
    "build",
    "build_bases",
    "check",
    "compile_spec",
    "generate",
    "load_base",
    "load_config",
    "load_spec",
    "load_spec_text",
    "test",
]


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'imagespec' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
