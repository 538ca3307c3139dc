"""`platforms:` in the compiler: build stages that cross-compile (and the helper stage)
start FROM --platform=$BUILDPLATFORM with their toolchain pointed at the target, the final
and every other stage start from the target's image, and without platforms nothing
changes (the goldens; here: the header hash of a preset that declares `cross_compile`)."""

from __future__ import annotations

from pathlib import Path

import dockerfile
import pytest

from compiler_helpers import compile_text, hadolint
from imagespec import platform as platforms
from imagespec.cli import main
from imagespec.plan.passes.cross_compile import c_compiler_command
from imagespec.reference import Invalid
from imagespec.spec.config import load_config

GO = "extends: go\nname: app\nversion: 1.0.0\n"
C = "extends: c\nname: app\nwith: {binary: hello, name: hello}\n"
RUST = "extends: rust\nname: app\n"
TWO = "platforms: [linux/amd64, linux/arm64]\n"


def froms(text: str) -> dict[str, list[str]]:
    """Stage name -> the FROM's flags, as BuildKit's parser reads them."""
    return {cmd.value[-1]: list(cmd.flags) for cmd in dockerfile.parse_string(text) if cmd.cmd.upper() == "FROM"}


def test_go_build_stage_runs_on_the_build_platform_and_compiles_for_the_target() -> None:
    text = compile_text(GO + TWO).dockerfile
    assert froms(text) == {"imagespec-rootfs": ["--platform=$BUILDPLATFORM"], "build": ["--platform=$BUILDPLATFORM"],
                           "final": []}
    build = text.split(" AS build\n", 1)[1].split("\nFROM ", 1)[0]
    assert "ARG TARGETOS\nARG TARGETARCH\nENV GOOS=${TARGETOS} \\\n    GOARCH=${TARGETARCH}\n" in build
    assert build.count("CGO_ENABLED") == 1, "the preset's own CGO_ENABLED=0 is kept, not repeated"


def test_go_without_cgo_setting_gets_cgo_off() -> None:
    spec = """name: app
platforms: [linux/arm64]
stages:
  build: {from: go-build, cross_compile: go, copy: [.], run: go build -o /out/app ., artifacts: [/out/app]}
final: {from: scratch, copy: [{from: build, src: /out/app, dest: /app}], entrypoint: [/app]}
"""
    assert 'ENV CGO_ENABLED="0"' in compile_text(spec).dockerfile


def test_c_build_stage_gets_the_targets_cross_gcc_as_cc() -> None:
    text = compile_text(C + TWO).dockerfile
    assert froms(text)["build"] == ["--platform=$BUILDPLATFORM"]
    assert "arm64) triplet=aarch64-linux-gnu compiler=gcc-aarch64-linux-gnu library=libc6-dev-arm64-cross ;;" in text
    assert "ln -sf \"$(command -v \"$triplet-gcc\")\" /usr/local/bin/cc" in text


def test_rust_build_stage_links_with_the_targets_gcc_and_names_its_triple() -> None:
    text = compile_text(RUST + TWO).dockerfile
    assert froms(text)["build"] == ["--platform=$BUILDPLATFORM"]
    build = text.split(" AS build\n", 1)[1].split("\nFROM ", 1)[0]
    assert ('ENV CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER="x86_64-linux-gnu-gcc" \\\n'
            '    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER="aarch64-linux-gnu-gcc"\n') in build
    assert "arm64) rust=aarch64-unknown-linux-gnu arch=arm64 triplet=aarch64-linux-gnu" in build
    assert 'set -- "libstd-rust-dev:$arch"' in build and 'rustup target add "$rust"' in build
    # the setup step writes the triple before the preset's build reads it
    assert build.index("> /usr/local/etc/rust-target\n") < build.index('--target "$(cat /usr/local/etc/rust-target)"')
    assert '"target/$(cat /usr/local/etc/rust-target)/release/"app' in build


def test_the_tini_stage_builds_on_the_build_machine_with_the_targets_musl() -> None:
    for spec in (C + TWO, RUST + TWO):
        text = compile_text(spec).dockerfile
        assert froms(text)["imagespec-tini"] == ["--platform=$BUILDPLATFORM"]
        tini = text.split(" AS imagespec-tini\n", 1)[1].split("\nFROM ", 1)[0]
        assert "ARG TARGETARCH\n" in tini and tini.index("ARG TARGETARCH") < tini.index("RUN ")
        assert 'apt-get install -y --no-install-recommends "musl-dev:$arch"' in tini
        assert "musl-tools" not in tini.split("\nRUN ", 1)[1] and "musl-gcc -static" in tini
    assert "--platform" not in compile_text(C).dockerfile.split(" AS imagespec-tini", 1)[0].rsplit("\n", 1)[-1]


def test_the_c_case_lists_only_the_specs_platforms_each_once() -> None:
    command = c_compiler_command(("linux/arm64", "linux/amd64"))
    assert command.index("amd64)") < command.index("arm64)")
    assert "s390x" not in command and command.count("arm64)") == 1


def test_a_stage_without_cross_compile_runs_on_the_target() -> None:
    spec = TWO + """name: app
stages:
  build: {from: debian-slim, run: "make", artifacts: [/out/app]}
final: {from: debian-slim, copy: [{from: build, src: /out/app, dest: /app}], entrypoint: [/app]}
"""
    assert froms(compile_text(spec).dockerfile) == {"build": [], "final": []}


def test_platforms_from_the_configuration_and_the_spec_wins(tmp_path: Path) -> None:
    config_file = tmp_path / ".imagespec.yaml"
    config_file.write_text("build: {platforms: [linux/arm64, linux/amd64]}\n")
    config = load_config(config_file)
    assert compile_text(GO, config).plan.platforms == ("linux/arm64", "linux/amd64")
    assert compile_text(GO + "platforms: [linux/s390x]\n", config).plan.platforms == ("linux/s390x",)


def test_a_bad_platform_in_the_configuration_is_located_there(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".imagespec.yaml").write_text("build:\n  platforms: [linux/amd64, windows/amd64]\n")
    (tmp_path / "imagespec.yaml").write_text(GO)
    assert main(["generate", str(tmp_path / "imagespec.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path / '.imagespec.yaml'}:2:28: build.platforms.1: unknown platform 'windows/amd64'")
    assert not (tmp_path / "Dockerfile").exists()


def test_cross_compile_changes_nothing_without_platforms() -> None:
    # the go preset declares cross_compile: the header hash is the one it had before
    declared = compile_text(GO)
    spelled = compile_text("""name: app
version: 1.0.0
stages:
  build:
    from: go-build
    env: {CGO_ENABLED: "0"}
    cache: [/root/go/pkg/mod, /root/.cache/go-build]
    dependencies: {copy: [go.mod, go.sum*], run: go mod download}
    copy: [.]
    run: go build -trimpath -ldflags="-s -w" -o /out/app .
    artifacts: ["/out/app", /etc/ssl/certs/ca-certificates.crt]
final:
  from: scratch
  copy:
    - {from: build, src: /etc/ssl/certs/ca-certificates.crt, dest: /etc/ssl/certs/ca-certificates.crt}
    - {from: build, src: "/out/app", dest: "/usr/local/bin/app"}
  entrypoint: ["/usr/local/bin/app"]
""")
    assert "--platform" not in declared.dockerfile
    assert declared.dockerfile == spelled.dockerfile
    assert compile_text(GO + TWO).inputs_hash != declared.inputs_hash


def test_platform_dockerfiles_are_hadolint_clean(tmp_path: Path) -> None:
    paths = []
    for name, spec in {"go": GO + TWO, "c": C + TWO, "rust": RUST + TWO}.items():
        paths.append(tmp_path / f"{name}.Dockerfile")
        paths[-1].write_text(compile_text(spec).dockerfile)
    assert hadolint(paths) == {str(path): [] for path in paths}


def test_the_platform_grammar() -> None:
    assert platforms.parse("linux/arm/v7").variant == "v7"
    assert platforms.parse("linux/arm64").tag_suffix == "linux-arm64"
    assert platforms.parse("linux/ppc64le").cross_gcc_package == "gcc-powerpc64le-linux-gnu"
    with pytest.raises(Invalid, match="unknown platform 'linux/arm46'") as raised:
        platforms.parse("linux/arm46")
    assert raised.value.hint and raised.value.hint.startswith("did you mean 'linux/arm64'?")
    for far in ("linux/mips", "linux/foo", "linux/riscv64"):  # the shared "linux/" alone suggests nothing
        with pytest.raises(Invalid) as raised:
            platforms.parse(far)
        assert raised.value.hint and raised.value.hint.startswith("known platforms:"), far
    with pytest.raises(Invalid, match="os/arch"):
        platforms.parse("Linux-AMD64")
    with pytest.raises(Invalid, match="imagespec writes it 'linux/amd64'") as raised:  # upper case: said so
        platforms.parse("Linux/AMD64")
    assert raised.value.hint and "lower case" in raised.value.hint


def test_a_distroless_base_for_another_platform_unpacks_its_packages_on_the_build_machine() -> None:
    from imagespec.plan.distroless import lower_distroless
    from imagespec.spec.base_model import Distroless
    from imagespec.spec.model import Image

    spec = Distroless.model_validate({"assemble_in": "debian-slim", "packages": ["base-files", "tzdata"]})
    slim = Image(image="debian:bookworm-slim", family="debian")
    plan = lower_distroless("static", spec, assemble_in=slim, parent=None, platform=platforms.parse("linux/arm/v7"))
    assembly, final = plan.stages
    assert (assembly.platform, final.platform) == ("$BUILDPLATFORM", None)
    commands = next(i.commands for i in assembly.instructions if hasattr(i, "commands"))
    assert commands[:3] == ("dpkg --add-architecture armhf", "apt-get update",
                            "imagespec-rootfs unpack-for /rootfs armhf base-files tzdata")
    native = lower_distroless("static", spec, assemble_in=slim, parent=None)
    assert native.stages[0].platform is None and "unpack /rootfs" in native.stages[0].instructions[-1].commands[1]


def test_platforms_on_a_base_that_runs_programs_is_accepted_and_says_it_needs_emulation() -> None:
    """A bootstrap or spec base runs the target's programs (under QEMU where that is not the
    machine's: tests/compiler/test_base_platforms.py); a distroless one only unpacks."""
    from imagespec.spec.base_model import BaseSpec

    bootstrap = BaseSpec.model_validate({"base": "x", "image": "r.example/x:1", "platforms": ["linux/arm64"],
                                         "bootstrap": {"suite": "bookworm"}})
    assert bootstrap.platforms == ["linux/arm64"] and bootstrap.runs_target_programs
    unpacked = BaseSpec.model_validate({"base": "x", "image": "r.example/x:1", "platforms": ["linux/arm64"],
                                        "distroless": {"assemble_in": "y", "packages": ["base-files"]}})
    assert not unpacked.runs_target_programs


def test_c_cross_compiling_needs_a_debian_build_image(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = tmp_path / "imagespec.yaml"
    spec.write_text("""name: app
platforms: [linux/arm64]
stages:
  build:
    from: {image: "alpine:3.20", family: alpine}
    cross_compile: c
    copy: [.]
    run: make
    artifacts: [/out/app]
final: {from: scratch, copy: [{from: build, src: /out/app, dest: /app}], entrypoint: [/app]}
""")
    assert main(["generate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{spec}:6:20: `cross_compile: c` installs Debian's cross compilers"), err
    assert not (tmp_path / "Dockerfile").exists()


def test_a_final_on_a_cross_compiling_stage_is_refused() -> None:
    from imagespec.errors import SpecError

    spec = TWO + """name: app
stages:
  build: {from: go-build, cross_compile: go, copy: [.], run: go build -o /out/app ., artifacts: [/out/app]}
  more: {from: build, run: "true"}
final: {from: more, entrypoint: [/out/app], user: {uid: 0, root_reason: "test"}}
"""
    with pytest.raises(SpecError, match="starts from stage 'build', which runs on the build machine") as raised:
        compile_text(spec)
    assert raised.value.location is not None and raised.value.location.line == 6


def test_build_with_an_unknown_platform_is_exit_2_at_its_line_before_the_engine(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/imagespec-no-engine.sock")  # never reached
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(GO + "platforms:\n  - linux/amd64\n  - linux/riscv64\n")
    assert main(["build", str(spec), "--push"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{spec}:6:5: platforms.1: unknown platform 'linux/riscv64'"), err
    assert "known platforms: linux/amd64, linux/arm64" in err
