#!/bin/bash
# A worker that spawns helpers and leaves orphans behind: it needs an init that
# reaps them (BP3). Exits 0 on SIGTERM.
set -euo pipefail
trap 'echo "worker stopping"; exit 0' TERM INT
echo "worker ready (uid $(id -u))"
while true; do
    (sleep 0.2 &)   # an orphan: reparented to PID 1, which must reap it
    sleep 1 &
    wait $! || true
done
