"""BP3: tini as PID 1 when the spec asks for an init, so orphans are reaped and
signals forwarded; the application stays the only program (BP1)."""

from __future__ import annotations

from imagespec.plan import model as p
from imagespec.plan.model import replace
from imagespec.plan.passes import rootfs

# package and binary per package manager: the distro's own build, nothing downloaded
_DYNAMIC = {"apt": ("tini", "/usr/bin/tini"), "apk": ("tini", "/sbin/tini"),
            "dnf": ("tini", "/usr/bin/tini"), "yum": ("tini", "/usr/bin/tini")}
_STATIC = {"apt": ("tini", "/usr/bin/tini-static"), "apk": ("tini-static", "/sbin/tini-static"),
           "dnf": ("tini-static", "/usr/bin/tini-static"), "yum": ("tini-static", "/usr/bin/tini-static")}
TINI = "/usr/bin/tini"
_ORIGIN = p.Origin(("final", "init"), ("BP3",), "tini reaps zombies and forwards signals to the application")


def _prefix_entrypoint(stage: p.Stage, tini: str) -> p.Stage:
    out: list[p.Instruction] = []
    has_entrypoint = any(isinstance(i, p.Entrypoint) for i in stage.instructions)
    for instruction in stage.instructions:
        if isinstance(instruction, p.Entrypoint):
            instruction = replace(instruction, argv=(tini, "--", *instruction.argv))
        out.append(instruction)
    if not has_entrypoint:  # cmd only: tini becomes the entrypoint, cmd its argument
        # written before CMD, like every other ENTRYPOINT: the reader sees `tini -- CMD`
        first_cmd = next((n for n, i in enumerate(out) if isinstance(i, p.Cmd)), len(out))
        out.insert(first_cmd, p.Entrypoint(argv=(tini, "--"), phase=p.Phase.START, origin=_ORIGIN))
    return replace(stage, instructions=tuple(out))


def add_init(plan: p.Plan) -> p.Plan:
    if not plan.runtime.init:
        return plan
    final = plan.final
    if final.base.has_shell and final.base.package_manager:
        package, path = _DYNAMIC[final.base.package_manager]
        install = p.InstallPackages(manager=final.base.package_manager, packages=((package, None),),
                                    phase=p.Phase.SYSTEM, origin=_ORIGIN)
        final = replace(final.with_instructions(install))
        return plan.replace_stage(_prefix_entrypoint(final, path))
    helper = plan.helper_base
    manager = helper.package_manager if helper else "apt"
    package, path = _STATIC.get(manager or "apt", _STATIC["apt"])
    install = p.InstallPackages(manager=manager or "apt", packages=((package, None),), phase=p.Phase.SYSTEM,
                                origin=_ORIGIN)
    plan = rootfs.add_to_rootfs(plan, install, reason="tini (init: true)")
    copy = p.Copy(sources=(path,), dest=TINI, from_stage=rootfs.NAME, phase=p.Phase.ARTIFACTS, origin=_ORIGIN)
    return plan.replace_stage(_prefix_entrypoint(plan.final.with_instructions(copy), TINI))
