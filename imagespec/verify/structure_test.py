"""Expectations as a container-structure-test configuration (schema 2.0.0).

Role: let teams that already run ``container-structure-test`` (BP15: enforce company
standards on images) get the same expectations in its format. Pure.

May import: the standard library and ``imagespec.verify.model``.
The absent-file lists are a subset of ``contract.SHELLS``/``PACKAGE_MANAGERS``
(a test keeps them so).
"""

from __future__ import annotations

from imagespec.verify.model import Expectations

# The places worth asserting absent: every shell/manager name in every PATH directory
# would be a hundred tests; these are the ones real images ship.
_ABSENT_SHELLS = ("/bin/sh", "/bin/bash", "/bin/dash", "/bin/ash", "/usr/bin/sh", "/usr/bin/bash", "/bin/busybox")
_ABSENT_MANAGERS = ("/usr/bin/apt", "/usr/bin/apt-get", "/usr/bin/dpkg", "/sbin/apk", "/usr/bin/dnf", "/usr/bin/yum")


def to_structure_test_config(expectations: Expectations) -> dict[str, object]:
    """A dict to dump as YAML/JSON for ``container-structure-test test --config``."""
    exp = expectations
    metadata: dict[str, object] = {}
    if exp.user is not None:
        metadata["user"] = exp.user
    if exp.entrypoint is not None:
        metadata["entrypoint"] = list(exp.entrypoint)
    if exp.cmd is not None:
        metadata["cmd"] = list(exp.cmd)
    if exp.ports is not None:
        # container-structure-test wants "8080", not "8080/tcp" (it adds the protocol).
        metadata["exposedPorts"] = [p.removesuffix("/tcp") for p in exp.ports]
    if exp.env:
        metadata["envVars"] = [{"key": k, "value": v} for k, v in sorted(exp.env.items())]
    if exp.labels:
        metadata["labels"] = [{"key": k, "value": v} for k, v in sorted(exp.labels.items())]
    config: dict[str, object] = {"schemaVersion": "2.0.0"}
    if metadata:
        config["metadataTest"] = metadata
    if not exp.shell_expected:
        config["fileExistenceTests"] = [
            {"name": f"no {path} (BP6)", "path": path, "shouldExist": False}
            for path in _ABSENT_SHELLS + _ABSENT_MANAGERS
        ]
    return config
