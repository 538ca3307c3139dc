"""BP3: tini as PID 1 when the spec asks for an init, so orphans are reaped and
signals forwarded; the application stays the only program (BP1).

tini is static, from a stage of its own, on every final: only a final with a package
manager and no helper to build it in installs the distribution's tini. Debian's
tini-static links glibc statically: 708 KB, half of a Rust program on scratch (issue
#12: the rust preset at 1.51x the hand-made image). On an apt helper the stage builds
tini from Debian's own source package (apt checks it against the signed Release file)
against musl, as Alpine's tini-static is: 60 KB, the same program. Debian's packaging
adds no patch to tini, and tini's CMake only writes the version header, written here.
With `platforms:` the stage runs on the build machine and builds each target's tini with
Debian's musl for that architecture (`musl-dev:arm64` brings `aarch64-linux-musl-gcc`, a
wrapper of the cross gcc): no emulation, and no base image of the target's platform."""

from __future__ import annotations

import shlex

from imagespec.errors import SpecPathError
from imagespec.plan import model as p
from imagespec.plan.model import replace

# package and binary per package manager: the distro's own build, nothing downloaded
_DYNAMIC = {"apt": ("tini", "/usr/bin/tini"), "apk": ("tini", "/sbin/tini"),
            "dnf": ("tini", "/usr/bin/tini"), "yum": ("tini", "/usr/bin/tini")}
_STATIC = {"apk": ("tini-static", "/sbin/tini-static"),
           "dnf": ("tini-static", "/usr/bin/tini-static"), "yum": ("tini-static", "/usr/bin/tini-static")}
TINI = "/usr/bin/tini"
MUSL_TINI = "/usr/local/bin/tini-static"
# the apt helper's build of tini, one command per line of the RUN (the stage's only step)
_MUSL_BUILD = (
    # a deb-src entry beside every deb one, in either sources format, so apt can fetch the source
    "find /etc/apt -path '/etc/apt/sources.list*' -type f"
    " -exec sed -i -e '/^deb /{p;s//deb-src /}' -e 's/^Types: deb$/Types: deb deb-src/' {} +",
    "apt-get update",
    "apt-get install -y --no-install-recommends musl-tools",
    "apt-get source --download-only tini",
    "rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin",
    "tar -xzf tini_*.orig.tar.gz --strip-components=1",
    "printf '#define TINI_VERSION \"%s\"\\n#define TINI_GIT \"\"\\n' \"$(sed -n 's/^Version: //p' tini_*.dsc)\""
    " > src/tiniConfig.h",
    f"musl-gcc -static -Os -s -std=gnu99 -Wall -Wextra -Werror -o {MUSL_TINI} src/tini.c",
)


def cross_musl_build(architectures: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The apt helper's build of tini for BuildKit's TARGETARCH (``architectures``: each
    platform's (TARGETARCH, Debian architecture)), on the build machine: the target's musl
    through multiarch, whose gcc wrapper becomes `musl-gcc` (one command: the shell
    variable lives in it), then the same steps as the native build."""
    cases = " ".join(f"{shlex.quote(target)}) arch={shlex.quote(debian)} ;;" for target, debian in architectures)
    install = (f'case "$TARGETARCH" in {cases} *) echo "no musl known for $TARGETARCH" >&2; exit 1 ;; esac'
               ' && dpkg --add-architecture "$arch" && apt-get update'
               ' && apt-get install -y --no-install-recommends "musl-dev:$arch"'
               """ && ln -sf "$(dpkg -L "musl-dev:$arch" | grep '^/usr/bin/.*-gcc$')" /usr/local/bin/musl-gcc""")
    return (_MUSL_BUILD[0], install, *_MUSL_BUILD[3:])


_PIN_REASON = "musl-tools follows the helper base's release, as tini's source does (BP13)"
STAGE = "imagespec-tini"
_ORIGIN = p.Origin(("final", "init"), ("BP3",), "tini reaps zombies and forwards signals to the application")
_PID1 = "exec form: tini is PID 1 (`init: true`): it reaps zombies and forwards SIGTERM to the application, its child"
_STAGE_ORIGIN = p.Origin(("final", "init"), ("BP3", "BP4"),
                         "a static tini (built against musl on apt: 60 KB), in a stage of its own: the same on every spec, so it stays cached")


def _prefix_entrypoint(stage: p.Stage, tini: str) -> p.Stage:
    out: list[p.Instruction] = []
    has_entrypoint = any(isinstance(i, p.Entrypoint) for i in stage.instructions)
    for instruction in stage.instructions:
        if isinstance(instruction, p.Entrypoint):  # tini, not the application, is PID 1 now
            instruction = replace(instruction, argv=(tini, "--", *instruction.argv), origin=replace(
                instruction.origin, practices=("BP1", "BP2", "BP3"), why=_PID1))
        elif isinstance(instruction, p.Cmd):
            instruction = replace(instruction, origin=replace(instruction.origin, why=_PID1))
        out.append(instruction)
    if not has_entrypoint:  # cmd only: tini becomes the entrypoint, cmd its argument
        # written before CMD, like every other ENTRYPOINT: the reader sees `tini -- CMD`
        first_cmd = next((n for n, i in enumerate(out) if isinstance(i, p.Cmd)), len(out))
        out.insert(first_cmd, p.Entrypoint(argv=(tini, "--"), phase=p.Phase.START,
                                           origin=replace(_ORIGIN, practices=("BP2", "BP3"), why=_PID1)))
    return replace(stage, instructions=tuple(out))


def _tini_stage(plan: p.Plan) -> tuple[p.Stage, str]:
    """The stage that fetches the static tini, and where it put it. Only the one file
    leaves it: no apt run in the final or in a build stage, no layer of the package."""
    base = plan.fetch_base
    if base is None or base.package_manager is None:
        raise SpecPathError(
            f"the final image '{plan.final.base.ref}' has no shell, so tini must be fetched in another stage, and "
            "neither the catalog's debian-slim nor a build stage of this spec has a shell and a package manager",
            path=("final", "init"),
            hint="add `debian-slim` to the catalog, or a build stage on an image with a package manager")
    if base.package_manager == "apt":
        build = p.Run(commands=_MUSL_BUILD, ignores=(("DL3008", _PIN_REASON),), phase=p.Phase.SYSTEM,
                      origin=_ORIGIN, mergeable=False)
        workdir = p.Workdir(path="/src/tini", phase=p.Phase.SYSTEM, origin=_ORIGIN)
        return p.Stage(name=STAGE, base=base, origin=_STAGE_ORIGIN, instructions=(workdir, build),
                       artifacts=(MUSL_TINI,)), MUSL_TINI
    package, path = _STATIC.get(base.package_manager, _STATIC["dnf"])
    install = p.InstallPackages(manager=base.package_manager, packages=((package, None),), phase=p.Phase.SYSTEM,
                                origin=_ORIGIN)
    return p.Stage(name=STAGE, base=base, origin=_STAGE_ORIGIN, instructions=(install,), artifacts=(path,)), path


def add_init(plan: p.Plan) -> p.Plan:
    if not plan.runtime.init:
        return plan
    final = plan.final
    # the static tini's stage whenever there is a helper to build it in, also on a final
    # with a package manager: one 60 KB file copied, where an install in the final would
    # rewrite the package database of the base's layer (1.7 MB stored twice, issue #12)
    if plan.fetch_base is None and final.base.has_shell and final.base.package_manager:
        package, path = _DYNAMIC[final.base.package_manager]
        install = p.InstallPackages(manager=final.base.package_manager, packages=((package, None),),
                                    phase=p.Phase.SYSTEM, origin=_ORIGIN)
        final = replace(final.with_instructions(install))
        return plan.replace_stage(_prefix_entrypoint(final, path))
    stage, path = _tini_stage(plan)
    copy = p.Copy(sources=(path,), dest=TINI, from_stage=STAGE, phase=p.Phase.ARTIFACTS, origin=_ORIGIN)
    plan = replace(plan, stages=(stage, *plan.stages))
    # before the application's files: the layer never changes, so it stays shared (BP4, BP12)
    final = replace(plan.final, instructions=(copy, *plan.final.instructions))
    return plan.replace_stage(_prefix_entrypoint(final, TINI))
