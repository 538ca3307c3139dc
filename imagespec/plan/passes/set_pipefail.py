"""A pipe hides the failure of every command but the last; a stage whose RUN
steps pipe gets a SHELL with pipefail (hadolint DL4006), so a merged step can
never fail silently."""

from __future__ import annotations

import re

from imagespec.plan import model as p
from imagespec.plan.model import replace

_PIPE = re.compile(r"(?<![|>])\|(?![|&])")
# pipefail only: `-e` would stop `a; b` at a failing `a`, which a RUN of its own (sh -c) goes on
# from (QA: an imported `grep -q x f; echo …` then failed the build on Alpine)
_SHELLS = {"apk": ("/bin/ash", "-o", "pipefail", "-c")}
_DEFAULT = ("/bin/bash", "-o", "pipefail", "-c")  # apt, dnf and yum images ship bash


def _pipes(command: str) -> bool:
    # the substring test first: the pattern starts with a lookbehind, so it is tried at
    # every position of the command, and most commands have no `|` at all
    return "|" in command and _PIPE.search(command) is not None


def set_pipefail(plan: p.Plan) -> p.Plan:
    stages = []
    for stage in plan.stages:
        pipes = any(isinstance(i, p.Run) and any(_pipes(c) for c in i.commands) for i in stage.instructions)
        # a base without a package manager (distroless declared with a shell, busybox) may have
        # neither bash nor a /bin/sh that takes `-o pipefail` (dash): its pipes stay as they are
        if pipes and stage.base.has_shell and stage.base.package_manager:
            argv = _SHELLS.get(stage.base.package_manager, _DEFAULT)
            shell = p.Shell(argv=argv, phase=p.Phase.BASE,
                            origin=p.Origin(stage.origin.path, (), "pipefail: a failing command in a pipe fails the step"))
            # QA: a script step (exec form, for its newlines) ran /bin/sh without pipefail
            steps = tuple(replace(i, shell=argv) if isinstance(i, p.Run) else i for i in stage.instructions)
            stage = replace(stage, instructions=(shell, *steps))
        stages.append(stage)
    return replace(plan, stages=tuple(stages))
