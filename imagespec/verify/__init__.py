"""imagespec.verify: check a built image against what its spec promises (``imagespec test``).

Role: ``model`` (Expectations in, CheckResult/Report out), ``probe`` (the observations:
image config, file list, one hardened smoke run), ``files`` (the file list's facts, one
tar member at a time, remembered by the image's layers; a build gathers them on its SBOM
scan's pass), ``checks`` (pure functions from
observations to results), ``runner`` (``verify``: gathers and checks), ``build_tools``
(the names of compilers and package managers) and ``structure_test`` (the same
expectations as a container-structure-test config).

May import: the standard library, ``imagespec.errors``, ``imagespec.reference``,
``imagespec.platform``, ``imagespec.verify`` itself and ``imagespec.engine`` (the
connection; whether an image's platform is emulated here); ``docker``/``rich``
only inside functions. Never the compiler, publish, sbom or the CLI.
"""

from __future__ import annotations

from imagespec.verify.model import CheckResult, Expectations, Report
from imagespec.verify.runner import verify
from imagespec.verify.structure_test import to_structure_test_config

__all__ = ["CheckResult", "Expectations", "Report", "to_structure_test_config", "verify"]
