"""A root file system from a Debian mirror (mmdebstrap, outside any container), and an
image loaded from it with a fixed config.

`docker import` stamps the current time into the config, so its image ID differs on
every run. Here the image is a docker-archive written by us: one layer (the tarball
mmdebstrap wrote with every mtime clamped to SOURCE_DATE_EPOCH) and a config holding
only fixed values, so the same mirror state and epoch give the same image ID (BP13).

May import: the standard library, ``imagespec.errors`` and ``imagespec.engine`` (the
engine connection; the docker SDK only through it).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from imagespec.engine.client import connect, engine_errors
from imagespec.errors import BuildFailed, EngineError, SpecError

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# what apt says when a package does not exist in the suite
_MISSING = re.compile(r"Unable to locate package (\S+)|Package '?([^'\s]+)'? has no installation candidate")


def missing_package(log: str) -> str | None:
    """The package apt could not find, from its output (mmdebstrap's or a RUN step's)."""
    found = _MISSING.search(log)
    return (found.group(1) or found.group(2)) if found else None


class PackageNotFound(BuildFailed):
    """apt could not find a package the spec names."""

    def __init__(self, package: str) -> None:
        super().__init__(f"package '{package}' does not exist in the suite")
        self.package = package


@dataclass(frozen=True)
class RootfsRequest:
    suite: str
    variant: str
    sources: tuple[str, ...]  # one-line apt sources: "deb URI SUITE COMPONENT..."
    include: tuple[str, ...] = ()
    hooks: Path | None = None  # templates/bases/slim: dpkg filters, sweep, customize
    slim: bool = True
    source_date_epoch: int = 0
    nonroot: bool = False  # the user 65532 made in the root (useradd in a customize hook)
    architecture: str | None = None  # Debian's name (arm64): one platform's root; None: the machine's


# BP8: the same user the compiler's own useradd step makes (plan/passes/add_nonroot_user.py),
# made while the root is one layer; mmdebstrap runs a hook that is not a file as `sh -c`
MAN1_HOOK = 'mkdir -p "$1/usr/share/man/man1"'
NONROOT_HOOK = ('chroot "$1" groupadd --system --gid 65532 nonroot'
                ' && chroot "$1" useradd --system --uid 65532 --gid 65532 --home-dir /home/nonroot --create-home'
                ' --shell /usr/sbin/nologin nonroot'
                ' && rm -f "$1/etc/passwd-" "$1/etc/group-" "$1/etc/shadow-" "$1/etc/gshadow-"')


@dataclass(frozen=True)
class ImageConfig:
    reference: str
    created: int  # SOURCE_DATE_EPOCH
    cmd: tuple[str, ...] = ("bash",)
    labels: Mapping[str, str] = field(default_factory=dict)
    created_by: str = "mmdebstrap"


def mmdebstrap_command(request: RootfsRequest, output: Path) -> list[str]:
    command = ["mmdebstrap", f"--variant={request.variant}", "--mode=root", "--format=tar",
               "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr"]
    if request.architecture:
        # a foreign root's maintainer scripts run under QEMU through binfmt_misc, which
        # imagespec checked itself (engine/emulation.py, the check every build that runs
        # the target's programs makes); mmdebstrap's own check needs arch-test installed
        command += [f"--architectures={request.architecture}", "--skip=check/qemu"]
    if request.include:
        command.append("--include=" + ",".join(request.include))
    if request.hooks is not None:
        if request.slim:
            # dpkg's path filters (docs, man pages, locales) for every later install; the
            # sweep removes what the Essential set unpacked before dpkg was in charge
            command += [f"--dpkgopt={request.hooks / 'dpkg-docker.cfg'}",
                        f"--essential-hook={request.hooks / 'slim-sweep'}",
                        f"--customize-hook={request.hooks / 'slim-sweep'}"]
            if request.include:
                # openjdk's postinst links its man pages into man1, which the filters
                # removed (Debian bug #863199); `customize` keeps it too, but runs after
                # the included packages are configured
                command.append(f"--essential-hook={MAN1_HOOK}")
        command.append(f"--customize-hook={request.hooks / 'customize'}")
    if request.nonroot:
        command.append(f"--customize-hook={NONROOT_HOOK}")
    return [*command, request.suite, str(output), *request.sources]


def bootstrap_rootfs(request: RootfsRequest, output: Path, *, log: Path,
                     on_line: Callable[[str], None] = lambda _: None) -> Path:
    """Run mmdebstrap into `output` (a tarball); raises PackageNotFound or BuildFailed."""
    if shutil.which("mmdebstrap") is None:
        raise EngineError("mmdebstrap is not installed", hint="apt-get install mmdebstrap (scripts/setup-engine.sh does)")
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(request.source_date_epoch), "TMPDIR": str(output.parent)}
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(mmdebstrap_command(request, output), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, errors="replace", env=env)
        assert process.stdout is not None
        for line in process.stdout:
            sink.write(line)
            on_line(line.rstrip("\n"))
        code = process.wait()
    if code != 0:
        text = log.read_text(encoding="utf-8", errors="replace")
        missing = missing_package(text)
        if missing:
            raise PackageNotFound(missing)
        tail = "\n".join(text.splitlines()[-15:])
        raise BuildFailed(f"mmdebstrap failed (exit {code}); log: {log}\n{tail}")
    return output


def add_file(tarball: Path, name: str, content: bytes, *, mtime: int, new_dirs: tuple[str, ...] = ()) -> None:
    """Append one regular file (root-owned, 0644) and the directories it needs that the
    tarball lacks (0755) to an uncompressed tarball, every mtime `mtime`."""
    with tarfile.open(tarball, "a", format=tarfile.GNU_FORMAT) as tar:
        for folder in new_dirs:
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
            tar.addfile(info)
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode, info.uid, info.gid = len(content), mtime, 0o644, 0, 0
        tar.addfile(info, io.BytesIO(content))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def image_config(config: ImageConfig, diff_id: str, architecture: str, variant: str | None = None) -> bytes:
    created = datetime.fromtimestamp(config.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document: dict[str, object] = {
        "architecture": architecture,
        **({"variant": variant} if variant else {}),
        "config": {"Env": [PATH_ENV], "Cmd": list(config.cmd), "Labels": dict(sorted(config.labels.items()))},
        "created": created,
        "history": [{"created": created, "created_by": config.created_by},
                    {"created": created, "created_by": f"CMD {json.dumps(list(config.cmd))}", "empty_layer": True}],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def load_image(tarball: Path, config: ImageConfig, *, architecture: str, variant: str | None = None) -> str:
    """Load `tarball` as a one-layer image tagged `config.reference`; returns its ID.
    ``architecture``, ``variant``: OCI's (arm64; arm and v7), what FROM --platform matches."""
    diff_id = _sha256(tarball)
    blob = image_config(config, diff_id, architecture, variant)
    config_id = hashlib.sha256(blob).hexdigest()
    manifest = [{"Config": f"{config_id}.json", "RepoTags": [config.reference], "Layers": [f"{diff_id}/layer.tar"]}]
    archive = tarball.with_suffix(".archive.tar")
    with tarfile.open(archive, "w", format=tarfile.GNU_FORMAT) as tar:
        _add_bytes(tar, f"{config_id}.json", blob)
        _add_bytes(tar, "manifest.json", json.dumps(manifest).encode())
        tar.add(tarball, f"{diff_id}/layer.tar")
    try:
        with engine_errors(f"load {config.reference}"), archive.open("rb") as data:
            connect().images.load(data)
    finally:
        archive.unlink(missing_ok=True)
    return f"sha256:{config_id}"


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(content), 0o644
    tar.addfile(info, io.BytesIO(content))


def host_architecture() -> str:
    """The engine's architecture in OCI terms (amd64, arm64, ...)."""
    try:
        found = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True)
        return found.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise SpecError("cannot tell the architecture (dpkg --print-architecture failed)") from None
