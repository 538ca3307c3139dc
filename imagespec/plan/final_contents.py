"""What a final image is known to lack: the one answer behind the compiler's refusal of
an entrypoint no file provides and lint's IS015 (a health check's program).

A scratch final holds only what `final.copy` puts there (and imagespec's passwd, group
and tini); a shell-less base has no shell, no `env` and no HTTP client. Anything else a
base may hold: the catalog does not list its files, so nothing is refused there.

Pure. May import contract and spec.model.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from imagespec.contract import SHELLS
from imagespec.spec.model import Artifact

INTERPRETERS = SHELLS | {"env"}  # env finds the interpreter: none is in a scratch or distroless final
#: what a health check usually probes with, none of which a shell-less final has unless the
#: spec puts it there (final.packages, final.copy): distroless images ship no HTTP client (BP6)
PROBE_TOOLS = frozenset({"curl", "wget", "nc", "netcat", "ncat"})


def copied_to(copies: Iterable[Artifact], program: str) -> bool:
    """Whether a final.copy may put a file at `program` (a path, or a name on PATH: any file
    of that name), by COPY's rules: into a destination ending in `/` a file keeps its name.
    Generous where the spec cannot tell (a source may be a folder): only what is certainly
    absent counts as absent."""
    for artifact in copies:
        name = artifact.src.rstrip("/").rsplit("/", 1)[-1]
        landed = artifact.dest + name if artifact.dest.endswith("/") else artifact.dest
        if "/" not in program and landed.rsplit("/", 1)[-1] == program:
            return True
        if landed == program or program.startswith(artifact.dest.rstrip("/") + "/"):
            return True  # the file itself, or anything under a destination (a folder's contents land there)
    return False


def missing_program(program: str, *, base: str, has_shell: bool, copies: Iterable[Artifact],
                    packages: Collection[str] = ()) -> str | None:
    """Why the final image certainly has no `program`, or None when it may have it.
    `base`: the final's base reference; `packages`: the names installed into the final."""
    if has_shell:
        return None
    name = program.rsplit("/", 1)[-1]
    if name in INTERPRETERS:
        return f"the final image ({base}) has no shell"
    if copied_to(copies, program) or name in packages:
        return None
    if name in PROBE_TOOLS:
        return f"the final image ({base}) has no {name}"
    if base == "scratch":
        return "a scratch final holds only what `final.copy` puts there, and nothing lands at " + program
    return None
