"""The main job: compile a spec, then build, tag, verify and push its image.

Joins the compiler (pure) to the engine (imagespec.build); the only module besides
the CLI that knows both. Decides the build-time facts the Dockerfile must not
hold: tags (BP14), created/revision labels, the CA bundle secret.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imagespec.compiler import Compiled
from imagespec.errors import BuildFailed, SpecError
from imagespec.plan import model as p
from imagespec.plan.passes.mount_build_secrets import SECRET_ID

CA_ENV = "IMAGESPEC_CA_BUNDLE"


@dataclass(frozen=True)
class BuildRequest:
    """How to build (never what: that is the spec). From options and configuration."""

    tags: tuple[str, ...] = ()
    build_args: tuple[tuple[str, str], ...] = ()
    target: str | None = None
    no_cache: bool = False
    push: bool = False
    force: bool = False
    progress: str = "auto"
    ca_bundle: Path | None = None
    secrets: tuple[tuple[str, Path], ...] = ()  # --secret id=ID,src=FILE
    network: str | None = None
    backend: str = "auto"


def repository(compiled: Compiled) -> str:
    spec = compiled.loaded.spec
    return f"{spec.registry.rstrip('/')}/{spec.name}" if spec.registry else spec.name


def references(compiled: Compiled, request: BuildRequest) -> tuple[str, ...]:
    from imagespec.build import git_short_sha, tags_for

    spec = compiled.loaded.spec
    sha = git_short_sha(compiled.loaded.folder) if spec.tags.git_sha else None
    version = spec.version if spec.tags.semver else None
    extra = (*spec.tags.extra, *request.tags)
    return tags_for(repository(compiled), version, sha, extra)


def ca_bundle(request: BuildRequest, config_build: dict) -> Path | None:
    """The CA bundle for download steps: option, then $IMAGESPEC_CA_BUNDLE, then config."""
    chosen = request.ca_bundle or os.environ.get(CA_ENV) or config_build.get("ca_bundle")
    return Path(str(chosen)) if chosen else None


def _optional_str(config_build: dict, key: str) -> str | None:
    value = config_build.get(key)
    return None if value is None else str(value)


def _extra_args(config_build: dict) -> tuple[str, ...]:
    """Engine-specific flags from the configuration (e.g. --allow, --cache-from), never the spec."""
    value = config_build.get("extra_args") or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError("configuration `build.extra_args` must be a list of strings")
    return tuple(value)


def build_secrets(compiled: Compiled, request: BuildRequest, config_build: dict) -> list[tuple[str, Path]]:
    """Sources for the spec's declared secrets: --secret first, then the configuration's
    `build.secrets: {id: file}`. A declared secret with no source is left out: its steps
    run without it, as on a machine that does not need it."""
    declared = [s.id for s in compiled.loaded.spec.secrets]
    given = dict(request.secrets)
    for secret_id in given:
        if secret_id not in declared and secret_id != SECRET_ID:
            raise SpecError(f"--secret {secret_id}: the spec declares no such secret",
                            location=compiled.loaded.document.location(("secrets",)),
                            hint=f"declared: {', '.join(declared) or 'none'}; add `secrets: [{{id: {secret_id}}}]`")
    configured = config_build.get("secrets") or {}
    if not isinstance(configured, dict):
        raise SpecError("configuration `build.secrets` maps secret ids to files")
    chosen = []
    for secret_id in declared:
        source = given.get(secret_id) or configured.get(secret_id)
        if source:
            chosen.append((secret_id, Path(str(source))))
    return chosen


def _labels(compiled: Compiled, revision: str | None) -> dict[str, str]:
    from imagespec.build import oci_labels

    spec, final = compiled.loaded.spec, compiled.plan.final
    base = None if final.base.ref == "scratch" or final.base.from_stage else final.base.ref
    return oci_labels(title=spec.name, description=spec.description, version=spec.version, revision=revision,
                      source=spec.source, licenses=spec.license, base_name=base,
                      base_digest=_base_digest(base))


def _base_digest(base: str | None) -> str | None:
    """The base's digest when the engine has it (BP13: know which images use which base)."""
    if base is None:
        return None
    from imagespec.build import connect

    try:
        image = connect().images.get(base)
    except Exception:  # not pulled yet or no engine: the build itself will say so
        return None
    digests = image.attrs.get("RepoDigests") or []
    return digests[0].split("@", 1)[1] if digests else image.id


def build(compiled: Compiled, request: BuildRequest, config_build: dict,
          on_status: Callable[[str], None] = lambda _: None):
    """Build and tag (and push): returns (BuildResult, pushed digests)."""
    from imagespec.build import BuildOptions, Secret, get_backend, git_short_sha, push_tags

    tags = references(compiled, request)
    secrets = tuple(Secret(secret_id, path) for secret_id, path in build_secrets(compiled, request, config_build))
    bundle = ca_bundle(request, config_build)
    if bundle is not None:
        secrets = (Secret(SECRET_ID, bundle, optional=False), *secrets)
    revision = git_short_sha(compiled.loaded.folder, mark_dirty=False)
    options = BuildOptions(tags=tags, build_args=dict(request.build_args), target=request.target,
                           no_cache=request.no_cache, network=request.network or str(config_build.get("network", "host")),
                           secrets=secrets, labels=_labels(compiled, revision), progress=request.progress,
                           builder=_optional_str(config_build, "builder"), extra_args=_extra_args(config_build),
                           dockerignore=compiled.dockerignore)
    try:
        result = get_backend(request.backend).build(compiled.dockerfile, compiled.loaded.context, options)
    except BuildFailed as failure:
        raise locate_failure(compiled, failure) from None
    pushed = {}
    if request.push:
        if not compiled.loaded.spec.registry and not any("/" in t.split(":")[0] for t in tags):
            raise SpecError("nothing to push to: the spec has no `registry`", location=compiled.loaded.document.location(("name",)),
                            hint="set `registry: host:port/team` in the spec, or pass --tag host/name:tag")
        pushed = push_tags(tags, force=request.force, on_status=on_status)
    return result, pushed


def locate_failure(compiled: Compiled, failure: BuildFailed) -> BuildFailed:
    """Point a failed step back at the spec line that produced it."""
    line = getattr(failure, "step", None)
    origin = _origin_at_line(compiled, line) if line else None
    if origin is not None:
        failure.location = compiled.loaded.document.location(origin.path)
    return failure


def _origin_at_line(compiled: Compiled, line: int) -> p.Origin | None:
    """The plan instruction rendered at Dockerfile line `line` (1-based)."""
    from imagespec.render.dockerfile import render_instruction

    text = compiled.dockerfile.splitlines()
    target = "\n".join(text[line - 1:line + 40])
    best = None
    for stage in compiled.plan.stages:
        for instruction in stage.instructions:
            rendered = render_instruction(compiled.plan, stage, instruction)
            if rendered and target.startswith(rendered.splitlines()[0]):
                best = instruction.origin
    return best


def expectations(compiled: Compiled, *, http_port: int | None = None, ready_log: str | None = None,
                 size_budget: int | None = None):
    """What `imagespec test` checks, derived from the plan (BP2, BP3, BP6-BP9)."""
    from imagespec.build import Expectations
    from imagespec.build.build_tools import allowed_by_packages

    plan, spec = compiled.plan, compiled.loaded.spec
    final = plan.final
    entrypoint = next((i.argv for i in final.instructions if isinstance(i, p.Entrypoint)), None)
    cmd = next((i.argv for i in final.instructions if isinstance(i, p.Cmd)), None)
    labels = dict(next((i.items for i in final.instructions if isinstance(i, p.Label)), ()))
    ports = next((i.ports for i in final.instructions if isinstance(i, p.Expose)), ())
    stop = next((i.signal for i in final.instructions if isinstance(i, p.StopSignal)), None)
    rt = plan.runtime
    return Expectations(user=f"{rt.uid}:{rt.gid}" if rt.uid else "0", entrypoint=entrypoint, cmd=cmd,
                        ports=tuple(ports), env=dict(spec.final.env), labels=labels, writable=rt.writable,
                        init=rt.init, shell_expected=final.base.has_shell, stop_signal=stop,
                        allowed_tools=allowed_by_packages(spec.final.packages),
                        shell_entrypoint=rt.shell_entrypoint,
                        size_budget_bytes=size_budget, http_port=http_port, ready_log=ready_log)


def expectations_from_image(reference: str, *, http_port: int | None = None, ready_log: str | None = None,
                            size_budget: int | None = None):
    """Expectations for an image without its spec: what its own config and labels declare.
    Any non-root user (BP8); tini when the entrypoint starts with it (BP3); tmpfs for the
    directories the `io.imagespec.writable` label names (BP9)."""
    from imagespec.build import Expectations, connect
    from imagespec.build.engine import engine_errors
    from imagespec.plan.passes.prepare_writable_dirs import LABEL

    with engine_errors(f"inspect {reference}"):
        config = connect().images.get(reference).attrs.get("Config") or {}
    labels = config.get("Labels") or {}
    entrypoint = tuple(config.get("Entrypoint") or ())
    writable = tuple(d for d in (labels.get(LABEL) or "").split(",") if d)
    init = bool(entrypoint) and entrypoint[0].rsplit("/", 1)[-1] in ("tini", "tini-static", "docker-init")
    return Expectations(user=None, writable=writable, init=init, http_port=http_port, ready_log=ready_log,
                        size_budget_bytes=size_budget)


__all__ = ["BuildRequest", "build", "expectations", "references", "repository"]
