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
from collections.abc import Iterable
from pathlib import Path

from imagespec.errors import CheckFailed, Location, SpecError
from imagespec.fleet.load import CA_VARIABLE, secret_variable
from imagespec.fleet.model import Fleet, Secret, Target
from imagespec.contract import GENERATED_MARK

HEADER_KEY = "//"  # bake ignores it; the generated mark, like a Dockerfile's header
HEADER_MARK = f"{GENERATED_MARK} (imagespec bake)"  # what every bake file imagespec wrote begins its "//" with
HEADER = (f"{HEADER_MARK} from the specs of its targets; do not edit: run `imagespec bake` "
          "again. Run `docker buildx bake -f FILE` in this file's folder (its paths are relative to it).")


def _posix(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def _secret_expression(secrets: tuple[Secret, ...]) -> str:
    """An HCL expression (bake reads `${…}` in JSON strings too): a secret whose variable
    is empty is left out, as `imagespec build` leaves out a secret without a file."""
    parts = [f'{s.variable} == "" ? [] : ["id={s.id},src=${{{s.variable}}}"]' for s in sorted(secrets, key=_by_id)]
    return "${" + (parts[0] if len(parts) == 1 else f"concat({', '.join(parts)})") + "}"


def _by_id(secret: Secret) -> str:
    return secret.id


def target_definition(fleet: Fleet, target: Target, folder: Path) -> dict[str, object]:
    """One bake target: what `imagespec build` would hand BuildKit for this spec."""
    build = target.build
    entry: dict[str, object] = {
        "context": _posix(build.context, folder),
        "dockerfile": _posix(build.dockerfile, build.context),
        "network": build.network,
    }
    if target.tags:
        entry["tags"] = list(target.tags)
    if build.labels:
        entry["labels"] = dict(build.labels)
    if build.secrets:
        entry["secret"] = _secret_expression(build.secrets)
    if build.cache_from:
        entry["cache-from"] = list(build.cache_from)
    if build.cache_to:
        entry["cache-to"] = list(build.cache_to)
    if target.platforms:
        entry["platforms"] = list(target.platforms)
    contexts = fleet.contexts(target.name)
    if contexts:
        entry["contexts"] = contexts
    return entry


def _variables(fleet: Fleet) -> dict[str, dict[str, str]]:
    """The secret variables the targets use; each one's default is the file the first
    configuration (in build order) names for it, else empty."""
    variables: dict[str, dict[str, str]] = {}
    for target in fleet:
        for secret in target.build.secrets:
            current = variables.setdefault(secret.variable, {"default": ""})
            if not current["default"] and secret.default:
                current["default"] = str(secret.default)
    return dict(sorted(variables.items()))


def read_grants(paths: Iterable[str]) -> list[str]:
    """``--allow fs.read=PATH`` for each file bake reads from outside its file's folder: buildx
    asks for that entitlement ("additional privileges requested") before it builds."""
    return [flag for path in sorted(set(paths)) for flag in ("--allow", f"fs.read={path}")]


def build_command(fleet: Fleet, output: Path) -> list[str]:
    """The command that builds the bake file ``output``, run in its folder (README, "Fleets"):
    host networking for RUN steps, a read grant for each secret's default file outside the
    folder (the CA bundle, /etc/ssl/certs/…), the images loaded into the engine."""
    folder = os.path.realpath(output.parent)
    outside = []
    for variable in _variables(fleet).values():
        default = variable["default"]
        where = os.path.normpath(os.path.join(folder, default)) if default else ""
        if where and not (where + os.sep).startswith(folder.rstrip(os.sep) + os.sep):
            outside.append(where)
    return ["docker", "buildx", "bake", "-f", output.name, "--allow", "network.host", *read_grants(outside), "--load"]


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
    """An existing, non-empty file that is not a bake file imagespec wrote: JSON whose
    ``"//"`` begins with the bake file's own mark. A Dockerfile or ignore file that `generate`
    wrote carries the generated mark too, but is not this file: `-o app/.dockerignore`
    would have replaced the ignore file's patterns with JSON (the whole context sent)."""
    try:
        if not path.is_file():
            return False
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    # by its text, not as JSON: a bake file with a merge's conflict markers is still ours
    # (its "//" is the first key, sorted, on the second line)
    mark = f"{json.dumps(HEADER_KEY)}: {json.dumps(HEADER_MARK)[:-1]}"  # the value's text, unclosed
    return bool(text.strip()) and not any(line.strip().startswith(mark) for line in text.splitlines()[:3])


def _refuse_read_elsewhere(output: Path) -> None:
    """-o never names a file something else reads: the configuration (QA: `-o .imagespec.yaml`
    made every later command exit 2), an ignore file, a spec or lock file that discovery would
    take, or a file of git's (`-o .git/HEAD --force` broke the repository)."""
    from imagespec.fleet.discover import is_spec_name
    from imagespec.spec.read_spec import LOCK_SUFFIX
    from imagespec.spec.values import read_elsewhere

    name = output.name
    if read_elsewhere(name) or is_spec_name(name) or name.endswith(LOCK_SUFFIX):
        raise SpecError(f"-o names {name}, which imagespec or git reads as another file: bake would replace it",
                        location=Location(str(output)), hint="give -o the bake file's path (docker-bake.json)")
    if ".git" in Path(os.path.realpath(output)).parts:
        raise SpecError("-o names a file inside .git: git's own files are never a bake file",
                        location=Location(str(output)), hint="give -o the bake file's path (docker-bake.json)")


def _refuse_own_inputs(fleet: Fleet, output: Path) -> None:
    """A spec of the fleet, its Dockerfile or its ignore file is never the bake file,
    --force or not: `-o` named the wrong file, and replacing it would lose the spec (or
    send the whole context to every build)."""
    from imagespec.spec.read_spec import ignore_file_for

    where = os.path.realpath(output)
    for target in fleet.targets.values():
        ignore = ignore_file_for(str(target.context), str(target.dockerfile))
        for kind, path in (("spec", target.real), ("Dockerfile", target.dockerfile), ("ignore file", Path(ignore))):
            if os.path.realpath(path) == where:
                raise SpecError(f"-o names the {kind} of target {target.name}: bake would replace it, even with --force",
                                location=Location(str(output)), hint="give -o the bake file's path (docker-bake.json)")


def write_bake(fleet: Fleet, output: Path, *, force: bool = False) -> bool:
    """Write the bake file atomically; returns whether it changed. A file imagespec did not
    generate is replaced only with ``force`` (exit 1 otherwise, nothing written)."""
    from imagespec.output import write_atomically

    text = bake_text(fleet, output)
    _refuse_own_inputs(fleet, output)  # the more exact message first: whose spec it is
    _refuse_read_elsewhere(output)
    if not force and written_by_hand(output):
        raise CheckFailed("not generated by imagespec (no generated mark): bake would replace it",
                          location=Location(str(output)), hint="pass --force to replace it, or give -o another path")
    return bool(write_atomically({output: text}))


def stale_bake(fleet: Fleet, output: Path) -> str | None:
    """A unified diff when the committed bake file differs from what bake writes now, else None."""
    from imagespec.output import read_current, stale_diff

    expected, actual = bake_text(fleet, output), read_current(output)
    if expected == actual:
        return None
    return stale_diff(actual, expected, f"{output} (committed)", f"{output} (from the specs)")


def targets_beyond(fleet: Fleet, output: Path) -> list[str]:
    """The committed bake file's targets that ``fleet`` does not make: a file baked from
    more specs than the ones checked against it (none when it cannot be read as JSON)."""
    from imagespec.output import read_current

    try:
        committed = json.loads(read_current(output)).get("target", {})
    except (ValueError, AttributeError):
        return []
    made = {target.name for target in fleet}
    return sorted(name for name in committed if name not in made) if isinstance(committed, dict) else []


__all__ = ["CA_VARIABLE", "HEADER", "bake_text", "build_command", "read_grants", "definition", "secret_variable", "stale_bake", "target_definition",
           "targets_beyond", "write_bake"]
