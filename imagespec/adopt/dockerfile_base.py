"""FROM: a catalog name where the catalog has the image, else `{image, family}` with the
family guessed from the image's name (and said to be a guess: the spec's model never
guesses it, so the import writes the guess down where the author sees it)."""

from __future__ import annotations

import re

from imagespec import reference as grammar
from imagespec.spec.catalog import Catalog
from imagespec.spec.model import Image
from imagespec.spec.values import image_reference

_FAMILIES = (  # first match wins: `python:3.12-alpine` is alpine, not debian
    ("scratch", re.compile(r"^scratch$")),
    ("distroless", re.compile(r"distroless|chainguard/static|/static-debian")),
    ("alpine", re.compile(r"alpine")),
    ("ubuntu", re.compile(r"ubuntu|jammy|focal|noble|eclipse-temurin|mcr\.microsoft\.com/dotnet")),
    ("fedora", re.compile(r"fedora")),
    ("centos", re.compile(r"centos")),
    ("rhel", re.compile(r"ubi[0-9]|redhat|rockylinux|almalinux|oraclelinux|amazonlinux")),
)


#: Microsoft's Windows base images (mcr.microsoft.com/windows/nanoserver, …/servercore, the
#: `-windowsservercore` and `-nanoserver` tags of official images)
_WINDOWS = re.compile(r"(?:^|/)windows(?:/|$)|nanoserver|servercore|windowsservercore|(?:^|/)powershell:.*windows")


def guess_family(reference: str) -> str:
    name = reference.lower()
    return next((family for family, pattern in _FAMILIES if pattern.search(name)), "debian")


def _candidates(reference: str) -> set[str]:
    """The names one image goes by: as written and as docker normalises it (`nginx`,
    `docker.io/library/nginx:latest`)."""
    try:
        return {reference, grammar.parse(reference).normalized}
    except grammar.Invalid:
        return {reference}


def catalog_name(reference: str, catalogs: list[Catalog], runtime: bool) -> tuple[str, Image] | None:
    """The catalog entry whose image is this reference; of several (python-build and
    python-runtime may be one image), the runtime entry for a stage that only ships
    (the final stage, running no command) and a build entry for a stage that runs
    commands: a configuration may point the runtime name at an image without pip."""
    wanted = _candidates(reference)
    for catalog in catalogs:
        names = sorted(name for name, entry in catalog.entries.items() if _candidates(entry.image.image) & wanted)
        if names:
            prefer = "runtime" if runtime else "build"
            best = next((n for n in names if prefer in n), names[0])
            return best, catalog.entries[best].image
    return None


#: distroless's `:nonroot` tags (`nonroot`, `debug-nonroot`, `latest-nonroot-amd64`) run as
#: this uid by the project's documentation; an image outside the catalog is only guessed to
_NONROOT_TAG = re.compile(r"(.*-)?nonroot(-.*)?")
DISTROLESS_NONROOT = 65532


def image_base(reference: str, catalogs: list[Catalog],
               runtime: bool) -> tuple[object, str, str | None, list[str], int | None, bool]:
    """(the spec's `from`, its family, the package manager, the guesses to report (none: the
    catalog's facts), the non-root uid the image runs as, or None: root, or not known, whether
    it has /bin/sh); `runtime`: the stage only ships (see catalog_name)."""
    if reference == "scratch":
        return "scratch", "scratch", None, [], None, False
    found = catalog_name(reference, catalogs, runtime)
    if found:
        name, image = found
        return name, image.family, image.package_manager if image.has_shell else None, [], image.user, \
            image.has_shell
    image_reference(reference)
    if _WINDOWS.search(reference.lower()):  # QA: guessed `family: debian`, then groupadd and useradd
        raise ValueError("a Windows image: imagespec builds Linux images (apt, apk, dnf; /bin/sh)")
    family = guess_family(reference)
    variant = _nonroot_variant(reference, catalogs, runtime) if family == "distroless" else None
    if variant:  # the same files; only the default user differs, and imagespec sets one (BP8)
        name, image = variant
        return name, image.family, None, [
            f"{name} for {reference}: the catalog's {image.image}, the same image with its user nonroot "
            f"({image.user}) as the default; the Dockerfile's ran as root (BP8)"], image.user, image.has_shell
    guesses = [f"family {family} for {reference}: guessed from the image's name; check it "
               "(it decides the package manager)"]
    written: dict[str, object] = {"image": reference, "family": family}
    user = None
    if family == "distroless" and _NONROOT_TAG.fullmatch(_tag(reference)):
        user = written["user"] = DISTROLESS_NONROOT
        guesses.append(f"user {user} for {reference}: distroless's `:nonroot` images run as {user} (by its tag; "
                       f"check it: docker image inspect -f '{{{{.Config.User}}}}' {reference})")
    elif family == "distroless" and reference.startswith(_WITH_NONROOT_USER):
        # without it the spec did not compile: a shell-less final cannot make its user
        user = written["user"] = DISTROLESS_NONROOT
        guesses.append(f"user {user} for {reference}: every image of {_publisher(reference)} has the user nonroot "
                       f"({user}); the spec runs as it (BP8), the Dockerfile's ran as "
                       f"{'root' if 'distroless' in reference else 'its default user'} (check it: "
                       f"docker image inspect -f '{{{{.Config.User}}}}' {reference})")
    image = Image(image=reference, family=family)
    return written, family, image.package_manager, guesses, user, image.has_shell


#: publishers whose every image has the user nonroot, 65532 (distroless: in /etc/passwd of
#: each tag, `:nonroot` only makes it the default; Chainguard's images run as it)
_WITH_NONROOT_USER = ("gcr.io/distroless/", "cgr.dev/chainguard/")


def _publisher(reference: str) -> str:
    return next(p for p in _WITH_NONROOT_USER if reference.startswith(p)).rstrip("/")


def _nonroot_variant(reference: str, catalogs: list[Catalog], runtime: bool) -> tuple[str, Image] | None:
    """The catalog entry of the `:nonroot` tag of a distroless image written with another
    tag (`static-debian12`, `:latest`, `:debug` -> `:nonroot`, `:debug-nonroot`)."""
    try:
        parsed = grammar.parse(reference)
    except grammar.Invalid:
        return None
    if parsed.digest or not reference.startswith(_WITH_NONROOT_USER[0]):
        return None
    tag = parsed.tag or "latest"
    return catalog_name(f"{parsed.name}:{'nonroot' if tag == 'latest' else tag + '-nonroot'}", catalogs, runtime)


def _tag(reference: str) -> str:
    try:
        return grammar.parse(reference).tag or ""
    except grammar.Invalid:
        return ""
