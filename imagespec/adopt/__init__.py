"""Ways into imagespec for a project that has none of it yet: `init` reads the
project's own files and writes its first spec; `import` reads an existing Dockerfile.

May import errors and spec (to compile what it writes before writing it); nothing
imports adopt but the CLI and the public API.
"""

from __future__ import annotations

from imagespec.adopt.import_dockerfile import ImportResult, import_dockerfile
from imagespec.adopt.init_spec import InitOptions, InitResult, init_project

__all__ = ["ImportResult", "InitOptions", "InitResult", "import_dockerfile", "init_project"]
