"""``imagespec test``: check a built image against its Expectations.

Role: gather the observations (image config, file list, one hardened smoke run) and
turn them into a Report through the pure checks in ``verify_checks``. The CLI renders
the Report (table or JSON) and exits 1 when ``report.ok`` is false.

Checks, by name (stable: tests and CI read them):
  config-user, config-exec-form, config-entrypoint, config-cmd, config-ports,
  config-env, config-labels, config-stop-signal, size-budget     (image config)
  no-shell, no-package-manager, no-sudo, no-setuid, no-build-tools,
  healthcheck-program                                              (file system)
  sbom                                                             (its own SBOM, BP16)
  runs-read-only, ready, pid1-init, pid1-app, process-user,
  stop-graceful                                                    (smoke run)

Decision: the smoke run uses ``--read-only`` + a tmpfs per writable directory +
``--network none`` (host network only for an HTTP probe), and no ``--cap-drop ALL``:
capabilities are the orchestrator's policy, and dropping them here would fail images
that are fine under the runtime's defaults, without pointing at a practice.

May import: the standard library, ``imagespec.errors`` and its own package;
``docker`` only lazily.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagespec.verify.probe import Observation, image_files, run_and_observe
from imagespec.engine.client import connect, engine_errors
from imagespec.verify.checks import (
    check_config,
    check_filesystem,
    check_healthcheck,
    check_processes,
    check_size,
    check_stop,
    check_zombies,
    parse_passwd,
)
from imagespec.verify.loader import failed_program, missing_interpreter
from imagespec.verify.model import CheckResult, Expectations, Report
from imagespec.verify.own_sbom import check_sbom, sbom_label

if TYPE_CHECKING:  # pragma: no cover
    import docker

_RUN_CHECKS = ("pid1-app", "process-user", "stop-graceful")


def verify(
    image_ref: str,
    expectations: Expectations,
    client: docker.DockerClient | None = None,
    *,
    stop_timeout: int = 10,
    files_cache: Path | None = None,
) -> Report:
    """Check ``image_ref`` (a local image) against ``expectations``; never raises for a
    failed check (read ``report.ok`` / ``report.raise_for_failures()``), only for an
    engine problem (EngineError) or a missing image (SpecError). ``files_cache``: where the
    file systems of images already read are remembered by their layers (verify.files)."""
    began = time.monotonic()
    client = client or connect()
    with engine_errors(f"inspect {image_ref}"):
        image = client.images.get(image_ref)
    exp = expectations
    checks: list[CheckResult] = check_config(image.attrs.get("Config") or {}, exp, _base_ports(client, image.attrs))
    size = check_size(int(image.attrs.get("Size") or 0), exp.size_budget_bytes)
    if size is not None:
        checks.append(size)
    labels = (image.attrs.get("Config") or {}).get("Labels") or {}
    layers = (image.attrs.get("RootFS") or {}).get("Layers") or []
    files = image_files(client, image.id, read=sbom_label(labels, exp), layers=layers, cache=files_cache)
    paths, sbom = files.paths, files.content
    checks += check_filesystem(paths, exp, shell_binaries=files.shell_binaries, privileged=files.privileged)
    health = check_healthcheck(image.attrs.get("Config") or {}, paths)
    if health is not None:
        checks.append(health)
    own = check_sbom(labels, sbom, exp)
    if own is not None:
        checks.append(own)
    # what `docker stop` sends: the image's STOPSIGNAL (the container is run without --stop-signal)
    stop_signal = str((image.attrs.get("Config") or {}).get("StopSignal") or "SIGTERM")
    if not exp.runs:
        checks += _not_run()
    else:
        seen = run_and_observe(client, image.id, exp, stop_timeout=stop_timeout)
        checks += _run_checks(seen, exp, stop_timeout, stop_signal,
                              _start_failure_cause(client, image.id, seen, paths))
    return Report(image_ref, checks, time.monotonic() - began)


def _not_run() -> list[CheckResult]:
    """The smoke run's checks for a base image: skipped, since it starts no application (its
    inherited CMD, if any, is not the spec's) and the specs built FROM it are run instead."""
    why = "skipped: a base image (kind: base) runs no application; the specs built FROM it are run"
    return [CheckResult(name, True, why, bp, skipped=True) for name, bp in (("runs-read-only", "BP9"), *_bp_of_run())]


def _start_failure_cause(client: docker.DockerClient, image: str, seen: Observation, paths: list[str]) -> str | None:
    """Why the program "does not exist" when it does: its loader or `#!` interpreter is not
    in the image (a dynamically linked binary on scratch). Read only on that failure."""
    program = None if seen.running else failed_program(seen.start_error or seen.logs_tail)
    if program is None or program.lstrip("/") not in {p.removeprefix("./") for p in paths}:
        return None
    content = image_files(client, image, read=program).content
    return missing_interpreter(program, content, paths) if content else None


def _base_ports(client: docker.DockerClient, attrs: dict[str, Any]) -> tuple[str, ...] | None:
    """The ports the image's base exposes, when its base.name label (BP13) names an image
    this engine has (none is pulled for this): an image inherits them. None when the label
    names one the engine does not have (removed, or never pulled here): they are unknown."""
    import docker.errors  # lazy

    from imagespec.contract import LABEL_OCI_BASE_NAME

    base = ((attrs.get("Config") or {}).get("Labels") or {}).get(LABEL_OCI_BASE_NAME)
    if not base:
        return ()
    try:
        config = client.images.get(base).attrs.get("Config") or {}
    except docker.errors.ImageNotFound:
        return None
    except (docker.errors.DockerException, ValueError):  # not a reference
        return ()
    return tuple(sorted(config.get("ExposedPorts") or {}))


# a line that says what went wrong: Node's `Error: listen EADDRINUSE …` (not its `throw er;
# // Unhandled 'error' event` above it), Go's `panic: …`, Java's `Exception in thread "main" …`,
# a log line at level ERROR or FATAL
_ERROR_LINE = re.compile(r"^\s*[\w.$]*(?:Error|Exception)\b|^panic: |^fatal error: |^Exception in thread "
                         r"|\b(?:ERROR|FATAL)\b|\blevel=(?:error|fatal)\b")


def last_output(logs: str, lines: int = 3) -> list[str]:
    """What a program that exited printed last, for the report: its last ``lines``
    non-blank lines, after the first earlier line that names an error. Node and Go print
    the error first, then a stack or an object dump, so the last lines alone may be
    `} | Node.js v18.20.4` and never say what failed."""
    printed = [line.rstrip() for line in logs.splitlines() if line.strip()]
    tail = printed[-lines:]
    cause = next((line for line in printed[:-lines] if _ERROR_LINE.search(line)), None)
    return [cause, "…", *tail] if cause is not None else tail


def _run_checks(seen: Observation, exp: Expectations, stop_timeout: int, stop_signal: str,
                cause: str | None = None) -> list[CheckResult]:
    writable = ", ".join(exp.writable) or "none"
    setup = f"--read-only, tmpfs: {writable}, network: {'host' if exp.http_port else 'none'}"
    because = f"; {cause}" if cause else ""
    if not seen.ran:
        detail = f"the container did not start: {seen.start_error}{because}"
        return [CheckResult("runs-read-only", False, detail, "BP9")] + [
            CheckResult(name, False, "not observed: the container did not start", bp) for name, bp in _bp_of_run()
        ]
    results = []
    one_shot = not seen.running and seen.exit_code == 0
    if seen.running:
        results.append(CheckResult("runs-read-only", True, f"running ({setup})", "BP9"))
    elif one_shot:
        results.append(CheckResult("runs-read-only", True, f"exited 0 at once ({setup}): a one-shot program", "BP9"))
    else:
        tail = last_output(seen.logs_tail)
        detail = f"exited with {seen.exit_code} ({setup})" + (f"; last output: {' | '.join(tail)}" if tail else "") \
            + because
        results.append(CheckResult("runs-read-only", False, detail, "BP9"))
    if seen.ready is not None:
        results.append(CheckResult("ready", seen.ready[0], seen.ready[1], None))
    if seen.pid1 is not None:
        results += check_processes(seen.pid1, seen.children, exp, parse_passwd(seen.passwd))
        if seen.zombies is not None:
            results.append(check_zombies(seen.zombies, exp.init))
    elif one_shot:
        results += [
            CheckResult(name, True, "skipped: the program exited before it could be observed", bp, skipped=True)
            for name, bp in _bp_of_run()
        ]
        return results
    else:
        results += [
            CheckResult(name, False, "not observed: the container was not running", bp)
            for name, bp in _bp_of_run()
            if name != "stop-graceful"
        ]
    if seen.stop_elapsed_s is not None:
        results.append(check_stop(seen.stop_elapsed_s, seen.stop_exit_code, exp.stop_max_s, stop_timeout,
                                  stop_signal))
    else:
        results.append(CheckResult("stop-graceful", False, "not observed: the container was not running", "BP2"))
    return results


def _bp_of_run() -> list[tuple[str, str]]:
    return [("pid1-app", "BP2"), ("process-user", "BP8"), ("stop-graceful", "BP2")]
