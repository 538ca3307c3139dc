"""Company rules checked at compile time (BP6, BP8, BP15): allowed registries (of
bases, and of the spec's push destination), required labels, packages forbidden in
final images, no shell in the final image, non-root required. (`clean_push` and a
`--tag`'s destination are the push's to check: pipeline.push_rules.) A rule is data in
a template, the configuration or the spec; a violation names the spec path that breaks
it and the rule's key (or the entry of a list that makes the demand), so the caller can
show where each was written.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagespec import reference as grammar
from imagespec.plan import model as p
from imagespec.spec.yaml_source import DataPath
from imagespec.spec.model import Policies, Spec
from imagespec.spec.values import package_identity


@dataclass(frozen=True)
class Violation:
    path: DataPath  # what breaks the rule
    rule: DataPath  # the policies key, or the entry of a list that makes the demand
    message: str
    lacking: bool = False  # the spec lacks something (a label): said at the spec, not at a template
    hint: str | None = None  # how to follow this rule, where the general hint says too little


def registry_ok(ref: str, allowed: list[str]) -> bool:
    """`ref` as written or as docker names it (`debian` is `docker.io/library/debian:latest`,
    so `docker.io` allows it) lies under one of the allowed registries: the one reading
    of both allow-lists, `allowed_registries` (bases) and `push_registries` (pushes)."""
    try:
        names = {ref, grammar.parse(ref).normalized}
    except grammar.Invalid:  # a build argument (`${BASE}`): only as written
        names = {ref}
    return any(grammar.within(name, prefix) for name in names for prefix in allowed)


def _image_written(stage: p.Stage, spec: Spec) -> DataPath:
    """Where the image of `stage` is written: the spec's own `images:` entry when its `from`
    names one (the value that breaks the rule), else the `from` (its `image` line when
    `from` is a mapping: a location falls back to `from`)."""
    at = stage.origin.path
    written = spec.final.from_ if at == ("final", "from") else \
        spec.stages[at[1]].from_ if at[:1] == ("stages",) and at[1] in spec.stages else None
    if isinstance(written, str) and written in spec.images:
        return ("images", written, "image")
    return (*at, "image")


def check_policies(plan: p.Plan, policies: Policies, spec: Spec) -> list[Violation]:
    """Every violation, in the order the rules are listed (the caller reports them together)."""
    found: list[Violation] = []
    if policies.allowed_registries:
        for stage in plan.stages:
            ref = stage.base.ref
            if stage.base.from_stage or ref == "scratch" or registry_ok(ref, policies.allowed_registries):
                continue
            found.append(Violation(_image_written(stage, spec), ("policies", "allowed_registries"),
                                   f"image '{ref}' is not from an allowed registry "
                                   f"({', '.join(policies.allowed_registries)})"))
    if policies.push_registries and spec.registry:
        # where `build --push` sends the spec's own tags; a `--tag` is checked at push time
        # (pipeline.push_rules), a name without a registry is a local tag and never pushed
        destination = grammar.full_name(spec.registry, spec.name)
        if not registry_ok(destination, policies.push_registries):
            found.append(Violation(("registry",), ("policies", "push_registries"),
                                   f"the image would be pushed to '{destination}', which is not under a registry "
                                   f"it may be pushed to ({', '.join(policies.push_registries)})",
                                   hint=f"set `registry:` to one of those (or a path under one, e.g. "
                                        f"{policies.push_registries[0]}/team), or ask the rule's owner to allow "
                                        f"'{spec.registry}'"))
    if policies.required_labels:
        labels = {k: v for i in plan.final.instructions if isinstance(i, p.Label) for k, v in i.items}
        for index, label in enumerate(policies.required_labels):
            rule = ("policies", "required_labels", index)
            if label not in labels:
                found.append(Violation(("final", "labels"), rule, f"the final image needs the label '{label}'",
                                       lacking=True))
            elif not labels[label].strip():  # an owner of "" is no owner: the rule asks for a value
                written = label in spec.final.labels
                found.append(Violation(("final", "labels", label) if written else ("final", "labels"), rule,
                                       f"the label '{label}' is required and needs a value, not an empty one",
                                       lacking=not written))
    packages = spec.final.packages  # a list, or a mapping name -> version pin
    # compared as the packages they mean: `curl:amd64` (or `CURL`, `curl@edge`) is curl
    forbidden: dict[str, int] = {}
    for index, entry in enumerate(policies.forbidden_packages):
        forbidden.setdefault(package_identity(entry), index)
    for key, package in enumerate(packages) if isinstance(packages, list) else ((name, name) for name in packages):
        entry_at = forbidden.get(package_identity(package))
        if entry_at is not None:
            meant = package_identity(package)
            said = f"package '{package}'" + (f" (that is '{meant}')" if meant != package else "")
            found.append(Violation(("final", "packages", key), ("policies", "forbidden_packages", entry_at),
                                   f"{said} is forbidden in final images (BP6)"))
    if policies.no_shell and plan.final.base.has_shell:
        found.append(Violation(("final", "from"), ("policies", "no_shell"),
                               f"the final image '{plan.final.base.ref}' has a shell; use scratch or a distroless-style base (BP6)"))
    if policies.non_root and plan.runtime.uid == 0:
        found.append(Violation(("final", "user"), ("policies", "non_root"), "the final image must not run as root (BP8)"))
    return found
