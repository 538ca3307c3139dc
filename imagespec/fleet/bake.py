"""The fleet as a bake definition (JSON, the format `docker buildx bake -f FILE` reads),
deterministic and meant to be committed beside the Dockerfiles.

Paths are relative to the folder the file is written to, and `docker buildx bake`
resolves them against its working directory: run it in that folder. Nothing that
changes per commit or per machine goes in: no git-sha tag, no revision or created label
(the fleet build adds them), no secret's contents or path. A secret is named by id; its
file comes from a bake variable at build time: ``IMAGESPEC_CA_BUNDLE`` (imagespec's own
variable for the CA bundle; its default is the configuration's `build.ca_bundle`) and
``IMAGESPEC_SECRET_<ID>`` for a spec's declared secrets (default: `build.secrets`). An
unset variable leaves the secret out, as `imagespec build` does.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from imagespec.errors import CheckFailed, Location
from imagespec.fleet.model import Fleet, Target
from imagespec.output import GENERATED_MARK

CA_VARIABLE = "IMAGESPEC_CA_BUNDLE"
SECRET_PREFIX = "IMAGESPEC_SECRET_"
HEADER_KEY = "//"  # bake ignores it; the generated mark, like a Dockerfile's header
HEADER = (f"{GENERATED_MARK} (imagespec bake) from the specs of its targets; do not edit: run `imagespec bake` "
          "again. Run `docker buildx bake -f FILE` in this file's folder (its paths are relative to it).")


def _posix(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def secret_variable(secret_id: str) -> str:
    return SECRET_PREFIX + re.sub(r"[^A-Z0-9_]", "_", secret_id.upper())


def _secrets(target: Target) -> dict[str, str]:
    """Secret id -> the bake variable giving its file: the CA bundle where the Dockerfile
    mounts it, and every secret the spec declares."""
    from imagespec.plan.ca_trust import SECRET_ID

    chosen: dict[str, str] = {}
    if f"id={SECRET_ID}" in target.compiled.dockerfile:
        chosen[SECRET_ID] = CA_VARIABLE
    for secret in target.compiled.loaded.spec.secrets:
        chosen[secret.id] = secret_variable(secret.id)
    return chosen


def _secret_expression(secrets: dict[str, str]) -> str:
    """An HCL expression (bake reads `${…}` in JSON strings too): a secret whose variable
    is empty is left out, as `imagespec build` leaves out a secret without a file."""
    parts = [f'{variable} == "" ? [] : ["id={secret_id},src=${{{variable}}}"]'
             for secret_id, variable in sorted(secrets.items())]
    return "${" + (parts[0] if len(parts) == 1 else f"concat({', '.join(parts)})") + "}"


def _flag_values(args: tuple[str, ...] | list[str], flag: str) -> list[str]:
    """The values of ``--flag V`` / ``--flag=V`` among the configuration's build.extra_args."""
    values, items = [], list(args)
    for index, item in enumerate(items):
        if item == flag and index + 1 < len(items):
            values.append(items[index + 1])
        elif item.startswith(flag + "="):
            values.append(item.split("=", 1)[1])
    return values


def _labels(target: Target) -> dict[str, str]:
    """The OCI labels `imagespec build` adds that are the same on every build (BP13: the
    base's name); revision, created and the base's digest are the build's."""
    from imagespec.publish import oci_labels

    spec, final = target.compiled.loaded.spec, target.compiled.plan.final
    base = None if final.base.ref == "scratch" or final.base.from_stage else final.base.ref
    return oci_labels(title=spec.name, description=spec.description, version=spec.version, created="",
                      source=spec.source, licenses=spec.license, base_name=base, environ={})


def _network(target: Target) -> str:
    from imagespec.engine.backend import DEFAULT_NETWORK

    return target.config.build.network or DEFAULT_NETWORK


def target_definition(fleet: Fleet, target: Target, folder: Path) -> dict[str, object]:
    """One bake target: what `imagespec build` would hand BuildKit for this spec."""
    context = target.context
    entry: dict[str, object] = {
        "context": _posix(context, folder),
        "dockerfile": _posix(target.dockerfile, context),
        "network": _network(target),
    }
    if target.tags:
        entry["tags"] = list(target.tags)
    labels = _labels(target)
    if labels:
        entry["labels"] = labels
    secrets = _secrets(target)
    if secrets:
        entry["secret"] = _secret_expression(secrets)
    extra = list(target.config.build.extra_args)
    for flag, key in (("--cache-from", "cache-from"), ("--cache-to", "cache-to")):
        values = _flag_values(extra, flag)
        if values:
            entry[key] = values
    if target.platforms:
        entry["platforms"] = list(target.platforms)
    contexts = fleet.contexts(target.name)
    if contexts:
        entry["contexts"] = contexts
    return entry


def _variables(fleet: Fleet) -> dict[str, dict[str, str]]:
    """The secret variables the targets use; defaults from the first configuration (in
    build order) that names a file for each."""
    variables: dict[str, dict[str, str]] = {}
    for target in fleet:
        build = target.config.build
        for secret_id, variable in _secrets(target).items():
            default = build.ca_bundle if variable == CA_VARIABLE else build.secrets.get(secret_id)
            current = variables.setdefault(variable, {"default": ""})
            if not current["default"] and default:
                current["default"] = str(default)
    return dict(sorted(variables.items()))


def definition(fleet: Fleet, folder: Path) -> dict[str, object]:
    """The bake definition of ``fleet`` for a file in ``folder``."""
    folder = Path(os.path.realpath(folder))
    document: dict[str, object] = {HEADER_KEY: HEADER}
    variables = _variables(fleet)
    if variables:
        document["variable"] = variables
    document["group"] = {name: {"targets": list(members)} for name, members in sorted(fleet.groups.items())}
    document["target"] = {t.name: target_definition(fleet, t, folder) for t in sorted(fleet, key=lambda t: t.name)}
    return document


def bake_text(fleet: Fleet, output: Path) -> str:
    """The file's exact text: sorted keys, two-space indent, one final newline."""
    return json.dumps(definition(fleet, output.parent), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def written_by_hand(path: Path) -> bool:
    """An existing, non-empty file without the generated mark near its top."""
    try:
        if not path.is_file():
            return False
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return bool(text.strip()) and not any(GENERATED_MARK in line for line in text.splitlines()[:3])


def write_bake(fleet: Fleet, output: Path, *, force: bool = False) -> bool:
    """Write the bake file atomically; returns whether it changed. A file imagespec did not
    generate is replaced only with ``force`` (exit 1 otherwise, nothing written)."""
    from imagespec.output import write_atomically

    text = bake_text(fleet, output)
    if not force and written_by_hand(output):
        raise CheckFailed("not generated by imagespec (no generated mark): bake would replace it",
                          location=Location(str(output)), hint="pass --force to replace it, or give -o another path")
    return bool(write_atomically({output: text}))


def stale_bake(fleet: Fleet, output: Path) -> str | None:
    """A unified diff when the committed bake file differs from what bake writes now, else None."""
    import difflib

    from imagespec.output import read_current

    expected, actual = bake_text(fleet, output), read_current(output)
    if expected == actual:
        return None
    return "".join(difflib.unified_diff(actual.splitlines(True), expected.splitlines(True),
                                        f"{output} (committed)", f"{output} (from the specs)"))


__all__ = ["CA_VARIABLE", "HEADER", "bake_text", "definition", "secret_variable", "stale_bake", "target_definition",
           "write_bake"]
