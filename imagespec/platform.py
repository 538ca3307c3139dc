"""The grammar of target platforms (`os/arch[/variant]`), and what imagespec knows about each
platform it can build for, in one place.

Role: validate a platform as OCI's image index writes it (`linux/arm64`, `linux/arm/v7`)
against the platforms imagespec can build and test, and give each one's names in the
toolchains that cross-compile for it: Go's GOARCH is BuildKit's TARGETARCH already;
Debian's architecture and GNU triplet name its cross compiler (`gcc-aarch64-linux-gnu`)
and its packages; rustc names it by its own triple (`aarch64-unknown-linux-gnu`). The spec model reports ``Invalid`` at the spec line; the CLI and the
configuration the same words.

Pure: no I/O. May import: ``imagespec.reference`` (its Invalid), the standard library.
"""

from __future__ import annotations

import difflib
import re
from typing import NamedTuple

from imagespec.reference import Invalid, InvalidPart

# os/arch[/variant], lower case, as containerd's platforms.Parse normalizes them and as an
# OCI index's `platform` object writes them
PLATFORM = r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?"
PLATFORM_PATTERN = rf"^{PLATFORM}$"  # for the JSON Schema
_PLATFORM_RE = re.compile(PLATFORM)


class Platform(NamedTuple):  # a NamedTuple: cheaper to make than a frozen dataclass (reference.Reference)
    """One platform imagespec can build for."""

    name: str  # os/arch[/variant]: what BuildKit's --platform and the index say
    debian_arch: str  # dpkg's architecture: the packages of a distroless base, apt's `:arch`
    gnu_type: str  # the GNU triplet: Debian's cross compiler is gcc-<triplet> (`_` as `-`)
    qemu: str  # the qemu-user-static binary that runs its programs on another machine
    rust_target: str  # rustc's target triple: the standard library to link and cargo's --target

    @property
    def os(self) -> str:
        return self.name.split("/")[0]

    @property
    def architecture(self) -> str:
        """BuildKit's TARGETARCH, which is also Go's GOARCH."""
        return self.name.split("/")[1]

    @property
    def variant(self) -> str | None:
        parts = self.name.split("/")
        return parts[2] if len(parts) > 2 else None

    @property
    def tag_suffix(self) -> str:
        """`linux-arm64`, `linux-arm-v7`: names a platform's own image in a tag."""
        return self.name.replace("/", "-")

    @property
    def cross_gcc_package(self) -> str:
        return "gcc-" + self.gnu_type.replace("_", "-")

    @property
    def cargo_linker_variable(self) -> str:
        """Cargo's setting of the linker for this target (the target's gcc links Rust's objects)."""
        return "CARGO_TARGET_" + re.sub(r"[^A-Z0-9]", "_", self.rust_target.upper()) + "_LINKER"

    @property
    def cross_libc_package(self) -> str:
        """The target's C library and headers for a cross compiler (only recommended by it)."""
        return f"libc6-dev-{self.debian_arch}-cross"


# The Linux platforms Debian bookworm (the bases' release) ships and Go, gcc and QEMU target.
# Others (windows/*, linux/riscv64 before trixie, darwin/*) have no local base to run on.
KNOWN: dict[str, Platform] = {p.name: p for p in (
    Platform("linux/amd64", "amd64", "x86_64-linux-gnu", "qemu-x86_64", "x86_64-unknown-linux-gnu"),
    Platform("linux/arm64", "arm64", "aarch64-linux-gnu", "qemu-aarch64", "aarch64-unknown-linux-gnu"),
    Platform("linux/arm/v7", "armhf", "arm-linux-gnueabihf", "qemu-arm", "armv7-unknown-linux-gnueabihf"),
    Platform("linux/386", "i386", "i686-linux-gnu", "qemu-i386", "i686-unknown-linux-gnu"),
    Platform("linux/ppc64le", "ppc64el", "powerpc64le-linux-gnu", "qemu-ppc64le", "powerpc64le-unknown-linux-gnu"),
    Platform("linux/s390x", "s390x", "s390x-linux-gnu", "qemu-s390x", "s390x-unknown-linux-gnu"),
)}
# what people write for the same platform (containerd's normalization): said in the hint
_ALIASES = {"linux/x86_64": "linux/amd64", "linux/x86-64": "linux/amd64", "linux/aarch64": "linux/arm64",
            "linux/arm64/v8": "linux/arm64", "linux/armhf": "linux/arm/v7", "linux/arm": "linux/arm/v7",
            "linux/i386": "linux/386", "linux/ppc64el": "linux/ppc64le"}
_HINT = "known platforms: " + ", ".join(KNOWN)


def parse(text: str) -> Platform:
    """A known platform, or Invalid naming the closest one."""
    if text in KNOWN:
        return KNOWN[text]
    if text != text.lower() and (text.lower() in KNOWN or text.lower() in _ALIASES):
        written = _ALIASES.get(text.lower(), text.lower())
        raise Invalid(f"unknown platform '{text}': imagespec writes it '{written}'",
                      f"write '{written}' (lower case, the name an OCI index and BuildKit use)")
    if not _PLATFORM_RE.fullmatch(text):
        raise Invalid(f"'{text}' is not a platform: write os/arch[/variant], e.g. linux/arm64", _HINT)
    if text in _ALIASES:
        raise Invalid(f"unknown platform '{text}': imagespec writes it '{_ALIASES[text]}'",
                      f"write '{_ALIASES[text]}' (the name an OCI index and BuildKit use)")
    # compared without the os: every known one is linux, and its six shared letters would make
    # any two names look alike (linux/mips is not "close to" linux/s390x)
    by_arch = {name.partition("/")[2]: name for name in KNOWN}
    close = difflib.get_close_matches(text.partition("/")[2], list(by_arch), n=1)
    raise Invalid(f"unknown platform '{text}'", (f"did you mean '{by_arch[close[0]]}'? " if close else "") + _HINT)


def platform(text: str) -> str:
    """``text`` if it names a known platform, else Invalid (a validator for the spec)."""
    parse(text)
    return text


def platform_list(values: list[str]) -> list[str]:
    """Each platform once: the same one twice would build (and push) it twice. An empty
    list builds for none: it is bad input rather than "unset" (which `[]` would silently
    mean, taking the configuration's `build.platforms` or the engine's own)."""
    if not values:
        raise Invalid("an empty list of platforms builds for none",
                      "leave `platforms:` out to build for the engine's own platform (or the configuration's), "
                      "or list the platforms to build")
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            # said at the repeated item (QA: it was said at `platforms:`)
            raise InvalidPart(f"platform '{value}' is listed twice", "list each platform once", at=(index,))
        seen.add(value)
    return values
