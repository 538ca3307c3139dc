"""Where the tools that build or install software hide in an image's file list (BP6, BP11).

Role: classify the paths of a flattened image: package managers of languages (pip,
easy_install, npm, npx, yarn, pnpm, corepack), compilers (gcc, cc, g++, clang, go,
rustc), C headers, and apt's package lists and caches. A final image runs the
application; none of these does, and each is a tool for an attacker (BP6) or bytes
left by a build (BP11). Checked on every final image, with or without a shell.

Found by where they really are, not only on PATH: a venv's bin and site-packages,
``node_modules/.bin`` and ``node_modules/npm``, Debian's ``/usr/share/nodejs`` and
``/usr/share/python-wheels`` (ensurepip's pip), ``/usr/lib/gcc/…/cc1``. Matched by exact names, so the application's own files
(``/app/pip_helpers.py``, a dependency called ``pipdeptree``) are not flagged.
setuptools and wheel as libraries are not flagged either: an application may import
``pkg_resources`` at run time; ``easy_install``, the installer setuptools ships, is.

An opt-out is explicit: an OS package in the spec's ``final.packages`` that provides a
kind of tool (``gcc``, ``python3-pip``, ``libpq-dev``…) declares that the application
needs it, and that kind is then allowed (``allowed_by_packages``). apt's lists and
caches are never needed at run time: no package opts them in.

May import: the standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PIP = "pip"
NODE = "node package manager"
COMPILER = "compiler"
HEADERS = "C headers"
APT = "apt lists and caches"
KINDS = (PIP, NODE, COMPILER, HEADERS, APT)

_PIP_EXE = re.compile(r"pip(?:3(?:\.[0-9]+)?)?|easy_install(?:-[0-9.]+)?")
_NODE_EXE = re.compile(r"npm|npx|yarn|yarnpkg|pnpm|pnpx|corepack")
# versioned and target-prefixed names too: gcc-12, x86_64-linux-gnu-g++-12, clang-16
_COMPILER_EXE = re.compile(
    r"(?:[a-z0-9_]+-linux-[a-z]+-)?(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+|rustc)(?:-[0-9.]+)?|go|cc1|cc1plus")
_PIP_PACKAGE = re.compile(r"pip|pip-[^/]+\.(?:dist|egg)-info")
_NODE_PACKAGES = frozenset({"npm", "corepack", "yarn", "pnpm"})
_SITE = frozenset({"site-packages", "dist-packages"})
# headers that runtime packages ship, which no build needs them for: iproute2 (ip, ss;
# nginx and many daemons depend on it) installs bpf_elf.h for tc's BPF programs
_RUNTIME_HEADERS = frozenset({"usr/include/iproute2"})
_APT_KEEP = frozenset({"lock", "partial", "auxfiles"})  # what an emptied /var/lib/apt/lists still holds
#: OS packages (Debian, Alpine, Fedora names) whose presence declares that a kind is needed.
_PROVIDERS = {
    PIP: re.compile(r"python3?-pip|py3-pip|python3-setuptools|py3-setuptools"),
    NODE: re.compile(r"npm|nodejs-npm|yarnpkg|yarn|node-corepack|corepack|pnpm"),
    COMPILER: re.compile(r"(?:gcc|g\+\+|cpp|clang|llvm)(?:-[0-9.]+)?|build-essential|build-base|golang(?:-[0-9.]+)?(?:-go)?"
                         r"|go|rustc|cargo|musl-tools"),
    HEADERS: re.compile(r".+-dev|.+-devel|linux-headers|build-essential|build-base"),
}


def classify(path: str) -> tuple[str, str] | None:
    """(kind, the path to report) for a path of an image, or None for anything else.
    Everything inside a tool's own folder is reported as that folder, once."""
    parts = path.removeprefix("./").strip("/").split("/")
    name, parent = parts[-1], parts[-2] if len(parts) > 1 else ""
    if parent in ("bin", "sbin", ".bin"):
        for kind, names in ((PIP, _PIP_EXE), (NODE, _NODE_EXE), (COMPILER, _COMPILER_EXE)):
            if names.fullmatch(name):
                return kind, "/" + "/".join(parts)
    if name in ("cc1", "cc1plus") and "gcc" in parts:  # /usr/lib/gcc/<triplet>/<version>/cc1
        return COMPILER, "/" + "/".join(parts)
    if parent == "python-wheels" and name.startswith("pip-") and name.endswith(".whl"):  # what ensurepip installs
        return PIP, "/" + "/".join(parts)
    for i, part in enumerate(parts[:-1]):
        below = parts[i + 1]
        if part in _SITE and _PIP_PACKAGE.fullmatch(below):
            return PIP, "/" + "/".join(parts[:i + 2])
        # npm's own package: node_modules/npm, or Debian's /usr/share/nodejs/npm
        if part in ("node_modules", "nodejs") and below in _NODE_PACKAGES:
            return NODE, "/" + "/".join(parts[:i + 2])
    for folder in (["usr", "include"], ["usr", "local", "include"]):  # something in it, not the empty folder
        if len(parts) > len(folder) and parts[:len(folder)] == folder and "/".join(parts[:3]) not in _RUNTIME_HEADERS:
            return HEADERS, "/" + "/".join(folder)
    return _apt(parts)


def _apt(parts: list[str]) -> tuple[str, str] | None:
    joined = "/".join(parts)
    if joined.startswith("var/lib/apt/lists/") and len(parts) == 5 and parts[4] not in _APT_KEEP:
        return APT, "/var/lib/apt/lists"
    if (joined.startswith("var/cache/apt/") and joined.endswith(".bin") and len(parts) == 4) or (
            joined.startswith("var/cache/apt/archives/") and joined.endswith(".deb")):
        return APT, "/var/cache/apt"
    return None


def find(paths: Iterable[str]) -> dict[str, list[str]]:
    """Kind -> the sorted places it was found, for the kinds found at all."""
    found: dict[str, set[str]] = {}
    for path in paths:
        hit = classify(path)
        if hit is not None:
            found.setdefault(hit[0], set()).add(hit[1])
    return {kind: sorted(found[kind]) for kind in KINDS if kind in found}


def allowed_by_packages(packages: Iterable[str]) -> frozenset[str]:
    """The kinds that OS packages of the final image declare as needed (see module doc)."""
    names = [name.split("=", 1)[0] for name in packages]
    return frozenset(kind for kind, pattern in _PROVIDERS.items() if any(pattern.fullmatch(n) for n in names))


__all__ = ["APT", "COMPILER", "HEADERS", "KINDS", "NODE", "PIP", "allowed_by_packages", "classify", "find"]
