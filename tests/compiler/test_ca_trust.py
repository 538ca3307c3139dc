"""Each download step gets only the CA variable its own tools read (plan/ca_trust.py),
and a variable that replaces a tool's store points at the system bundle plus the
company CA, never at the secret alone. test_ca_bundle (integration) proves it on the
engine; these pin the choice per preset and per command."""

from __future__ import annotations

import re

import pytest

from compiler_helpers import REPO, compile_path, compile_text
from imagespec.plan import ca_trust

PRESETS = {
    "preset-python": "PIP_CERT=/run/ca/bundle.pem",
    "preset-python-distroless": "PIP_CERT=/run/ca/bundle.pem",
    "preset-python-uv": "PIP_CERT=/run/ca/bundle.pem SSL_CERT_FILE=/run/ca/bundle.pem",
    "preset-python-poetry": "PIP_CERT=/run/ca/bundle.pem REQUESTS_CA_BUNDLE=/run/ca/bundle.pem",
    "preset-node": "NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle",
    "preset-node-pnpm": "NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle",
    "preset-node-yarn": "NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle",
    "preset-go": "SSL_CERT_FILE=/run/ca/bundle.pem",
    "preset-rust": "CARGO_HTTP_CAINFO=/run/ca/bundle.pem",
}
EXPORT = re.compile(r"if \[ -f /run/secrets/ca-bundle \]; then (?:(cat \S+ \S+ >\S+); )?export ([^;]+); fi")


@pytest.mark.parametrize(("example", "exports"), sorted(PRESETS.items()))
def test_each_preset_step_exports_only_its_tools_variables(example: str, exports: str) -> None:
    text = compile_path(REPO / "examples" / example / "imagespec.yaml").dockerfile
    found = EXPORT.findall(text)
    assert [e for _, e in found] == [exports], found
    combine = found[0][0]
    if "/run/ca/bundle.pem" in exports:  # the system roots first, then the company CA
        assert combine == "cat /etc/ssl/certs/ca-certificates.crt /run/secrets/ca-bundle >/run/ca/bundle.pem"
        assert "--mount=type=tmpfs,target=/run/ca" in text
    else:  # node adds the secret to its own roots: no bundle to make, no tmpfs
        assert combine == "" and "tmpfs" not in text
    line = next(line for line in text.splitlines() if "if [ -f /run/secrets/ca-bundle ]" in line)
    # a reviewer reads it at a glance: about 170 characters for one tool (the old prefix exported
    # seven variables whatever the tool, about 400)
    assert len(line) <= 175 + 40 * (exports.count("=") - 1), line


def test_rust_preset_fetches_crates_from_the_manifests_before_the_source_then_builds_offline() -> None:
    """The fetch is the one step that downloads (secret, cargo's caches), from Cargo.toml
    and Cargo.lock alone (BP4); the build after the source has no secret and stays offline.
    Before it, `cargo build --offline` failed on any crate not already in the cache."""
    text = compile_text("extends: rust\nname: app\n").dockerfile
    build = text.split(" AS build\n", 1)[1].split("\nFROM ", 1)[0]
    fetch = build.index("cargo fetch --locked")
    assert build.index("COPY Cargo.toml Cargo.lock ./") < fetch < build.index("COPY . ./") < build.index("--offline")
    fetch_step = build[build.rindex("\nRUN ", 0, fetch):fetch]
    assert "--mount=type=secret,id=ca-bundle" in fetch_step
    assert "--mount=type=cache,target=/usr/local/cargo/registry" in fetch_step
    assert "--mount=type=cache,target=/usr/local/cargo/git" in fetch_step
    assert "secret" not in build[build.index("COPY . ./"):]


@pytest.mark.parametrize(("command", "tools"), [
    ("/opt/venv/bin/pip install -r requirements.txt", ("pip",)),
    ("/usr/bin/python3.11 -m pip --python /opt/venv/bin/python3 install x", ("pip",)),
    ("VIRTUAL_ENV=/opt/venv /opt/poetry/bin/poetry install --only main", ("poetry",)),
    ("corepack enable && pnpm install --frozen-lockfile", ("corepack", "pnpm")),
    ("pip install uv==0.4 && exec uv sync", ("pip", "uv")),  # uv the argument is not a tool
    ("echo 'npm ci' | sh", ("echo", "sh")),
    ("unbalanced 'quote", ()),
])
def test_tools_are_read_from_command_positions(command: str, tools: tuple[str, ...]) -> None:
    assert ca_trust.tools_of(command) == tools


def test_an_unknown_downloader_gets_openssl_s_variable_on_the_combined_bundle() -> None:
    assert ca_trust.variables_for(("make deps",)) == (("SSL_CERT_FILE", ca_trust.BUNDLE),)


def test_a_fedora_stage_combines_fedora_s_system_bundle() -> None:
    compiled = compile_text("""\
name: t
stages:
  deps:
    from: fedora
    dependencies: {copy: [req.txt], run: pip install -r req.txt}
    artifacts: [/out]
final: {from: scratch, copy: [{from: deps, src: /out, dest: /out}], cmd: [/out/x]}
""")
    assert "cat /etc/pki/tls/certs/ca-bundle.crt /run/secrets/ca-bundle >/run/ca/bundle.pem" in compiled.dockerfile
