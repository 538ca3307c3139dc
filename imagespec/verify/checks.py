"""The individual checks of ``imagespec test``, as pure functions of observations.

Role: compare what was observed (image config, file list, processes, stop timing) with
the Expectations, one ``CheckResult`` per check, each citing the practice it enforces.
Nothing here talks to the engine; ``verify`` gathers the observations.

May import: the standard library, ``imagespec.contract``, ``imagespec.verify.model`` and
``imagespec.verify.build_tools``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from imagespec import contract
from imagespec.verify import build_tools
from imagespec.verify.model import CheckResult, Expectations

#: The OS's package managers, checked on shell-less finals; pip, npm and the other
#: language tools are checked on every final (``no-build-tools``, build_tools.py).
PACKAGE_MANAGERS = frozenset({"apt", "apt-get", "dpkg", "apk", "dnf", "yum", "microdnf", "rpm", "zypper"})
INITS = frozenset({"tini", "tini-static", "docker-init", "dumb-init", "catatonit"})
BIN_DIRS = contract.BIN_DIRS
ROOT_USERS = frozenset({"", "0", "root"})
#: Merged /usr: on current distributions /bin, /sbin and /lib are links into /usr, and the
#: file list names each file once, under /usr.
_MERGED_USR = ("bin/", "sbin/", "lib/")


@dataclass(frozen=True)
class Process:
    """A process seen from the host: argv and real/effective ids."""

    pid: int
    argv: tuple[str, ...]
    uid: int
    gid: int

    @property
    def program(self) -> str:
        return posixpath.basename(self.argv[0]) if self.argv else ""


# -- image configuration -------------------------------------------------------------


def check_config(config: Mapping[str, object], exp: Expectations,
                 inherited: Sequence[str] = ()) -> list[CheckResult]:
    """Checks on ``docker image inspect``'s ``Config``. ``inherited``: the ports the base
    image exposes (a Dockerfile cannot take an EXPOSE back: they are not the spec's error)."""
    results = [_user(str(config.get("User") or ""), exp), _exec_form(config, exp)]
    entrypoint = _strings(config.get("Entrypoint"))
    cmd = _strings(config.get("Cmd"))
    if exp.entrypoint is not None:
        results.append(_equal("config-entrypoint", "BP2", entrypoint, tuple(exp.entrypoint)))
    if exp.cmd is not None:
        results.append(_equal("config-cmd", "BP2", cmd, tuple(exp.cmd)))
    if exp.ports is not None:
        results.append(_ports(_strings(config.get("ExposedPorts")), exp.ports, inherited))
    if exp.env:
        env = dict(item.split("=", 1) for item in _strings(config.get("Env")) if "=" in item)
        results.append(_subset("config-env", None, env, exp.env))
    if exp.labels:
        labels = _string_map(config.get("Labels"))
        results.append(_subset("config-labels", None, labels, exp.labels))
    if exp.stop_signal is not None:
        signal = str(config.get("StopSignal") or "SIGTERM")
        results.append(_equal("config-stop-signal", "BP2", signal, exp.stop_signal))
    return results


def _strings(value: object) -> tuple[str, ...]:
    """A JSON array's items, or an object's keys (ExposedPorts), as the engine sends them; null: none."""
    return tuple(str(item) for item in value) if isinstance(value, (list, dict)) else ()


def _string_map(value: object) -> dict[str, str]:
    """A JSON object of strings (Labels); null: empty."""
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _user(user: str, exp: Expectations) -> CheckResult:
    if exp.user is None:
        name = user.split(":", 1)[0]
        ok = name not in ROOT_USERS
        detail = f"USER is {user!r}" if user else "no USER: the process runs as root"
        return CheckResult("config-user", ok, detail + ("" if ok else " (expected a non-root user)"), "BP8")
    want_user, _, want_group = exp.user.partition(":")
    have_user, _, have_group = user.partition(":")
    ok = have_user == want_user and (not want_group or have_group == want_group)
    return CheckResult("config-user", ok, f"USER is {user or '(unset: root)'!r}, expected {exp.user!r}", "BP8")


def _exec_form(config: Mapping[str, object], exp: Expectations) -> CheckResult:
    entrypoint = list(_strings(config.get("Entrypoint")))
    command = entrypoint or list(_strings(config.get("Cmd")))
    shell_form = contract.starts_a_shell(command)
    if shell_form and exp.shell_entrypoint and len(command) >= 3 and command[2].startswith("exec "):
        # declared in the spec: the shell exec's the program, which then is PID 1 (checked by pid1-app)
        return CheckResult("config-exec-form", True, f"declared shell entrypoint that execs: {command!r}", "BP2")
    if shell_form:
        return CheckResult(
            "config-exec-form", False,
            f"{'ENTRYPOINT' if entrypoint else 'CMD'} is shell form {command!r}: a shell becomes PID 1 "
            "and SIGTERM does not reach the application; use the JSON (exec) form",
            "BP2",
        )
    return CheckResult("config-exec-form", True, f"exec form: {command!r}", "BP2")


def _ports(exposed: Sequence[str], declared: Sequence[str], inherited: Sequence[str]) -> CheckResult:
    """The spec's ports are exposed, and any other one comes from the base image."""
    def full(port: str) -> str:
        return port if "/" in port else f"{port}/tcp"

    have, want = tuple(sorted(exposed)), tuple(sorted(full(p) for p in declared))
    from_base = {full(p) for p in inherited}
    if set(want) <= set(have) and set(have) - set(want) <= from_base:
        extra = sorted(set(have) - set(want))
        return CheckResult("config-ports", True, f"{have!r}" + (f" ({', '.join(extra)} from the base image)"
                                                                 if extra else ""), None)
    said = f" (the base image exposes {tuple(sorted(from_base))!r})" if from_base else ""
    return CheckResult("config-ports", False, f"is {have!r}, expected {want!r}{said}", None)


def _equal(name: str, bp: str | None, have: object, want: object) -> CheckResult:
    ok = have == want
    return CheckResult(name, ok, f"{have!r}" if ok else f"is {have!r}, expected {want!r}", bp)


def _subset(name: str, bp: str | None, have: Mapping[str, str], want: Mapping[str, str]) -> CheckResult:
    wrong = {k: have.get(k) for k, v in sorted(want.items()) if have.get(k) != v}
    if not wrong:
        return CheckResult(name, True, f"{len(want)} expected entries present", bp)
    detail = ", ".join(f"{k}={v!r} (expected {want[k]!r})" for k, v in wrong.items())
    if wrong.get(contract.LABEL_INPUTS_HASH):
        # the commonest cause: built with another --config (its catalog is in the hash)
        detail += ("; the image was built from other inputs than the spec's here: another version of the spec "
                   "or its templates, or another configuration (--config, IMAGESPEC_CONFIG) than this test's")
    return CheckResult(name, False, detail, bp)


def check_size(size: int, budget: int | None) -> CheckResult | None:
    if budget is None:
        return None
    ok = size <= budget
    shown, limit = readable_size(size), readable_size(budget)
    if shown == limit:  # 5.0 MB > budget 5.0 MB says nothing: show the bytes
        shown, limit = f"{size} B", f"{budget} B"
    return CheckResult("size-budget", ok, f"{shown} {'<=' if ok else '>'} budget {limit}", "BP7")


def readable_size(size: int) -> str:
    """``950 B``, ``12.3 KB``, ``5.0 MB``, ``1.50 GB``: decimal units, as ``docker images``
    shows them and as a ``size_budget`` may be written."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            value = size / scale
            return f"{value:.2f} {unit}" if value < 10 else f"{value:.1f} {unit}"
    return f"{size} B"


# -- file system -------------------------------------------------------------------------


def check_filesystem(paths: Iterable[str], exp: Expectations) -> list[CheckResult]:
    """Checks on the flattened file list of the image (no shell needed to get it)."""
    paths = list(paths)
    found: dict[str, list[str]] = {}
    for path in paths:
        path = path.removeprefix("./").strip("/")
        directory, base = posixpath.split(path)
        if directory in BIN_DIRS:
            found.setdefault(base, []).append("/" + path)

    def hits(names: frozenset[str]) -> list[str]:
        return sorted(p for name in names for p in found.get(name, ()))

    results = []
    if not exp.shell_expected:
        shells = hits(contract.SHELLS)
        results.append(
            CheckResult("no-shell", not shells, "shells: " + ", ".join(shells) if shells else "no shell", "BP6")
        )
        managers = hits(PACKAGE_MANAGERS)
        results.append(
            CheckResult(
                "no-package-manager", not managers,
                "package managers: " + ", ".join(managers) if managers else "no package manager", "BP6",
            )
        )
    sudo = hits(frozenset({"sudo", "doas"}))
    results.append(CheckResult("no-sudo", not sudo, ", ".join(sudo) if sudo else "no sudo", "BP8"))
    results.append(check_build_tools(paths, exp.allowed_tools))
    return results


def check_healthcheck(config: Mapping[str, object], paths: Iterable[str]) -> CheckResult | None:
    """BP6: the program of the image's HEALTHCHECK (its own or its base's) is in the image:
    `curl` or `sh -c` on a shell-less final never runs, and the container stays unhealthy
    however well the app serves. None when the image has no health check. The file list
    says it statically: no waiting for the check's interval."""
    health = config.get("Healthcheck")
    test = _strings(health.get("Test")) if isinstance(health, Mapping) else ()
    if len(test) < 2 or test[0] not in ("CMD", "CMD-SHELL"):
        return None  # none, NONE (disabled), or inherited as it is
    program = test[1] if test[0] == "CMD" else "/bin/sh"  # CMD-SHELL runs `/bin/sh -c TEXT`
    env = dict(item.split("=", 1) for item in _strings(config.get("Env")) if "=" in item)
    if program.startswith("/"):
        candidates = [program]
    elif "/" in program:  # relative to the working directory
        candidates = [posixpath.join(str(config.get("WorkingDir") or "/"), program)]
    else:
        candidates = [posixpath.join(folder, program) for folder in env.get("PATH", contract.DEFAULT_PATH).split(":") if folder]
    files = {path.removeprefix("./").strip("/") for path in paths}
    for candidate in candidates:
        relative = posixpath.normpath(candidate).strip("/")
        if relative in files or (relative.startswith(_MERGED_USR) and f"usr/{relative}" in files):
            return CheckResult("healthcheck-program", True, f"the health check's program {candidate} is there", "BP6")
    where = "" if len(candidates) == 1 else f" (PATH: {':'.join(posixpath.dirname(c) for c in candidates)})"
    return CheckResult("healthcheck-program", False,
                       f"the health check runs {program!r}, which is not in the image{where}: the container "
                       "can never become healthy; probe with the application itself", "BP6")


def check_build_tools(paths: Iterable[str], allowed: frozenset[str] = frozenset()) -> CheckResult:
    """BP6, BP11: no language package manager, compiler, headers or apt lists in a final
    image, shell or not; a kind the spec's final.packages provides is declared, so allowed."""
    found = build_tools.find(paths)
    refused = {kind: places for kind, places in found.items() if kind not in allowed}
    declared = [kind for kind in found if kind in allowed]
    note = f" (declared by final.packages: {', '.join(declared)})" if declared else ""
    if not refused:
        return CheckResult("no-build-tools", True, "no package manager of a language, compiler, headers or apt "
                           "lists" + note, "BP6")
    shown = "; ".join(f"{kind}: {', '.join(places[:4])}{' …' if len(places) > 4 else ''}"
                      for kind, places in refused.items())
    return CheckResult("no-build-tools", False, shown + note, "BP6")


# -- processes and lifecycle ------------------------------------------------------------------


def parse_passwd(text: str) -> dict[str, int]:
    users = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            users[fields[0]] = int(fields[2])
    return users


def expected_uid(user: str | None, passwd: Mapping[str, int]) -> int | None:
    if user is None:
        return None
    name = user.split(":", 1)[0]
    return int(name) if name.isdigit() else passwd.get(name)


def _declared_program(exp: Expectations) -> str | None:
    # the container runs ENTRYPOINT + CMD: with `init: true` and only a cmd, the
    # entrypoint is `tini --` and the program is the CMD's first word
    argv = [*(exp.entrypoint or ()), *(exp.cmd or ())]
    if exp.init and len(argv) >= 2 and argv[1] == "--":
        argv = argv[2:]
    return argv[0] if argv else None


def check_processes(
    pid1: Process, children: list[Process], exp: Expectations, passwd: Mapping[str, int]
) -> list[CheckResult]:
    results = []
    app = pid1
    if exp.init:
        is_init = pid1.program in INITS
        app = children[0] if is_init and children else pid1
        detail = f"PID 1 is {pid1.program!r}" + (f", its child {app.program!r}" if app is not pid1 else "")
        if is_init and not children:
            detail += ", with no child process"
        results.append(CheckResult("pid1-init", is_init and bool(children), detail, "BP3"))
    # A script with a shebang runs as `bash /path/script`: when that script is the declared
    # program, the shell *is* the application (it gets the signals), not a wrapper.
    declared = _declared_program(exp)
    script = len(app.argv) > 1 and declared is not None and app.argv[1] == declared
    shell = app.program in contract.SHELLS and not script
    role = "PID 1" if app is pid1 else "the application process"
    results.append(
        CheckResult(
            "pid1-app", not shell,
            f"{role} is a shell ({' '.join(app.argv)!r}): signals stop at the shell" if shell
            else f"{role} is {' '.join(app.argv)!r}",
            "BP2",
        )
    )
    want = expected_uid(exp.user, passwd)
    if exp.user is not None and want is None:
        results.append(CheckResult("process-user", False, f"user {exp.user!r} is not in the image's /etc/passwd", "BP8"))
    else:
        # An explicit uid 0 is a declared exception to BP8 (the config check holds it to
        # that declaration); without a declaration, any non-root uid passes.
        ok = app.uid == want if want is not None else app.uid != 0
        expected = f", expected {want}" if want is not None else ", expected non-root"
        results.append(CheckResult("process-user", ok, f"runs as uid {app.uid} gid {app.gid}{expected}", "BP8"))
    return results


def check_zombies(zombies: list[int], init: bool) -> CheckResult:
    """BP3: children that exit must be reaped; a zombie that stays is a PID 1 that does not."""
    if not zombies:
        return CheckResult("zombies-reaped", True, "no unreaped child processes", "BP3")
    hint = "" if init else "; set `init: true` so tini reaps them"
    return CheckResult("zombies-reaped", False, f"{len(zombies)} zombie process(es) stay unreaped{hint}", "BP3")


def check_stop(elapsed_s: float, exit_code: int | None, max_s: float, timeout_s: int,
               signal: str = "SIGTERM") -> CheckResult:
    """BP2: `docker stop` sends ``signal`` (the image's StopSignal, as written: a name or a
    number) and the program exits before the grace period ends in SIGKILL (exit 137)."""
    killed = exit_code == 137
    ok = elapsed_s < max_s and not killed
    detail = f"`docker stop` took {elapsed_s:.2f}s, exit code {exit_code}"
    if killed:
        sent = f"signal {signal}" if signal.isdigit() else signal
        detail += f" (SIGKILL after the {timeout_s}s grace period: {sent} was not handled)"
    elif not ok:
        detail += f" (expected < {max_s:g}s)"
    return CheckResult("stop-graceful", ok, detail, "BP2")
