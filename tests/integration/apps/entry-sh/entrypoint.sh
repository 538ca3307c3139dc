#!/bin/sh
set -eu
echo "starting with GREETING=${GREETING:-hello}"
exec sleep infinity
