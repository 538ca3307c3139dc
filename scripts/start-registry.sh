#!/usr/bin/env bash
# Starts Debian's docker-registry (distribution 2.8) on 127.0.0.1:5000 for the push/pull
# tests. Idempotent: does nothing when http://127.0.0.1:5000/v2/ answers already.
# The engine treats 127.0.0.0/8 registries as insecure-allowed, so `docker push
# 127.0.0.1:5000/team/app:1.0.0` needs no daemon configuration.
#
# Config: /etc/imagespec-registry/config.yml, storage: /var/lib/imagespec-registry,
# log: /var/log/imagespec-registry.log, PID: /run/imagespec-registry.pid.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
. "$(dirname "$0")/lib.sh"

ADDR=127.0.0.1:5000
CONF_DIR=/etc/imagespec-registry
CONF=$CONF_DIR/config.yml
STORAGE=/var/lib/imagespec-registry
LOG=/var/log/imagespec-registry.log
PIDFILE=/run/imagespec-registry.pid
WAIT_SECONDS=${IMAGESPEC_REGISTRY_WAIT:-30}

answers() { curl -sf --noproxy "*" -o /dev/null --max-time 5 "http://$ADDR/v2/"; }

if answers; then
  imagespec_log "the registry at $ADDR answers already"
  exit 0
fi

imagespec_install_missing docker-registry curl

mkdir -p "$CONF_DIR" "$STORAGE"
cat >"$CONF" <<EOF
# Written by imagespec scripts/start-registry.sh: loopback only, no auth, on-disk storage.
version: 0.1
log:
  level: info
  fields:
    service: imagespec-registry
storage:
  filesystem:
    rootdirectory: $STORAGE
  delete:
    enabled: true
http:
  addr: $ADDR
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF

pid=""
[[ -s $PIDFILE ]] && pid=$(<"$PIDFILE")
if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && grep -q registry "/proc/$pid/comm" 2>/dev/null; then
  imagespec_log "docker-registry (PID $pid) is starting already; waiting for it"
else
  imagespec_log "starting docker-registry on $ADDR (log $LOG)"
  setsid docker-registry serve "$CONF" </dev/null >>"$LOG" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$PIDFILE"
fi

deadline=$((SECONDS + WAIT_SECONDS))
until answers; do
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n 20 "$LOG" >&2 || true
    imagespec_die "docker-registry exited before answering on $ADDR; see $LOG"
  fi
  if ((SECONDS >= deadline)); then
    tail -n 20 "$LOG" >&2 || true
    imagespec_die "docker-registry (PID $pid) did not answer http://$ADDR/v2/ within ${WAIT_SECONDS}s"
  fi
  sleep 0.5
done
imagespec_log "registry answers on http://$ADDR/v2/ (PID $pid)"
