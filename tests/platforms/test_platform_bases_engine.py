"""Issue 15: a multi-platform build whose base image is missing for one platform built the
first platforms, then failed at that one (exit 1), leaving `TAG-linux-amd64` behind. Now
every base a stage runs on (not the cross-compiling stages', which run on the build
machine) is looked up for each platform first, on the engine or in its registry: a
missing one is bad input at the `platforms:` line, nothing built. And a platform that
fails anyway takes this run's `TAG-os-arch` tags with it (BP14: nothing half-tagged)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.images.support import RUN_ID
from tests.platforms.support import HERE, NAMESPACE, PLATFORMS, REPO, docker, imagespec
from tests.platforms.conftest import base_image

pytestmark = pytest.mark.engine


def _platforms_line(spec: Path) -> int:
    return next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if text.startswith("platforms:"))


def _example_on(tmp_path: Path, example: str, platforms: str) -> Path:
    """A copy of examples/EXAMPLE with `platforms: PLATFORMS` added: its spec's path."""
    app = tmp_path / example
    shutil.copytree(REPO / "examples" / example, app)
    spec = app / "imagespec.yaml"
    spec.write_text(spec.read_text() + f"platforms: {platforms}\n")
    return spec


def _untagged(reference: str) -> None:
    for platform in PLATFORMS:
        tag = f"{reference}-{platform.replace('/', '-')}"
        assert docker("image", "inspect", tag).returncode != 0, f"{tag} was left behind"


def test_a_base_the_engine_has_for_one_platform_only_is_refused_before_anything_builds(
        config: Path, session_cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The python preset's bases exist here for linux/amd64 only (bases/catalog.local.yaml
    has no arm64 python): both stages run on the target platform."""
    spec = _example_on(tmp_path, "preset-python", "[linux/amd64, linux/arm64]")
    reference = f"{NAMESPACE}/smallfix-nobase-{RUN_ID}:1.0.0"
    for platform in PLATFORMS:
        session_cleanup.image(f"{reference}-{platform.replace('/', '-')}")
    done = imagespec("build", str(spec), "--config", str(config), "--tag", reference, "--push",
                     "--progress", "plain")
    assert done.returncode == 2, done.stderr[-3000:]
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"{spec}:{_platforms_line(spec)}:1: no base image to build on: "), done.stderr
    assert "imagespec-test/python:bookworm (stages.venv.from) for linux/arm64" in first, first
    assert "imagespec-test/python-slim:bookworm (final.from) for linux/arm64" in first, first
    assert ") for linux/amd64" not in first  # the engine has those
    assert "hint:" in done.stderr and "Bases for several platforms" in done.stderr
    assert "#1 " not in done.stderr  # BuildKit never started
    _untagged(reference)


def test_a_registry_base_of_one_platform_is_refused_and_a_cross_compiling_stage_is_not(
        config: Path, session_cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The final's base is a registry reference to one platform's manifest (the static
    base's amd64 image, under a tag of its own): the registry answers for it. The build
    stage, on the amd64-only go-build, cross-compiles: it is not named."""
    one = f"{NAMESPACE}/smallfix-static-{RUN_ID}:amd64-only"
    session_cleanup.image(one)
    assert docker("tag", f"{base_image('static', 'nonroot')}-linux-amd64", one).returncode == 0
    assert docker("push", one).returncode == 0
    assert docker("image", "rm", one).returncode == 0  # the registry alone answers
    app = tmp_path / "app"
    shutil.copytree(HERE / "go-arch", app)
    spec = app / "imagespec.yaml"
    spec.write_text(spec.read_text().replace(
        "  from: static ", f'  from: {{image: "{one}", family: distroless, user: 65532, libc: none}} '))
    reference = f"{NAMESPACE}/smallfix-onebase-{RUN_ID}:1.0.0"
    for platform in PLATFORMS:
        session_cleanup.image(f"{reference}-{platform.replace('/', '-')}")
    done = imagespec("build", str(spec), "--config", str(config), "--tag", reference, "--push")
    assert done.returncode == 2, done.stderr[-3000:]
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"{spec}:{_platforms_line(spec)}:1: no base image to build on: {one} (final.from) "
                            "for linux/arm64: the engine does not hold it, and its registry has it for other "
                            "platforms only"), first
    assert "golang" not in first and ") for linux/amd64" not in first
    _untagged(reference)


def test_a_platform_that_fails_after_another_built_leaves_no_platform_tag(
        config: Path, session_cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every base is there; the arm64 build itself fails (its cross-compiling RUN refuses
    GOARCH=arm64) after amd64 built and was tagged `TAG-linux-amd64`: that tag goes."""
    app = tmp_path / "app"
    app.mkdir()
    for name in ("go.mod", "main.go"):
        shutil.copy(HERE / "go-arch" / name, app / name)
    spec = app / "imagespec.yaml"
    spec.write_text("""\
name: smallfix-halfway
version: 1.0.0
platforms: [linux/amd64, linux/arm64]
stages:
  build:
    from: go-build
    cross_compile: go
    env: {CGO_ENABLED: "0"}
    copy: [.]
    run: test "$GOARCH" != arm64 && go build -o /out/goarch .
    artifacts: [/out/goarch]
final:
  from: static
  copy: [{from: build, src: /out/goarch, dest: /usr/local/bin/goarch}]
  entrypoint: [/usr/local/bin/goarch]
""")
    reference = f"{NAMESPACE}/smallfix-halfway-{RUN_ID}:1.0.0"
    for platform in PLATFORMS:
        session_cleanup.image(f"{reference}-{platform.replace('/', '-')}")
    done = imagespec("build", str(spec), "--config", str(config), "--tag", reference, "--push",
                     "--progress", "plain")
    assert done.returncode == 1, done.stderr[-3000:]
    assert "linux/arm64: build failed" in done.stderr, done.stderr[-3000:]
    assert "building linux/amd64" in done.stderr  # amd64 did build (and was tagged) first
    _untagged(reference)


def test_a_stage_that_must_run_under_qemu_is_refused_when_qemu_cannot_run_it(
        config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The python preset's venv stage runs pip on the target platform (no cross-compiling):
    with no QEMU registered (binfmt_misc pointed at an empty folder), the build is bad
    input at `platforms:` naming that stage, before any base lookup's verdict or build.
    The go preset cross-compiles onto scratch, where nothing runs: no emulation asked of it."""
    from imagespec.engine import emulation
    from imagespec.jobs.compiling import compile_one
    from imagespec.pipeline.platform_bases import refuse_missing_bases
    from imagespec.errors import Location, SpecError

    monkeypatch.setattr(emulation, "BINFMT", tmp_path / "no-binfmt")
    for example, refused in (("preset-python", True), ("preset-go", False)):
        spec = _example_on(tmp_path, example, "[linux/amd64, linux/arm64]")
        compiled, loaded_config = compile_one(spec, config)
        where = Location(str(spec), _platforms_line(spec), 1)
        try:
            refuse_missing_bases(compiled, loaded_config)
        except SpecError as error:
            assert refused, f"{example}: {error.message}"
            assert error.message.startswith("stage `venv` runs commands on the target platform"), error.message
            assert "binfmt_misc is not mounted" in error.message and error.location == where
            assert "qemu-user-static" in (error.hint or "")
        else:
            assert not refused, f"{example}: not refused"


def test_one_foreign_platform_is_checked_too(config: Path, session_cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`platforms: [linux/arm64]` alone on this amd64 machine: the python preset's bases
    are amd64 only, and BuildKit would build on them with a warning. Bad input at the
    `platforms:` line, nothing built, nothing tagged."""
    spec = _example_on(tmp_path, "preset-python", "[linux/arm64]")
    reference = f"{NAMESPACE}/lead-onearm-{RUN_ID}:1.0.0"
    session_cleanup.image(reference)
    done = imagespec("build", str(spec), "--config", str(config), "--tag", reference, "--progress", "plain")
    assert done.returncode == 2, done.stderr[-3000:]
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"{spec}:{_platforms_line(spec)}:1: no base image to build on: "), done.stderr
    assert "imagespec-test/python:bookworm (stages.venv.from) for linux/arm64" in first, first
    assert "#1 " not in done.stderr  # BuildKit never started
    assert docker("image", "inspect", reference).returncode != 0


def test_a_fleet_target_on_a_base_of_one_platform_is_refused_before_the_fleet_builds(
        config: Path, tmp_path: Path) -> None:
    """`imagespec build DIR --push` of a fleet whose multi-platform target (no parent in
    the fleet) stands on amd64-only bases: exit 2 at its `platforms:`, as `imagespec build`
    of the spec is, and BuildKit never starts for any target of the fleet."""
    spec = _example_on(tmp_path, "preset-python", "[linux/amd64, linux/arm64]")
    spec.write_text(spec.read_text().replace("name: preset-python\n",
                                             f"name: lead-fleetnobase-{RUN_ID}\nregistry: {NAMESPACE}\n"))
    done = imagespec("build", str(tmp_path), "--config", str(config), "--push", "--progress", "plain")
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"imagespec.yaml:{_platforms_line(spec)}:1: no base image to build on: " in done.stderr, done.stderr
    assert "for linux/arm64" in done.stderr and "#1 " not in done.stderr
