"""Fixtures for the compiler tests: no engine, no network, no mocks.

IMAGESPEC_UPDATE_GOLDEN=1 makes every golden comparison (golden/*, examples/*,
invalid/*.err) rewrite the expected file instead of failing; review reads the diff.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import Phase, settings

UPDATE_GOLDEN = os.environ.get("IMAGESPEC_UPDATE_GOLDEN") == "1"


@pytest.fixture(autouse=True)
def _no_outside_config(monkeypatch: pytest.MonkeyPatch) -> None:
    # a developer's IMAGESPEC_CONFIG would repoint every image and fail the goldens
    monkeypatch.delenv("IMAGESPEC_CONFIG", raising=False)


@pytest.fixture
def golden() -> Callable[..., None]:
    """golden(path, actual): actual must equal the file's bytes, or (update mode) becomes
    them. create=False: update mode rewrites the file but never creates it (an example's
    first Dockerfile is written by `imagespec generate`, not by a test run)."""

    def check(path: Path, actual: str, *, create: bool = True) -> None:
        if UPDATE_GOLDEN and (create or path.exists()):
            if not path.exists() or path.read_bytes() != actual.encode("utf-8"):
                path.write_bytes(actual.encode("utf-8"))
            return
        assert path.exists(), f"{path} is missing; run IMAGESPEC_UPDATE_GOLDEN=1 pytest tests/compiler"
        expected = path.read_bytes().decode("utf-8")
        assert actual == expected, f"{path} differs (IMAGESPEC_UPDATE_GOLDEN=1 rewrites it; review the diff)"

    return check


# `pytest --hypothesis-profile=no-shrink` reports a failing example at once, unshrunk:
# shrinking a whole random spec can take minutes while a fix is being tried.
settings.register_profile("no-shrink", phases=[Phase.explicit, Phase.reuse, Phase.generate])
