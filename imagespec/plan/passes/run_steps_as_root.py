"""A `from:` that declares a non-root user (`user: 65532`) names an image that has that
user and may run as it: a base spec's image ends with `USER 65532` (BP8). A stage on such
an image that runs steps (packages, the user's directories, build commands) would run them
as that user, and apt-get fails with `Permission denied`. So the stage says `USER root`
right after its FROM; the final stage's own USER (add_nonroot_user) comes after its steps,
so the image still runs as non-root. A stage FROM an earlier stage starts as that one ends."""

from __future__ import annotations

from imagespec.plan import model as p
from imagespec.plan.model import replace

_WHY = "the base image may run as its non-root user: the steps below install and create as root"


def _uid(user: str) -> int | None:
    """The uid a USER value names (`65532:65532`, `0`, `root`); None for another name."""
    name = user.split(":", 1)[0]
    return 0 if name == "root" else int(name) if name.isdigit() else None


def _ends_as(stage: p.Stage, starts_as: int | None) -> int | None:
    users = sorted((i for i in stage.instructions if isinstance(i, p.User)), key=lambda i: i.phase)
    return _uid(users[-1].user) if users else starts_as


def run_steps_as_root(plan: p.Plan) -> p.Plan:
    stages = {stage.name: stage for stage in plan.stages}
    done: dict[str, tuple[p.Stage, int | None]] = {}  # name -> (the stage, the user it ends as)

    def fixed(name: str) -> tuple[p.Stage, int | None]:
        if name not in done:
            stage = stages[name]
            parent = stage.base.from_stage
            starts_as = fixed(parent)[1] if parent in stages else stage.base.provided_user
            if starts_as not in (None, 0) and any(isinstance(i, p.Run) for i in stage.instructions):
                later = any(isinstance(i, p.User) for i in stage.instructions)
                root = p.User(user="0", phase=p.Phase.BASE, temporary=later,
                              origin=p.Origin(stage.origin.path, ("BP8",), _WHY))
                stage = replace(stage, instructions=(root, *stage.instructions))
                starts_as = 0
            done[name] = stage, _ends_as(stage, starts_as)
        return done[name]

    return replace(plan, stages=tuple(fixed(stage.name)[0] for stage in plan.stages))
