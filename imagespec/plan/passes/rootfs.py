"""The helper stage that prepares files a shell-less final cannot make itself:
/etc/passwd and /etc/group (BP8), writable directories (BP9). Each instruction added
here must create the folders it writes (`mkdir -p`, `install -d`).

Not a pass: a shared mechanism for the passes that need it. The stage starts from
an image the spec already uses, so it costs no extra download (BP12); a spec with no such
image (a scratch final of a binary built elsewhere) has the catalog's `debian-slim`
(plan.helper_base).
"""

from __future__ import annotations

from imagespec.errors import SpecPathError
from imagespec.plan import model as p
from imagespec.plan.model import replace

NAME = "imagespec-rootfs"
ROOT = "/rootfs"


def needs_helper(plan: p.Plan) -> bool:
    """True when the final image cannot run commands of its own."""
    return not plan.final.base.has_shell


def add_to_rootfs(plan: p.Plan, *instructions: p.Instruction, reason: str) -> p.Plan:
    """Append instructions to the helper stage, creating it (and its COPY into the final) once."""
    if any(s.name == NAME for s in plan.stages):
        stage = plan.stage(NAME)
        return plan.replace_stage(stage.with_instructions(*instructions))
    base = plan.helper_base
    if base is None:
        raise SpecPathError(
            f"the final image '{plan.final.base.ref}' has no shell, so {reason} must be prepared in another "
            "stage, and neither a stage of this spec nor the catalog's `debian-slim` has a shell and a package "
            "manager",
            path=("final", "from"),
            hint="add a build stage (e.g. `from: {image: debian:bookworm-slim, family: debian}`), give the catalog a "
                 "`debian-slim` entry, or use a base that already provides the user (catalog `user: 65532`)")
    # no WORKDIR and no `mkdir -p /rootfs` of its own: every step writes absolute paths and
    # makes the folders it writes into, so the stage exists only when it has something to add
    stage = p.Stage(name=NAME, base=base, artifacts=(ROOT,),
                    origin=p.Origin(("final", "from"), ("BP8", "BP9"), "prepares files for the shell-less final image"),
                    instructions=instructions)
    copy = p.Copy(sources=(f"{ROOT}/",), dest="/", from_stage=NAME, phase=p.Phase.ARTIFACTS,
                  origin=p.Origin(("final", "from"), ("BP8", "BP9"), "users, groups and directories made in the helper stage"))
    final = plan.final
    plan = replace(plan, stages=(stage, *plan.stages))
    return plan.replace_stage(replace(final, instructions=(copy, *final.instructions)))
