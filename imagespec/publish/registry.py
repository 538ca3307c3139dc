"""Look-ups in an image registry over its HTTP API (the OCI distribution spec): the one
place imagespec speaks registry HTTP.

Role: the digest a tag has now (``HEAD /v2/<name>/manifests/<tag>``), the digests of each
platform behind an index, and the image config's ``created`` (how old a base is); the
config digests behind a tag, so that ``push`` can refuse to move an immutable tag (BP14);
the labels of each platform's image behind a tag (what it was built from, its version).
Every request names the four manifest media types (OCI index and manifest, Docker manifest
list and manifest v2) in its Accept header, so the registry answers with what it stores and
the digest is the one `docker pull` and BuildKit see. Registries on loopback (127.0.0.0/8,
localhost, [::1]) are plain HTTP, as the engine allows them; any other is HTTPS.

Credentials are the docker client's (``imagespec.publish.credentials``): a 401 with a
``Bearer`` challenge fetches a token from its realm (with the user's credentials when there
are any, anonymously otherwise); a ``Basic`` challenge resends with them. A ``Session``
counts its requests, so a caller can keep and show its budget (one request per base).

Errors: a registry that does not answer (refused, timeout, TLS, 5xx) is ``EngineError``
(exit 3); refused credentials likewise, with a hint to log in. A tag the registry does
not have is ``None``: the caller knows which spec line named it.

May import: the standard library, ``imagespec.errors``, ``imagespec.reference`` and
``imagespec.publish`` itself.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from imagespec import reference as grammar
from imagespec.errors import EngineError

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.publish.credentials import Credentials

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[0], MANIFEST_TYPES[2]
_LOOPBACK = re.compile(r"^(?:localhost|127\.\d+\.\d+\.\d+|\[::1\])(?::\d+)?$")
#: Children of an index looked at when searching for a config digest (platforms plus
#: attestation manifests; more than this is not an image we built).
_MAX_CHILDREN = 16
#: A manifest or config larger than this is not one (the spec's limit for manifests is 4 MiB).
_MAX_DOCUMENT = 4 * 1024 * 1024
_PREFERRED_PLATFORM = "linux/amd64"
# what a registry's answer must look like before imagespec writes it anywhere (a lock file)
_CREATED = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)")
_MEDIA_TYPE = re.compile(r"[a-z0-9.+/-]{1,255}")
_PLATFORM_PART = re.compile(r"[a-z0-9_]{1,32}")


@dataclass(frozen=True)
class RemoteImage:
    """What a registry holds under a tag."""

    digest: str  # the manifest (or index) digest the tag points to
    config_digests: frozenset[str]  # image config digests: a local image id is one of these


@dataclass(frozen=True)
class Resolved:
    """A reference resolved in its registry: what a lock records of one base."""

    digest: str  # what the tag points at: the index when there is one, else the manifest
    media_type: str
    platforms: tuple[tuple[str, str], ...]  # ("linux/amd64", manifest digest), sorted; attestations left out
    created: str | None  # the image config's `created` (of linux/amd64, else the first platform)


def split_name(name: str) -> tuple[str, str]:
    """``127.0.0.1:5000/team/app`` → (``127.0.0.1:5000``, ``team/app``); Docker Hub names
    get its API host and the ``library/`` prefix, as the docker CLI does."""
    hub = grammar.parse(name).normalize()
    return ("registry-1.docker.io" if hub.domain == grammar.DOCKER_HUB else hub.domain), hub.path


def is_loopback(host: str) -> bool:
    return _LOOPBACK.fullmatch(host) is not None


def base_url(host: str) -> str:
    return f"{'http' if is_loopback(host) else 'https'}://{host}"


def _digest(value: object, url: str) -> str:
    """A digest the registry sent, checked: a malformed one is the registry's fault (exit 3)."""
    try:
        return grammar.digest(str(value))
    except grammar.Invalid:
        raise EngineError(f"the registry sent an invalid digest {str(value)[:80]!r} for {url}",
                          hint="the registry misbehaves: check it, or try again later") from None


def _manifest_url(host: str, path: str, tag_or_digest: str) -> str:
    return f"{base_url(host)}/v2/{path}/manifests/{urllib.parse.quote(tag_or_digest, safe=':')}"


def _target(reference: str) -> tuple[str, str, str]:
    """(host, path, tag or digest) of a reference: a digest wins over a tag, as in a pull."""
    parsed = grammar.parse(reference).normalize()
    host, path = split_name(parsed.name)
    return host, path, parsed.digest or parsed.tag or "latest"


def head_digest(reference: str, session: Session) -> str | None:
    """The digest ``reference`` has now, in one request (HEAD), or None if it does not exist.
    A registry that sends no Docker-Content-Digest is asked with a GET instead."""
    host, path, wanted = _target(reference)
    url = _manifest_url(host, path, wanted)
    response = session.fetch(url, method="HEAD")
    if response is None:
        return None
    digest = response.headers.get("Docker-Content-Digest")
    if digest:
        return _digest(digest, url)
    body = session.fetch(url)
    return None if body is None else "sha256:" + hashlib.sha256(_read(body, url)).hexdigest()


def _manifest(reference: str, session: Session) -> tuple[str, str, str, str, dict[str, Any], Any] | None:
    """(host, path, URL, digest, document, response) of what ``reference`` names in its
    registry (an index or a manifest), or None if the registry does not have it."""
    host, path, wanted = _target(reference)
    url = _manifest_url(host, path, wanted)
    response = session.fetch(url)
    if response is None:
        return None
    body = _read(response, url)
    digest = _digest(response.headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(body).hexdigest(), url)
    return host, path, url, digest, _json(body, url), response


def resolve(reference: str, session: Session) -> Resolved | None:
    """The index (or manifest) digest of ``reference``, each platform's manifest digest and
    the image's `created`, or None if the registry does not have it."""
    found = _manifest(reference, session)
    if found is None:
        return None
    host, path, url, digest, document, response = found
    media_type = str(document.get("mediaType") or response.headers.get("Content-Type", "").split(";")[0])
    if not _MEDIA_TYPE.fullmatch(media_type):
        raise EngineError(f"the registry sent no manifest media type for {url}", hint="the registry misbehaves")
    if media_type in INDEX_TYPES or "manifests" in document:
        platforms = _platforms(document, url)
        chosen = dict(platforms).get(_PREFERRED_PLATFORM) or (platforms[0][1] if platforms else None)
        created = None
        if chosen:
            child = session.fetch(_manifest_url(host, path, chosen))
            created = _created(session, host, path, _json(_read(child, url), url)) if child else None
        return Resolved(digest, media_type, platforms, created)
    config = _config(session, host, path, document)
    platform = _platform_name(config) if config else None
    return Resolved(digest, media_type, ((platform, digest),) if platform else (), _checked_created(config))


def _checked_created(config: Mapping[str, Any] | None) -> str | None:
    created = config.get("created") if config else None
    return created if isinstance(created, str) and _CREATED.fullmatch(created) else None


def _platforms(index: Mapping[str, Any], url: str) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    children = index.get("manifests")
    for child in children if isinstance(children, list) else []:
        if not isinstance(child, dict) or not isinstance(child.get("digest"), str):
            continue
        annotations = child.get("annotations") or {}
        if annotations.get("vnd.docker.reference.type") == "attestation-manifest":
            continue  # BuildKit's provenance/SBOM attestations: not a platform
        platform = child.get("platform")
        name = _platform_name(platform if isinstance(platform, dict) else {})
        if name and name != "unknown/unknown":
            found.setdefault(name, _digest(child["digest"], url))
    return tuple(sorted(found.items()))


def _platform_name(platform: Mapping[str, Any]) -> str | None:
    """``linux/arm64/v8``; None for a platform that is not written as one."""
    parts = [platform.get("os"), platform.get("architecture")]
    if platform.get("variant"):
        parts.append(platform.get("variant"))
    if not all(isinstance(part, str) and _PLATFORM_PART.fullmatch(part) for part in parts):
        return None
    return "/".join(parts)  # type: ignore[arg-type]  # every part was checked to be a str above


def _config(session: Session, host: str, path: str, manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    config = manifest.get("config")
    if not isinstance(config, dict) or "digest" not in config:
        return None
    url = f"{base_url(host)}/v2/{path}/blobs/{_digest(config['digest'], path)}"
    response = session.fetch(url)
    return None if response is None else _json(_read(response, url), url)


def _created(session: Session, host: str, path: str, manifest: Mapping[str, Any]) -> str | None:
    return _checked_created(_config(session, host, path, manifest))


def _read(response: Any, url: str) -> bytes:
    body = response.read(_MAX_DOCUMENT + 1)
    if len(body) > _MAX_DOCUMENT:
        raise EngineError(f"the registry sent more than {_MAX_DOCUMENT} bytes for {url}: not a manifest")
    return body


def _json(body: bytes, url: str) -> dict[str, Any]:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        raise EngineError(f"the registry sent something other than JSON for {url}") from None
    if not isinstance(document, dict):
        raise EngineError(f"the registry sent a JSON {type(document).__name__} for {url}, not a manifest")
    return document


def lookup(name: str, tag: str, *, timeout: float = 10.0) -> RemoteImage | None:
    """The image ``name:tag`` has in its registry, or None if the tag does not exist."""
    host, path = split_name(name)
    url = _manifest_url(host, path, tag)
    session = Session(timeout=timeout)
    response = session.fetch(url, method="HEAD")
    if response is None:
        return None
    digest = response.headers.get("Docker-Content-Digest")
    body = session.fetch(url)
    if body is None:  # deleted between the two requests
        return None
    data = _read(body, url)
    if not digest:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return RemoteImage(digest, frozenset(_config_digests(session, host, path, data)))


def platform_labels(reference: str, *, timeout: float = 10.0) -> tuple[str, dict[str, tuple[str, dict[str, str]]]] | None:
    """(the digest ``reference`` names in its registry, each platform -> (its image's
    manifest digest, that image config's labels)): every platform of an index
    (attestations left out), or one image under its own platform (its digest twice).
    What says whether an index is the one a multi-platform build would make again, and
    which version a moving tag names. None when the tag does not exist."""
    session = Session(timeout=timeout)
    found = _manifest(reference, session)
    if found is None:
        return None
    host, path, url, digest, document, _ = found
    if not (document.get("mediaType") in INDEX_TYPES or "manifests" in document):
        config = _config(session, host, path, document)
        return digest, {(_platform_name(config) if config else None) or "": (digest, _labels(config))}
    images = {}
    for platform, child_digest in _platforms(document, url)[:_MAX_CHILDREN]:
        child = session.fetch(_manifest_url(host, path, child_digest))
        if child is not None:  # listed, but gone: that platform is not there
            images[platform] = (child_digest, _labels(_config(session, host, path, _json(_read(child, url), url))))
    return digest, images


def _labels(config: Mapping[str, Any] | None) -> dict[str, str]:
    """An image config's labels (none for a config that is not one)."""
    inner = (config or {}).get("config")
    labels = inner.get("Labels") if isinstance(inner, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _config_digests(session: Session, host: str, path: str, manifest: bytes) -> list[str]:
    document = json.loads(manifest or b"{}")
    if document.get("mediaType") in INDEX_TYPES or "manifests" in document:
        found: list[str] = []
        for child in document.get("manifests", [])[:_MAX_CHILDREN]:
            response = session.fetch(_manifest_url(host, path, child["digest"]))
            if response is not None:
                found.extend(_config_digests(session, host, path, response.read()))
        return found
    config = document.get("config") or {}
    return [config["digest"]] if "digest" in config else []


@dataclass
class Session:
    """GET/HEAD with the docker client's credentials, a bearer token per realm and scope
    fetched on a 401, and a count of the requests sent (tokens included)."""

    timeout: float = 10.0
    environ: Mapping[str, str] | None = None  # where DOCKER_CONFIG is read from (None: os.environ)
    requests: int = 0
    _auth: dict[str, str] = field(default_factory=dict)  # host -> Authorization header

    def fetch(self, url: str, *, method: str = "GET") -> http.client.HTTPResponse | None:
        """The response (an HTTPResponse: only http(s) URLs come here), None for 404."""
        host = urllib.parse.urlsplit(url).netloc
        for attempt in range(2):
            headers = {"Accept": ", ".join(MANIFEST_TYPES)}
            if host in self._auth:
                headers["Authorization"] = self._auth[host]
            request = urllib.request.Request(url, method=method, headers=headers)
            self.requests += 1
            try:
                return urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310 - http(s) only
            except urllib.error.HTTPError as error:
                if error.code == 404:
                    return None
                if error.code == 401 and attempt == 0 and self._authorize(host, error):
                    continue
                if error.code in (401, 403):
                    raise EngineError(
                        f"the registry {host} refused to show {url} ({error.code})",
                        hint=f"log in with `docker login {host}` (imagespec reads the docker client's "
                             "credentials and credential helpers)") from None
                raise EngineError(f"registry error {error.code} for {url}: {error.reason}",
                                  hint="the registry misbehaves: try again later") from None
            except (urllib.error.URLError, OSError) as error:
                reason = getattr(error, "reason", error)
                raise EngineError(f"cannot reach the registry for {url}: {reason}", hint=_unreachable_hint(host)) from None
        return None

    def _credentials(self, host: str) -> Credentials | None:
        from imagespec.publish.credentials import for_host

        return for_host("docker.io" if host == "registry-1.docker.io" else host, self.environ)

    def _authorize(self, host: str, error: urllib.error.HTTPError) -> bool:
        """Answer a 401's challenge: a bearer token from its realm, or basic credentials."""
        challenge = error.headers.get("WWW-Authenticate", "")
        scheme, _, rest = challenge.partition(" ")
        credentials = self._credentials(host)
        if scheme.lower() == "basic":
            if credentials is None:
                return False
            pair = f"{credentials.username}:{credentials.secret}".encode()
            self._auth[host] = "Basic " + base64.b64encode(pair).decode("ascii")
            return True
        if scheme.lower() != "bearer":
            return False
        params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        realm = params.pop("realm", None)
        realm_host = urllib.parse.urlsplit(realm or "").netloc
        # a token endpoint over plain HTTP only on this machine: credentials never leave it in clear
        if not realm or not (realm.startswith("https://") or (realm.startswith("http://") and is_loopback(realm_host))):
            return False
        headers = {}
        if credentials is not None:
            pair = f"{credentials.username}:{credentials.secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        request = urllib.request.Request(f"{realm}?{urllib.parse.urlencode(sorted(params.items()))}", headers=headers)
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = json.load(response)
        except urllib.error.HTTPError as refused:
            raise EngineError(f"the token service {realm_host} refused a token for {host} ({refused.code})",
                              hint=f"log in with `docker login {host}`") from None
        except (urllib.error.URLError, OSError, ValueError) as failure:
            raise EngineError(f"cannot get a token for {host} from {realm_host}: {getattr(failure, 'reason', failure)}",
                              hint="check the registry's token service") from None
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            return False
        self._auth[host] = f"Bearer {token}"
        return True


def _unreachable_hint(host: str) -> str:
    if host != "registry-1.docker.io":
        return "check the registry address and that it runs"
    # the usual way here: bases built into the engine (`imagespec base build`) and never pushed
    return ("the image names no registry, so Docker Hub was asked; an image only in the local engine has no "
            "registry digest: push it to a registry this machine reaches (`imagespec base build BASES --push`, "
            "with names under that registry) and name it there in the catalog")

