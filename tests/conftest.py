"""For every test folder: the CLI's result cache (imagespec.cache) lives in this run's
temporary folder, never in the developer's ~/.cache, so no run sees another's entries;
and under IMAGESPEC_REQUIRE_ENGINE=1 (scripts/test.sh, CI) the run refuses to start when
a tool the suite runs is missing, with one line per tool saying how to install it
(tests/tools.py), instead of dozens of failures or silent skips later."""

from __future__ import annotations

import os

import pytest

from tests import tools


def pytest_sessionstart(session: pytest.Session) -> None:
    if not tools.required():
        return
    absent = tools.missing()
    if absent:
        pytest.exit("required tools are missing (IMAGESPEC_REQUIRE_ENGINE=1):\n  " + "\n  ".join(absent),
                    returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session", autouse=True)
def _private_result_cache(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as patch:  # subprocesses inherit it too
        patch.setenv("IMAGESPEC_CACHE_DIR", str(tmp_path_factory.mktemp("result-cache")))
        patch.delenv("IMAGESPEC_NO_CACHE", raising=False)
        yield os.environ["IMAGESPEC_CACHE_DIR"]
