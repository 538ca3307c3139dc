"""Where the files shipped with imagespec are: templates/ (Dockerfile template, presets,
catalog, base hooks), read by spec/, render/, bases/ and the result cache.

May import: nothing of imagespec (the bottom layer).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache  # where the package is installed does not change while it runs
def templates_dir() -> Path:
    """templates/ ships inside the wheel as imagespec/templates; in a checkout it is
    the repository's templates/ folder. (Not noted by spec.files: it is part of the
    installation, and the result cache keys on the installed files instead.)"""
    here = Path(__file__).resolve().parent
    installed = here / "templates"
    return (installed if installed.is_dir() else here.parent / "templates").resolve()
