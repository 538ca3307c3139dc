"""A Kubernetes Deployment (apps/v1) that runs the image as built: its user, a read-only
root with an emptyDir per writable directory (BP9), no privilege escalation and no
capabilities (BP6, BP8), the healthcheck as a liveness probe. The stop signal needs no
field: the container runtime sends the image's STOPSIGNAL (BP2)."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter

from imagespec.deploy.profile import Probe, RunProfile

_UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s|m|h)")


#: what the engine takes for a health check duration of 0 (Docker's HEALTHCHECK defaults)
_ZERO_MEANS = {"periodSeconds": 30, "timeoutSeconds": 30, "initialDelaySeconds": 0}


def seconds(duration: str) -> int:
    """A Docker duration (`1m30s`, `500ms`) as the whole seconds a probe field takes, at least 1."""
    total = sum(float(number) * _UNIT[unit] for number, unit in _PART.findall(duration))
    return max(1, math.ceil(total))


def volume_names(paths: list[str]) -> dict[str, str]:
    """Each writable folder's volume name, a DNS label: its path's letters and digits; where
    two paths give one name (`/data dir`, `/data-dir`), each with a hash of its path, since a
    Deployment with two volumes of one name is refused (QA)."""
    plain = {path: re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") for path in paths}
    counts = Counter(plain.values())
    names = {}
    for path, name in plain.items():
        if counts[name] > 1:
            names[path] = f"writable-{name[:46].strip('-') or 'x'}-{hashlib.sha256(path.encode()).hexdigest()[:6]}"
        else:
            names[path] = f"writable-{name[:50].strip('-') or 'root'}"
    return names


def _liveness(check: Probe) -> dict[str, object]:
    probe: dict[str, object] = {"exec": {"command": list(check.argv)}}
    for key, value in (("periodSeconds", check.interval), ("timeoutSeconds", check.timeout),
                       ("initialDelaySeconds", check.start_period)):
        if value is not None:  # 0 is the engine's default, not "1 second" (QA)
            zero = not any(float(number) for number, _ in _PART.findall(value))
            probe[key] = _ZERO_MEANS[key] if zero else seconds(value)
    if check.retries is not None:
        probe["failureThreshold"] = check.retries
    return probe


def kubernetes_deployment(profile: RunProfile) -> dict[str, object]:
    labels = {"app.kubernetes.io/name": profile.name}
    container: dict[str, object] = {
        "name": profile.name,
        "image": profile.image,
        "securityContext": {
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if profile.ports:
        container["ports"] = [{"containerPort": port, "protocol": proto} for port, proto in profile.ports]
    volumes = volume_names(list(profile.writable))
    if profile.writable:
        container["volumeMounts"] = [{"name": volumes[path], "mountPath": path} for path in profile.writable]
    if profile.healthcheck:
        container["livenessProbe"] = _liveness(profile.healthcheck)
    pod_security: dict[str, object] = {"runAsUser": profile.uid, "runAsGroup": profile.gid,
                                       "runAsNonRoot": profile.uid != 0, "seccompProfile": {"type": "RuntimeDefault"}}
    pod: dict[str, object] = {"securityContext": pod_security,
                              "terminationGracePeriodSeconds": profile.grace_seconds,
                              "containers": [container]}
    if profile.writable:
        pod["volumes"] = [{"name": volumes[path], "emptyDir": {}} for path in profile.writable]
    # a fresh dict per place: one object three times becomes a YAML anchor and aliases
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": profile.name, "labels": dict(labels)},
        "spec": {"replicas": 1, "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)}, "spec": pod}},
    }
