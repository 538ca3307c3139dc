"""The verify checks as pure functions, and the structure-test export (no engine)."""

from __future__ import annotations

import pytest

from imagespec.contract import SHELLS
from imagespec.verify.build_tools import allowed_by_packages, classify
from imagespec.verify.structure_test import to_structure_test_config
from imagespec.verify.checks import (
    PACKAGE_MANAGERS,
    Process,
    check_build_tools,
    check_config,
    check_filesystem,
    check_processes,
    check_size,
    check_stop,
    expected_uid,
    parse_passwd,
)
from imagespec.verify.model import CheckResult, Expectations, Report
from imagespec.errors import CheckFailed

GOOD_CONFIG = {
    "User": "65532:65532",
    "Entrypoint": ["/app"],
    "Cmd": ["--http", "8080"],
    "ExposedPorts": {"8080/tcp": {}},
    "Env": ["PATH=/usr/bin", "TZ=UTC"],
    "Labels": {"org.opencontainers.image.version": "1.0.0"},
    "StopSignal": "SIGTERM",
}
EXP = Expectations(
    user="65532", entrypoint=("/app",), cmd=("--http", "8080"), ports=("8080/tcp",), env={"TZ": "UTC"},
    labels={"org.opencontainers.image.version": "1.0.0"}, stop_signal="SIGTERM",
)


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def test_matching_config_passes_every_check() -> None:
    results = by_name(check_config(GOOD_CONFIG, EXP))
    assert set(results) == {
        "config-user", "config-exec-form", "config-entrypoint", "config-cmd", "config-ports",
        "config-env", "config-labels", "config-stop-signal",
    }
    assert all(r.ok for r in results.values()), results


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({"User": ""}, "config-user"),
        ({"User": "0:0"}, "config-user"),
        ({"Entrypoint": ["/bin/sh", "-c", "/app"], "Cmd": None}, "config-exec-form config-entrypoint config-cmd"),
        ({"Entrypoint": ["/app", "--debug"]}, "config-entrypoint"),
        ({"ExposedPorts": {"8080/tcp": {}, "22/tcp": {}}}, "config-ports"),
        ({"Env": ["TZ=Europe/Paris"]}, "config-env"),
        ({"StopSignal": "SIGQUIT"}, "config-stop-signal"),
    ],
)
def test_each_config_difference_fails_its_check(change: dict[str, object], failing: str) -> None:
    results = by_name(check_config(GOOD_CONFIG | change, EXP))
    assert [name for name, r in results.items() if not r.ok] == failing.split()


def test_ports_the_base_image_exposes_are_inherited_not_the_specs_error() -> None:
    """A Dockerfile cannot take back its base's EXPOSE: an app on a company image that
    exposes 8080 declaring none (or 9090) passes; a port neither declares still fails."""
    inherited = by_name(check_config(GOOD_CONFIG | {"ExposedPorts": {"8080/tcp": {}, "9090/tcp": {}}},
                                     EXP, inherited=("9090/tcp",)))["config-ports"]
    assert inherited.ok and inherited.detail == "('8080/tcp', '9090/tcp') (9090/tcp from the base image)"
    none_declared = Expectations(ports=())
    assert by_name(check_config({"User": "1", "ExposedPorts": {"8080/tcp": {}}}, none_declared,
                                inherited=("8080/tcp",)))["config-ports"].ok
    stray = by_name(check_config(GOOD_CONFIG | {"ExposedPorts": {"8080/tcp": {}, "22/tcp": {}}}, EXP,
                                 inherited=("9090/tcp",)))["config-ports"]
    assert not stray.ok and "the base image exposes ('9090/tcp',)" in stray.detail
    missing = by_name(check_config(GOOD_CONFIG | {"ExposedPorts": {"9090/tcp": {}}}, EXP,
                                   inherited=("9090/tcp",)))["config-ports"]
    assert not missing.ok  # the spec's own port must be there
    # the base its label names is gone from the engine: still a failure, which says why it may be one
    unknown = by_name(check_config({"User": "1", "ExposedPorts": {"8080/tcp": {}}}, none_declared,
                                   inherited=None))["config-ports"]
    assert not unknown.ok and unknown.detail.startswith("is ('8080/tcp',), expected () (the base image its label "
                                                        "names is not in this engine"), unknown.detail
    own_missing = by_name(check_config({"User": "1"}, EXP, inherited=None))["config-ports"]
    assert not own_missing.ok and "not in this engine" not in own_missing.detail  # not the base's doing


def test_any_non_root_user_when_none_is_declared() -> None:
    assert by_name(check_config({"User": "nonroot"}, Expectations()))["config-user"].ok
    root = by_name(check_config({"User": "root"}, Expectations()))["config-user"]
    assert not root.ok and root.bp == "BP8"


def test_filesystem_checks_see_shells_and_managers_through_merged_usr() -> None:
    distroless = Expectations(shell_expected=False)
    clean = by_name(check_filesystem(["app", "etc/passwd", "usr/share/zoneinfo/UTC"], distroless))
    assert all(r.ok for r in clean.values()) and set(clean) == {"no-shell", "no-package-manager", "no-sudo",
                                                                 "no-build-tools"}
    dirty = by_name(check_filesystem(["./bin", "./usr/bin/dash", "usr/bin/sh", "usr/bin/apt-get", "opt/sh"], distroless))
    assert not dirty["no-shell"].ok and dirty["no-shell"].detail == "shells: /usr/bin/dash, /usr/bin/sh"
    assert not dirty["no-package-manager"].ok and "/usr/bin/apt-get" in dirty["no-package-manager"].detail
    # A slim image may keep its shell, but never sudo.
    slim = by_name(check_filesystem(["usr/bin/sh", "usr/bin/sudo"], Expectations(shell_expected=True)))
    assert set(slim) == {"no-sudo", "no-build-tools"} and not slim["no-sudo"].ok


def test_process_checks() -> None:
    passwd = parse_passwd("root:x:0:0::/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n")
    app = Process(1234, ("/app",), 65532, 65532)
    ok = by_name(check_processes(app, [], Expectations(user="nonroot"), passwd))
    assert ok["pid1-app"].ok and ok["process-user"].ok
    shell = by_name(check_processes(Process(1, ("/bin/sh", "-c", "/app"), 0, 0), [app], Expectations(), passwd))
    assert not shell["pid1-app"].ok and not shell["process-user"].ok
    tini = Process(1, ("/usr/bin/tini-static", "--", "/app"), 65532, 65532)
    with_init = by_name(check_processes(tini, [app], Expectations(init=True), passwd))
    assert with_init["pid1-init"].ok and with_init["pid1-app"].ok
    assert not by_name(check_processes(app, [], Expectations(init=True), passwd))["pid1-init"].ok
    root = Process(1, ("/app",), 0, 0)
    assert by_name(check_processes(root, [], Expectations(user="0"), passwd))["process-user"].ok  # declared
    assert not by_name(check_processes(app, [], Expectations(user="0"), passwd))["process-user"].ok
    unknown = by_name(check_processes(app, [], Expectations(user="ghost"), passwd))["process-user"]
    assert not unknown.ok and "ghost" in unknown.detail


def test_stop_and_size_checks() -> None:
    assert check_stop(0.3, 0, 2.0, 10).ok
    killed = check_stop(10.2, 137, 2.0, 10)
    assert not killed.ok and "SIGKILL" in killed.detail and "SIGTERM was not handled" in killed.detail
    # the signal `docker stop` sent, as the image's STOPSIGNAL writes it (a name or a number)
    assert check_stop(10.2, 137, 2.0, 10, "SIGINT").detail.endswith("grace period: SIGINT was not handled)")
    assert check_stop(10.2, 137, 2.0, 10, "2").detail.endswith("grace period: signal 2 was not handled)")
    assert not check_stop(2.5, 0, 2.0, 10).ok
    assert check_size(10, None) is None
    assert check_size(10, 10).ok and not check_size(11, 10).ok  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("size", "budget", "detail"),
    [
        (5_000_000, 10, "5.00 MB > budget 10 B"),  # was "5.0 MB > budget 0.0 MB"
        (5_000_000, 1_610_612_736, "5.00 MB <= budget 1.61 GB"),  # 1.5GiB
        (24_600_000, 25_000_000, "24.6 MB <= budget 25.0 MB"),
        (5_004_000, 5_000_000, "5004000 B > budget 5000000 B"),  # equal when rounded: the bytes
        (950, 2048, "950 B <= budget 2.05 KB"),
    ],
)
def test_size_check_shows_readable_units(size: int, budget: int, detail: str) -> None:
    result = check_size(size, budget)
    assert result is not None and result.detail == detail


def test_report_summary_and_failure() -> None:
    report = Report("img", [CheckResult("a", True, "fine", "BP2"), CheckResult("b", False, "bad", "BP8")])
    assert not report.ok and [c.name for c in report.failed] == ["b"] and report["b"].bp == "BP8"
    assert report.to_dict()["checks"][1]["outcome"] == "FAIL"  # type: ignore[index]
    with pytest.raises(CheckFailed, match=r"b \(BP8\): bad") as info:
        report.raise_for_failures()
    assert info.value.exit_code == 1


def test_structure_test_config() -> None:
    config = to_structure_test_config(EXP)
    assert config["schemaVersion"] == "2.0.0"
    assert config["metadataTest"]["exposedPorts"] == ["8080"]  # type: ignore[index]
    assert "fileExistenceTests" not in config
    tests = to_structure_test_config(Expectations(shell_expected=False))["fileExistenceTests"]
    names = {t["path"].rsplit("/", 1)[1] for t in tests}  # type: ignore[union-attr]
    assert names <= SHELLS | PACKAGE_MANAGERS and "sh" in names and "apt-get" in names


def test_a_declared_shell_entrypoint_must_exec() -> None:
    """`shell: true` is an explicit opt-in; the shell must still exec the program (BP2)."""
    declared = Expectations(shell_entrypoint=True)
    execs = {"Entrypoint": ["/bin/sh", "-c", "exec /app --port \"$PORT\""], "User": "65532"}
    wraps = {"Entrypoint": ["/bin/sh", "-c", "/app --port \"$PORT\""], "User": "65532"}
    assert by_name(check_config(execs, declared))["config-exec-form"].ok
    assert not by_name(check_config(wraps, declared))["config-exec-form"].ok
    assert not by_name(check_config(execs, Expectations()))["config-exec-form"].ok  # not declared


def test_a_script_that_is_the_declared_program_is_the_application() -> None:
    """Under tini, `bash /usr/local/bin/worker.sh` is the worker itself (BP3), but a shell
    that merely wraps another program is not."""
    passwd = {"root": 0, "nonroot": 65532}
    exp = Expectations(init=True, entrypoint=("/usr/bin/tini", "--", "/usr/local/bin/worker.sh"))
    tini = Process(1, ("/usr/bin/tini", "--", "/usr/local/bin/worker.sh"), 65532, 65532)
    script = Process(7, ("/bin/bash", "/usr/local/bin/worker.sh"), 65532, 65532)
    wrapper = Process(7, ("/bin/sh", "-c", "/usr/local/bin/worker.sh"), 65532, 65532)
    assert by_name(check_processes(tini, [script], exp, passwd))["pid1-app"].ok
    assert not by_name(check_processes(tini, [wrapper], exp, passwd))["pid1-app"].ok


def test_a_script_given_as_cmd_under_tini_is_the_application() -> None:
    """`init: true` with only a `cmd`: the image runs ENTRYPOINT ["tini", "--"] plus
    CMD ["worker.sh"], so the declared program is the CMD's (Docker joins the two)."""
    exp = Expectations(init=True, entrypoint=("/usr/bin/tini", "--"), cmd=("/usr/local/bin/worker.sh",))
    tini = Process(1, ("/usr/bin/tini", "--", "/usr/local/bin/worker.sh"), 65532, 65532)
    script = Process(7, ("/bin/bash", "/usr/local/bin/worker.sh"), 65532, 65532)
    assert by_name(check_processes(tini, [script], exp, {}))["pid1-app"].ok
    # an init expected but a one-word command: judged, not a crash
    lone = by_name(check_processes(Process(1, ("/app",), 1, 1), [], Expectations(init=True, entrypoint=("/app",)), {}))
    assert not lone["pid1-init"].ok and lone["pid1-app"].ok


def test_user_and_group_pairs_name_the_user_before_the_colon() -> None:
    """`USER 1000:2000` and `USER app:staff` run as the user before the colon; a passwd
    line needs only name, password and uid to be read."""
    passwd = parse_passwd("app:x:1000\nstaff:x:50:50::/:/sbin/nologin\n")
    assert passwd == {"app": 1000, "staff": 50}
    assert expected_uid("1000:2000", passwd) == 1000 and expected_uid("app:staff", passwd) == 1000
    app = Process(1, ("/app",), 1000, 50)
    named = by_name(check_processes(app, [], Expectations(user="app:staff"), passwd))["process-user"]
    assert named.ok and named.detail == "runs as uid 1000 gid 50, expected 1000"
    anyone = by_name(check_processes(app, [], Expectations(), passwd))["process-user"]
    assert anyone.ok and anyone.detail == "runs as uid 1000 gid 50, expected non-root"


def test_details_say_what_was_wrong() -> None:
    root = by_name(check_config({"User": "", "Entrypoint": ["/app"]}, Expectations()))["config-user"]
    assert root.detail == "no USER: the process runs as root (expected a non-root user)"
    nonroot = by_name(check_config({"User": "65532", "Entrypoint": ["/app"]}, Expectations()))["config-user"]
    assert nonroot.detail == "USER is '65532'"
    shell = by_name(check_processes(Process(1, ("/bin/sh", "-c", "/app"), 1, 1), [], Expectations(), {}))["pid1-app"]
    assert shell.detail == "PID 1 is a shell ('/bin/sh -c /app'): signals stop at the shell"


def test_the_application_under_tini_is_its_first_child() -> None:
    exp = Expectations(init=True, entrypoint=("/usr/bin/tini", "--", "/app"))
    tini = Process(1, ("/usr/bin/tini", "--", "/app"), 65532, 65532)
    app, helper = Process(7, ("/app",), 65532, 65532), Process(9, ("/bin/sh", "-c", "sleep 1"), 0, 0)
    results = by_name(check_processes(tini, [app, helper], exp, {}))
    assert results["pid1-app"].ok and results["process-user"].ok
    # a one-word program that is the declared one: no script, no index error
    alone = by_name(check_processes(app, [], Expectations(entrypoint=("/app",)), {}))
    assert alone["pid1-app"].ok


def test_a_stop_at_the_limit_is_too_slow() -> None:
    assert not check_stop(2.0, 0, 2.0, 10).ok


def test_passwd_lines_with_a_name_for_a_uid_are_skipped() -> None:
    assert parse_passwd("broken:x:notanumber:0::/:/bin/false\nshort:x\nok:x:7:8::/:/bin/false\n") == {"ok": 7}


def test_a_declared_shell_entrypoint_without_a_script_fails() -> None:
    declared = Expectations(shell_entrypoint=True)
    assert not by_name(check_config({"Entrypoint": ["/bin/sh", "-c"], "User": "1"}, declared))["config-exec-form"].ok


def test_zombie_check() -> None:
    """BP3: unreaped children fail, and the hint names the fix only when there is no init."""
    from imagespec.verify.checks import check_zombies

    assert check_zombies([], init=False).ok
    failing = check_zombies([41, 42], init=False)
    assert not failing.ok and "2 zombie" in failing.detail and "init: true" in failing.detail
    assert "init: true" not in check_zombies([41], init=True).detail


# What the python and node images held before their presets were fixed (BP6, BP11), and
# what compilers, headers and apt leave behind: found wherever they are, shell or not.
DIRTY = {
    "opt/venv/bin/pip": "pip", "opt/venv/bin/pip3.11": "pip", "usr/local/bin/easy_install": "pip",
    "opt/venv/lib/python3.11/site-packages/pip/__init__.py": "pip",
    "opt/venv/lib/python3.11/site-packages/pip-23.0.1.dist-info/RECORD": "pip",
    "usr/lib/python3/dist-packages/pip/_internal/main.py": "pip",
    "usr/share/python-wheels/pip-23.0.1-py3-none-any.whl": "pip",
    "usr/bin/npm": "node package manager", "usr/local/bin/corepack": "node package manager",
    "app/node_modules/.bin/yarn": "node package manager",
    "usr/lib/node_modules/npm/package.json": "node package manager",
    "usr/share/nodejs/npm/bin/npm-cli.js": "node package manager",
    "usr/bin/gcc-12": "compiler", "usr/bin/cc": "compiler", "usr/bin/x86_64-linux-gnu-g++-12": "compiler",
    "usr/lib/go-1.19/bin/go": "compiler", "usr/bin/rustc": "compiler",
    "usr/lib/gcc/x86_64-linux-gnu/12/cc1": "compiler",
    "usr/include/stdio.h": "C headers", "usr/local/include/python3.11/Python.h": "C headers",
    "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease": "apt lists and caches",
    "var/cache/apt/pkgcache.bin": "apt lists and caches",
    "var/cache/apt/archives/tini_0.19.0-1_amd64.deb": "apt lists and caches",
}
# the application's own files and what an emptied apt or a runtime legitimately keeps
CLEAN = [
    "app/pip_helpers.py", "app/node_modules/pipdeptree/index.js", "app/bin/server", "usr/bin/node",
    "opt/venv/lib/python3.11/site-packages/setuptools/__init__.py", "opt/venv/bin/python3",
    "opt/venv/lib/python3.11/site-packages/pipx/__init__.py", "app/node_modules/npm-run-path/index.js",
    "usr/include/", "usr/include", "usr/local/include/", "usr/include/iproute2/bpf_elf.h", "var/lib/apt/lists/lock", "var/lib/apt/lists/partial/", "var/cache/apt/",
    "usr/share/gcc/python/libstdcxx/__init__.py", "usr/lib/x86_64-linux-gnu/libgcc_s.so.1", "usr/bin/gpgv",
    "usr/local/bin/gosu", "usr/bin/ccache-free", "usr/lib/python3.11/ensurepip/__init__.py",
    "usr/share/python-wheels/setuptools-66.1.1-py3-none-any.whl", "app/wheels/pip-audit-2.7.0-py3-none-any.whl",
]


@pytest.mark.parametrize(("path", "kind"), sorted(DIRTY.items()))
def test_build_tools_are_found_wherever_they_hide(path: str, kind: str) -> None:
    assert classify(path) is not None and classify(path)[0] == kind  # type: ignore[index]
    for shell in (True, False):  # every final, not only shell-less ones
        result = by_name(check_filesystem([path], Expectations(shell_expected=shell)))["no-build-tools"]
        assert not result.ok and result.bp == "BP6" and kind in result.detail


def test_the_applications_own_files_are_not_build_tools() -> None:
    assert [path for path in CLEAN if classify(path) is not None] == []
    assert check_build_tools(CLEAN).ok


def test_a_tool_folder_is_reported_once() -> None:
    result = check_build_tools([f"opt/venv/lib/python3.11/site-packages/pip/{n}.py" for n in range(50)])
    assert result.detail == "pip: /opt/venv/lib/python3.11/site-packages/pip"


def test_final_packages_declare_the_tools_the_application_needs() -> None:
    assert allowed_by_packages(["gcc", "libc6-dev", "curl"]) == {"compiler", "C headers"}
    assert allowed_by_packages({"python3-pip": None}) == {"pip"}
    assert allowed_by_packages(["npm=9.2.0~ds1-1"]) == {"node package manager"}
    assert allowed_by_packages(["tini", "ca-certificates", "nodejs", "golang-github-foo"]) == set()
    paths = ["usr/bin/gcc", "usr/include/stdio.h", "usr/bin/npm", "var/lib/apt/lists/x_Packages"]
    declared = check_build_tools(paths, allowed_by_packages(["gcc", "libc6-dev", "npm"]))
    # apt's lists are never needed at run time: no package declares them
    assert not declared.ok and declared.detail.startswith("apt lists and caches: /var/lib/apt/lists")
    assert "declared by final.packages: node package manager, compiler, C headers" in declared.detail
    assert check_build_tools(paths[:3], allowed_by_packages(["gcc", "libc6-dev", "npm"])).ok


def test_each_check_says_what_it_saw() -> None:
    """The details are the report a user reads: each names what was seen and, on failure,
    what was expected."""
    assert check_size(12_345_678, 20_000_000).detail == "12.3 MB <= budget 20.0 MB"  # type: ignore[union-attr]
    assert check_size(25_000_000, 20_000_000).detail == "25.0 MB > budget 20.0 MB"  # type: ignore[union-attr]
    assert check_stop(0.5, 0, 2.0, 10).detail == "`docker stop` took 0.50s, exit code 0"
    assert check_stop(2.5, 0, 2.0, 10).detail == "`docker stop` took 2.50s, exit code 0 (expected < 2s)"
    config = by_name(check_config({"User": "", "Cmd": ["sh", "-c", "/app"]}, Expectations(user="65532", cmd=("/app",))))
    assert config["config-user"].detail == "USER is '(unset: root)', expected '65532'"
    assert config["config-exec-form"].detail.startswith("CMD is shell form ['sh', '-c', '/app']")
    assert config["config-cmd"].detail == "is ('sh', '-c', '/app'), expected ('/app',)"
    good = by_name(check_config({"User": "65532", "Entrypoint": ["/app"]}, Expectations(entrypoint=("/app",))))
    assert good["config-entrypoint"].detail == "('/app',)"
    assert by_name(check_filesystem(["usr/bin/sudo"], Expectations()))["no-sudo"].detail == "/usr/bin/sudo"
    assert by_name(check_filesystem([], Expectations()))["no-sudo"].detail == "no sudo"


def test_user_and_exec_form_edge_cases() -> None:
    def user_ok(user: str, exp: Expectations | None = None) -> bool:
        exp = exp if exp is not None else Expectations()
        return by_name(check_config({"User": user, "Entrypoint": ["/app"]}, exp))["config-user"].ok

    assert not user_ok("0:65532") and not user_ok("root:nonroot") and user_ok("65532:0")
    assert not user_ok("1000", Expectations(user="65532")) and not user_ok("65532:1", Expectations(user="65532:65532"))
    assert user_ok("65532:65532", Expectations(user="65532"))  # no group expected: any group
    bare = by_name(check_config({"User": "1", "Cmd": ["/bin/sh", "-c"]}, Expectations()))["config-exec-form"]
    assert not bare.ok  # `sh -c` with nothing after it is still a shell as PID 1
    env = by_name(check_config({"User": "1", "Env": ["OPTS=a=b"]}, Expectations(env={"OPTS": "a=b"})))
    assert env["config-env"].ok  # a value may hold `=`


def test_init_details_and_a_pid1_that_is_not_an_init() -> None:
    exp = Expectations(init=True)
    tini = Process(1, ("/usr/bin/tini", "--", "/app"), 1, 1)
    app, child = Process(7, ("/app",), 1, 1), Process(8, ("/bin/sh", "-c", "x"), 1, 1)
    found = by_name(check_processes(tini, [app], exp, {}))
    assert found["pid1-init"].detail == "PID 1 is 'tini', its child 'app'"
    assert found["pid1-app"].detail == "the application process is '/app'"
    lonely = by_name(check_processes(tini, [], exp, {}))["pid1-init"]
    assert not lonely.ok and lonely.detail == "PID 1 is 'tini', with no child process"
    # PID 1 is the app itself, which has a child: no init, and the app (not its child) is judged
    spawning = by_name(check_processes(app, [child], exp, {}))
    assert not spawning["pid1-init"].ok and spawning["pid1-init"].detail == "PID 1 is 'app'"
    assert spawning["pid1-app"].ok and spawning["pid1-app"].detail == "PID 1 is '/app'"
    wrapped = by_name(check_processes(tini, [child], exp, {}))["pid1-app"]
    assert wrapped.detail == "the application process is a shell ('/bin/sh -c x'): signals stop at the shell"


def test_only_a_tini_double_dash_is_skipped_to_find_the_program() -> None:
    """An init is expected but the image has none: its own `--flag` is not tini's `--`."""
    exp = Expectations(init=True, entrypoint=("/usr/local/bin/worker.sh", "--once"))
    script = Process(1, ("/bin/bash", "/usr/local/bin/worker.sh", "--once"), 1, 1)
    found = by_name(check_processes(script, [], exp, {}))
    assert not found["pid1-init"].ok and found["pid1-app"].ok


def test_a_bare_shell_in_exec_form_is_not_shell_form() -> None:
    assert by_name(check_config({"User": "1", "Cmd": ["/bin/sh"]}, Expectations()))["config-exec-form"].ok


# -- the image's own SBOM (BP16) --------------------------------------------------------

OWN = ("/usr/share/imagespec/sbom/app.spdx.json", "/usr/share/imagespec/sbom/app.cdx.json")
SPDX = b'{"spdxVersion": "SPDX-2.3", "packages": [{"name": "app"}, {"name": "libc6"}]}'
CDX = b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}'


@pytest.mark.parametrize(("labels", "content", "exp", "outcome"), [
    # from the spec: the image's own SBOM is promised
    ({"io.imagespec.sbom": OWN[0]}, SPDX, Expectations(sbom_paths=OWN), "ok"),
    ({"io.imagespec.sbom": OWN[1]}, CDX, Expectations(sbom_paths=OWN), "ok"),
    ({}, None, Expectations(sbom_paths=OWN), "no io.imagespec.sbom label"),
    ({"io.imagespec.sbom": "/usr/share/imagespec/sbom/static.spdx.json"}, SPDX, Expectations(sbom_paths=OWN),
     "not this image's own SBOM"),  # a base's label, inherited
    ({"io.imagespec.sbom": OWN[0]}, None, Expectations(sbom_paths=OWN), "is not a file in the image"),
    ({"io.imagespec.sbom": OWN[0]}, b"{not json", Expectations(sbom_paths=OWN), "not JSON"),
    ({"io.imagespec.sbom": OWN[0]}, CDX, Expectations(sbom_paths=OWN), "not an SPDX document"),
    ({"io.imagespec.sbom": OWN[1]}, SPDX, Expectations(sbom_paths=OWN), "not a CycloneDX document"),
    # a stage (--target) has none: not checked, whatever it inherited
    ({"io.imagespec.sbom": OWN[0]}, None, Expectations(sbom_paths=OWN, sbom_checked=False), None),
    # an image without its spec: checked only when it has the label
    ({}, None, Expectations(), None),
    ({"io.imagespec.sbom": "/x.spdx.json"}, SPDX, Expectations(), "ok"),
    ({"io.imagespec.sbom": "/x.spdx.json"}, None, Expectations(), "is not a file in the image"),
])
def test_the_sbom_check_wants_the_images_own_readable_sbom(labels: dict[str, str], content: bytes | None,
                                                           exp: Expectations, outcome: str | None) -> None:
    from imagespec.verify.own_sbom import check_sbom, sbom_label

    result = check_sbom(labels, content, exp)
    if outcome is None:
        assert result is None and sbom_label(labels, exp) is None
        return
    assert result is not None and result.name == "sbom" and result.bp == "BP16"
    if outcome == "ok":
        assert result.ok, result
        assert sbom_label(labels, exp) == labels["io.imagespec.sbom"]
    else:
        assert not result.ok and outcome in result.detail, result


def test_an_image_built_from_other_inputs_says_what_may_differ() -> None:
    """Stranger QA: built with `--config scripts/local-config.yaml`, tested without it, the
    only word was two hashes; the configuration (its catalog) is in the input hash."""
    want = {"io.imagespec.inputs": "sha256:aaaa", "org.opencontainers.image.version": "1.0.0"}
    config = GOOD_CONFIG | {"Labels": {"io.imagespec.inputs": "sha256:bbbb", "org.opencontainers.image.version": "1.0.0"}}
    result = by_name(check_config(config, Expectations(user="65532", labels=want)))["config-labels"]
    assert not result.ok
    assert result.detail == ("io.imagespec.inputs='sha256:bbbb' (expected 'sha256:aaaa'); the image was built from "
                             "other inputs than the spec's here: another version of the spec or its templates, or "
                             "another configuration (--config, IMAGESPEC_CONFIG) than this test's")


def test_process_user_reads_the_effective_and_saved_uids() -> None:
    """BP8: a set-user-ID root program run as 65532 has the effective (and saved) uid 0.
    Was: the real uid alone was read, and such a process passed as "uid 65532"."""
    setuid = Process(1, ("/app",), 65532, 65532, euid=0, suid=0)
    for exp in (Expectations(user="65532"), Expectations()):
        check = by_name(check_processes(setuid, [], exp, {}))["process-user"]
        assert not check.ok and "uids 65532 (real), 0 (effective), 0 (saved)" in check.detail
    saved = Process(1, ("/app",), 65532, 65532, euid=65532, suid=0)  # may switch back to root at will
    assert not by_name(check_processes(saved, [], Expectations(), {}))["process-user"].ok
    plain = Process(1, ("/app",), 65532, 65532, euid=65532, suid=65532)
    assert by_name(check_processes(plain, [], Expectations(user="65532"), {}))["process-user"].detail == \
        "runs as uid 65532 gid 65532, expected 65532"


def test_no_setuid_allows_the_debian_bases_own_files_only() -> None:
    from imagespec.verify.checks import check_privileged

    assert check_privileged({}).ok
    debian = {"usr/bin/su": 0o104755, "./usr/bin/passwd": 0o104755, "usr/sbin/unix_chkpwd": 0o102755}
    assert check_privileged(debian).ok and "the Debian base's own: 3" in check_privileged(debian).detail
    smuggled = check_privileged({**debian, "usr/local/bin/app": 0o104755, "opt/g": 0o102711})
    assert not smuggled.ok and smuggled.bp == "BP8"
    assert "/opt/g (2711), /usr/local/bin/app (4755)" in smuggled.detail
    found = by_name(check_filesystem(["app"], Expectations(), privileged={"app": 0o104755}))
    assert not found["no-setuid"].ok


def test_a_shell_is_known_by_its_content() -> None:
    from imagespec.verify.checks import ShellScan, is_shell_binary

    shell = b"\x7fELF" + b"\0" * 100 + b"PS1\0PS2\0PS4\0OPTIND\0getopts\0"
    assert is_shell_binary(shell) and is_shell_binary(b"\x7fELF..BusyBox v1.36.1")
    assert not is_shell_binary(shell.replace(b"getopts", b"get"))  # a program naming some of them
    assert not is_shell_binary(b"#!/bin/sh\nPS1 PS2 PS4 OPTIND getopts")  # not an executable binary
    scan = ShellScan()  # signatures cut across the chunks an export is read in
    for start in range(0, len(shell), 3):
        scan.feed(shell[start:start + 3])
    assert scan.is_shell
    renamed = by_name(check_filesystem(["usr/local/bin/x-helper", "app"], Expectations(shell_expected=False),
                                       shell_binaries=["./usr/local/bin/x-helper"]))
    assert not renamed["no-shell"].ok and renamed["no-shell"].detail == "shells: /usr/local/bin/x-helper"
