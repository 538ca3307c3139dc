#!/usr/bin/env bash
# The local base images the tests, the examples and the benchmarks build on, made by
# imagespec itself (`imagespec base build`, issue 5) from the base specs in bases/ and
# Debian's archive only: nothing can be pulled on these machines (no Docker Hub).
#
#   scripts/make-bases.sh                          # every base in bases/
#   scripts/make-bases.sh debian-slim go-build     # only these (and their catalog entries)
#   FORCE=1 scripts/make-bases.sh static           # rebuild without any cache
#
# Writes bases/catalog.local.yaml, which scripts/local-config.yaml names, so every
# `from: go-build`, `from: static`, ... of the examples resolves to what was built here.
# A bootstrap base (debian-slim) whose inputs did not change is not rebuilt; Dockerfile
# bases reuse BuildKit's cache. Bootstrap logs: /var/log/imagespec-bases/NAME.log.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

timeout 15 docker info >/dev/null 2>&1 || imagespec_die "the engine does not answer 'docker info'; run scripts/setup-engine.sh first"
command -v mmdebstrap >/dev/null || imagespec_die "mmdebstrap is missing; run scripts/setup-engine.sh first"
imagespec_venv

declare -a bases=()
for name in "$@"; do
  [[ -f bases/$name.yaml ]] || imagespec_die "no base spec bases/$name.yaml; choose from: $(cd bases && ls -- *.yaml | sed 's/\.yaml$//' | grep -v '^catalog' | tr '\n' ' ')"
  bases+=("bases/$name.yaml")
done
((${#bases[@]})) || bases=(bases/)
declare -a force=()
[[ ${FORCE:-0} == 1 ]] && force=(--force)

.venv/bin/imagespec base build "${bases[@]}" "${force[@]}" --progress plain \
  --config scripts/local-config.yaml --catalog bases/catalog.local.yaml
