"""With `platforms:`, a stage whose toolchain cross-compiles runs on the build platform
(`FROM --platform=$BUILDPLATFORM`) and compiles for the target BuildKit names in
TARGETOS/TARGETARCH; so do the helper stage, which only writes text files, and the tini
stage on an apt helper, which builds tini with the target's musl (add_init). The final
stage starts from the target platform's base, and a stage without `cross_compile` runs
on the target platform: emulated (QEMU) when that is not the build machine's. Building
natively is what keeps an arm64 image of a Go service a few seconds' work instead of
minutes under emulation, and a scratch or distroless final needs no emulation at all.

Without platforms the plan is returned as it is: single-platform Dockerfiles do not change.
"""

from __future__ import annotations

import shlex

from imagespec import platform as platforms
from imagespec.errors import SpecPathError
from imagespec.plan import model as p
from imagespec.plan.model import replace
from imagespec.plan.passes import rootfs
from imagespec.plan.passes.add_init import STAGE as TINI_STAGE
from imagespec.plan.passes.add_init import cross_musl_build

BUILD_PLATFORM = "$BUILDPLATFORM"
_WHY_GO = "Go compiles for the target itself: GOOS/GOARCH from BuildKit's TARGETOS/TARGETARCH, no cgo"
_WHY_C = ("Debian's cross compiler for the target (gcc-<triplet>), installed when the build machine has none, "
          "is the stage's cc and gcc")
_WHY_RUST = ("rustc compiles for the target's triple: its standard library (rustup's, else Debian's "
             "libstd-rust-dev of that architecture) and its gcc as linker, installed when the build machine has none")
_PIN_REASON = "the cross compiler comes with the build image's release (as its gcc does)"
#: where `cross_compile: rust` writes the target's triple, for cargo's --target (the rust
#: preset reads it, else builds for the build machine's own triple)
RUST_TARGET_FILE = "/usr/local/etc/rust-target"


def _go(stage: p.Stage, origin: p.Origin) -> tuple[p.Instruction, ...]:
    steps: list[p.Instruction] = [
        p.Arg(name="TARGETOS", phase=p.Phase.SETUP, origin=origin),
        p.Arg(name="TARGETARCH", phase=p.Phase.SETUP, origin=origin),
        p.Env(items=(("GOOS", "TARGETOS"), ("GOARCH", "TARGETARCH")), from_args=True, phase=p.Phase.SETUP,
              origin=origin),
    ]
    if not any(isinstance(i, p.Env) and any(key == "CGO_ENABLED" for key, _ in i.items) for i in stage.instructions):
        # cgo would need a C cross compiler and the target's C libraries
        steps.append(p.Env(items=(("CGO_ENABLED", "0"),), phase=p.Phase.SETUP, origin=origin))
    return tuple(steps)


def c_compiler_command(names: tuple[str, ...]) -> str:
    """The shell that makes the target's gcc the stage's `cc` and `gcc`: a case over the
    spec's platforms (TARGETARCH alone can be ambiguous only between arm variants, which
    imagespec knows one of), Debian's cross compiler and the target's C library headers
    installed when the build image lacks them (the compiler only recommends the library)."""
    cases = " ".join(f"{shlex.quote(k.architecture)}) triplet={shlex.quote(k.gnu_type)} "
                     f"compiler={shlex.quote(k.cross_gcc_package)} library={shlex.quote(k.cross_libc_package)} ;;"
                     for k in _known(names))
    return (f'case "$TARGETARCH" in {cases} *) echo "no C cross compiler known for $TARGETARCH" >&2; exit 1 ;; esac'
            ' && if ! command -v "$triplet-gcc" >/dev/null; then apt-get update'
            ' && apt-get install -y --no-install-recommends "$compiler" "$library" && rm -rf /var/lib/apt/lists/*; fi'
            ' && ln -sf "$(command -v "$triplet-gcc")" /usr/local/bin/cc'
            ' && ln -sf "$(command -v "$triplet-gcc")" /usr/local/bin/gcc')


def _known(names: tuple[str, ...]) -> list[platforms.Platform]:
    """The spec's platforms, one per TARGETARCH (the case a setup step branches on)."""
    return sorted({platforms.KNOWN[n].architecture: platforms.KNOWN[n] for n in names}.values(),
                  key=lambda k: k.architecture)


def rust_target_command(names: tuple[str, ...]) -> str:
    """The shell that readies rustc for the target: its standard library (rustup's
    `target add` where rustup manages the toolchain, else Debian's libstd-rust-dev of the
    target's architecture, which must match Debian's rustc), the target's gcc and C
    library (cargo links through it; crt-static needs its libc.a), then the triple in
    RUST_TARGET_FILE. Nothing is installed that the build image already has."""
    cases = " ".join(f"{shlex.quote(k.architecture)}) rust={shlex.quote(k.rust_target)} arch={shlex.quote(k.debian_arch)}"
                     f" triplet={shlex.quote(k.gnu_type)} compiler={shlex.quote(k.cross_gcc_package)}"
                     f" library={shlex.quote(k.cross_libc_package)} ;;" for k in _known(names))
    return (f'case "$TARGETARCH" in {cases} *) echo "no Rust target known for $TARGETARCH" >&2; exit 1 ;; esac'
            ' && set --'
            ' && if [ ! -d "$(rustc --print sysroot)/lib/rustlib/$rust/lib" ]; then'
            ' if command -v rustup >/dev/null; then rustup target add "$rust";'
            ' else dpkg --add-architecture "$arch" && set -- "libstd-rust-dev:$arch"; fi; fi'
            ' && if ! command -v "$triplet-gcc" >/dev/null; then set -- "$@" "$compiler" "$library"; fi'
            ' && if [ "$#" -gt 0 ]; then apt-get update && apt-get install -y --no-install-recommends "$@"'
            ' && rm -rf /var/lib/apt/lists/*; fi'
            f' && printf \'%s\\n\' "$rust" > {RUST_TARGET_FILE}')


def _rust(plan: p.Plan, stage: p.Stage, origin: p.Origin) -> tuple[p.Instruction, ...]:
    _require_apt(stage, origin, "rust", "with rustc (the catalog's rust-build)")
    linkers = tuple((k.cargo_linker_variable, f"{k.gnu_type}-gcc") for k in _known(plan.platforms))
    return (p.Arg(name="TARGETARCH", phase=p.Phase.SETUP, origin=origin),
            p.Env(items=linkers, phase=p.Phase.SETUP, origin=origin),
            p.Run(commands=(rust_target_command(plan.platforms),), mergeable=False, downloads=False,
                  ignores=(("DL3008", _PIN_REASON),), phase=p.Phase.SETUP, origin=origin))


def _require_apt(stage: p.Stage, origin: p.Origin, toolchain: str, example: str) -> None:
    if stage.base.package_manager != "apt" or not stage.base.has_shell:
        raise SpecPathError(f"`cross_compile: {toolchain}` installs Debian's cross compilers, but '{stage.base.ref}' "
                            f"({stage.base.family}) has no apt", path=origin.path,
                            hint=f"build on a Debian-family image {example}, or drop "
                                 "`cross_compile` to run the stage on each platform under QEMU")


def _c(plan: p.Plan, stage: p.Stage, origin: p.Origin) -> tuple[p.Instruction, ...]:
    _require_apt(stage, origin, "c", "with gcc (the catalog's gcc-build)")
    return (p.Arg(name="TARGETARCH", phase=p.Phase.SETUP, origin=origin),
            p.Run(commands=(c_compiler_command(plan.platforms),), mergeable=False, downloads=False,
                  ignores=(("DL3008", _PIN_REASON),), phase=p.Phase.SETUP, origin=origin))


def _cross(plan: p.Plan, stage: p.Stage) -> p.Stage:
    why = {"go": _WHY_GO, "c": _WHY_C, "rust": _WHY_RUST}[stage.cross_compile or "c"]
    origin = p.Origin(("stages", stage.name, "cross_compile"), (), why)
    if stage.cross_compile == "go":
        setup = _go(stage, origin)
    elif stage.cross_compile == "rust":
        setup = _rust(plan, stage, origin)
    else:
        setup = _c(plan, stage, origin)
    # first among the setup steps (a stable sort by phase follows): the toolchain is chosen
    # before the stage's own ENV and commands
    return replace(stage, platform=BUILD_PLATFORM, instructions=(*setup, *stage.instructions))


def _cross_tini(plan: p.Plan, stage: p.Stage) -> p.Stage:
    """tini built with the target's musl on the build machine (add_init)."""
    known = _known(plan.platforms)
    build = cross_musl_build(tuple((k.architecture, k.debian_arch) for k in known))
    arg = p.Arg(name="TARGETARCH", phase=p.Phase.SYSTEM, origin=stage.origin)  # before the RUN that reads it
    instructions = tuple(replace(i, commands=build) if isinstance(i, p.Run) else i for i in stage.instructions)
    return replace(stage, platform=BUILD_PLATFORM, instructions=(arg, *instructions))


def _refuse_final_on_build_platform(plan: p.Plan) -> None:
    """A final started from a cross-compiling stage (directly or through others) would be
    the build machine's image with the target's label: it must copy artifacts instead."""
    names = {s.name: s for s in plan.stages}
    stage = plan.final
    while stage.base.from_stage and stage.base.from_stage in names:
        stage = names[stage.base.from_stage]
        if stage.cross_compile:
            raise SpecPathError(f"the final stage starts from stage '{stage.name}', which runs on the build "
                                "machine (`cross_compile`): the image would be that machine's, not each platform's",
                                path=("final", "from"),
                                hint="start the final from a base (scratch, static, …) and copy the stage's artifacts")


def cross_compile(plan: p.Plan) -> p.Plan:
    if not plan.platforms:
        return plan
    _refuse_final_on_build_platform(plan)
    stages = []
    for stage in plan.stages:
        if stage.base.from_stage or stage.final:
            stages.append(stage)  # a stage on a stage runs where that one does; the final is the target's
        elif stage.cross_compile:
            stages.append(_cross(plan, stage))
        elif stage.name == rootfs.NAME:
            stages.append(replace(stage, platform=BUILD_PLATFORM))  # passwd, group, folders: the same everywhere
        elif stage.name == TINI_STAGE and stage.base.package_manager == "apt":
            stages.append(_cross_tini(plan, stage))
        else:
            stages.append(stage)
    return replace(plan, stages=tuple(stages))
