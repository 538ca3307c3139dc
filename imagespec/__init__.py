"""imagespec: compile short YAML image specs into best-practice Dockerfiles, then
build, tag, verify and push the images on a real engine.

The public API. Heavy modules (the docker SDK, rich) load only when a build or a
table needs them, so `imagespec generate` starts fast.
"""

from __future__ import annotations

from imagespec.compiler import Compiled, compile_spec
from imagespec.errors import (
    BuildFailed,
    CheckFailed,
    EngineError,
    ImageSpecError,
    Interrupted,
    Location,
    PolicyError,
    SpecError,
    TagConflict,
)
from imagespec.spec.config import Config, load_config
from imagespec.spec.load import LoadedSpec, load_spec, load_spec_text
from imagespec.spec.model import Final, Image, Spec, Stage

__all__ = [
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
    "Spec",
    "SpecError",
    "Stage",
    "TagConflict",
    "compile_spec",
    "load_config",
    "load_spec",
    "load_spec_text",
]
