"""BP5 + BP11: every package install is update + install + clean-up in one RUN,
so a stale index is never cached and the caches never reach a layer.

The idiom comes from the base's declared family (apt, apk, dnf, yum), never from
the image's name.
"""

from __future__ import annotations

from imagespec.plan import model as p
from imagespec.plan.model import replace

_PIN_RULE = {"apt": "DL3008", "apk": "DL3018", "dnf": "DL3041", "yum": "DL3033"}
_PIN_REASON = ("unpinned packages follow the base image's release; rebuild on a new base to update (BP13), "
               "or pin with `packages: {name: version}`")


def _pinned(manager: str, name: str, version: str | None) -> str:
    if version is None:
        return name
    return f"{name}-{version}" if manager in ("dnf", "yum") else f"{name}={version}"


def install_commands(manager: str, packages: tuple[tuple[str, str | None], ...]) -> tuple[str, ...]:
    names = " ".join(_pinned(manager, n, v) for n, v in packages)
    if manager == "apt":
        return ("apt-get update",
                f"apt-get install -y --no-install-recommends {names}",
                "rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin")
    if manager == "apk":
        return (f"apk add --no-cache {names}",)  # --no-cache: fetches a fresh index, keeps none
    if manager == "dnf":
        return (f"dnf install -y --setopt=install_weak_deps=False {names}", "dnf clean all", "rm -rf /var/cache/dnf")
    return (f"yum install -y {names}", "yum clean all", "rm -rf /var/cache/yum")


def _expand(instruction: p.InstallPackages) -> p.Run:
    ignores: tuple[tuple[str, str], ...] = ()
    if any(v is None for _, v in instruction.packages):
        ignores = ((_PIN_RULE[instruction.manager], _PIN_REASON),)
    return p.Run(commands=install_commands(instruction.manager, instruction.packages), ignores=ignores,
                 phase=instruction.phase, origin=instruction.origin)


def _combine(stage: p.Stage) -> p.Stage:
    """Several install intents in one stage (runtime packages + tini) become one install."""
    installs = [i for i in stage.instructions if isinstance(i, p.InstallPackages)]
    if len(installs) < 2:
        return stage
    packages = tuple(sorted({pkg for i in installs for pkg in i.packages}))
    merged = replace(installs[0], packages=packages)
    rest = tuple(i for i in stage.instructions if not isinstance(i, p.InstallPackages))
    return replace(stage, instructions=(merged, *rest))


def _expand_stage(stage: p.Stage) -> p.Stage:
    if not any(isinstance(i, p.InstallPackages) for i in stage.instructions):
        return stage  # most stages install nothing: no copy
    stage = _combine(stage)
    return replace(stage, instructions=tuple(
        _expand(i) if isinstance(i, p.InstallPackages) else i for i in stage.instructions))


def expand_package_installs(plan: p.Plan) -> p.Plan:
    return replace(plan, stages=tuple(map(_expand_stage, plan.stages)))
