"""For every test folder: the CLI's result cache (imagespec.cache) lives in this run's
temporary folder, never in the developer's ~/.cache, so no run sees another's entries;
and under IMAGESPEC_REQUIRE_ENGINE=1 (scripts/test.sh, CI) the run refuses to start when
a tool the suite runs is missing, with one line per tool saying how to install it
(tests/tools.py), instead of dozens of failures or silent skips later.

Run in several workers (pytest-xdist, `-n N --dist loadgroup`: scripts/test.sh, CI), each
test goes to the next free worker, except the tests of the ``ONE_WORKER`` files, which
all run in one worker, one after the other; and the files of ``ALONE`` are marked
`alone`, which scripts/test.sh runs after the workers, in one process with nothing else
on the engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import tools

#: Test files that use fixed names on the one engine, so two of them must not run at once:
#: they build examples/ specs (or copies keeping the example's name) under the examples' own
#: tags and remove those tags when done, which would pull the image from under another
#: file's test; or they run `imagespec test --http-port` on a fixed port of the host
#: network (8080, 3000, 8000). Every other file's names are its own (a random run ID, the
#: process ID, a free port). Under xdist these run in one worker, one after the other.
ONE_WORKER = frozenset({
    "tests/adopt/test_init_engine.py",  # `imagespec init` on copies of examples: their names
    "tests/compiler/test_api_docs.py",  # docs/api.md builds examples/go-hello
    "tests/deploy/test_manifest_engine.py",
    "tests/integration/test_examples.py",
    "tests/integration/test_held_out_apps.py",  # ports 3000 and 8000
    "tests/integration/test_read_only_defaults.py",  # port 8080
    "tests/sbom/test_engine_sbom.py",
})

#: Test files whose claims another file's work on the engine can falsify, so under xdist
#: they run after the workers, alone (`-m alone`; scripts/test.sh):
ALONE = frozenset({
    # asserts which steps BuildKit took from its cache; BuildKit runs an identical step of
    # concurrent builds once, so a test elsewhere building the same helper step (the
    # imagespec-rootfs or imagespec-tini stage) with --no-cache made it "run, not cached"
    "tests/integration/test_rebuild_cache.py",
    # counts the steps BuildKit reports cached: a step shared with another build in flight
    # was printed done (plain) and then reported cached, 3 against 4
    "tests/images/test_engine_output.py",
    # Engine 20.10's BuildKit (0.8) dropped a build's connection ("error reading from
    # server: EOF") in both runs beside two or three busy workers, never alone
    "tests/integration/test_engine_floor.py",
})
_ROOT = Path(__file__).resolve().parent.parent


def _path(item: pytest.Item) -> str:
    return Path(item.path).resolve().relative_to(_ROOT).as_posix()


def pytest_itemcollected(item: pytest.Item) -> None:
    """Each test's marks as it is collected: before any pytest_collection_modifyitems, where
    xdist's own (on a worker) turns an xdist_group mark into the node ID's `@GROUP` that
    its scheduler groups by. (Added there, even first, the marks came too late for it: the
    ONE_WORKER files' tests spread over the workers, and their names met on the engine.)"""
    path = _path(item)
    if path in ALONE:
        item.add_marker(pytest.mark.alone)
    if path in ONE_WORKER:
        item.add_marker(pytest.mark.xdist_group("one-worker"))  # read only under --dist loadgroup


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
