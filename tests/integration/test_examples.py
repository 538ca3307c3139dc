"""Every example is built on the real engine and verified with `imagespec test`:
non-root user, the application as PID 1, a clean stop on SIGTERM, a read-only root
with tmpfs for the declared writable directories, no shell where none belongs.
A golden file pins the text; this proves the image works (BP1-BP3, BP6-BP9)."""

from __future__ import annotations

import json

import pytest

from .conftest import EXAMPLES, LOCAL_CONFIG, docker, imagespec

# how each example shows that it is up: an HTTP answer or a log line
PROBES = {
    "go-hello": ["--http-port", "8080"],
    "python-web": ["--http-port", "8080"],
    "node-app": ["--http-port", "8080"],
    "nginx-debian": ["--http-port", "8080"],
    "c-tool": ["--ready-log", "c-tool ready"],
    "worker-init": ["--ready-log", "worker ready"],
    # the shell expanded ${PORT}, and exec made c-tool PID 1 (checked by imagespec test)
    "shell-opt-in": ["--ready-log", r"c-tool ready \(uid 65532\): port 8080"],
    # a one-shot program: it prints and exits 0; the process checks are skipped, the rest hold
    "odd-values": [],
    # one example per preset (templates/presets), built from ten-line specs
    "preset-go": ["--http-port", "8080"],
    "preset-python": ["--http-port", "8080"],
    "preset-node": ["--http-port", "8080"],
    "preset-node-pnpm": ["--http-port", "8080"],
    "preset-node-yarn": ["--http-port", "8080"],
    "preset-python-uv": ["--http-port", "8080"],
    "preset-python-poetry": ["--http-port", "8080"],
    # no shell and no pip: `imagespec test` checks both (no-shell, no-package-manager)
    "preset-python-distroless": ["--http-port", "8080"],
    # the same on the shell-less Node.js image: no shell, no npm, no apt
    "preset-node-distroless": ["--http-port", "8080"],
    "preset-rust": ["--http-port", "8080"],
    "preset-java": ["--http-port", "8080"],
    # Maven offline, with the plugins Debian packages (no Maven repository is reachable here)
    "preset-java-maven": ["--http-port", "8080"],
    "preset-c": ["--ready-log", r"preset-c ready \(uid 65532\)"],
}


@pytest.mark.engine
@pytest.mark.parametrize("name", sorted(PROBES))
def test_example_builds_and_passes_imagespec_test(built, name: str) -> None:
    spec = EXAMPLES / name / "imagespec.yaml"
    summary = built(spec)
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--image", summary["tags"][0], "--format", "json",
                       *PROBES[name], str(spec))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    names = {check["name"] for check in report["checks"] if check["ok"] and not check["skipped"]}
    if name != "odd-values":
        assert {"process-user", "pid1-app", "stop-graceful", "zombies-reaped"} <= names, report
    assert {"config-user", "config-exec-form"} <= names, report


# what the image's own runtime reports about itself: run without a shell (distroless has none)
PY_CONTENTS = """
import importlib.util, json, os, shutil
print(json.dumps({
    "modules": sorted(m for m in ("markupsafe", "iniconfig", "pip", "setuptools", "wheel", "_distutils_hack")
                      if importlib.util.find_spec(m)),
    "tools": sorted(t for t in ("uv", "poetry", "pip", "pip3", "easy_install", "wheel")
                    if shutil.which(t, path="/opt/venv/bin")),
    "opt": sorted(os.listdir("/opt")),
    "venv_python": os.path.realpath("/opt/venv/bin/python3"),
}))
"""
NODE_CONTENTS = """
const fs = require("fs"), path = require("path");
const resolves = (m) => { try { require.resolve(m, {paths: ["/app"]}); return true; } catch { return false; } };
const onPath = (t) => (process.env.PATH || "").split(":").some((d) => fs.existsSync(path.join(d, t)));
console.log(JSON.stringify({
    modules: ["ms", "is-number"].filter(resolves),
    tools: ["yarn", "yarnpkg", "npm", "npx", "pnpm", "corepack"].filter(onPath),
    node_env: process.env.NODE_ENV,
}));
"""


@pytest.mark.engine
@pytest.mark.parametrize(("name", "expected"), [
    # the venv is made without pip: the build stage's pip installs into it (no pip, setuptools, wheel)
    ("preset-python", {"modules": ["markupsafe"], "tools": [], "opt": ["venv"]}),
    # the dev group (iniconfig) is locked but never installed; uv/Poetry/pip stay in the build stage
    ("preset-python-uv", {"modules": ["markupsafe"], "tools": [], "opt": ["venv"]}),
    ("preset-python-poetry", {"modules": ["markupsafe"], "tools": [], "opt": ["venv"]}),
    # the venv's python resolves to the runtime's own interpreter (made by the same path)
    ("preset-python-distroless", {"modules": ["markupsafe"], "tools": [], "opt": ["venv"],
                                  "venv_python": "/usr/bin/python3.11"}),
    # devDependencies (is-number) are locked but never installed; yarn stays in the build stage
    ("preset-node-yarn", {"modules": ["ms"], "tools": [], "node_env": "production"}),
    ("preset-node", {"modules": ["ms"], "tools": [], "node_env": "production"}),
    ("preset-node-distroless", {"modules": ["ms"], "tools": [], "node_env": "production"}),
])
def test_locked_presets_ship_production_dependencies_without_the_tool(built, name: str, expected: dict) -> None:
    """BP6, BP11: from the lockfile, production dependencies only, and neither the tool that
    installed them nor pip reaches the final image."""
    image = built(EXAMPLES / name / "imagespec.yaml")["tags"][0]
    if name.startswith("preset-python"):
        command = ["--entrypoint", "/opt/venv/bin/python3", image, "-c", PY_CONTENTS]
    else:
        command = ["--entrypoint", "node", image, "-e", NODE_CONTENTS]
    out = docker("run", "--rm", "--network", "none", "--read-only", *command).stdout
    report = json.loads(out)
    assert {key: report[key] for key in expected} == expected, report


@pytest.mark.engine
def test_node_distroless_is_smaller_than_node_and_has_no_shell(built) -> None:
    """BP7, BP10: the same app on the shell-less Node.js image is smaller than on the
    slim Debian one, and has no shell to start a command with (BP6)."""
    sizes = {}
    for name in ("preset-node", "preset-node-distroless"):
        image = built(EXAMPLES / name / "imagespec.yaml")["tags"][0]
        sizes[name] = int(docker("image", "inspect", "--format", "{{.Size}}", image).stdout)
        shell = docker("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", image, "-c", "true", check=False)
        assert (shell.returncode == 0) == (name == "preset-node"), (name, shell.stderr)
    assert sizes["preset-node-distroless"] < sizes["preset-node"], sizes


@pytest.mark.engine
def test_odd_values_reach_the_container_exactly(built) -> None:
    summary = built(EXAMPLES / "odd-values" / "imagespec.yaml")
    out = docker("run", "--rm", "--network", "none", "--read-only", summary["tags"][0]).stdout
    assert out.splitlines() == [
        "argv[0]=/printargs",
        "argv[1]=two words",
        "argv[2]=$1.50",
        "argv[3]=back\\slash",
        'argv[4]=q"uote',
        "argv[5]=new",
        "line",
        "argv[6]=ünïcödé",
        "argv[7]=dir\\",  # a backslash at the end, or before a quote: written so that hadolint parses it
        'argv[8]=a\\"b',
        'env GREETING=say "hello" to $USER',
        "env PRICE=$5 & 10% off; `not a command`",
        "env WINDOWS_PATH=C:\\Program Files\\app\\bin\\",
        "env MOTTO=Grüße, 世界 🚀",
    ]
    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", summary["tags"][0]).stdout)
    assert labels["com.example.note"] == "it's \"quoted\" $HOME \\n stays literal"
    assert labels["com.example.dir"] == "C:\\dir\\"
    assert labels["org.opencontainers.image.description"] == (
        "Quotes \"double\" and 'single', a $dollar, a back\\slash and ünïcödé")
    user = docker("image", "inspect", "--format", "{{.Config.User}}", summary["tags"][0]).stdout.strip()
    assert user == "65532:65532"
    # a pre-release tags only itself: never latest, 2 or 2.0 (BP14)
    assert [t.split(":", 1)[1] for t in summary["tags"] if not t.endswith("-dirty") and len(t.split(":")[1]) != 12] \
        == ["2.0.0-rc.1"]


@pytest.mark.engine
def test_worker_init_reaps_orphans(built) -> None:
    """BP3: the worker leaves an orphan every second; tini must reap them."""
    summary = built(EXAMPLES / "worker-init" / "imagespec.yaml")
    name = "imagespec-it-worker"
    docker("rm", "-f", "-v", name, check=False)
    docker("run", "-d", "--name", name, "--network", "none", "--read-only", summary["tags"][0])
    try:
        import time

        time.sleep(4)
        states = docker("exec", name, "sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null").stdout
        zombies = [line for line in states.splitlines() if ") Z " in line]
        assert zombies == [], zombies
        pid1 = docker("exec", name, "cat", "/proc/1/cmdline").stdout.split("\0")[0]
        assert pid1 == "/usr/bin/tini"
    finally:
        docker("rm", "-f", "-v", name, check=False)


@pytest.mark.engine
def test_a_policy_size_budget_is_checked_by_imagespec_test(built, tmp_path) -> None:
    """`policies.size_budget` (BP7): the go-hello image is a few MB, so 1MB must fail
    and 50MB pass, with the size check named in the report."""
    import shutil

    app = tmp_path / "go-hello"
    shutil.copytree(EXAMPLES / "go-hello", app)
    summary = built(app / "imagespec.yaml")
    spec = app / "imagespec.yaml"
    for budget, code in (("1MB", 1), ("50MB", 0)):
        spec.write_text(spec.read_text().split("\npolicies:")[0] + f"\npolicies:\n  size_budget: {budget}\n")
        result = imagespec("test", "--config", str(LOCAL_CONFIG), "--image", summary["tags"][0], "--format", "json",
                           "--http-port", "8080", str(spec))
        assert result.returncode == code, result.stdout[-2000:] + result.stderr[-2000:]
        checks = {c["name"]: c["ok"] for c in json.loads(result.stdout)["checks"]}
        assert any(name.startswith("size") for name in checks), checks


@pytest.mark.engine
def test_init_on_a_shell_less_final_adds_tini_and_nothing_else(built, tmp_path) -> None:
    """BP3 without waste (BP7, BP11): `init: true` on a shell-less final (the rust preset,
    on scratch) makes exactly three layers: the passwd/group root, the static tini and the
    program, none of them empty (there was an empty `COPY --from=imagespec-rootfs /rootfs/ /`),
    and dive finds no byte stored twice. A fourth, the SBOM (README "SBOM"), comes on top."""
    import subprocess

    from tests import tools

    image = built(EXAMPLES / "preset-rust" / "imagespec.yaml")["image_id"]  # a tag another build may move
    layers = json.loads(docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", image).stdout)
    history = docker("history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", image).stdout.splitlines()
    steps = [tuple(row.split("\t", 1)) for row in history if row.split("\t", 1)[1].startswith(("COPY", "RUN", "ADD"))]
    assert len(steps) == len(layers) == 4, history
    # newest first: the SBOM, the program, tini, the root with passwd/group for 65532
    assert [step.split()[1] for _, step in steps] == ["usr/", "/out/hello-rust", "/usr/local/bin/tini-static",
                                                      "/rootfs/"], history
    assert all(size != "0B" for size, _ in steps), steps
    out = tmp_path / "dive.json"
    subprocess.run([tools.require("dive"), image, "--json", str(out)], check=True, capture_output=True, timeout=300)
    assert json.loads(out.read_text())["image"]["inefficientBytes"] == 0


ROOT_SPEC = """\
name: imagespec-it-root
tags: {git_sha: false, semver: false, extra: [test]}
final:
  from: debian-slim
  user: {uid: 0, root_reason: "a test of the check"}
  cmd: [sleep, infinity]
"""


@pytest.mark.engine
def test_a_port_the_base_image_exposes_is_inherited_not_a_failure(built, tmp_path) -> None:
    """An app FROM an image that exposes a port (a company base, a fleet parent) cannot
    take the EXPOSE back: `imagespec test` accepts it as the base's. Was: config-ports
    failed, "is ('8080/tcp',), expected ()"."""
    base = built(EXAMPLES / "go-hello" / "imagespec.yaml")["tags"][0]
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(f"name: isx-on-go-hello-{tmp_path.name[-8:].lower()}\nversion: 1.0.0\nlicense: Apache-2.0\n"
                    f"final:\n  from: {{image: \"{base}\", family: distroless, shell: false, user: 65532}}\n"
                    "  entrypoint: [/usr/local/bin/hello]\n  cmd: --listen 127.0.0.1:8080\n")
    built(spec)
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--format", "json", str(spec))
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["config-ports"]["ok"], checks["config-ports"]
    assert "8080/tcp from the base image" in checks["config-ports"]["detail"]
    # the base's tag gone from the engine: what it exposed is unknown, and the failure says so
    docker("rmi", base)
    result = imagespec("test", "--config", str(LOCAL_CONFIG), "--format", "json", str(spec))
    ports = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "config-ports")
    assert result.returncode == 1 and not ports["ok"], ports
    assert "the base image its label names is not in this engine" in ports["detail"], ports


def test_imagespec_test_takes_an_image_reference_alone(built, tmp_path) -> None:
    """Without a spec, the image's own config and labels are the expectations: a good
    image passes, a root one fails the user check (BP8)."""
    good = built(EXAMPLES / "go-hello" / "imagespec.yaml")["tags"][0]
    result = imagespec("test", "--format", "json", "--http-port", "8080", good)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-1000:]
    (tmp_path / "imagespec.yaml").write_text(ROOT_SPEC)
    root = built(tmp_path / "imagespec.yaml")["tags"][0]
    result = imagespec("test", "--format", "json", root)
    assert result.returncode == 1
    failed = {c["name"] for c in json.loads(result.stdout)["checks"] if not c["ok"]}
    assert "process-user" in failed, failed


@pytest.mark.engine
@pytest.mark.parametrize("name", ["node-app", "preset-node", "preset-node-distroless"])
def test_a_node_example_stops_at_once_with_an_idle_keep_alive_connection_open(built, name: str) -> None:
    """BP2: `server.close()` waits for every open connection, and Node 18 keeps an idle
    keep-alive one (a load balancer's) open: SIGTERM then ended in SIGKILL after the grace
    period. The examples close idle connections on SIGTERM. `imagespec test`'s probe sends
    `Connection: close`, so only a client that keeps its connection shows it."""
    import http.client
    import socket
    import time

    image = built(EXAMPLES / name / "imagespec.yaml")["tags"][0]
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    container = docker("run", "-d", "--network", "host", "-e", f"PORT={port}", image).stdout.strip()
    try:
        deadline = time.monotonic() + 30
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", "/")  # HTTP/1.1: the connection stays open after the answer
                break
            except OSError:
                connection.close()
                assert time.monotonic() < deadline, docker("logs", container, check=False).stderr
                time.sleep(0.2)
        answer = connection.getresponse()
        assert answer.status == 200 and answer.read().startswith(f"hello from {name}".encode())
        began = time.monotonic()
        docker("stop", "--time", "10", container)
        stopped = time.monotonic() - began
        state = json.loads(docker("inspect", "--format", "{{json .State}}", container).stdout)
        connection.close()
        assert state["ExitCode"] == 0 and stopped < 2, (stopped, state)  # imagespec test's stop-graceful bound
    finally:
        docker("rm", "--force", container, check=False)
