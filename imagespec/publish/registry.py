"""Read-only look-ups in an image registry over the HTTP API v2.

Role: find the digest a tag currently has in a registry (``HEAD /v2/<name>/manifests/
<tag>``) and the image config digests behind it, so that ``push`` can refuse to move an
immutable tag (BP14). Uses urllib: registries on loopback are plain HTTP, others HTTPS.
Anonymous access only (with the anonymous bearer-token dance registries such as Docker
Hub require); a registry that wants credentials is reported, not guessed at.

May import: the standard library, ``imagespec.errors`` and ``imagespec.reference``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from imagespec import reference as grammar
from imagespec.errors import EngineError

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_INDEX_TYPES = MANIFEST_TYPES[0], MANIFEST_TYPES[2]
_LOOPBACK = re.compile(r"^(?:localhost|127\.\d+\.\d+\.\d+|\[::1\])(?::\d+)?$")
#: Children of an index looked at when searching for a config digest (platforms plus
#: attestation manifests; more than this is not an image we built).
_MAX_CHILDREN = 16


@dataclass(frozen=True)
class RemoteImage:
    """What a registry holds under a tag."""

    digest: str  # the manifest (or index) digest the tag points to
    config_digests: frozenset[str]  # image config digests: a local image id is one of these


def split_name(name: str) -> tuple[str, str]:
    """``127.0.0.1:5000/team/app`` → (``127.0.0.1:5000``, ``team/app``); Docker Hub names
    get its API host and the ``library/`` prefix, as the docker CLI does."""
    hub = grammar.parse(name).normalize()
    return ("registry-1.docker.io" if hub.domain == grammar.DOCKER_HUB else hub.domain), hub.path


def base_url(host: str) -> str:
    return f"{'http' if _LOOPBACK.fullmatch(host) else 'https'}://{host}"


def lookup(name: str, tag: str, *, timeout: float = 10.0) -> RemoteImage | None:
    """The image ``name:tag`` has in its registry, or None if the tag does not exist."""
    host, path = split_name(name)
    url = f"{base_url(host)}/v2/{path}/manifests/{urllib.parse.quote(tag, safe='')}"
    session = _Session(timeout)
    response = session.fetch(url, method="HEAD")
    if response is None:
        return None
    digest = response.headers.get("Docker-Content-Digest")
    body = session.fetch(url)
    if body is None:  # deleted between the two requests
        return None
    data = body.read()
    if not digest:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return RemoteImage(digest, frozenset(_config_digests(session, host, path, data)))


def _config_digests(session: _Session, host: str, path: str, manifest: bytes) -> list[str]:
    document = json.loads(manifest or b"{}")
    if document.get("mediaType") in _INDEX_TYPES or "manifests" in document:
        found: list[str] = []
        for child in document.get("manifests", [])[:_MAX_CHILDREN]:
            response = session.fetch(f"{base_url(host)}/v2/{path}/manifests/{child['digest']}")
            if response is not None:
                found.extend(_config_digests(session, host, path, response.read()))
        return found
    config = document.get("config") or {}
    return [config["digest"]] if "digest" in config else []


class _Session:
    """GET/HEAD with an anonymous bearer token fetched on the first 401."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.token: str | None = None

    def fetch(self, url: str, *, method: str = "GET") -> http.client.HTTPResponse | None:
        """The response (an HTTPResponse: only http(s) URLs come here), None for 404."""
        for attempt in range(2):
            headers = {"Accept": ", ".join(MANIFEST_TYPES)}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            request = urllib.request.Request(url, method=method, headers=headers)
            try:
                return urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310 - http(s) only
            except urllib.error.HTTPError as error:
                if error.code == 404:
                    return None
                if error.code == 401 and attempt == 0 and self._anonymous_token(error):
                    continue
                if error.code in (401, 403):
                    raise EngineError(
                        f"the registry refused to show {url} ({error.code}): cannot check whether "
                        "an immutable tag would move (BP14)",
                        hint="log in with `docker login`, or push with --force to skip the check",
                    ) from error
                raise EngineError(f"registry error {error.code} for {url}: {error.reason}") from error
            except (urllib.error.URLError, OSError) as error:
                reason = getattr(error, "reason", error)
                raise EngineError(
                    f"cannot reach the registry for {url}: {reason}",
                    hint="check the registry address and that it runs",
                ) from error
        return None

    def _anonymous_token(self, error: urllib.error.HTTPError) -> bool:
        challenge = error.headers.get("WWW-Authenticate", "")
        if not challenge.lower().startswith("bearer "):
            return False
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm", None)
        if not realm or not realm.startswith("https://"):
            return False
        try:
            with urllib.request.urlopen(f"{realm}?{urllib.parse.urlencode(params)}", timeout=self.timeout) as r:  # noqa: S310
                body = json.load(r)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        self.token = body.get("token") or body.get("access_token")
        return bool(self.token)
