"""What an ELF executable says about itself: statically linked or not, which C library
left its marks in it, and the version string a known program compiles in.

Role: the facts ``scan`` records for each executable of an image, for ``origins`` to
name what a static binary holds that no package database records (the C library linked
into it, tini built by imagespec's init stage). Pure (bytes in, facts out). May import:
the standard library.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

_PT_INTERP = 3
_ET_EXEC, _ET_DYN = 2, 3
#: glibc's static start-up code reads its tunables from this variable (glibc >= 2.26);
#: musl has no such name. Present in every glibc-linked executable, static or not.
_GLIBC_MARK = b"GLIBC_TUNABLES"
#: tini's version string as tini.c compiles it: TINI_VERSION_STRING "tini version " TINI_VERSION
_TINI = re.compile(rb"tini version ([0-9][0-9A-Za-z.+~:-]{0,63})")


@dataclass(frozen=True)
class Executable:
    """An ELF executable at ``location``: ``static`` when it names no dynamic loader
    (PT_INTERP); ``libc`` is "glibc" when glibc's marks are in it, else ""; ``program``
    and ``version`` from a version string it compiles in (tini's)."""

    location: str
    static: bool
    libc: str = ""
    program: str = ""
    version: str = ""


def read(data: bytes, location: str) -> Executable | None:
    """The facts of an executable (``data``: the whole file); None when it is not an
    executable ELF file (a shared library without a loader counts: the caller knows
    which paths are programs)."""
    static = _static(data)
    if static is None:
        return None
    found = _TINI.search(data)
    return Executable(location, static, "glibc" if _GLIBC_MARK in data else "",
                      "tini" if found else "", found.group(1).decode() if found else "")


def _static(data: bytes) -> bool | None:
    """No PT_INTERP program header: no dynamic loader, so every library is linked in."""
    if len(data) < 52 or data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return None
    wide, order = data[4] == 2, "<" if data[5] == 1 else ">"
    (kind,) = struct.unpack_from(order + "H", data, 16)
    if kind not in (_ET_EXEC, _ET_DYN):
        return None
    if wide:
        (phoff,) = struct.unpack_from(order + "Q", data, 32)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 54)
    else:
        (phoff,) = struct.unpack_from(order + "I", data, 28)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 42)
    for index in range(phnum):
        offset = phoff + index * phentsize
        if offset + 4 > len(data):
            return None
        (segment,) = struct.unpack_from(order + "I", data, offset)
        if segment == _PT_INTERP:
            return False
    return True
