#!/usr/bin/env bash
# The two-platform bases the platform tests build on (tests/platforms/bases/*.yaml:
# static and the busybox `shell`, their arm64 packages unpacked on this machine; `slim`,
# bootstrapped for arm64 under QEMU, and the spec base `probe` on it), made once per
# machine like scripts/make-bases.sh's and pushed to the local registry, which a
# two-platform FROM reads its index from. ~1.5 min the first time (the arm64 bootstrap),
# seconds when every base is up to date. Writes tests/platforms/catalog.local.yaml, which
# tests/platforms/conftest.py names beside bases/catalog.local.yaml.
#
# Was: a session fixture of the tests built them under names of that run: every run of
# the suite paid the arm64 bootstrap again, and `shell` was built three times.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

[[ -f bases/catalog.local.yaml ]] || imagespec_die "bases/catalog.local.yaml is missing; run scripts/make-bases.sh first"
curl -sf --noproxy "*" -o /dev/null --max-time 5 http://127.0.0.1:5000/v2/ \
  || imagespec_die "no registry answers on 127.0.0.1:5000; run scripts/start-registry.sh first"
[[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] \
  || imagespec_die "QEMU is not registered for arm64 (binfmt_misc); run scripts/setup-engine.sh first"
imagespec_venv

.venv/bin/imagespec base build tests/platforms/bases/ --push --progress plain \
  --config scripts/local-config.yaml --catalog tests/platforms/catalog.local.yaml
