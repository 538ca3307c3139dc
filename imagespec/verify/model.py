"""What ``imagespec test`` expects of an image and what it reports.

Role: plain data — ``Expectations`` (built by the compiler from a spec, or by hand),
``CheckResult`` and ``Report`` with its table/JSON renderings.

May import: the standard library, ``rich`` (lazily, for the table) and ``imagespec.errors``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import IO

from imagespec.errors import CheckFailed

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Expectations:
    """What a built image must look like and how it must behave.

    ``user``: ``"65532"``, ``"65532:65532"`` or a name from the image's /etc/passwd;
    None means "any non-root user" (BP8). ``entrypoint``/``cmd``/``ports``: None means
    "not checked"; ``ports`` like ``"8080/tcp"``. ``env``/``labels``: entries that must be
    present. ``writable``: directories that get a tmpfs when the container runs with a
    read-only root (BP9). ``init``: tini (or docker-init) is PID 1 with the application as
    its child (BP3). ``shell_expected``: False for scratch/distroless finals — no shell,
    no package manager (BP6/BP7). ``allowed_tools``: kinds of build tools
    (``build_tools.KINDS``) the spec declares the application needs, through an OS
    package in ``final.packages``; every other kind fails ``no-build-tools``. ``run_args``: arguments appended for the smoke run.
    ``ready_log``: a regex the logs must show; ``http_port``: GET http://127.0.0.1:PORT/
    must answer (the container then runs with the host network; the server binds
    127.0.0.1 or 0.0.0.0).
    """

    user: str | None = None
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    ports: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    writable: tuple[str, ...] = ()
    init: bool = False
    shell_expected: bool = True
    allowed_tools: frozenset[str] = frozenset()
    stop_signal: str | None = None
    size_budget_bytes: int | None = None
    run_args: tuple[str, ...] = ()
    ready_log: str | None = None
    http_port: int | None = None
    #: The spec opted into `/bin/sh -c 'exec …'` (shell: true): shell form is declared,
    #: and PID 1 must still be the application the shell exec'd (BP2).
    shell_entrypoint: bool = False
    #: BP16: the paths the image's own SBOM label (``contract.LABEL_SBOM``) may name, one per
    #: format: the label must name one of them, the file be there and parse as that format.
    #: Empty: no SBOM is promised (an image tested without its spec): checked only when the
    #: image has the label. ``sbom_checked`` False: a stage (``--target``), which has none.
    sbom_paths: tuple[str, ...] = ()
    sbom_checked: bool = True
    #: False: a base image (a spec's ``kind: base``), only built FROM: it has no application
    #: to run, so the smoke run's checks are skipped and the rest (user, labels, files) hold.
    runs: bool = True
    #: `docker stop` must return faster than this (BP2: SIGTERM handled, no SIGKILL).
    stop_max_s: float = 2.0
    ready_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
        for name in ("entrypoint", "cmd", "ports"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value))
        object.__setattr__(self, "writable", tuple(self.writable))
        object.__setattr__(self, "run_args", tuple(self.run_args))
        object.__setattr__(self, "allowed_tools", frozenset(self.allowed_tools))
        object.__setattr__(self, "sbom_paths", tuple(self.sbom_paths))


@dataclass(frozen=True)
class CheckResult:
    """One check: a stable ``name`` (``stop-graceful``), the outcome, why, and the practice."""

    name: str
    ok: bool
    detail: str
    bp: str | None = None
    skipped: bool = False

    @property
    def outcome(self) -> str:
        return "skip" if self.skipped else ("ok" if self.ok else "FAIL")


@dataclass
class Report:
    """The outcome of ``verify``: every check, in the order they ran."""

    image: str
    checks: list[CheckResult]
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.ok]

    def __getitem__(self, name: str) -> CheckResult:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def names(self) -> list[str]:
        return [c.name for c in self.checks]

    def to_dict(self) -> dict[str, object]:
        return {
            "image": self.image,
            "ok": self.ok,
            "duration_s": round(self.duration_s, 3),
            "checks": [asdict(c) | {"outcome": c.outcome} for c in self.checks],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def render(self, stream: IO[str] | None = None) -> None:
        """A table on a terminal (rich), aligned plain text elsewhere."""
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"imagespec test {self.image}", title_justify="left")
        for column in ("check", "result", "practice", "detail"):
            table.add_column(column, overflow="fold")
        for check in self.checks:
            style = {"ok": "green", "FAIL": "bold red", "skip": "dim"}[check.outcome]
            table.add_row(check.name, f"[{style}]{check.outcome}[/]", check.bp or "", check.detail)
        console = Console(file=stream)
        console.print(table)
        verdict = "passed" if self.ok else f"FAILED: {', '.join(c.name for c in self.failed)}"
        console.print(f"{len(self.checks)} checks in {self.duration_s:.1f}s: {verdict}", highlight=False)

    def raise_for_failures(self) -> None:
        """CheckFailed (exit 1) naming the failed checks, if any failed."""
        if self.failed:
            lines = "; ".join(f"{c.name} ({c.bp or '-'}): {c.detail}" for c in self.failed)
            raise CheckFailed(f"{self.image}: {len(self.failed)} check(s) failed: {lines}")
