"""Steps that download get the build CA bundle as a BuildKit secret, mounted for
that step only, with the variables each package manager reads. Behind a
TLS-inspecting proxy (most companies) pip, npm, cargo and go need it; it never
lands in a layer, and where the secret is not given the step simply runs without it.
The spec's own `secrets` (private index URLs, tokens, .npmrc files) are mounted the
same way, into the same steps only.
"""

from __future__ import annotations

from imagespec.plan import model as p
from imagespec.plan.model import replace

SECRET_ID = "ca-bundle"
TARGET = f"/run/secrets/{SECRET_ID}"
CA_ENV = tuple((name, TARGET) for name in (
    "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "NODE_EXTRA_CA_CERTS", "npm_config_cafile",
    "CARGO_HTTP_CAINFO", "GIT_SSL_CAINFO"))


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

    def harden(i: p.Instruction) -> p.Instruction:
        if _downloads(i):
            return replace(i, mounts=(*i.mounts, p.Mount("secret", TARGET, SECRET_ID), *mounts),
                           secret_env=CA_ENV, secret_values=values)
        return i

    def harden_stage(s: p.Stage) -> p.Stage:
        if not any(map(_downloads, s.instructions)):
            return s  # nothing downloads here: no copy
        return replace(s, instructions=tuple(map(harden, s.instructions)))
    return replace(plan, stages=tuple(map(harden_stage, plan.stages)))


def _downloads(i: p.Instruction) -> bool:
    return isinstance(i, p.Run) and i.downloads
