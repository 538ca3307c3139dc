"""Whether this machine can run another platform's programs: natively, or through QEMU
registered with the kernel's binfmt_misc.

A build that runs the target's programs (mmdebstrap's maintainer scripts in a foreign
root, a RUN step of a stage that does not cross-compile, a base's `verify` command) gets
them started by the kernel, which hands a foreign ELF to the interpreter registered for
it. BuildKit's containers and mmdebstrap's chroot cannot see the host's
/usr/libexec/qemu-binfmt, so the registration needs the `F` flag (the kernel opens the
emulator when it is registered); Debian's qemu-user-static writes its entries with it,
and scripts/setup-engine.sh registers them. Checked here, once, before anything is built,
so that a missing emulator is one clear sentence instead of "exec format error" minutes
into a build.

May import: the standard library and imagespec.platform (the grammar of platforms).
"""

from __future__ import annotations

import os
from pathlib import Path

from imagespec import platform as platforms

BINFMT = Path("/proc/sys/fs/binfmt_misc")
# a CPU runs its own programs and, for these, the older 32-bit ones beside them
_ALSO_NATIVE = {"x86_64": ("qemu-i386",)}
# uname's machine where it is not QEMU's name for the same CPU
_UNAME_TO_QEMU = {"armv7l": "arm", "armv8l": "arm", "i686": "i386", "i586": "i386"}
SETUP_HINT = ("install Debian's qemu-user-static and register its /usr/lib/binfmt.d entries "
              "(scripts/setup-engine.sh does both, as root), or build on a machine of that platform")


def machine() -> str:
    """This machine's CPU in QEMU's words (x86_64, aarch64, ...)."""
    found = os.uname().machine
    return _UNAME_TO_QEMU.get(found, found)


def native_platform(*, host: str | None = None) -> str | None:
    """The platform BuildKit builds for here when none is asked (its default, and
    $BUILDPLATFORM): this CPU's own, not the older one it also runs (amd64, not 386).
    None on a CPU imagespec knows no platform of."""
    host = host or machine()
    return next((p.name for p in platforms.KNOWN.values() if p.qemu == f"qemu-{host}"), None)


def runs_natively(platform: str, *, host: str | None = None) -> bool:
    emulator = platforms.parse(platform).qemu
    host = host or machine()
    return emulator == f"qemu-{host}" or emulator in _ALSO_NATIVE.get(host, ())


def emulation_problem(platform: str, *, host: str | None = None, binfmt: Path | None = None) -> str | None:
    """None when programs of ``platform`` run here; else what is missing, in one sentence."""
    binfmt, host = binfmt or BINFMT, host or machine()
    if runs_natively(platform, host=host):
        return None
    emulator = platforms.parse(platform).qemu
    if not (binfmt / "register").exists():
        return f"{platform} programs cannot run on this {host} machine: binfmt_misc is not mounted at {binfmt}"
    entry = binfmt / emulator
    try:
        lines = entry.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return f"{platform} programs cannot run on this {host} machine: no {emulator} is registered with binfmt_misc"
    if not lines or lines[0].strip() != "enabled":
        return f"{platform} programs cannot run here: {entry} is registered but disabled"
    flags = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("flags:")), "")
    if "F" not in flags:
        return (f"{platform} programs cannot run in a container or chroot: {entry} lacks the F flag (flags: "
                f"'{flags}'), so the emulator is looked up inside the root, where it is not")
    return None


__all__ = ["BINFMT", "SETUP_HINT", "emulation_problem", "machine", "native_platform", "runs_natively"]
