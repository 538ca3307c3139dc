#!/usr/bin/env bash
# The compatibility floor: Debian bookworm's Docker Engine 20.10 (BuildKit 0.8, Dockerfile
# frontend 1.2), run beside the current engine to prove generated Dockerfiles still build
# there. Nothing is installed: the docker.io .deb is downloaded and unpacked (dpkg -x)
# under /var/lib/imagespec-floor; its dockerd gets its own socket, data root, exec root
# and PID file, and uses the machine's containerd and runc binaries.
#
#   scripts/engine-floor.sh [start]     start it (idempotent) and print the export line
#   scripts/engine-floor.sh load IMG…   copy local images from the current engine into it
#   scripts/engine-floor.sh stop        stop that dockerd (by its PID file) only
#   scripts/engine-floor.sh status      exit 0 if it answers
#   scripts/engine-floor.sh prove       build a probe (cache + secret mounts) on it
#   scripts/engine-floor.sh client      print the path of Engine 20.10's own docker client
#
# Building against it (both tried here with Debian's 28.x CLI and buildx 0.29):
#   export DOCKER_HOST=unix:///run/imagespec-floor/docker.sock
#   DOCKER_BUILDKIT=1 docker build --network host …
# The 28.x CLI hands `docker build` to buildx, whose "default" builder uses the daemon's
# own BuildKit 0.8, so what is checked is the floor's Dockerfile frontend. Engine 20.10's
# own client ($(scripts/engine-floor.sh client)) with DOCKER_BUILDKIT=1 works as well:
# it has BuildKit built in. RUN --mount=type=cache and --mount=type=secret (also
# required=false with the secret absent) build there; heredocs, COPY --link/--chmod and
# named contexts do not (frontend 1.2). See docs/environment.md for what was measured.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FLOOR=/var/lib/imagespec-floor
PKG=$FLOOR/pkg
RUN_DIR=/run/imagespec-floor
SOCK=unix://$RUN_DIR/docker.sock
PIDFILE=$RUN_DIR/dockerd.pid
LOG=/var/log/imagespec-floor-dockerd.log
WAIT_SECONDS=${IMAGESPEC_DOCKERD_WAIT:-60}

floor() { DOCKER_HOST=$SOCK docker "$@"; }
answers() { DOCKER_HOST=$SOCK timeout 15 docker info >/dev/null 2>&1; }

running_pid() {
  local pid
  [[ -s $PIDFILE ]] || return 1
  pid=$(<"$PIDFILE")
  kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/comm" 2>/dev/null && printf '%s\n' "$pid"
}

# bookworm's docker.io (20.10), unpacked once: with the machine's dpkg status hidden, the
# candidate is the release's version even where a newer docker.io is installed.
fetch() {
  [[ -x $PKG/usr/sbin/dockerd ]] && return 0
  local codename work
  # one unpacker at a time (two test workers may ask at once): the others wait, then find it
  mkdir -p "$FLOOR"
  exec 9>"$FLOOR/.fetch.lock"
  flock 9
  if [[ -x $PKG/usr/sbin/dockerd ]]; then exec 9>&-; return 0; fi
  codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-bookworm}")
  work=$(mktemp -d /tmp/imagespec-floor.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  imagespec_download_debs "$work" "$codename" docker.io
  rm -rf "$PKG.tmp"
  mkdir -p "$FLOOR"
  dpkg-deb -x "$work"/debs/docker.io_*.deb "$PKG.tmp"
  rm -rf "$PKG" && mv "$PKG.tmp" "$PKG"
  rm -rf "$work"
  imagespec_log "unpacked $("$PKG/usr/sbin/dockerd" --version)"
  exec 9>&-  # not held on by the dockerd started next
}

start() {
  if answers; then
    imagespec_log "the floor engine answers already ($(floor version --format '{{.Server.Version}}'))"
  else
    imagespec_install_missing containerd runc
    fetch
    mkdir -p "$RUN_DIR" "$FLOOR/data" "$FLOOR/exec"
    [[ -f $FLOOR/daemon.json ]] || echo '{}' >"$FLOOR/daemon.json"
    local pid
    if pid=$(running_pid); then
      imagespec_log "floor dockerd (PID $pid) is starting already; waiting for it"
    else
      imagespec_log "starting Engine 20.10 on $SOCK (log $LOG)"
      # Its own PATH first (docker-proxy, docker-init of that package), then the
      # machine's containerd and runc. setsid: it outlives this script.
      PATH=$PKG/usr/sbin:$PKG/usr/bin:$PATH setsid "$PKG/usr/sbin/dockerd" \
        --host "$SOCK" --data-root "$FLOOR/data" --exec-root "$FLOOR/exec" \
        --pidfile "$PIDFILE" --config-file "$FLOOR/daemon.json" \
        --bridge=none --iptables=false --ip6tables=false \
        </dev/null >>"$LOG" 2>&1 &
      pid=$!
    fi
    local deadline=$((SECONDS + WAIT_SECONDS))
    until answers; do
      if ! kill -0 "$pid" 2>/dev/null; then
        tail -n 30 "$LOG" >&2 || true
        imagespec_die "the floor dockerd exited before answering; see $LOG"
      fi
      if ((SECONDS >= deadline)); then
        tail -n 30 "$LOG" >&2 || true
        imagespec_die "the floor dockerd (PID $pid) did not answer within ${WAIT_SECONDS}s; see $LOG"
      fi
      sleep 1
    done
    imagespec_log "Engine $(floor version --format '{{.Server.Version}}') answers (PID $(<"$PIDFILE"))"
  fi
  printf 'export DOCKER_HOST=%s\n' "$SOCK"
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    imagespec_log "the floor dockerd is not running"
    rm -f "$PIDFILE"
    return 0
  fi
  imagespec_log "stopping the floor dockerd (PID $pid)"
  kill -TERM "$pid"
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      imagespec_die "the floor dockerd (PID $pid) did not stop within 30s"
    fi
    sleep 0.5
  done
  imagespec_log "stopped"
}

load() {
  (($#)) || imagespec_die "usage: $0 load IMAGE..."
  answers || imagespec_die "the floor engine does not answer; run '$0 start' first"
  # `docker save` talks to the current engine whatever DOCKER_HOST the caller exported.
  # Images the floor already has with the same ID are not copied again.
  local image id missing=()
  for image in "$@"; do
    id=$(env -u DOCKER_HOST docker image inspect -f '{{.Id}}' "$image") ||
      imagespec_die "the current engine has no image '$image' (scripts/make-bases.sh builds the bases)"
    if [[ $(floor image inspect -f '{{.Id}}' "$image" 2>/dev/null) == "$id" ]]; then
      imagespec_log "floor: $image is there already"
    else
      missing+=("$image")
    fi
  done
  if ((${#missing[@]})); then
    env -u DOCKER_HOST docker save "${missing[@]}" | floor load
  fi
}

# Builds a probe Dockerfile on the floor with the client on PATH: cache and secret mounts
# must work (the secret once given, once absent with required=false), a heredoc must not
# (so a generator that needs one has to know it targets a newer engine).
prove() {
  answers || imagespec_die "the floor engine does not answer; run '$0 start' first"
  floor image inspect imagespec-test/debian:bookworm-slim >/dev/null 2>&1 ||
    load imagespec-test/debian:bookworm-slim
  local work out rc=0
  work=$(mktemp -d /tmp/imagespec-floor-prove.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  cat >"$work/Dockerfile" <<'EOF'
FROM imagespec-test/debian:bookworm-slim
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && apt-get update && apt-get install -y --no-install-recommends ca-certificates
RUN --mount=type=secret,id=ca-bundle,required=false \
    if [ -f /run/secrets/ca-bundle ]; then echo secret; else echo no-secret; fi > /result
CMD ["cat", "/result"]
EOF
  mkdir -p "$work/heredoc"
  printf 'FROM imagespec-test/debian:bookworm-slim\nRUN <<EOT\ntrue\nEOT\n' >"$work/heredoc/Dockerfile"
  # --no-cache for the second build: a secret is not part of a step's cache key.
  if DOCKER_BUILDKIT=1 floor build --network host --progress=plain -t imagespec-floor-probe:secret \
    --secret id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt "$work" >"$work/1.log" 2>&1 &&
    DOCKER_BUILDKIT=1 floor build --no-cache --network host --progress=plain \
      -t imagespec-floor-probe:no-secret "$work" >"$work/2.log" 2>&1; then
    out="$(floor run --rm --network none imagespec-floor-probe:secret) $(floor run --rm --network none imagespec-floor-probe:no-secret)"
    if [[ $out == "secret no-secret" ]]; then
      imagespec_log "floor: RUN --mount=type=cache and --mount=type=secret (given, and absent with required=false) build"
    else
      imagespec_log "floor: the probe built but printed '$out'"
      rc=1
    fi
  else
    tail -n 20 "$work"/*.log >&2
    imagespec_log "floor: the probe Dockerfile does not build"
    rc=1
  fi
  if DOCKER_BUILDKIT=1 floor build --network host "$work/heredoc" >"$work/3.log" 2>&1; then
    imagespec_log "floor: a heredoc built, which Engine 20.10 should refuse"
    rc=1
  else
    imagespec_log "floor: a heredoc is refused, as expected ($(grep -o 'unknown instruction: [A-Z]*' "$work/3.log" | head -n 1))"
  fi
  floor image rm imagespec-floor-probe:secret imagespec-floor-probe:no-secret >/dev/null 2>&1 || true
  rm -rf "$work"
  return "$rc"
}

case ${1:-start} in
  start) start ;;
  stop) stop ;;
  load) shift && load "$@" ;;
  status) answers ;;
  prove) prove ;;
  client)
    fetch
    printf '%s\n' "$PKG/usr/bin/docker"
    ;;
  *) imagespec_die "usage: $0 [start|stop|status|prove|client|load IMAGE...]" ;;
esac
