"""`platforms:` on bootstrap and spec bases, without an engine: what mmdebstrap is asked
for one platform, the image config it is loaded with, the spec a spec base compiles for
several platforms, and the checks made before anything is built (QEMU registered with
binfmt_misc for a platform the machine cannot run; the mirror carries the architecture),
each exit 2 at the `platforms:` item it is about. (tests/platforms builds them.)"""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from compiler_helpers import REPO

from imagespec.bootstrap.apt_sources import Release, _parse_release
from imagespec.bootstrap.mmdebstrap import ImageConfig, RootfsRequest, image_config, mmdebstrap_command
from imagespec.cli import main
from imagespec.engine import emulation
from imagespec.engine.emulation import emulation_problem
from imagespec.errors import SpecError
from imagespec.spec.config import load_config
from imagespec.spec.read_base import load_base

ARM64_ENTRY = ("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: {flags}\noffset 0\n"
               "magic 7f454c460201010000000000000000000200b700\n")


def binfmt(tmp_path: Path, *, mounted: bool = True, flags: str | None = "POF", state: str = "enabled") -> Path:
    """A stand-in for /proc/sys/fs/binfmt_misc (the machine's own is never touched)."""
    folder = tmp_path / "binfmt_misc"
    folder.mkdir()
    if mounted:
        (folder / "register").write_text("")
    if flags is not None:
        (folder / "qemu-aarch64").write_text(ARM64_ENTRY.format(flags=flags).replace("enabled", state, 1))
    return folder


def test_the_machines_own_platform_needs_no_emulator(tmp_path: Path) -> None:
    nothing = binfmt(tmp_path, mounted=False, flags=None)
    assert emulation_problem("linux/amd64", host="x86_64", binfmt=nothing) is None
    assert emulation_problem("linux/386", host="x86_64", binfmt=nothing) is None  # amd64 CPUs run i386 programs
    assert emulation_problem("linux/arm64", host="aarch64", binfmt=nothing) is None


@pytest.mark.parametrize(("setup", "said"), [
    ({"mounted": False, "flags": None}, "binfmt_misc is not mounted at"),
    ({"flags": None}, "no qemu-aarch64 is registered with binfmt_misc"),
    ({"state": "disabled"}, "qemu-aarch64 is registered but disabled"),
    ({"flags": "PO"}, "lacks the F flag (flags: 'PO')"),
])
def test_a_foreign_platform_needs_qemu_registered_with_the_F_flag(tmp_path: Path, setup: dict, said: str) -> None:
    problem = emulation_problem("linux/arm64", host="x86_64", binfmt=binfmt(tmp_path, **setup))
    assert problem is not None and said in problem and problem.startswith("linux/arm64 programs cannot run")


def test_qemu_registered_as_debians_qemu_user_static_does_runs_arm64(tmp_path: Path) -> None:
    assert emulation_problem("linux/arm64", host="x86_64", binfmt=binfmt(tmp_path)) is None


def base_file(tmp_path: Path, body: str, platforms: str = "platforms: [linux/amd64, linux/arm64]\n") -> Path:
    path = tmp_path / "slim.yaml"
    path.write_text("imagespec: 1\nbase: slim\nimage: 127.0.0.1:5000/team/slim:bookworm\n" + platforms
                    + textwrap.dedent(body))
    return path


BOOTSTRAP = "bootstrap: {suite: bookworm, variant: minbase}\n"
PROBE = """\
    spec:
      stages:
        probe: {from: debian-slim, run: dpkg --print-architecture > /arch, artifacts: [/arch]}
      final: {from: debian-slim, copy: [{from: probe, src: /arch, dest: /etc/arch}], cmd: [bash]}
    """


@pytest.mark.parametrize(("body", "kind", "what"), [
    (BOOTSTRAP, "bootstrap", "the packages' maintainer scripts"),
    (PROBE, "spec", "its RUN steps"),
    ("distroless:\n  assemble_in: debian-slim\n  packages: [base-files]\n  verify: [[/bin/true]]\n", "distroless",
     "its `verify` commands"),
])
def test_a_base_that_runs_the_targets_programs_without_qemu_is_exit_2_at_that_platform(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        body: str, kind: str, what: str) -> None:
    """Before the engine is asked (none answers here) and before anything is built."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/imagespec-no-engine.sock")
    monkeypatch.setattr(emulation, "BINFMT", binfmt(tmp_path, flags=None))
    monkeypatch.setattr(emulation, "machine", lambda: "x86_64")
    path = base_file(tmp_path, body)
    catalog = tmp_path / "catalog.yaml"
    assert main(["base", "build", str(path), "--push", "--config", str(REPO / "scripts" / "local-config.yaml"),
                 "--catalog", str(catalog)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:4:26: slim: a {kind} base runs linux/arm64 programs while it is built ({what}), "
                          "but linux/arm64 programs cannot run on this x86_64 machine: no qemu-aarch64 is registered"), err
    assert "hint: install Debian's qemu-user-static" in err and "Traceback" not in err
    assert not catalog.exists()


def test_a_distroless_base_without_verify_unpacks_and_needs_no_qemu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/imagespec-no-engine.sock")
    monkeypatch.setattr(emulation, "BINFMT", binfmt(tmp_path, mounted=False, flags=None))
    monkeypatch.setattr(emulation, "machine", lambda: "x86_64")
    path = base_file(tmp_path, "distroless: {assemble_in: debian-slim, packages: [base-files]}\n")
    assert main(["base", "build", str(path), "--push", "--config", str(REPO / "scripts" / "local-config.yaml")]) == 3
    assert "engine" in capsys.readouterr().err.lower()  # got past every check: the missing engine is all that stops it


def test_platforms_inside_a_spec_bases_spec_are_refused(tmp_path: Path) -> None:
    path = base_file(tmp_path, "spec:\n  platforms: [linux/arm64]\n  final: {from: debian-slim, cmd: [bash]}\n",
                     platforms="")
    with pytest.raises(SpecError, match="a spec base is built for the base's `platforms:`, not its spec's") as raised:
        load_base(path, load_config(start=REPO / "bases"))
    assert raised.value.location is not None and (raised.value.location.line, raised.value.location.col) == (5, 3)
    assert raised.value.hint == "move `platforms:` out of `spec:` to the base's top level"


def test_a_spec_base_compiles_its_spec_for_the_bases_platforms(tmp_path: Path) -> None:
    """As `imagespec build` compiles a spec of several platforms: each FROM the parent's
    image of the platform being built (no --platform on a stage that does not cross-compile)."""
    from imagespec.bases import dockerfile_of

    path = base_file(tmp_path, PROBE)
    loaded = load_base(path, load_config(start=REPO / "bases"))
    assert loaded.app_spec().spec.platforms == ["linux/amd64", "linux/arm64"]
    text = dockerfile_of(path, load_config(start=REPO / "bases"))
    froms = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert froms and all("--platform" not in line for line in froms), froms


def test_one_platforms_root_is_mmdebstraps_of_that_architecture_under_qemu_checked_by_imagespec() -> None:
    plain = RootfsRequest("bookworm", "minbase", ("deb http://m.example/debian bookworm main",))
    native = mmdebstrap_command(plain, Path("/tmp/x.tar"))
    assert not any(a.startswith(("--architectures", "--skip")) for a in native)  # the machine's: as before
    arm64 = mmdebstrap_command(replace(plain, architecture="arm64"), Path("/tmp/x.tar"))
    assert "--architectures=arm64" in arm64 and "--skip=check/qemu" in arm64
    assert arm64[-3:] == ["bookworm", "/tmp/x.tar", "deb http://m.example/debian bookworm main"]


def test_the_image_config_names_the_platforms_architecture_and_variant() -> None:
    config = ImageConfig("r.example/slim:1", 0)
    assert json.loads(image_config(config, "0" * 64, "arm64"))["architecture"] == "arm64"
    assert "variant" not in json.loads(image_config(config, "0" * 64, "arm64"))
    armv7 = json.loads(image_config(config, "0" * 64, "arm", "v7"))
    assert (armv7["architecture"], armv7["variant"]) == ("arm", "v7")


def test_a_mirror_without_the_platforms_architecture_is_exit_2_at_that_platform(tmp_path: Path) -> None:
    from imagespec.bases.from_mirror import _require_architectures

    release = _parse_release("http://m.example/debian", "bookworm",
                             "Codename: bookworm\nDate: Sat, 11 Jul 2026 10:16:37 UTC\nArchitectures: all amd64\n")
    assert release.architectures == ("all", "amd64")
    loaded = load_base(base_file(tmp_path, BOOTSTRAP), load_config(start=REPO / "bases"))
    with pytest.raises(SpecError) as raised:
        _require_architectures(loaded, release)
    assert raised.value.location is not None and (raised.value.location.line, raised.value.location.col) == (4, 26)
    assert "linux/arm64 cannot be bootstrapped: http://m.example/debian has no arm64 packages" in raised.value.message
    _require_architectures(loaded, Release("http://m.example/debian", "bookworm", "bookworm", 0, ("main",)))  # unknown: mmdebstrap says
