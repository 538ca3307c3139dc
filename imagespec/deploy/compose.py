"""A Compose service (the compose-spec) that runs the image as built (BP8, BP9, BP2)."""

from __future__ import annotations

from imagespec.contract import writable_tmpfs
from imagespec.deploy.profile import RunProfile


def compose_service(profile: RunProfile) -> dict[str, object]:
    service: dict[str, object] = {
        "image": profile.image,
        "user": f"{profile.uid}:{profile.gid}",
        "read_only": True,  # BP9: only the declared directories are writable
        "cap_drop": ["ALL"],  # BP6: the app needs no capability (Docker lets any user bind ports < 1024)
        "security_opt": ["no-new-privileges:true"],
    }
    if profile.writable:
        # `PATH:OPTIONS`: owned by the app's user, else root's and not writable to it
        options = writable_tmpfs(f"{profile.uid}:{profile.gid}")
        service["tmpfs"] = [f"{path}:{options}" for path in profile.writable]
    if profile.ports:
        service["ports"] = [f"{port}:{port}" + ("/udp" if proto == "UDP" else "/sctp" if proto == "SCTP" else "")
                            for port, proto in profile.ports]
    if profile.stop_signal:
        service["stop_signal"] = profile.stop_signal
    service["stop_grace_period"] = f"{profile.grace_seconds}s"
    if profile.healthcheck:
        check = profile.healthcheck
        health: dict[str, object] = {"test": ["CMD", *check.argv]}
        for key, value in (("interval", check.interval), ("timeout", check.timeout),
                           ("start_period", check.start_period), ("retries", check.retries)):
            if value is not None:
                health[key] = value
        service["healthcheck"] = health
    return {"services": {profile.name: _literal(service)}}


def _literal(value: object) -> object:
    """Every string of the service with `$` written `$$`: Compose interpolates `$VAR`,
    `${VAR}` and `$$` in every value of the file (`price$5 ${HOME}` ran as `price$5
    /root`), and `$$` is its one escape for a literal `$`. The image's values are meant
    as they are: the file only restates them."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [_literal(item) for item in value]
    if isinstance(value, dict):
        return {key: _literal(item) for key, item in value.items()}
    return value
