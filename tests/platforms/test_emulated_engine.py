"""A build that runs the target platform's programs, on the real engine (issue #14): the
chain a company's arm64 Python or Node bases take, in its smallest form. `slim` is
bootstrapped for linux/amd64 and linux/arm64 (mmdebstrap --architectures; the arm64
root's maintainer scripts run under QEMU), `probe` is a spec base on it whose stage RUNs
`dpkg --print-architecture` once per platform FROM slim's index, and the app `qemu-arch`
(tests/platforms/qemu-arch) has a build stage without `cross_compile` FROM probe that
writes what `uname -m` says: every one of those steps ran on the target platform, so the
arm64 image prints `arm64 aarch64`, which no build on this amd64 machine could write
otherwise. Each is one index in the local registry; each platform's image carries its
own architecture and SBOM and runs (arm64 under QEMU), and the app passes `imagespec test`.
The bases are scripts/make-test-bases.sh's (the `config` fixture, conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.images.support import RUN_ID
from tests.platforms.conftest import base_image
from tests.platforms.support import HERE, NAMESPACE, PLATFORMS, docker, imagespec, index_of, listed_platforms

pytestmark = pytest.mark.engine

#: what each platform's programs say it is: dpkg's architecture, then the kernel's machine
SAYS = {"linux/amd64": "amd64 x86_64", "linux/arm64": "arm64 aarch64"}


def test_bootstrapped_and_spec_bases_are_one_index_of_each_platforms_own_image(config: Path) -> None:
    for name in ("slim", "probe"):
        reference = base_image(name, "bookworm")
        assert listed_platforms(index_of(reference)) == list(PLATFORMS)
        for platform in PLATFORMS:
            arch = platform.split("/")[1]
            image = f"{reference}-{platform.replace('/', '-')}"
            assert docker("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", image).stdout.strip() == platform
            ran = docker("run", "--rm", "--network", "none", "--platform", platform, image,
                         "cat", "/etc/imagespec-arch" if name == "probe" else f"/usr/share/imagespec/sbom/{name}.spdx.json")
            assert ran.returncode == 0, ran.stderr
            if name == "probe":  # its RUN ran on the target: dpkg there is the target's
                assert ran.stdout.strip() == arch
                continue
            purls = [r["referenceLocator"] for p in json.loads(ran.stdout)["packages"] for r in p.get("externalRefs", [])]
            debs = [u for u in purls if u.startswith("pkg:deb/")]
            assert any(u.startswith("pkg:deb/debian/dpkg@") for u in debs), debs
            assert all(u.endswith((f"?arch={arch}", "?arch=all")) for u in debs), debs


def test_an_emulated_platforms_program_is_given_longer_to_start(config: Path) -> None:
    """imagespec test without a readiness signal: 1 s for the machine's own image, 10 s
    for one that runs under QEMU (its SIGTERM handler comes late; verify/probe.py)."""
    from imagespec.engine.client import connect
    from imagespec.engine.emulation import runs_natively
    from imagespec.verify.probe import EMULATED_SETTLE_S, SETTLE_S, _settle_s

    client = connect()
    given = {platform: _settle_s(client.images.get(f"{base_image('slim', 'bookworm')}-{platform.replace('/', '-')}").attrs)
             for platform in PLATFORMS}
    assert given == {p: SETTLE_S if runs_natively(p) else EMULATED_SETTLE_S for p in PLATFORMS}
    assert set(given.values()) == {SETTLE_S, EMULATED_SETTLE_S}  # amd64 or arm64: one is the machine's, one not


def test_a_stage_without_cross_compile_runs_on_each_target_platform_under_qemu(
        config: Path, session_cleanup) -> None:  # type: ignore[no-untyped-def]
    spec = HERE / "qemu-arch" / "imagespec.yaml"
    reference = f"{NAMESPACE}/qemu-arch-{RUN_ID}:1.0.0"
    for platform in PLATFORMS:
        session_cleanup.image(f"{reference}-{platform.replace('/', '-')}")
    built = imagespec("build", str(spec), "--config", str(config), "--tag", reference, "--push", "--verify",
                      "--format", "json", "--progress", "plain")
    assert built.returncode == 0, built.stderr[-4000:]
    summary = json.loads(built.stdout.splitlines()[0])
    assert [p["platform"] for p in summary["platforms"]] == list(PLATFORMS)
    assert json.loads(built.stdout.splitlines()[1])["ok"]
    # the build stage is FROM probe, not FROM --platform=$BUILDPLATFORM: BuildKit ran it per platform
    assert built.stderr.count('RUN mkdir -p /out && echo "$(cat /etc/imagespec-arch) $(uname -m)" > /out/arch') >= 2
    assert listed_platforms(index_of(reference)) == list(PLATFORMS)
    for platform in PLATFORMS:
        image = f"{reference}-{platform.replace('/', '-')}"
        ran = docker("run", "--rm", "--network", "none", "--platform", platform, image)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == SAYS[platform]
        tested = imagespec("test", str(spec), "--config", str(config), "--image", image, "--format", "json")
        assert tested.returncode == 0, tested.stdout[-2000:] + tested.stderr[-2000:]
        assert json.loads(tested.stdout)["ok"]
