"""Company rules checked at compile time (BP6, BP8, BP15): allowed registries,
required labels, packages forbidden in final images, no shell in the final image,
non-root required. A rule is data in a template or the configuration; a violation
names the spec path that breaks it and the rule's key, so the caller can show
where each was written.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagespec import reference as grammar
from imagespec.plan import model as p
from imagespec.spec.yaml_source import DataPath
from imagespec.spec.model import Policies


@dataclass(frozen=True)
class Violation:
    path: DataPath  # what breaks the rule
    rule: str  # the policies key
    message: str


def _registry_ok(ref: str, allowed: list[str]) -> bool:
    """`ref` as written or as docker names it (`debian` is `docker.io/library/debian:latest`,
    so `docker.io` allows it) lies under one of the allowed registries."""
    try:
        names = {ref, grammar.parse(ref).normalized}
    except grammar.Invalid:  # a build argument (`${BASE}`): only as written
        names = {ref}
    return any(name == prefix or name.startswith(prefix.rstrip("/") + "/") for name in names for prefix in allowed)


def check_policies(plan: p.Plan, policies: Policies, final_packages: tuple[str, ...]) -> list[Violation]:
    found: list[Violation] = []
    if policies.allowed_registries:
        for stage in plan.stages:
            ref = stage.base.ref
            if stage.base.from_stage or ref == "scratch" or _registry_ok(ref, policies.allowed_registries):
                continue
            # the `image` line when `from` is a mapping (a location falls back to `from`)
            where = ("final", "from", "image") if stage.final else (*stage.origin.path, "image")
            found.append(Violation(where, "allowed_registries",
                                   f"image '{ref}' is not from an allowed registry "
                                   f"({', '.join(policies.allowed_registries)})"))
    if policies.required_labels:
        labels = {k for i in plan.final.instructions if isinstance(i, p.Label) for k, _ in i.items}
        for label in policies.required_labels:
            if label not in labels:
                found.append(Violation(("final", "labels"), "required_labels", f"the final image needs the label '{label}'"))
    for package in final_packages:
        if package in policies.forbidden_packages:
            found.append(Violation(("final", "packages"), "forbidden_packages",
                                   f"package '{package}' is forbidden in final images (BP6)"))
    if policies.no_shell and plan.final.base.has_shell:
        found.append(Violation(("final", "from"), "no_shell",
                               f"the final image '{plan.final.base.ref}' has a shell; use scratch or a distroless-style base (BP6)"))
    if policies.non_root and plan.runtime.uid == 0:
        found.append(Violation(("final", "user"), "non_root", "the final image must not run as root (BP8)"))
    return found
