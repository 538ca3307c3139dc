"""Consecutive RUN steps of the same phase, mounts and secrets become one RUN
(fewer layers, BP11), joined with `&&` so the merged step fails when any command
fails. Steps of different phases stay apart: merging them would lose a cache
boundary (BP4)."""

from __future__ import annotations

from imagespec.plan import model as p
from imagespec.plan.model import replace


def _joinable(a: p.Run, b: p.Run) -> bool:
    return (a.mergeable and b.mergeable
            and a.phase == b.phase and a.mounts == b.mounts and a.secret_env == b.secret_env)


def _merge(a: p.Run, b: p.Run) -> p.Run:
    return replace(a, commands=a.commands + b.commands, ignores=tuple(dict.fromkeys(a.ignores + b.ignores)),
                   merged_from=(*a.merged_from, b.origin, *b.merged_from), downloads=a.downloads or b.downloads,
                   command_origins=a.origins_of_commands() + b.origins_of_commands())


def merge_run_steps(plan: p.Plan) -> p.Plan:
    stages = []
    for stage in plan.stages:
        out: list[p.Instruction] = []
        for instruction in stage.instructions:
            last = out[-1] if out else None
            if isinstance(last, p.Run) and isinstance(instruction, p.Run) and _joinable(last, instruction):
                out[-1] = _merge(last, instruction)
            else:
                out.append(instruction)
        # nothing merged: the stage as it was, without a copy
        stages.append(replace(stage, instructions=tuple(out)) if len(out) < len(stage.instructions) else stage)
    return replace(plan, stages=tuple(stages))
