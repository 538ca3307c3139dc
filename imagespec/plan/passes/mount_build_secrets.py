"""Steps that download get the build CA bundle as a BuildKit secret, mounted for
that step only, with the variable each of its tools reads (plan/ca_trust.py: one
table). Behind a TLS-inspecting proxy (most companies) pip, npm, cargo and go need
it; the company CA is added to the public roots, never put in their place. It never
lands in a layer, and where the secret is not given the step simply runs without it.
The spec's own `secrets` (private index URLs, tokens, .npmrc files) are mounted the
same way, into the same steps only.
"""

from __future__ import annotations

from typing import TypeGuard

from imagespec.contract import SECRET_ID
from imagespec.plan import ca_trust
from imagespec.plan import model as p
from imagespec.plan.model import replace


def _declared(plan: p.Plan) -> tuple[tuple[p.Mount, ...], tuple[tuple[str, str], ...]]:
    mounts, values = [], []
    for secret_id, env, target in plan.secrets:
        path = target or f"/run/secrets/{secret_id}"
        mounts.append(p.Mount("secret", path, secret_id, default_target=target is None))
        if env:
            values.append((env, path))
    return tuple(mounts), tuple(values)


def mount_build_secrets(plan: p.Plan) -> p.Plan:
    mounts, values = _declared(plan)

    def harden_stage(s: p.Stage) -> p.Stage:
        downloading = [i for i in s.instructions if _downloads(i)]
        if not downloading:
            return s  # nothing downloads here: no copy
        # one set of variables per stage: the stage's download steps stay mergeable
        env = ca_trust.variables_for(tuple(c for i in downloading for c in i.commands))
        combine = any(path == ca_trust.BUNDLE for _, path in env)
        ca_mounts = (p.Mount("secret", ca_trust.SECRET, SECRET_ID),
                     *((p.Mount("tmpfs", ca_trust.TMPFS),) if combine else ()))
        system = ca_trust.system_bundle(s.base.family) if combine else None

        def harden(i: p.Instruction) -> p.Instruction:
            if _downloads(i):
                return replace(i, mounts=(*i.mounts, *ca_mounts, *mounts), secret_env=env,
                               secret_values=values, ca_system=system)
            return i
        return replace(s, instructions=tuple(map(harden, s.instructions)))
    return replace(plan, stages=tuple(map(harden_stage, plan.stages)))


def _downloads(i: p.Instruction) -> TypeGuard[p.Run]:
    return isinstance(i, p.Run) and i.downloads
