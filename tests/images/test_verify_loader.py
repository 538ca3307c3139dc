"""`imagespec test` names why a program that is in the image "does not exist": its dynamic
loader (or `#!` interpreter) is not there (pure parts; the engine test is in
tests/adopt/test_init_engine.py)."""

from __future__ import annotations

import struct

import pytest

from imagespec.verify.loader import failed_program, interpreter, missing_interpreter

LOADER = b"/lib64/ld-linux-x86-64.so.2"


def elf(*, wide: bool = True, little: bool = True, interp: bytes | None = LOADER) -> bytes:
    """A minimal ELF file: its header, one program header (PT_INTERP, or PT_LOAD), the path."""
    order = "<" if little else ">"
    header_size, phentsize = (64, 56) if wide else (52, 32)
    ident = b"\x7fELF" + bytes([2 if wide else 1, 1 if little else 2, 1]) + bytes(9)
    data_at = header_size + phentsize
    kind, text = (3, interp + b"\0") if interp is not None else (1, b"")
    if wide:
        header = ident + struct.pack(order + "HHIQQQIHHHHHH", 2, 62, 1, 0, header_size, 0, 0, header_size, phentsize,
                                     1, 0, 0, 0)
        program = struct.pack(order + "IIQQQQQQ", kind, 4, data_at, 0, 0, len(text), len(text), 1)
    else:
        header = ident + struct.pack(order + "HHIIIIIHHHHHH", 2, 3, 1, 0, header_size, 0, 0, header_size, phentsize,
                                     1, 0, 0, 0)
        program = struct.pack(order + "IIIIIIII", kind, data_at, 0, 0, len(text), len(text), 4, 1)
    return header + program + text + bytes(64)


@pytest.mark.parametrize(("wide", "little"), [(True, True), (False, True), (True, False), (False, False)])
def test_the_loader_an_elf_binary_names_is_read(wide: bool, little: bool) -> None:
    assert interpreter(elf(wide=wide, little=little)) == ("elf", LOADER.decode())


def test_a_static_binary_names_none_and_a_script_its_interpreter() -> None:
    assert interpreter(elf(interp=None)) is None
    assert interpreter(b"#!/usr/bin/env python3\nprint()\n") == ("script", "/usr/bin/env")
    assert interpreter(b"\x7fELF") is None and interpreter(b"plain text") is None


@pytest.mark.parametrize(("output", "program"), [
    ("[FATAL tini (7)] exec /usr/local/bin/server failed: No such file or directory", "/usr/local/bin/server"),
    ("exec /app/run: no such file or directory", "/app/run"),
    # runc's own check: the file itself is missing, which is not this cause
    ('exec: "/nope": stat /nope: no such file or directory: unknown', None),
    ("exited: permission denied", None),
])
def test_the_program_an_exec_failed_for_is_read_from_tini_and_runc(output: str, program: str | None) -> None:
    assert failed_program(output) == program


def test_the_cause_is_named_only_when_the_loader_is_missing() -> None:
    binary = elf()
    cause = missing_interpreter("/usr/local/bin/server", binary, ["usr/local/bin/server", "etc/passwd"])
    assert cause == ("/usr/local/bin/server is dynamically linked (its loader /lib64/ld-linux-x86-64.so.2), but the "
                     "final has no dynamic loader: link it statically (-static), or build on a final with glibc "
                     "(final.from: cc)")
    assert missing_interpreter("/x", binary, ["x", "lib64/ld-linux-x86-64.so.2"]) is None
    assert missing_interpreter("/x", binary, ["x", "usr/lib64/ld-linux-x86-64.so.2"]) is None  # merged /usr
    assert missing_interpreter("/x", elf(interp=None), ["x"]) is None
    assert "is a script for /bin/sh, which the final does not have" in missing_interpreter("/x", b"#!/bin/sh\n", ["x"])
