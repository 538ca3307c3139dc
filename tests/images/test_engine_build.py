"""Building on the real engine through both backends (needs the engine and base images)."""

from __future__ import annotations

import hashlib
import secrets
import signal
import threading
import time
from pathlib import Path

import docker.errors
import pytest

from tests import tools
from tests.images.support import SLIM, Cleanup, require_images
from tests.leftovers import processes_with
from imagespec.engine import BuildEvent, BuildOptions, Secret, get_backend
from imagespec.engine.buildkit_cli import BuildKitCLIBackend, CliInfo, detect_cli
from imagespec.engine.sdk_legacy import SdkLegacyBackend
from imagespec.errors import BuildStepFailed, Interrupted, SpecError

pytestmark = pytest.mark.engine


@pytest.fixture
def context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "input.txt").write_text("hello from the context\n")
    return ctx


@pytest.fixture(autouse=True)
def _bases(client) -> None:  # type: ignore[no-untyped-def]
    require_images(client, SLIM)


@pytest.fixture
def sigint_raises():  # type: ignore[no-untyped-def]
    """Ctrl-C as a terminal delivers it. A shell starts a background job (`pytest … &`,
    some CI runners) with SIGINT ignored, and Python then leaves it ignored, so a SIGINT
    sent by the test would be lost ("DID NOT RAISE"). The interrupt tests restore
    Python's own handler for their duration, so they work however pytest is started."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _terminal_sigint() -> None:
    """preexec_fn: the child starts with SIGINT at its default, as from a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def listing(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_buildkit_build_reports_steps_and_applies_tags(client, cleanup: Cleanup, context: Path) -> None:  # type: ignore[no-untyped-def]
    marker = secrets.token_hex(4)
    dockerfile = (
        f"FROM {SLIM}\n"
        f"RUN echo build-{marker} && echo second line\n"
        "COPY input.txt /input.txt\n"
        'CMD ["cat", "/input.txt"]\n'
    )
    tags = (cleanup.name("basic", "1.0.0"), cleanup.name("basic", "latest"))
    before = listing(context)
    events: list[BuildEvent] = []
    backend = BuildKitCLIBackend(client)
    assert backend.cli.rawjson, "buildx >= 0.13 expected on this machine (rawjson progress)"
    result = backend.build(dockerfile, context, BuildOptions(tags=tags, labels={"org.example.k": "v"}), events.append)

    assert listing(context) == before  # the Dockerfile never lands in the user's context
    assert result.image_id.startswith("sha256:") and result.tags == tags
    for tag in tags:
        assert client.images.get(tag).id == result.image_id
    assert client.images.get(result.image_id).labels["org.example.k"] == "v"
    run_name = f"[2/3] RUN echo build-{marker} && echo second line"
    statuses = [e.status for e in events if e.kind == "step" and e.name == run_name]
    assert statuses == ["started", "done"]
    logs = [line for e in events if e.kind == "log" and e.name == run_name for line in e.lines]
    assert logs == [f"build-{marker}", "second line"]
    assert 0 < result.duration_s < 60

    again = backend.build(dockerfile, context, BuildOptions(tags=tags[:1], labels={"org.example.k": "v"}))
    assert again.image_id == result.image_id
    assert {s.instruction for s in again.steps if s.cached} >= {f"RUN echo build-{marker} && echo second line"}


def test_failing_run_names_the_instruction_and_moves_no_tag(client, cleanup: Cleanup, context: Path) -> None:  # type: ignore[no-untyped-def]
    tag = cleanup.name("failing")
    dockerfile = (
        f"FROM {SLIM}\n"
        "COPY input.txt /input.txt\n"
        "# the next line fails\n"
        "RUN for i in $(seq 1 30); do echo out-$i; done; sleep 0.3; echo 'go: compile error' >&2; exit 7\n"
    )
    with pytest.raises(BuildStepFailed) as info:
        get_backend("buildkit", display=False).build(dockerfile, context, BuildOptions(tags=(tag,)))
    error = info.value
    # (the sleep orders stderr after stdout: BuildKit sends the two streams separately)
    assert error.instruction == "RUN for i in $(seq 1 30); do echo out-$i; done; sleep 0.3; echo 'go: compile error' >&2; exit 7"
    assert error.step == 4
    assert str(error).startswith("build failed at RUN for i in") and str(error).endswith("exit code: 7")
    assert "go: compile error" in error.log_tail and "out-30" in error.log_tail and "out-1" not in error.log_tail
    assert error.exit_code == 1
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(tag)


class RecordingBackend(BuildKitCLIBackend):
    """Remembers each build's iidfile path: it names the build's CLI processes exactly."""

    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        super().__init__(client)
        self.iidfiles: list[Path] = []

    def command(self, dockerfile: Path, context: Path, options: BuildOptions, iidfile: Path):  # type: ignore[no-untyped-def]
        self.iidfiles.append(iidfile)
        return super().command(dockerfile, context, options, iidfile)


def test_ctrl_c_stops_the_build_and_applies_no_tag(client, cleanup: Cleanup, context: Path, sigint_raises) -> None:  # type: ignore[no-untyped-def]
    marker = f"imagespec-interrupt-{secrets.token_hex(4)}"
    tag = cleanup.name("interrupted")
    dockerfile = f"FROM {SLIM}\nRUN sleep 30 && echo {marker}\n"
    main = threading.main_thread().ident
    assert main is not None

    def on_event(event: BuildEvent) -> None:
        if event.kind == "step" and event.status == "started" and "sleep 30" in event.name:
            # What a terminal's Ctrl-C does: SIGINT to the Python process' main thread.
            threading.Timer(1.0, interrupt).start()

    def interrupt() -> None:
        seen_running.extend(processes_with(marker))  # positive control for the check below
        signal.pthread_kill(main, signal.SIGINT)

    seen_running: list[int] = []

    began = time.monotonic()
    recorded = RecordingBackend(client)
    with pytest.raises(Interrupted) as info:
        recorded.build(dockerfile, context, BuildOptions(tags=(tag,), no_cache=True), on_event)
    assert info.value.exit_code == 130
    assert seen_running, "the RUN step's shell was visible in /proc while it ran"
    assert time.monotonic() - began < 15  # nowhere near the 30 s sleep
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(tag)
    assert recorded.iidfiles and all(processes_with(str(path)) == [] for path in recorded.iidfiles)
    # BuildKit cancels the RUN container once the client is gone.
    deadline = time.monotonic() + 10
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with(marker) == []


def test_secret_is_usable_in_run_and_absent_from_the_image(client, cleanup: Cleanup, context: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    canary = f"CANARY-{secrets.token_hex(16)}".encode()
    bundle = tmp_path / "ca-bundle.crt"
    bundle.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + canary + b"\n-----END CERTIFICATE-----\n")
    proof = hashlib.sha256(bundle.read_bytes()).hexdigest()
    tag = cleanup.name("secret")
    dockerfile = (
        f"FROM {SLIM}\n"
        "RUN --mount=type=secret,id=ca-bundle,target=/run/secrets/ca.crt "
        "SSL_CERT_FILE=/run/secrets/ca.crt sha256sum /run/secrets/ca.crt | cut -c1-64 > /proof\n"
    )
    options = BuildOptions(tags=(tag,), secrets=(Secret("ca-bundle", bundle),), no_cache=True)
    result = get_backend("buildkit", display=False).build(dockerfile, context, options)

    saved = b"".join(client.images.get(result.image_id).save(named=False))
    assert proof.encode() in saved  # positive control: layer contents are visible to this scan
    assert canary not in saved
    history = repr(client.images.get(result.image_id).history())
    assert "sha256sum /run/secrets/ca.crt" in history and canary.decode() not in history


def test_missing_required_secret_is_a_spec_error_and_optional_is_skipped(client, cleanup: Cleanup, context: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "absent.crt"
    dockerfile = f"FROM {SLIM}\nRUN --mount=type=secret,id=ca-bundle,target=/ca.crt test ! -e /ca.crt\n"
    backend = BuildKitCLIBackend(client)
    with pytest.raises(SpecError, match="is not a file"):
        backend.build(dockerfile, context, BuildOptions(secrets=(Secret("ca-bundle", missing),)))
    tag = cleanup.name("optional-secret")
    result = backend.build(dockerfile, context, BuildOptions(tags=(tag,), secrets=(Secret("ca-bundle", missing, optional=True),)))
    assert client.images.get(tag).id == result.image_id


def test_plain_progress_path_for_older_buildx(client, cleanup: Cleanup, context: Path) -> None:  # type: ignore[no-untyped-def]
    cli = detect_cli()
    older = CliInfo(cli.docker, (0, 12))  # before rawjson: --progress plain is parsed
    tag = cleanup.name("plain")
    events: list[BuildEvent] = []
    backend = BuildKitCLIBackend(client, cli=older)
    argv, _ = backend.command(Path("/x/Dockerfile"), context, BuildOptions(), Path("/x/iid"))
    assert argv[argv.index("--progress") + 1] == "plain"
    result = backend.build(f"FROM {SLIM}\nRUN echo plain-$((40+2))\n", context, BuildOptions(tags=(tag,), no_cache=True), events.append)
    assert client.images.get(tag).id == result.image_id
    assert [line for e in events if e.kind == "log" and "RUN echo" in e.name for line in e.lines] == ["plain-42"]
    with pytest.raises(BuildStepFailed) as info:
        backend.build(f"FROM {SLIM}\nRUN echo before\nRUN false\n", context, BuildOptions())
    assert info.value.instruction == "RUN false" and info.value.step == 3


def test_legacy_backend_builds_and_refuses_buildkit_features(client, cleanup: Cleanup, context: Path) -> None:  # type: ignore[no-untyped-def]
    tag = cleanup.name("legacy")
    events: list[BuildEvent] = []
    backend = SdkLegacyBackend(client)
    marker = secrets.token_hex(3)  # a cold legacy cache, whatever ran before
    dockerfile = f"FROM {SLIM}\n# comment\nRUN echo legacy-$((1+1)) {marker} \\\n  && true\nCOPY input.txt /i\n"
    before = listing(context)
    result = backend.build(dockerfile, context, BuildOptions(tags=(tag,)), events.append)
    assert listing(context) == before
    assert client.images.get(tag).id == result.image_id
    assert [s.name for s in result.steps] == [
        f"[1/3] FROM {SLIM}", f"[2/3] RUN echo legacy-$((1+1)) {marker}   && true", "[3/3] COPY input.txt /i",
    ]
    assert f"legacy-2 {marker}" in [line for e in events if e.kind == "log" for line in e.lines]
    with pytest.raises(BuildStepFailed) as info:
        backend.build(f"FROM {SLIM}\n\nRUN echo out && exit 4\n", context, BuildOptions())
    assert info.value.step == 3 and info.value.instruction == "RUN echo out && exit 4"
    assert "out" in info.value.log_tail
    leftovers = client.containers.list(all=True, filters={"ancestor": SLIM, "status": "exited"})
    assert not [c for c in leftovers if "exit 4" in " ".join(c.attrs["Config"]["Cmd"] or [])]  # forcerm
    with pytest.raises(SpecError, match="RUN --mount"):
        backend.build(f"FROM {SLIM}\nRUN --mount=type=cache,target=/c true\n", context, BuildOptions())


CHILD = """
import sys
from pathlib import Path
from imagespec.engine import BuildOptions, get_backend
from imagespec.errors import Interrupted
try:
    get_backend("buildkit", display=False).build(sys.argv[1], Path(sys.argv[2]),
        BuildOptions(tags=(sys.argv[3],), no_cache=True), lambda e: print(e.kind, e.status, e.name, flush=True))
except Interrupted as error:
    print("INTERRUPTED", error.exit_code, flush=True)
    sys.exit(error.exit_code)
"""


def test_sigint_to_a_process_running_a_build(client, cleanup: Cleanup, context: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    marker = f"imagespec-sigint-{secrets.token_hex(4)}"
    tag = cleanup.name("sigint")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, f"FROM {SLIM}\nRUN sleep 30 && echo {marker}\n", str(context), tag],
        stdout=subprocess.PIPE, text=True, preexec_fn=_terminal_sigint,
    )
    assert child.stdout is not None
    for line in child.stdout:  # wait until the sleeping step runs
        if line.startswith("step started") and "sleep 30" in line:
            break
    time.sleep(1.0)
    assert processes_with(marker), "positive control: the RUN step's shell is visible in /proc"
    began = time.monotonic()
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=15) == 130
    assert "INTERRUPTED 130" in child.stdout.read()
    assert time.monotonic() - began < 10
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(tag)
    deadline = time.monotonic() + 10
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with(marker) == []


FLOOR_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "engine-floor.sh"


@pytest.fixture(scope="module")
def floor_client() -> str:
    """Engine 20.10's own docker client, unpacked from bookworm's docker.io by the script
    (a download from the Debian mirror the first time)."""
    import subprocess

    done = subprocess.run(["bash", str(FLOOR_SCRIPT), "client"], capture_output=True, text=True, timeout=600)
    path = done.stdout.strip().splitlines()[-1] if done.returncode == 0 and done.stdout.strip() else ""
    if not path or not Path(path).exists():
        tools.unavailable(f"Engine 20.10's client could not be unpacked (scripts/engine-floor.sh client): {done.stderr[-500:]}")
    return path


def test_engine_20_10_client_without_buildx(client, cleanup: Cleanup, context: Path, floor_client: str) -> None:  # type: ignore[no-untyped-def]
    # The compatibility floor's own CLI: `DOCKER_BUILDKIT=1 docker build --progress plain`,
    # whose failure output has no "Dockerfile:N": the line is found from the step name.
    backend = BuildKitCLIBackend(client, cli=CliInfo(floor_client, None))
    tag = cleanup.name("floor-client")
    events: list[BuildEvent] = []
    result = backend.build(f"FROM {SLIM}\nRUN echo floor-$((2+3))\n", context, BuildOptions(tags=(tag,), no_cache=True), events.append)
    assert client.images.get(tag).id == result.image_id
    assert "floor-5" in [line for e in events if e.kind == "log" for line in e.lines]
    dockerfile = f"FROM {SLIM} AS base\nRUN echo x\n\nFROM base\nRUN echo out && \\\n    exit 5\n"
    with pytest.raises(BuildStepFailed) as info:
        backend.build(dockerfile, context, BuildOptions())
    assert info.value.step == 5 and info.value.log_tail == ("out",)
    assert str(info.value).startswith("build failed at RUN echo out &&") and str(info.value).endswith(": exit code: 5")


def test_ctrl_c_stops_a_legacy_build(client, context: Path, sigint_raises) -> None:  # type: ignore[no-untyped-def]
    marker = f"imagespec-legacy-{secrets.token_hex(4)}"
    main = threading.main_thread().ident
    assert main is not None
    seen_running: list[int] = []

    def interrupt() -> None:
        seen_running.extend(processes_with(marker))
        signal.pthread_kill(main, signal.SIGINT)

    def on_event(event: BuildEvent) -> None:
        if event.kind == "step" and event.status == "started" and "sleep 30" in event.name:
            threading.Timer(1.5, interrupt).start()

    began = time.monotonic()
    with pytest.raises(Interrupted):
        SdkLegacyBackend(client).build(f"FROM {SLIM}\nRUN sleep 30 && echo {marker}\n", context, BuildOptions(), on_event)
    assert seen_running and time.monotonic() - began < 15
    deadline = time.monotonic() + 10
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with(marker) == []
