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


#: Files run on one pytest-xdist worker together, one after another (scripts/test.sh runs
#: `-n 2 --dist loadgroup`): those that build, tag or remove the examples' own images (their
#: tags come from each example's name and version), rebuild the catalog's bases or list
#: the engine's images or containers as a whole, and the folders whose session fixtures
#: build shared images or start a second engine (built once, not once per worker). Every
#: other file is a group of its own, as with --dist loadfile.
SERIAL_GROUPS = {
    "shared-images": (
        "tests/integration/test_examples.py", "tests/integration/test_engine_floor.py",
        "tests/sbom/test_engine_sbom.py", "tests/sbom/test_documents.py", "tests/deploy/test_manifest_engine.py",
        "tests/images/test_bases_engine.py", "tests/images/test_engine_build.py", "tests/images/test_sbom.py",
        "tests/adopt/test_init_engine.py", "tests/adopt/test_import_engine.py",
    ),
    "fleet": ("tests/fleet/",),
    "platforms": ("tests/platforms/",),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        group = next((name for name, paths in SERIAL_GROUPS.items()
                      if any(path == p or (p.endswith("/") and path.startswith(p)) for p in paths)), path)
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session", autouse=True)
def _private_result_cache(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as patch:  # subprocesses inherit it too
        patch.setenv("IMAGESPEC_CACHE_DIR", str(tmp_path_factory.mktemp("result-cache")))
        patch.delenv("IMAGESPEC_NO_CACHE", raising=False)
        yield os.environ["IMAGESPEC_CACHE_DIR"]
