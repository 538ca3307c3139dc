"""Build secrets (the CA bundle and the spec's own `secrets`) reach the download steps
and nothing else: no layer, no history entry, no config holds them (BP11, BP15)."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from .conftest import LOCAL_CONFIG, docker, imagespec

SPEC = """\
name: imagespec-it-secrets
version: 0.0.1
tags: {git_sha: false, semver: false, extra: [test]}
secrets:
  - {id: canary-token, env: CANARY}
  - {id: netrc, target: /root/.netrc}
stages:
  deps:
    from: debian-slim
    dependencies:
      copy: [marker.txt]
      run: >-
        test "$CANARY" = "token-canary-4f1b9e" && grep -q netrc-canary-77 /root/.netrc
        && grep -q CA-CANARY-9c3e "$SSL_CERT_FILE" && mkdir -p /out && echo ok > /out/ok
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{from: deps, src: /out, dest: /out}]
  cmd: [cat, /out/ok]
"""
CANARIES = (b"token-canary-4f1b9e", b"netrc-canary-77", b"CA-CANARY-9c3e")


def _image_bytes(ref: str) -> bytes:
    """Every file of every layer, plus configs and manifests, as docker save writes them."""
    saved = subprocess.run(["docker", "save", ref], capture_output=True, check=True, timeout=300).stdout
    blobs = [saved]
    with tarfile.open(fileobj=io.BytesIO(saved)) as outer:
        for member in outer.getmembers():
            data = outer.extractfile(member).read() if member.isfile() else b""
            try:
                with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                    blobs += [layer.extractfile(m).read() for m in layer.getmembers() if m.isfile()]
            except tarfile.TarError:
                pass  # a config or manifest: already in `saved`
    return b"".join(blobs)


@pytest.mark.engine
def test_secrets_reach_the_download_step_and_no_layer(engine, tmp_path: Path) -> None:
    (tmp_path / "imagespec.yaml").write_text(SPEC)
    (tmp_path / "marker.txt").write_text("x\n")
    (tmp_path / "token").write_text("token-canary-4f1b9e")
    (tmp_path / "netrc").write_text("machine pypi.example.com login ci password netrc-canary-77\n")
    (tmp_path / "ca.pem").write_text("# CA-CANARY-9c3e: stands in for a company root certificate\n")
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--no-cache", "--format", "json",
                       "--ca-bundle", str(tmp_path / "ca.pem"),
                       "--secret", f"id=canary-token,src={tmp_path / 'token'}",
                       "--secret", f"id=netrc,src={tmp_path / 'netrc'}", str(tmp_path / "imagespec.yaml"),
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]  # the step saw all three secrets
    ref = json.loads(result.stdout.strip().splitlines()[-1])["tags"][0]
    try:
        assert docker("run", "--rm", "--network", "none", ref).stdout == "ok\n"
        content = _image_bytes(ref)
        history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", ref).stdout.encode()
        inspect = docker("image", "inspect", ref).stdout.encode()
        for canary in CANARIES:
            assert canary not in content and canary not in history and canary not in inspect, canary
        assert b"ok\n" in content  # the scan does see what the step wrote
    finally:
        docker("rmi", ref, check=False)


def test_an_undeclared_secret_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "imagespec.yaml").write_text(SPEC)
    (tmp_path / "token").write_text("x")
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--secret", f"id=canary-tokn,src={tmp_path / 'token'}",
                       str(tmp_path / "imagespec.yaml"), cwd=tmp_path)
    assert result.returncode == 2 and "canary-tokn" in result.stderr and "Traceback" not in result.stderr
