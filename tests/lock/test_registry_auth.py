"""The registry client's credentials and challenges (#15): the docker client's config.json
(`auths`, `credHelpers`, `credsStore`), the bearer-token flow and basic auth, against a small
registry on 127.0.0.1 that demands them (the local registry of the engine tests has no auth).
It serves what real registries do: an OCI index of two platforms plus a BuildKit attestation
manifest, each platform's manifest, and the image config."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from imagespec.errors import EngineError
from imagespec.publish import credentials
from imagespec.publish.registry import Session, head_digest, resolve

USER, SECRET, TOKEN = "isx15a", "s3cret-pa55", "tok-123"


def _blob(document: dict) -> tuple[bytes, str]:
    body = json.dumps(document, sort_keys=True).encode()
    return body, "sha256:" + hashlib.sha256(body).hexdigest()


CONFIG, CONFIG_DIGEST = _blob({"architecture": "amd64", "os": "linux", "created": "2026-11-30T10:00:00Z"})
AMD64, AMD64_DIGEST = _blob({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                             "config": {"digest": CONFIG_DIGEST, "size": len(CONFIG),
                                        "mediaType": "application/vnd.oci.image.config.v1+json"}, "layers": []})
ARM64_DIGEST = "sha256:" + "b" * 64
ATTESTATION = "sha256:" + "c" * 64
INDEX, INDEX_DIGEST = _blob({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"digest": AMD64_DIGEST, "platform": {"os": "linux", "architecture": "amd64"}},
    {"digest": ARM64_DIGEST, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
    {"digest": ATTESTATION, "platform": {"os": "unknown", "architecture": "unknown"},
     "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}]})


class _Registry(BaseHTTPRequestHandler):
    scheme = "bearer"  # or "basic"
    seen: list[str] = []

    def log_message(self, *args: object) -> None:
        return None

    def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self.seen.append(f"{self.command} {self.path} {self.headers.get('Authorization', '-').split(' ')[0]}")
        basic = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
        host = self.headers["Host"]
        if self.path.startswith("/token?"):
            if self.headers.get("Authorization") != basic:
                return self._send(401)
            return self._send(200, json.dumps({"token": TOKEN}).encode())
        wanted = f"Bearer {TOKEN}" if self.scheme == "bearer" else basic
        if self.headers.get("Authorization") != wanted:
            challenge = (f'Bearer realm="http://{host}/token",service="isx15a",scope="repository:team/base:pull"'
                         if self.scheme == "bearer" else 'Basic realm="isx15a"')
            return self._send(401, b"{}", {"WWW-Authenticate": challenge})
        documents = {"/v2/team/base/manifests/1": (INDEX, INDEX_DIGEST, "application/vnd.oci.image.index.v1+json"),
                     f"/v2/team/base/manifests/{AMD64_DIGEST}": (AMD64, AMD64_DIGEST,
                                                                 "application/vnd.oci.image.manifest.v1+json"),
                     f"/v2/team/base/blobs/{CONFIG_DIGEST}": (CONFIG, CONFIG_DIGEST, "application/json")}
        if self.path not in documents:
            return self._send(404, b"{}")
        body, digest, media_type = documents[self.path]
        self._send(200, body, {"Docker-Content-Digest": digest, "Content-Type": media_type})


@pytest.fixture()
def server() -> Iterator[tuple[str, type[_Registry]]]:
    handler = type("Handler", (_Registry,), {"seen": [], "scheme": "bearer"})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def _config(tmp_path: Path, document: dict) -> dict[str, str]:
    folder = tmp_path / "docker"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps(document))
    return {"DOCKER_CONFIG": str(folder)}


def _auths(host: str) -> dict:
    return {"auths": {host: {"auth": base64.b64encode(f"{USER}:{SECRET}".encode()).decode()}}}


def test_bearer_token_with_the_docker_logins_credentials(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    host, handler = server
    session = Session(environ=_config(tmp_path, _auths(host)))
    found = resolve(f"{host}/team/base:1", session)
    assert found is not None and found.digest == INDEX_DIGEST
    assert found.media_type == "application/vnd.oci.image.index.v1+json"
    assert found.platforms == (("linux/amd64", AMD64_DIGEST), ("linux/arm64/v8", ARM64_DIGEST))  # no attestation
    assert found.created == "2026-11-30T10:00:00Z"
    # one challenge, one token, then the index, the amd64 manifest and its config with the token
    assert [line.split(" ")[0] + " " + line.split(" ")[2] for line in handler.seen] == \
        ["GET -", "GET Basic", "GET Bearer", "GET Bearer", "GET Bearer"]
    assert session.requests == len(handler.seen)
    assert head_digest(f"{host}/team/base:1", session) == INDEX_DIGEST
    assert handler.seen[-1].startswith("HEAD /v2/team/base/manifests/1 Bearer")  # the token is kept


def test_basic_auth_challenge(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    host, handler = server
    handler.scheme = "basic"
    assert head_digest(f"{host}/team/base:1", Session(environ=_config(tmp_path, _auths(host)))) == INDEX_DIGEST


def test_a_credential_helper_is_asked(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    host, _ = server
    helpers = tmp_path / "bin"
    helpers.mkdir()
    helper = helpers / "docker-credential-isx15a"
    asked = tmp_path / "asked"
    helper.write_text(f"#!/bin/sh\n[ \"$1\" = get ] || exit 1\ncat > {asked}\n"
                      f"printf '%s' '{{\"ServerURL\": \"x\", \"Username\": \"{USER}\", \"Secret\": \"{SECRET}\"}}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{helpers}{os.pathsep}{os.environ['PATH']}")
    for document in ({"credHelpers": {host: "isx15a"}}, {"credsStore": "isx15a"}):
        environ = _config(tmp_path, document)
        assert head_digest(f"{host}/team/base:1", Session(environ=environ)) == INDEX_DIGEST
        assert asked.read_text() == host


def test_refused_credentials_are_the_engine_class_and_never_shown(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    host, _ = server
    wrong = {"auths": {host: {"auth": base64.b64encode(f"{USER}:wrong-password".encode()).decode()}}}
    with pytest.raises(EngineError) as info:
        resolve(f"{host}/team/base:1", Session(environ=_config(tmp_path, wrong)))
    assert info.value.exit_code == 3 and "docker login" in (info.value.hint or "")
    assert "wrong-password" not in str(info.value) + (info.value.hint or "")
    with pytest.raises(EngineError):  # anonymous: no credentials at all
        resolve(f"{host}/team/base:1", Session(environ=_config(tmp_path, {})))


def test_credentials_are_looked_up_as_the_docker_client_does(tmp_path: Path) -> None:
    environ = _config(tmp_path, {"auths": {"https://index.docker.io/v1/": {"auth": base64.b64encode(b"hub:pw").decode()},
                                           "https://r.example.com": {"auth": base64.b64encode(b"me:pw2").decode()}}})
    assert credentials.for_host("docker.io", environ) == credentials.Credentials("hub", "pw")
    assert credentials.for_host("r.example.com", environ) == credentials.Credentials("me", "pw2")
    assert credentials.for_host("other.example.com", environ) is None
    assert "pw2" not in repr(credentials.for_host("r.example.com", environ))
    broken = _config(tmp_path, {"auths": {"r.example.com": {"auth": "not base64!"}}})
    with pytest.raises(ValueError, match="not base64"):
        credentials.for_host("r.example.com", broken)
    for helper in ("../../bin/sh", "/bin/sh", "-x"):
        with pytest.raises(ValueError, match="not a helper's name"):
            credentials.for_host("r.example.com", _config(tmp_path, {"credsStore": helper}))
    with pytest.raises(ValueError, match="is not on PATH"):
        credentials.for_host("r.example.com", _config(tmp_path, {"credHelpers": {"r.example.com": "isx15a-absent"}}))


@pytest.mark.parametrize("header", ["sha256:short", "md5:" + "a" * 32, "../../etc/passwd"])
def test_a_registry_that_sends_a_bad_digest_is_the_registrys_fault(server, tmp_path: Path, header: str) -> None:  # type: ignore[no-untyped-def]
    host, handler = server
    original = handler._send

    def send(self, code, body=b"", headers=None):  # type: ignore[no-untyped-def]
        if headers and "Docker-Content-Digest" in headers:
            headers = {**headers, "Docker-Content-Digest": header}
        original(self, code, body, headers)

    handler._send = send  # type: ignore[method-assign]
    session = Session(environ=_config(tmp_path, _auths(host)))
    for look in (resolve, head_digest):
        with pytest.raises(EngineError, match="invalid digest") as info:
            look(f"{host}/team/base:1", session)
        assert info.value.exit_code == 3
