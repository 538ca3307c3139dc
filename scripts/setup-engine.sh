#!/usr/bin/env bash
# Installs and starts the container engine the tests use, plus the tools the base images
# need (mmdebstrap, debootstrap, docker-registry). Idempotent: when `docker info` already
# answers it installs nothing engine-related and starts nothing.
#
# Engine: Debian's own packages, no download from a project site and no registry pull.
#   IMAGESPEC_ENGINE_SUITE=unstable (default): docker.io 28.x, docker-cli 28.x,
#     docker-buildx 0.2x, tini-static from the unstable suite (BuildKit with heredocs,
#     COPY --link/--chmod/--exclude, `docker build --check`, bake `network: host`).
#   IMAGESPEC_ENGINE_SUITE=trixie: the fallback when unstable's packages no longer
#     install on bookworm: docker.io 26.1 + buildx 0.13 (no `--check`, no bake network).
# The .debs are fetched with apt pointed at a temporary source list for that suite on
# the machine's own mirror, then installed with `apt-get install ./*.deb`; their
# dependencies (containerd, runc, iptables) come from the machine's release.
#
# Other platforms' programs (RUN steps of an arm64 stage, an arm64 image's `imagespec test`)
# run under QEMU: Debian's qemu-user-static, registered with the kernel's binfmt_misc
# (mounted when absent) from the package's own /usr/lib/binfmt.d entries, whose `F` flag
# keeps the interpreter usable inside containers. No restart of dockerd is needed.
#
# dockerd runs without bridge networking (no iptables, no docker0): builds use
# `--network host`, containers `--network none`. Log: /var/log/imagespec-dockerd.log,
# PID: /run/imagespec-dockerd.pid.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
. "$(dirname "$0")/lib.sh"

# This script manages the machine's default engine, whatever the caller points at.
unset DOCKER_HOST DOCKER_CONTEXT

SUITE=${IMAGESPEC_ENGINE_SUITE:-unstable}
case $SUITE in
  unstable) MIN_MAJOR=28 PKGS=(docker.io docker-cli docker-buildx tini-static) ;;
  # trixie has no tini-static package; bookworm's tini ships /usr/bin/tini-static.
  trixie) MIN_MAJOR=26 PKGS=(docker.io docker-cli docker-buildx) ;;
  *) imagespec_die "IMAGESPEC_ENGINE_SUITE must be 'unstable' or 'trixie', not '$SUITE'" ;;
esac
LOG=/var/log/imagespec-dockerd.log
PIDFILE=/run/imagespec-dockerd.pid
# dockerd answers only once BuildKit has loaded its cache records: a second on a new
# machine, 65 s measured with a build cache of 61,000 records (13 GB) after weeks of tests
WAIT_SECONDS=${IMAGESPEC_DOCKERD_WAIT:-300}

engine_answers() { timeout 15 docker info >/dev/null 2>&1; }

dockerd_major() {
  command -v dockerd >/dev/null 2>&1 || return 0
  dockerd --version 2>/dev/null | sed -nE 's/^Docker version ([0-9]+)\..*/\1/p'
}

buildx_present() {
  [[ -x /usr/libexec/docker/cli-plugins/docker-buildx ]] && docker buildx version >/dev/null 2>&1
}

engine_ok() {
  local major
  major=$(dockerd_major)
  [[ -n $major ]] && ((major >= MIN_MAJOR)) && buildx_present
}

install_engine() {
  local work t0
  t0=$(imagespec_now)
  work=$(mktemp -d /tmp/imagespec-engine.XXXXXX)
  # EXIT, not RETURN: a failing step ends the script without returning.
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  imagespec_download_debs "$work" "$SUITE" "${PKGS[@]}"
  imagespec_apt_update_once
  local extra=()
  [[ $SUITE == trixie ]] && extra=(tini)
  # The package's maintainer scripts would start docker.service (with a bridge and
  # iptables rules) on a machine whose init runs services. Deny that for the install
  # unless the machine already has its own policy (container images ship one).
  local own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# imagespec setup-engine.sh: temporary, removed after install\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local rc=0
  # --allow-downgrades: the trixie fallback replaces a newer, unusable engine
  (cd "$work/debs" && apt-get install -y -q --no-install-recommends --allow-downgrades \
    ./*.deb "${extra[@]}") || rc=$?
  ((own_policy)) && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || imagespec_die "apt-get install of the $SUITE engine packages failed (exit $rc)"
  imagespec_log "engine packages installed in $(imagespec_elapsed "$t0" "$(imagespec_now)")"
}

# Compose v2 (the docker CLI plugin) from the same suite: `imagespec manifest --format
# compose` is checked with `docker compose config` and run with `docker compose up`.
compose_present() { docker compose version >/dev/null 2>&1; }

install_compose() {
  local work
  work=$(mktemp -d /tmp/imagespec-compose.XXXXXX)
  imagespec_download_debs "$work" "$SUITE" docker-compose
  local rc=0
  (cd "$work/debs" && apt-get install -y -q --no-install-recommends ./docker-compose_*.deb) || rc=$?
  rm -rf "$work"
  ((rc == 0)) || imagespec_die "apt-get install of the $SUITE docker-compose package failed (exit $rc)"
  compose_present || imagespec_die "docker compose does not answer after installing docker-compose from $SUITE"
}

start_dockerd() {
  local pid=""
  [[ -s $PIDFILE ]] && pid=$(<"$PIDFILE")
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/comm" 2>/dev/null; then
    imagespec_log "dockerd (PID $pid) is starting already; waiting for it"
  else
    # A PID file left by a dockerd that was killed (CI ends every process) would make
    # dockerd refuse to start if its PID now belongs to another process.
    rm -f "$PIDFILE"
    imagespec_log "starting dockerd (log $LOG)"
    # setsid: the daemon outlives this script and the shell (or CI step) that ran it.
    setsid dockerd --bridge=none --iptables=false --ip6tables=false --pidfile="$PIDFILE" \
      </dev/null >>"$LOG" 2>&1 &
    pid=$!
  fi
  local deadline=$((SECONDS + WAIT_SECONDS))
  until engine_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$LOG" >&2 || true
      imagespec_die "dockerd exited before answering; see $LOG"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$LOG" >&2 || true
      imagespec_die "dockerd (PID $pid) did not answer 'docker info' within ${WAIT_SECONDS}s; see $LOG"
    fi
    sleep 1
  done
  imagespec_log "dockerd answers (PID $(cat "$PIDFILE" 2>/dev/null || echo "$pid"))"
}

BINFMT=/proc/sys/fs/binfmt_misc
# the emulators imagespec's platforms need (imagespec/platform.py's `qemu` names)
QEMU_TARGETS=(aarch64 arm i386 ppc64le s390x x86_64)

register_binfmt() {
  if [[ ! -e $BINFMT/register ]]; then
    mount -t binfmt_misc binfmt_misc "$BINFMT" ||
      imagespec_die "cannot mount binfmt_misc at $BINFMT (needs root and a kernel with binfmt_misc): other platforms' images cannot run"
  fi
  local target conf registered=()
  for target in "${QEMU_TARGETS[@]}"; do
    conf=/usr/lib/binfmt.d/qemu-$target.conf
    # the host's own architecture has no entry: it runs natively
    [[ -f $conf ]] || continue
    if [[ ! -e $BINFMT/qemu-$target ]]; then
      # the file is one registration line in the kernel's own format
      grep -v '^#' "$conf" | grep . >"$BINFMT/register" ||
        imagespec_die "binfmt_misc refused $conf"
    fi
    registered+=("$target")
  done
  imagespec_log "QEMU registered with binfmt_misc for: ${registered[*]:-none}"
}

main() {
  local t0
  t0=$(imagespec_now)
  # Tools the base images and the local registry need, engine or not, and the Debian
  # tools the tests run beside the engine (tests/tools.py lists every tool they run).
  imagespec_install_missing mmdebstrap debootstrap docker-registry curl ca-certificates gcc libc6-dev openssl \
    debian-archive-keyring qemu-user-static
  register_binfmt

  if engine_answers; then
    imagespec_log "the engine answers already: nothing to install or start"
  else
    if engine_ok; then
      imagespec_log "dockerd $(dockerd_major).x and buildx are installed already"
    else
      install_engine
      if ! engine_ok; then
        imagespec_die "$(printf '%s\n' \
          "the engine from '$SUITE' is not usable: dockerd says '$(dockerd --version 2>&1 || true)'," \
          "buildx: $(docker buildx version 2>&1 || echo missing). imagespec needs dockerd >= $MIN_MAJOR with buildx." \
          "The unstable suite moves; if its docker.io no longer installs on this release, use" \
          "the stable suite's docker.io 26.1 + buildx 0.13 (no 'docker build --check', no bake" \
          "'network'): IMAGESPEC_ENGINE_SUITE=trixie $0")"
      fi
    fi
    start_dockerd
  fi
  compose_present || install_compose
  imagespec_log "$(docker version --format 'engine {{.Server.Version}}, client {{.Client.Version}}'), $(docker buildx version 2>/dev/null | cut -d' ' -f1,2)"
  imagespec_log "done in $(imagespec_elapsed "$t0" "$(imagespec_now)")"
}

main "$@"
