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
    """A process seen from the host: argv and its real ids, with the effective and saved
    ones (/proc/PID/status `Uid: real effective saved fs`) when they differ: a set-user-ID
    program run as 65532 has the real uid 65532 and the effective uid of its file's owner."""

    pid: int
    argv: tuple[str, ...]
    uid: int
    gid: int
    euid: int | None = None  # None: as uid
    suid: int | None = None

    @property
    def program(self) -> str:
        return posixpath.basename(self.argv[0]) if self.argv else ""

    @property
    def uids(self) -> tuple[int, int, int]:
        """Real, effective and saved uid: the process holds the privilege of each (it may
        switch its effective uid back to the saved one at any time)."""
        euid = self.uid if self.euid is None else self.euid
        return self.uid, euid, euid if self.suid is None else self.suid


#: The set-user-ID and set-group-ID programs of Debian's own packages (login, passwd,
#: util-linux's mount, su; shadow's chage, expiry and PAM's unix_chkpwd set-group-ID
#: shadow), found on the catalog's Debian bases (debian-slim and every image on it): a
#: final FROM one keeps them, since a later layer cannot take a file away (BP11). Any other
#: one was put there by the image's own steps. Shell-less bases carry none.
DEBIAN_PRIVILEGED = frozenset({
    "usr/bin/chage", "usr/bin/chfn", "usr/bin/chsh", "usr/bin/expiry", "usr/bin/gpasswd", "usr/bin/mount",
    "usr/bin/newgrp", "usr/bin/passwd", "usr/bin/su", "usr/bin/umount", "usr/sbin/unix_chkpwd",
})

#: What every POSIX shell binary holds, whatever its file is named: the variables it sets
#: (PS1, PS2, PS4, OPTIND) and its `getopts` builtin. Found in Debian's dash and bash and in
#: no other ELF executable of the catalog's bases (python3, node, java, go, gcc, rustc, …:
#: about 2,000 files), so a renamed shell (`/usr/local/bin/x-helper` copied from dash) is
#: still one. BusyBox names itself.
SHELL_SIGNATURES = (b"PS1", b"PS2", b"PS4", b"OPTIND", b"getopts")
BUSYBOX_SIGNATURE = b"BusyBox v"
_ELF = b"\x7fELF"


class ShellScan:
    """Whether one executable's bytes, read in chunks, are a shell's (SHELL_SIGNATURES)."""

    _overlap = max(len(s) for s in (*SHELL_SIGNATURES, BUSYBOX_SIGNATURE)) - 1

    def __init__(self) -> None:
        self._seen: set[bytes] = set()
        self._tail = b""
        self._elf: bool | None = None

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk
        if self._elf is None and len(data) >= 4:
            self._elf = data.startswith(_ELF)
        if self._elf is False:
            return
        self._seen.update(s for s in (*SHELL_SIGNATURES, BUSYBOX_SIGNATURE) if s not in self._seen and s in data)
        self._tail = data[-self._overlap:]

    @property
    def is_shell(self) -> bool:
        return bool(self._elf) and (BUSYBOX_SIGNATURE in self._seen or set(SHELL_SIGNATURES) <= self._seen)


def is_shell_binary(data: bytes) -> bool:
    scan = ShellScan()
    scan.feed(data)
    return scan.is_shell


# -- image configuration -------------------------------------------------------------


def check_config(config: Mapping[str, object], exp: Expectations,
                 inherited: Sequence[str] | None = ()) -> list[CheckResult]:
    """Checks on ``docker image inspect``'s ``Config``. ``inherited``: the ports the base
    image exposes (a Dockerfile cannot take an EXPOSE back: they are not the spec's error);
    None when the base its label names is not in the engine, so they are unknown."""
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


def _ports(exposed: Sequence[str], declared: Sequence[str], inherited: Sequence[str] | None) -> CheckResult:
    """The spec's ports are exposed, and any other one comes from the base image."""
    def full(port: str) -> str:
        return port if "/" in port else f"{port}/tcp"

    have, want = tuple(sorted(exposed)), tuple(sorted(full(p) for p in declared))
    from_base = {full(p) for p in inherited or ()}
    if set(want) <= set(have) and set(have) - set(want) <= from_base:
        extra = sorted(set(have) - set(want))
        return CheckResult("config-ports", True, f"{have!r}" + (f" ({', '.join(extra)} from the base image)"
                                                                 if extra else ""), None)
    said = (f" (the base image exposes {tuple(sorted(from_base))!r})" if from_base
            else " (the base image its label names is not in this engine: what it exposes is unknown; build or "
                 "pull it, then test again)" if inherited is None and set(have) - set(want) else "")
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


def check_filesystem(paths: Iterable[str], exp: Expectations, *, shell_binaries: Iterable[str] = (),
                     privileged: Mapping[str, int] | None = None) -> list[CheckResult]:
    """Checks on the flattened file list of the image (no shell needed to get it).
    ``shell_binaries``: the executables whose content is a shell's (ShellScan), whatever
    their names; ``privileged``: every set-user-ID or set-group-ID file and its mode (None:
    not looked at)."""
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
        shells = sorted({*hits(contract.SHELLS), *("/" + p.removeprefix("./").strip("/") for p in shell_binaries)})
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
    if privileged is not None:
        results.append(check_privileged(privileged))
    results.append(check_build_tools(paths, exp.allowed_tools))
    return results


def check_privileged(privileged: Mapping[str, int]) -> CheckResult:
    """BP8: no file runs as its owner's user or group (set-user-ID, set-group-ID) but the
    ones a Debian base ships (DEBIAN_PRIVILEGED): one such file undoes the non-root USER,
    since whoever runs it gets its owner's (root's) effective uid."""
    files = {path.removeprefix("./").strip("/"): mode for path, mode in privileged.items()}
    base = sorted(path for path in files if path in DEBIAN_PRIVILEGED)
    own = sorted(path for path in files if path not in DEBIAN_PRIVILEGED)
    from_base = f" (the Debian base's own: {len(base)})" if base else ""
    if not own:
        return CheckResult("no-setuid", True, "no set-user-ID or set-group-ID file" + from_base, "BP8")
    shown = ", ".join(f"/{path} ({files[path] & 0o7777:04o})" for path in own[:8]) + (" …" if len(own) > 8 else "")
    return CheckResult("no-setuid", False, f"set-user-ID or set-group-ID files: {shown}: they run as their "
                       f"owner whatever the image's user{from_base}", "BP8")


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
        # that declaration); without a declaration, any non-root uid passes. Each of the
        # real, effective and saved uids must be it: a set-user-ID root program run as
        # 65532 has the effective uid 0, root's power (BP8).
        uids = app.uids
        ok = all(uid == want for uid in uids) if want is not None else 0 not in uids
        expected = f", expected {want}" if want is not None else ", expected non-root"
        shown = f"uid {app.uid}" if len(set(uids)) == 1 else "uids {} (real), {} (effective), {} (saved)".format(*uids)
        results.append(CheckResult("process-user", ok, f"runs as {shown} gid {app.gid}{expected}", "BP8"))
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
