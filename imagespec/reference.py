"""The grammar of image references, tags, digests and versions, in one place.

Role: parse and validate ``[domain/]path[:tag][@digest]`` as distribution/reference does
(its reference/regexp.go, with the registered digest algorithms of opencontainers/go-digest),
name a reference the way docker compares them (normalize.go: ``debian`` is
``docker.io/library/debian:latest``), and read semantic versions (semver.org 2.0.0) with
the tags BP14 derives from them. Every other module asks here instead of splitting on
``:``, ``@`` or ``/`` itself, so that the spec, the build and the push agree on what a
reference is.

Pure: no I/O. Errors are ``Invalid``, a ValueError with a hint: the spec model reports it at
the spec line, the engine side turns it into a SpecError with the same words.

May import: the standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from typing import NamedTuple


class Invalid(ValueError):
    """A value error with a hint: how to write the value instead (spec/validate.py shows it)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class InvalidPart(Invalid):
    """An Invalid about one part of the value (`at`: an item of a list), which spec/validate.py
    locates there when the value is written so (a string's words have no place of their own)."""

    def __init__(self, message: str, hint: str | None = None, *, at: tuple[int | str, ...]) -> None:
        super().__init__(message, hint)
        self.at = at


# --- distribution/reference's grammar (reference/regexp.go) ----------------------------------

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[[a-fA-F0-9:]+\]"  # no zone (`%eth0`): a zone is local to one host
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})"
DOMAIN = rf"{_HOST}(?::[0-9]+)?"
PATH = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
NAME = rf"(?:{DOMAIN}/)?{PATH}"
# `[\w][\w.-]{0,127}` in Go's RE2, where \w is ASCII: spelled out so that no engine (Python's
# Unicode \w, pydantic's Rust regex, an editor's JSON Schema) reads `café` as a tag
TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
REFERENCE = rf"(?P<name>{NAME})(?::(?P<tag>{TAG}))?(?:@(?P<digest>{DIGEST}))?"
# where `imagespec build --push` pushes: a registry host with an optional path under it
REGISTRY = rf"{DOMAIN}(?:/{PATH})?/?"
# the same grammars anchored, as a JSON Schema `pattern` needs them (ECMA and Python alike)
TAG_PATTERN = rf"^{TAG}$"
REGISTRY_PATTERN = rf"^{REGISTRY}$"

_IMAGE_ID = r"[a-f0-9]{64}"
# Each expression is compiled when first matched (a C-level cache in front of re.compile):
# most runs match a few of these grammars, and compiling them all cost more than compiling
# a whole spec (BENCHMARKS.md, issue 13, sixth pass)
_regex = cache(re.compile)

NAME_MAX = 255  # distribution's NameTotalLengthMax, domain included
# the algorithms go-digest registers and the length of their lower-case hex encoding
DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
# a digest with its algorithm's length, for a JSON Schema (validation says which part is wrong)
DIGEST_PATTERN = "^(?:" + "|".join(f"{name}:[0-9a-f]{{{length}}}" for name, length in DIGEST_LENGTHS.items()) + ")$"
DOCKER_HUB = "docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io"}

_REFERENCE_HINT = "write [registry/]name[:tag][@sha256:digest] with a lower-case name, e.g. registry.example.com/team/app:1.0"
_NAME_MAX_HINT = (f"registries take names of at most {NAME_MAX} characters, registry included: shorten the name "
                  "(or the registry's path)")
_TAG_HINT = ("a tag is 1-128 characters of ASCII letters, digits, '_', '.' and '-', not starting with '.' or '-' "
             "(semver build metadata '+…' is not allowed)")


# NamedTuples, not frozen dataclasses: the class is made at every start that checks a spec,
# and a frozen dataclass costs about four times as much to make (BENCHMARKS.md, issue 13)
class Reference(NamedTuple):
    """One parsed image reference. ``domain`` is what docker reads as the registry (the first
    component when it has a `.` or `:`, is `localhost` or has upper case), "" when the
    reference leaves Docker Hub implied; ``str()`` gives back the text it was parsed from."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The repository: domain and path, no tag or digest."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def unpinned(self) -> Reference:
        """The reference without its digest (``base:1@sha256:…`` → ``base:1``): the name a
        digest pins, which is what labels and graphs compare."""
        return Reference(self.domain, self.path, self.tag, None)

    def normalize(self) -> Reference:
        """``golang:1.22`` → ``docker.io/library/golang:1.22`` (and ``:latest`` when neither a
        tag nor a digest pins it): the form BuildKit names images in, for comparisons only."""
        domain = DOCKER_HUB if not self.domain or self.domain in _HUB_ALIASES else self.domain
        path = f"library/{self.path}" if domain == DOCKER_HUB and "/" not in self.path else self.path
        return Reference(domain, path, self.tag or (None if self.digest else "latest"), self.digest)

    @property
    def normalized(self) -> str:
        return str(self.normalize())

    @property
    def familiar(self) -> str:
        """``docker.io/library/golang:1.22`` → ``golang:1.22``: the form docker shows."""
        hub = not self.domain or self.domain in _HUB_ALIASES
        path = self.path.removeprefix("library/") if hub and self.path.count("/") == 1 else self.path
        return str(Reference("" if hub else self.domain, path, self.tag, self.digest))


def _split_domain(name: str) -> tuple[str, str]:
    """docker's rule (normalize.go splitDockerDomain): the first component names a registry
    when it has a `.` or a `:`, is `localhost`, or has upper case (paths are lower case)."""
    first, slash, rest = name.partition("/")
    if slash and (("." in first or ":" in first) or first == "localhost" or first.lower() != first):
        return first, rest
    return "", name


# a pure function of the text (and a Reference is frozen); each spec's bases are parsed when
# the spec is validated and again when it is lowered, and a fleet's specs share their bases
@lru_cache(maxsize=1024)
def parse(text: str) -> Reference:
    """``[domain/]path[:tag][@digest]``, or Invalid saying which part is wrong."""
    if _regex(_IMAGE_ID).fullmatch(text):  # docker reads it as an image ID (normalize.go)
        raise Invalid(f"'{text}' is an image ID, not an image reference", "name the image: NAME[:TAG][@sha256:DIGEST]")
    match = _regex(REFERENCE).fullmatch(text)
    if match is None:
        before, at, after = text.partition("@")
        if at and _regex(rf"{NAME}(?::{TAG})?").fullmatch(before):
            digest(after)  # the name is right: say what is wrong with the digest (a truncated copy)
        name, tag_text = split(before)
        if tag_text is not None and _regex(NAME).fullmatch(name) and not _regex(TAG).fullmatch(tag_text):
            raise Invalid(f"'{text}' is not a valid image reference: invalid tag '{tag_text}'", _TAG_HINT)
        raise Invalid(f"'{text}' is not a valid image reference", _lower_case(text) or _REFERENCE_HINT)
    if len(match["name"]) > NAME_MAX:
        raise Invalid(f"'{text}' is not a valid image reference: its name is longer than {NAME_MAX} characters",
                      _NAME_MAX_HINT)
    if match["digest"]:
        digest(match["digest"])
    domain, path = _split_domain(match["name"])
    return Reference(domain, path, match["tag"], match["digest"])


def _lower_case(text: str) -> str | None:
    """The hint for a reference whose only fault is upper case in its name: the
    reference written right (a tag may have upper case, and keeps it)."""
    before, at, digest_text = text.partition("@")
    name, tag_text = split(before)
    fixed = name.lower() + (f":{tag_text}" if tag_text is not None else "") + at + digest_text
    if fixed != text and _regex(REFERENCE).fullmatch(fixed):
        return f"image names are lower case: '{fixed}'"
    return None


def reference(text: str) -> str:
    """``text`` if it is a valid image reference, else Invalid (a validator for the spec)."""
    parse(text)
    return text


def split(text: str) -> tuple[str, str | None]:
    """``name[:tag]`` → (name, tag) without validating: a ``:port`` in the domain is no tag."""
    name, colon, tag = text.rpartition(":")
    if not colon or "/" in tag:
        return text, None
    return name, tag


def repository(text: str) -> str:
    """``text`` if it is a repository name (``[domain/]path``, no tag), else Invalid."""
    if len(text) > NAME_MAX and _regex(NAME).fullmatch(text):
        raise Invalid(f"invalid image name: it is {len(text)} characters, over {NAME_MAX}", _NAME_MAX_HINT)
    if not _regex(NAME).fullmatch(text):
        hint = "image names are lowercase: letters, digits, '.', '_', '-' and '/'"
        if text != text.lower() and _regex(NAME).fullmatch(text.lower()):
            hint = f"use lowercase: {text.lower()!r}"
        raise Invalid(f"invalid image name {text!r}", hint)
    return text


def full_name(registry: str | None, name: str) -> str:
    """The repository a spec's images get: ``registry/name`` (a trailing ``/`` of the
    registry dropped), or the name alone without a registry; Invalid when the two together
    are longer than registries take (each alone may fit)."""
    if not registry:
        return name
    full = f"{registry.rstrip('/')}/{name}"
    if len(full) > NAME_MAX:
        raise Invalid(f"the full name registry/name ('{registry.rstrip('/')}/' and the {len(name)}-character name) "
                      f"is {len(full)} characters, over {NAME_MAX}", _NAME_MAX_HINT)
    return full


def path(text: str) -> str:
    """``text`` if it is the path of a repository (``team/app``: no registry, no tag)."""
    if len(text) > NAME_MAX and _regex(PATH).fullmatch(text):
        raise Invalid(f"'{text}' is not a valid image name: it is {len(text)} characters, over {NAME_MAX}",
                      _NAME_MAX_HINT)
    if not _regex(PATH).fullmatch(text):
        raise Invalid(f"'{text}' is not a valid image name", _path_hint(text))
    return text


def _path_hint(text: str) -> str:
    """What to write for an image name: the same name in its grammar when it can be made so
    (`Café App` -> `cafe-app`), else the grammar."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    fixed = re.sub(r"-*([./_])-*", r"\1", re.sub(r"[^a-z0-9./_-]+", "-", ascii_text)).strip("-./_")
    how = "lower-case letters and digits, with '.', '_' or '-' between them and '/' between parts"
    if fixed and fixed != text and _regex(PATH).fullmatch(fixed) and len(fixed) <= NAME_MAX:
        return f"{how}: '{fixed}'"
    return f"{how}, e.g. team/app"


def tag(text: str) -> str:
    """``text`` if docker accepts it as a tag, else Invalid."""
    if not _regex(TAG).fullmatch(text):
        raise Invalid(f"invalid tag {text!r}", _TAG_HINT)
    return text


def digest(text: str) -> str:
    """``algorithm:hex`` with a registered algorithm and the length its hash has."""
    algorithm, _, encoded = text.partition(":")
    if not _regex(DIGEST).fullmatch(text):
        raise Invalid(f"invalid digest {text!r}", "a digest is sha256: and 64 lower-case hex digits")
    if algorithm not in DIGEST_LENGTHS:
        raise Invalid(f"invalid digest {text!r}: unsupported algorithm '{algorithm}'",
                      f"use one of: {', '.join(DIGEST_LENGTHS)}")
    if not re.fullmatch(rf"[0-9a-f]{{{DIGEST_LENGTHS[algorithm]}}}", encoded):
        raise Invalid(f"invalid digest {text!r}: {algorithm} takes {DIGEST_LENGTHS[algorithm]} lower-case hex digits",
                      "copy the whole digest, as `docker buildx imagetools inspect IMAGE` prints it")
    return text


def registry(text: str) -> str:
    """``host[:port][/path]``: where images are pushed, or a registry a policy allows."""
    if not _regex(REGISTRY).fullmatch(text) or len(text) > NAME_MAX:
        raise Invalid(f"'{text}' is not a registry",
                      "write host[:port][/path] with a lower-case path, e.g. registry.example.com/team or 127.0.0.1:5000")
    return text


def within(name: str, registry: str) -> bool:
    """Whether ``name`` (an image's name, or a registry) is ``registry`` or lies under it:
    ``registry.example.com/team`` is under ``registry.example.com``; ``registry.example.com.evil.io``
    is not (a prefix of the text is not a prefix of the path)."""
    name, registry = name.rstrip("/"), registry.rstrip("/")
    return name == registry or name.startswith(registry + "/")


# --- semantic versions (semver.org 2.0.0) and the tags BP14 derives from them ------------------

_NUMBER = r"0|[1-9][0-9]*"
_IDENTIFIER = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER = (rf"(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
          rf"(?:-(?P<pre>{_IDENTIFIER}(?:\.{_IDENTIFIER})*))?"
          r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?")
SEMVER_PATTERN = "^" + re.sub(r"\?P<\w+>", "?:", SEMVER) + "$"  # for a JSON Schema: no group names
VERSION_MAX = 128  # longer would not fit in a tag
_VERSION_HINT = ("write three numbers without a leading 'v' or leading zeros, e.g. 1.4.2 or 2.0.0-rc.1: "
                 "it becomes the X.Y.Z, X.Y and X tags (BP14)")


class Version(NamedTuple):
    """A semantic version's parts (semver.org 2.0.0), as written."""

    major: str
    minor: str
    patch: str
    pre: str | None = None
    build: str | None = None

    @property
    def exact(self) -> str:
        """The version as a tag: build metadata dropped, because `+` is not valid in a tag."""
        return f"{self.major}.{self.minor}.{self.patch}" + (f"-{self.pre}" if self.pre else "")


def parse_version(text: str, *, leading_v: bool = False) -> Version:
    """A semantic version, or Invalid. ``leading_v``: accept git's `v1.2.3` habit."""
    bare = text[1:] if leading_v and text.startswith("v") else text
    match = _regex(SEMVER).fullmatch(bare)
    if match is None or len(text) > VERSION_MAX:
        raise Invalid(f"'{text}' is not a semantic version MAJOR.MINOR.PATCH", _VERSION_HINT)
    return Version(match["major"], match["minor"], match["patch"], match["pre"], match["build"])


def semantic_version(text: str) -> str:
    """``text`` if it is a semantic version as the spec's `version` takes it (no `v`)."""
    parse_version(text)
    return text


def version_tags(version: str, *, latest: bool = True) -> list[str]:
    """BP14: ``1.4.2`` → ``1.4.2, 1.4, 1, latest``; a pre-release gets only its own tag, since
    it must never move ``latest``, ``1`` or ``1.5``; a leading ``v`` and build metadata go."""
    parsed = parse_version(version, leading_v=True)
    if parsed.pre:
        return [parsed.exact]
    return [parsed.exact, f"{parsed.major}.{parsed.minor}", parsed.major] + (["latest"] if latest else [])


# what a reader takes for a release: X, X.Y, X.Y.Z, a pre-release X.Y.Z-rc.1; a `v` or not.
# `2-alpine` is a variant's name, not a version
_READS_AS_VERSION = re.compile(r"v?[0-9]+(?:\.[0-9]+){0,2}|v?[0-9]+\.[0-9]+\.[0-9]+-[0-9A-Za-z.-]+")


def foreign_version_tag(tag: str, version: str | None) -> bool:
    """Whether ``tag`` reads as a release (``2``, ``2.0``, ``2.0.0``, ``v2.0.0-rc.1``) other than
    ``version``'s own tags (its X.Y.Z, X.Y and X, with a `v` or not): an image tagged so says
    it is a version it is not, and the real one's X.Y.Z push is later refused (BP14)."""
    if not _READS_AS_VERSION.fullmatch(tag):
        return False
    own = set(version_tags(version, latest=False)) if version is not None else set()
    return tag.removeprefix("v") not in own


def precedence(version: Version) -> tuple[object, ...]:
    """A sort key that orders versions as semver.org 2.0.0 (item 11) does: by the numbers,
    a pre-release before its release, its identifiers compared one by one (numbers below
    words, numerically), build metadata ignored."""
    numbers = (int(version.major), int(version.minor), int(version.patch))
    if version.pre is None:
        return (*numbers, 1)
    identifiers = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in version.pre.split("."))
    return (*numbers, 0, identifiers)


def version_order(text: str | None) -> tuple[object, ...]:
    """``precedence`` of a version as a label or a spec writes it (a leading ``v`` taken);
    ``()``, below every version, when there is none or it is not a semantic one."""
    if text is None:
        return ()
    try:
        return precedence(parse_version(text, leading_v=True))
    except Invalid:
        return ()


def is_immutable_tag(text: str) -> bool:
    """True for a full semantic version (``X.Y.Z`` or ``X.Y.Z-pre``): BP14 says it never moves."""
    return _regex(SEMVER).fullmatch(text) is not None and len(text) <= VERSION_MAX
