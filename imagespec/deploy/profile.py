"""What a deployment must know about an image, read off its compiled plan: the same
facts `imagespec test` checks (plan.runtime and the final stage's instructions), so a
manifest and the image cannot disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass

from imagespec.plan import model as p

#: seconds between the stop signal and SIGKILL: generous beside the 2 s `imagespec test`
#: allows (BP2), so a slow drain under load is not cut short
GRACE_SECONDS = 10


@dataclass(frozen=True)
class Probe:
    argv: tuple[str, ...]
    interval: str | None = None
    timeout: str | None = None
    start_period: str | None = None
    retries: int | None = None


@dataclass(frozen=True)
class RunProfile:
    name: str  # a DNS-1123 label: Kubernetes names and Compose service names accept it
    image: str
    uid: int
    gid: int
    writable: tuple[str, ...]
    ports: tuple[tuple[int, str], ...]  # (port, protocol in upper case)
    stop_signal: str | None
    healthcheck: Probe | None
    grace_seconds: int = GRACE_SECONDS


def dns_label(name: str) -> str:
    """The image name's last part as a DNS-1123 label (a-z0-9 and '-', at most 63)."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.rsplit("/", 1)[-1].lower()).strip("-")[:63].strip("-")
    return label or "app"


def _of(stage: p.Stage, kind: type) -> p.Instruction | None:
    return next((i for i in stage.instructions if isinstance(i, kind)), None)


def _probe(check: p.Instruction | None) -> Probe | None:
    if not isinstance(check, p.Healthcheck) or check.argv is None:
        return None
    options = dict(check.options)
    retries = options.get("retries")
    return Probe(check.argv, options.get("interval"), options.get("timeout"), options.get("start-period"),
                 int(retries) if retries else None)


def run_profile(plan: p.Plan, image: str) -> RunProfile:
    final = plan.final
    expose = _of(final, p.Expose)
    ports = []
    for port in expose.ports if isinstance(expose, p.Expose) else ():
        number, _, proto = port.partition("/")
        ports.append((int(number), (proto or "tcp").upper()))
    stop = _of(final, p.StopSignal)
    rt = plan.runtime
    return RunProfile(name=dns_label(plan.name), image=image, uid=rt.uid, gid=rt.gid, writable=rt.writable,
                      ports=tuple(ports), stop_signal=stop.signal if isinstance(stop, p.StopSignal) else None,
                      healthcheck=_probe(_of(final, p.Healthcheck)))
