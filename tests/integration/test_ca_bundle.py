"""The CA bundle reaches each download step through its own tool's variable only, and
adds the company CA to the public roots instead of replacing them (plan/ca_trust.py).
A bundle holding only one company CA cannot reach PyPI here (the proxy's CA is needed
too), so the steps show what they were given: pip's PIP_CERT holds every system root
plus the company CA; npm's NODE_EXTRA_CA_CERTS is the secret (node adds it to its
roots); neither step sees the other tool's variable, and nothing lands in a layer."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import LOCAL_CONFIG, docker, imagespec

SYSTEM = "/etc/ssl/certs/ca-certificates.crt"
SPEC = f"""\
name: isdr-ca-bundle
tags: {{git_sha: false, semver: false, extra: [test]}}
stages:
  pip:
    from: python-build
    dependencies:
      copy: [marker.txt]
      run: >-
        pip --version >/dev/null && mkdir -p /out
        && echo "$PIP_CERT ${{SSL_CERT_FILE:-unset}} ${{NODE_EXTRA_CA_CERTS:-unset}}" > /out/pip-env
        && grep -c 'BEGIN CERTIFICATE' {SYSTEM} > /out/pip-system
        && grep -c 'BEGIN CERTIFICATE' "$PIP_CERT" > /out/pip-bundle
        && grep -c CA-CANARY-5d2a "$PIP_CERT" > /out/pip-canary
    artifacts: [/out]
  npm:
    from: node-build
    dependencies:
      copy: [marker.txt]
      run: >-
        npm --version >/dev/null && mkdir -p /out
        && echo "$NODE_EXTRA_CA_CERTS ${{PIP_CERT:-unset}} ${{SSL_CERT_FILE:-unset}}" > /out/npm-env
    artifacts: [/out]
final:
  from: debian-slim
  copy:
    - {{from: pip, src: /out, dest: /out/pip}}
    - {{from: npm, src: /out, dest: /out/npm}}
  cmd: [grep, -r, ., /out]
"""
# stands in for a company root: any text proves which file the variable points at
COMPANY_CA = "# CA-CANARY-5d2a: a company root certificate\n"


@pytest.mark.engine
def test_each_tool_gets_its_variable_and_the_system_roots_stay(engine, tmp_path: Path) -> None:
    (tmp_path / "imagespec.yaml").write_text(SPEC)
    (tmp_path / "marker.txt").write_text("x\n")
    (tmp_path / "company-ca.pem").write_text(COMPANY_CA)
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--no-cache", "--format", "json",
                       "--ca-bundle", str(tmp_path / "company-ca.pem"), str(tmp_path / "imagespec.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    ref = json.loads(result.stdout.strip().splitlines()[-1])["tags"][0]
    try:
        lines = docker("run", "--rm", "--network", "none", ref).stdout.splitlines()
        seen = {path.rsplit("/", 1)[1]: text for path, text in (line.split(":", 1) for line in lines)}
        pip_env, system, bundle, canary, npm_env = (seen[k] for k in (
            "pip-env", "pip-system", "pip-bundle", "pip-canary", "npm-env"))
        # pip: its own variable, on the system roots plus the company CA; no other tool's
        assert pip_env == "/run/ca/bundle.pem unset unset"
        assert int(system) > 100 and bundle == system and canary == "1"
        # npm: node's additive variable straight on the secret, nothing else
        assert npm_env == "/run/secrets/ca-bundle unset unset"
        history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", ref).stdout
        saved = subprocess.run(["docker", "save", ref], capture_output=True, check=True, timeout=300).stdout
        assert "CA-CANARY-5d2a" not in history and b"CA-CANARY-5d2a" not in saved  # layers are uncompressed
    finally:
        docker("rmi", ref, check=False)
