"""For every test folder: the CLI's result cache (imagespec.cache) lives in this run's
temporary folder, never in the developer's ~/.cache, so no run sees another's entries."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_result_cache(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as patch:  # subprocesses inherit it too
        patch.setenv("IMAGESPEC_CACHE_DIR", str(tmp_path_factory.mktemp("result-cache")))
        patch.delenv("IMAGESPEC_NO_CACHE", raising=False)
        yield os.environ["IMAGESPEC_CACHE_DIR"]
