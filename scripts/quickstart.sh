#!/usr/bin/env bash
# The main job on a fresh Debian machine: set up an engine if none answers, make the
# local bases the example needs, install imagespec, build examples/go-hello with
# `imagespec build`, verify it with `imagespec test`, run it and ask it for a page.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-engine.sh
bash scripts/make-bases.sh debian-slim go-build static
if [ ! -x .venv/bin/imagespec ]; then
    python3 -m venv .venv
    .venv/bin/pip install -q -e .
fi
config=scripts/local-config.yaml
.venv/bin/imagespec build --config "$config" --tag imagespec-quickstart/go-hello:demo examples/go-hello/imagespec.yaml
.venv/bin/imagespec test --config "$config" --image imagespec-quickstart/go-hello:demo --http-port 8080 \
    examples/go-hello/imagespec.yaml
name=imagespec-quickstart-$$
docker run -d --rm --name "$name" --network host --read-only imagespec-quickstart/go-hello:demo >/dev/null
trap 'docker stop "$name" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 50); do
    if page=$(python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8080/").read().decode(), end="")' 2>/dev/null); then
        echo "the image answers: $page"
        exit 0
    fi
    sleep 0.2
done
echo "the container did not answer on 127.0.0.1:8080" >&2
exit 1
