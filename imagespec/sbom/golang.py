"""Go modules compiled into a binary, read from its embedded build information.

Role: bytes of an executable in, its ``BuildInfo`` out (``go version -m`` in pure
Python). Go 1.18+ writes a 32-byte header starting ``\\xff Go buildinf:`` (16-byte
aligned, in the data of every Go executable, stripped or not), and with flag bit 2 the
Go version and module information follow inline, each prefixed by its length as an
unsigned varint. Older binaries point at the strings instead; they are reported as not
readable rather than guessed. Pure. May import: the standard library and its own package.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagespec.sbom.component import Component

MAGIC = b"\xff Go buildinf:"
_HEADER = 32
_FLAG_INLINE = 0x2
#: modinfo is wrapped in 16-byte sentinels (cmd/go/internal/modload.infoStart/End)
_SENTINEL = 16
#: "(devel)": the main module built outside a tagged VCS checkout (and with -trimpath)
DEVEL = "(devel)"


@dataclass(frozen=True)
class Module:
    path: str
    version: str
    replaced_by: str = ""  # "path version" of a `=>` line, "./dir" for a local directory


@dataclass(frozen=True)
class BuildInfo:
    go_version: str  # "go1.19.8"
    path: str  # the main package's import path
    main: Module | None
    deps: tuple[Module, ...]
    #: the `build` lines (Go 1.18+): GOOS, GOARCH, CGO_ENABLED, -ldflags, vcs.revision, …
    settings: tuple[tuple[str, str], ...] = ()

    def setting(self, key: str) -> str:
        return next((value for name, value in self.settings if name == key), "")


def is_elf(head: bytes) -> bool:
    return head[:4] == b"\x7fELF"


def read_build_info(data: bytes) -> BuildInfo | None:
    """The build information of a Go executable; None when there is none (not Go) or
    it is in the pre-1.18 pointer format."""
    start = data.find(MAGIC)
    while start != -1:
        if start % 16 == 0 and len(data) >= start + _HEADER and data[start + 15] & _FLAG_INLINE:
            found = _inline(data, start + _HEADER)
            if found is not None:
                return found
        start = data.find(MAGIC, start + 1)
    return None


def _inline(data: bytes, offset: int) -> BuildInfo | None:
    version, offset = _string(data, offset)
    if version is None or not version.startswith("go"):
        return None
    modinfo, _ = _string(data, offset)
    if modinfo is None:
        return None
    if len(modinfo) >= 2 * _SENTINEL + 1 and modinfo[-_SENTINEL - 1] == "\n":
        modinfo = modinfo[_SENTINEL:-_SENTINEL]
    return parse_modinfo(version, modinfo)


def _string(data: bytes, offset: int) -> tuple[str | None, int]:
    length, shift = 0, 0
    while offset < len(data) and shift < 64:
        byte = data[offset]
        offset += 1
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            end = offset + length
            if end > len(data):
                return None, offset
            return data[offset:end].decode("utf-8", "replace"), end
        shift += 7
    return None, offset


def parse_modinfo(go_version: str, text: str) -> BuildInfo:
    """``path``/``mod``/``dep``/``=>`` lines (tab-separated, as ``go version -m`` prints)."""
    path, main, deps, settings = "", None, [], []
    for line in text.splitlines():
        fields = line.split("\t")
        kind = fields[0]
        if kind == "path" and len(fields) > 1:
            path = fields[1]
        elif kind == "build" and len(fields) > 1 and "=" in fields[1]:
            key, _, value = fields[1].partition("=")
            settings.append((key, value))
        elif kind in ("mod", "dep") and len(fields) > 2:
            module = Module(fields[1], fields[2])
            if kind == "mod":
                main = module
            else:
                deps.append(module)
        elif kind == "=>" and len(fields) > 2:
            target = f"{fields[1]} {fields[2]}".strip() if fields[2] not in ("", DEVEL) else fields[1]
            if deps:
                deps[-1] = Module(deps[-1].path, deps[-1].version, target)
            elif main is not None:
                main = Module(main.path, main.version, target)
    return BuildInfo(go_version, path, main, tuple(deps), tuple(settings))


def modules(info: BuildInfo, location: str) -> list[Component]:
    """The binary's modules as Components: the main module (version "" when it is
    ``(devel)``: the app's own version is filled in by the document), every dependency
    (a replacement by another module version is what was compiled in; a local directory
    keeps the required version and says so), and the Go standard library, compiled for
    the architecture the build information names (GOARCH: each platform's binary its own)."""
    found = [Component("golang", "stdlib", info.go_version.removeprefix("go").split()[0], location=location,
                       architecture=info.setting("GOARCH"))]
    if info.main is not None and info.main.path:
        version = "" if info.main.version == DEVEL else info.main.version
        found.append(Component("golang", info.main.path, version, location=location, note="main module"))
    for dep in info.deps:
        path, version, note = dep.path, dep.version, ""
        if dep.replaced_by and " " in dep.replaced_by:
            path, version = dep.replaced_by.split(" ", 1)
            note = f"replaces {dep.path} {dep.version}"
        elif dep.replaced_by:
            note = f"replaced by the local directory {dep.replaced_by}"
        found.append(Component("golang", path, version, location=location, note=note))
    return found
