"""What `imagespec test` checks, from the plan or from an image's own config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagespec.compiler import Compiled
from imagespec.contract import LABEL_WRITABLE, writable_directories
from imagespec.pipeline.options import provenance, revision
from imagespec.plan import model as p

if TYPE_CHECKING:
    from imagespec.verify import Expectations


def expectations(compiled: Compiled, *, http_port: int | None = None, ready_log: str | None = None,
                 size_budget: int | None = None, stage: bool = False) -> Expectations:
    """What `imagespec test` checks, derived from the plan (BP2, BP3, BP6-BP9), and the
    image's own SBOM (BP16) in either format `imagespec build` stores; ``stage``: a
    ``--target`` build, which has no SBOM."""
    from imagespec.sbom.document import FORMATS
    from imagespec.sbom.store import path_in_image
    from imagespec.verify import Expectations
    from imagespec.verify.build_tools import allowed_by_packages

    plan, spec = compiled.plan, compiled.loaded.spec
    final = plan.final
    entrypoint = next((i.argv for i in final.instructions if isinstance(i, p.Entrypoint)), None)
    cmd = next((i.argv for i in final.instructions if isinstance(i, p.Cmd)), None)
    labels = dict(next((i.items for i in final.instructions if isinstance(i, p.Label)), ()))
    # provenance is set at build time: the image must carry the values this spec, its lock and
    # this checkout give now (a mismatch is an image built from something else)
    labels |= provenance(compiled, revision(compiled))
    ports = next((i.ports for i in final.instructions if isinstance(i, p.Expose)), ())
    stop = next((i.signal for i in final.instructions if isinstance(i, p.StopSignal)), None)
    rt = plan.runtime
    return Expectations(user=f"{rt.uid}:{rt.gid}" if rt.uid else "0", entrypoint=entrypoint, cmd=cmd,
                        ports=tuple(ports), env=dict(spec.final.env), labels=labels, writable=rt.writable,
                        init=rt.init, shell_expected=final.base.has_shell, stop_signal=stop,
                        allowed_tools=allowed_by_packages(spec.final.packages),
                        shell_entrypoint=rt.shell_entrypoint,
                        sbom_paths=tuple(path_in_image(spec.name, fmt) for fmt in FORMATS), sbom_checked=not stage,
                        size_budget_bytes=size_budget, http_port=http_port, ready_log=ready_log,
                        runs=spec.kind != "base")


def expectations_from_image(reference: str, *, http_port: int | None = None, ready_log: str | None = None,
                            size_budget: int | None = None) -> Expectations:
    """Expectations for an image without its spec: what its own config and labels declare.
    Any non-root user (BP8); tini when the entrypoint starts with it (BP3); tmpfs for the
    directories the `io.imagespec.writable` label names (BP9)."""
    from imagespec.engine import connect
    from imagespec.engine.client import engine_errors
    from imagespec.verify import Expectations

    with engine_errors(f"inspect {reference}"):
        config = connect().images.get(reference).attrs.get("Config") or {}
    labels = config.get("Labels") or {}
    entrypoint = tuple(config.get("Entrypoint") or ())
    writable = writable_directories(labels.get(LABEL_WRITABLE))
    init = bool(entrypoint) and entrypoint[0].rsplit("/", 1)[-1] in ("tini", "tini-static", "docker-init")
    return Expectations(user=None, writable=writable, init=init, http_port=http_port, ready_log=ready_log,
                        size_budget_bytes=size_budget)
