"""Why a program that is in the image "does not exist": the kernel answers ENOENT
(`exec /usr/local/bin/app: no such file or directory`) also when the program's
*interpreter* is missing: the dynamic loader an ELF binary names (`/lib64/ld-linux-x86-64.so.2`)
or the `#!` line of a script. A dynamically linked binary on scratch fails exactly so;
this module names that cause instead of leaving the user to believe the file is missing.

Pure functions of the failure text, the program's bytes and the image's path list.
May import the standard library only.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable

# runc after the start (`exec /x: no such file or directory`) and tini (`exec /x failed: No
# such file or directory`); not runc's `exec: "/x": stat /x: …`, where the file itself is missing
_FAILED_EXEC = re.compile(r"\bexec (/[^\s:\"]+)(?: failed)?: no such file or directory", re.IGNORECASE)
_PT_INTERP = 3


def failed_program(output: str) -> str | None:
    """The absolute path of the program an exec failed with ENOENT for, or None."""
    match = _FAILED_EXEC.search(output)
    return match.group(1) if match else None


def interpreter(content: bytes) -> tuple[str, str] | None:
    """(kind, path) of what the kernel must load to run the file: an ELF binary's dynamic
    loader (PT_INTERP) or a script's `#!` interpreter; None for a static binary."""
    if content.startswith(b"#!"):
        words = content[2:].split(b"\n", 1)[0].split()
        return ("script", words[0].decode("utf-8", "replace")) if words else None
    if content[:4] != b"\x7fELF" or len(content) < 64:
        return None
    wide, order = content[4] == 2, "<" if content[5] == 1 else ">"
    if wide:
        phoff, = struct.unpack_from(order + "Q", content, 32)
        phentsize, phnum = struct.unpack_from(order + "HH", content, 54)
    else:
        phoff, = struct.unpack_from(order + "I", content, 28)
        phentsize, phnum = struct.unpack_from(order + "HH", content, 42)
    for index in range(phnum):
        at = phoff + index * phentsize
        if at + phentsize > len(content):
            return None
        kind, = struct.unpack_from(order + "I", content, at)
        if kind != _PT_INTERP:
            continue
        # Elf64_Phdr: p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz;
        # Elf32_Phdr: p_type, p_offset, p_vaddr, p_paddr, p_filesz
        field = order + ("Q" if wide else "I")
        offset, = struct.unpack_from(field, content, at + (8 if wide else 4))
        size, = struct.unpack_from(field, content, at + (32 if wide else 16))
        return "elf", content[offset:offset + size].split(b"\0", 1)[0].decode("utf-8", "replace")
    return None


def missing_interpreter(program: str, content: bytes, paths: Iterable[str]) -> str | None:
    """The cause to report when `program` failed to start with ENOENT although it is in
    the image: its interpreter is not (merged /usr counted: /lib64/… may be /usr/lib64/…)."""
    found = interpreter(content)
    if found is None:
        return None
    kind, path = found
    files = {p.removeprefix("./").rstrip("/") for p in paths}
    relative = path.lstrip("/")
    if relative in files or f"usr/{relative}" in files:
        return None
    if kind == "elf":
        return (f"{program} is dynamically linked (its loader {path}), but the final has no dynamic loader: link it "
                "statically (-static), or build on a final with glibc (final.from: cc)")
    return f"{program} is a script for {path}, which the final does not have (a shell-less final runs no script)"
