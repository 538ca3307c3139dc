"""`imagespec manifest` (no engine): for every example, the Compose service passes the
compose-spec schema and `docker compose config`, the Deployment passes Kubernetes' own
schema (strict), and both say what the plan says (user, writable directories, ports,
stop signal, healthcheck)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from imagespec.compiler import compile_spec
from imagespec.deploy import render_manifest
from imagespec.deploy.kubernetes import seconds
from imagespec.spec.config import load_config
from imagespec.spec.read_spec import load_spec
from tests import tools

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted(ROOT.glob("examples/*/imagespec.yaml")) + [ROOT / "tests/compiler/golden/runtime-metadata/spec.yaml"]


def manifest(spec: Path, fmt: str, out: Path, *extra: str) -> dict:
    """Through the CLI, as a user runs it."""
    done = subprocess.run([sys.executable, "-m", "imagespec", "manifest", str(spec), "--format", fmt, "-o", str(out),
                           *extra], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(out.read_text(encoding="utf-8"))


def plan_of(spec: Path):  # type: ignore[no-untyped-def]
    config = load_config(start=spec.parent)
    return compile_spec(load_spec(spec, config), config).plan


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[Path, Path]]]:
    """Every example's manifests in both formats, rendered in process (one validator run
    per format below checks them all: each run costs about a second)."""
    folder = tmp_path_factory.mktemp("manifests")
    found: dict[str, list[tuple[Path, Path]]] = {"compose": [], "kubernetes": []}
    for index, spec in enumerate(SPECS):
        plan = plan_of(spec)
        for fmt in found:
            out = folder / f"{index}-{spec.parent.name}.{fmt}.yaml"
            out.write_text(render_manifest(plan, f"{plan.name}:1.0.0", fmt, source=spec.name), encoding="utf-8")
            found[fmt].append((spec, out))
    return found


def test_compose_services_are_valid_and_match_the_plan(written) -> None:  # type: ignore[no-untyped-def]
    files = [str(out) for _, out in written["compose"]]
    schema = subprocess.run([tools.require("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", *files],
                            capture_output=True, text=True, timeout=120)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    for spec, out in written["compose"]:
        config = subprocess.run(["docker", "compose", "-f", str(out), "config", "-q"], capture_output=True, text=True,
                                timeout=120)
        if "is not a docker command" in config.stderr:
            tools.unavailable("docker compose is missing: install with scripts/setup-engine.sh (docker-compose)")
        assert config.returncode == 0, f"{spec}: {config.stderr}"
        (service,) = yaml.safe_load(out.read_text(encoding="utf-8"))["services"].values()
        rt = plan_of(spec).runtime
        assert service["user"] == f"{rt.uid}:{rt.gid}" and service["read_only"] is True
        assert service["cap_drop"] == ["ALL"] and service["security_opt"] == ["no-new-privileges:true"]
        # each tmpfs owned by the app's user: the engine's is root's 0755 whatever the image's folder
        assert service.get("tmpfs", []) == [f"{path}:uid={rt.uid},gid={rt.gid}" for path in rt.writable]


def test_kubernetes_deployments_are_valid_and_match_the_plan(written) -> None:  # type: ignore[no-untyped-def]
    files = [str(out) for _, out in written["kubernetes"]]
    valid = subprocess.run([tools.require("kubernetes-validate"), "--strict", "-k", "1.30.0", *files],
                           capture_output=True, text=True, timeout=120)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    for spec, out in written["kubernetes"]:
        pod = yaml.safe_load(out.read_text(encoding="utf-8"))["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        rt = plan_of(spec).runtime
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (rt.uid, rt.gid)
        assert pod["securityContext"]["runAsNonRoot"] is (rt.uid != 0)
        assert container["securityContext"] == {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                                "capabilities": {"drop": ["ALL"]}}
        mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
        assert sorted(mounts.values()) == sorted(rt.writable)
        volumes = pod.get("volumes", [])
        assert {v["name"] for v in volumes} == set(mounts) and all("emptyDir" in v for v in volumes)


def test_a_broken_deployment_fails_the_validator(written, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The negative control: the validator really reads what we give it."""
    doc = yaml.safe_load(written["kubernetes"][0][1].read_text(encoding="utf-8"))
    doc["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True  # misspelt
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(doc))
    valid = subprocess.run([tools.require("kubernetes-validate"), "--strict", "-k", "1.30.0", str(broken)],
                           capture_output=True, text=True, timeout=120)
    assert valid.returncode != 0


def test_healthcheck_ports_and_stop_signal_carry_over(tmp_path: Path) -> None:
    spec = ROOT / "tests/compiler/golden/runtime-metadata/spec.yaml"
    source = yaml.safe_load(spec.read_text(encoding="utf-8"))["final"]
    service = next(iter(manifest(spec, "compose", tmp_path / "c.yaml")["services"].values()))
    assert service["stop_signal"] == source["stop_signal"]
    assert service["healthcheck"]["test"] == ["CMD", *source["healthcheck"]["cmd"]]
    assert service["healthcheck"]["retries"] == source["healthcheck"]["retries"]
    assert any(p.endswith("/udp") for p in service["ports"])
    pod = manifest(spec, "kubernetes", tmp_path / "k.yaml")["spec"]["template"]["spec"]
    probe = pod["containers"][0]["livenessProbe"]
    assert probe["exec"]["command"] == source["healthcheck"]["cmd"]
    assert probe["periodSeconds"] == seconds(source["healthcheck"]["interval"])
    assert {"UDP", "TCP"} <= {p["protocol"] for p in pod["containers"][0]["ports"]}


@pytest.mark.parametrize(("duration", "expected"), [("30s", 30), ("1m30s", 90), ("500ms", 1), ("1.5s", 2), ("2h", 7200)])
def test_durations_become_whole_seconds(duration: str, expected: int) -> None:
    assert seconds(duration) == expected


def test_image_option_and_bad_spec(tmp_path: Path) -> None:
    spec = ROOT / "examples/preset-go/imagespec.yaml"
    doc = manifest(spec, "kubernetes", tmp_path / "k.yaml", "--image", "registry.example.com/team/api@sha256:" + "a" * 64)
    assert doc["spec"]["template"]["spec"]["containers"][0]["image"].endswith("a" * 64)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nfinal: {from: scratch}\n")
    done = subprocess.run([sys.executable, "-m", "imagespec", "manifest", str(bad), "--format", "compose"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.startswith(f"{bad}:")


@pytest.mark.parametrize("image", ["BAD IMAGE", "team/api@sha256:abc", "ok:1\nname: injected #", "Team/API:1"])
def test_an_invalid_image_is_bad_input_and_nothing_is_written(tmp_path: Path, image: str) -> None:
    """Was: exit 0, the text written as it was; a newline broke out of the header comment
    and `docker compose config` showed a top-level `name: injected`."""
    spec = ROOT / "examples/preset-go/imagespec.yaml"
    out = tmp_path / "compose.yaml"
    done = subprocess.run([sys.executable, "-m", "imagespec", "manifest", str(spec), "--format", "compose",
                           "--image", image, "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("imagespec: --image: ") and "\n  hint: " in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 2 and not out.exists()


BASE_SPEC = "name: company-base\nversion: 1.0.0\nkind: base\nfinal:\n  from: debian-slim\n"


@pytest.mark.parametrize("fmt", ["compose", "kubernetes"])
@pytest.mark.parametrize("where", ["spec", "template"])
def test_a_base_spec_has_no_manifest(tmp_path: Path, fmt: str, where: str) -> None:
    """Was: exit 0, a service of an image that starts no program (`kind: base` has no
    entrypoint or cmd). Now bad input at the `kind:` key (the template's, when it says so),
    nothing written."""
    spec = tmp_path / "imagespec.yaml"
    if where == "template":
        (tmp_path / "company-base.yaml").write_text(BASE_SPEC.replace("name: company-base\nversion: 1.0.0\n", ""))
        spec.write_text("extends: ./company-base.yaml\nname: company-base\nversion: 1.0.0\n")
    else:
        spec.write_text(BASE_SPEC)
    out = tmp_path / "out.yaml"
    done = subprocess.run([sys.executable, "-m", "imagespec", "manifest", str(spec), "--format", fmt, "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    written = f"{tmp_path}/company-base.yaml:1:1" if where == "template" else f"{spec}:3:1"
    label = "Compose service" if fmt == "compose" else "Kubernetes Deployment"
    assert done.stderr.splitlines() == [
        f"{written}: a base image (`kind: base`) is built FROM and runs nothing of its own: it has no {label}",
        "  hint: a base image is built FROM, not deployed: write the manifest of an app spec on it "
        f"(`imagespec manifest APP/imagespec.yaml --format {fmt}`)"]
    assert not out.exists()


def test_quoted_text_stays_inside_the_header_comment() -> None:
    """What the header quotes (the spec's path, the image) is one inert line, whatever it holds."""
    plan = plan_of(ROOT / "examples/preset-go/imagespec.yaml")
    text = render_manifest(plan, "app:1\nname: injected #", "compose", source="odd\nname: also\u2028x.yaml")
    header = text.split("services:")[0]
    assert all(line.startswith("# ") for line in header.splitlines()), header
    assert set(yaml.safe_load(text)) == {"services"}


@pytest.mark.parametrize(("user", "options"), [("65532:65532", "uid=65532,gid=65532"), ("1000", "uid=1000,gid=1000"),
                                               ("1000:0", "uid=1000,gid=0"), ("nonroot", "mode=1777"),
                                               (None, "mode=1777"), ("1000:staff", "mode=1777")])
def test_a_writable_tmpfs_is_the_users_or_open_to_all(user: str | None, options: str) -> None:
    from imagespec.contract import writable_tmpfs

    assert writable_tmpfs(user) == options


DOLLARS = """\
name: dollars
final:
  from: debian-slim
  entrypoint: [/bin/sleep, infinity]
  healthcheck: {cmd: [/bin/echo, "price$5 ${HOME} $$ $"]}
"""


def test_a_dollar_reaches_compose_as_itself(tmp_path: Path) -> None:
    """Compose interpolates `$VAR` and `${VAR}` in every value of its file: the probe's
    `price$5 ${HOME}` became `price$5 /root` under `docker compose config` (that is
    `price$$5 /root` in its output, which writes a literal `$` as `$$`). Every `$` the
    file holds is written `$$`: Compose reads back the image's values unchanged."""
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(DOLLARS, encoding="utf-8")
    out = tmp_path / "compose.yaml"
    service = manifest(spec, "compose", out)["services"]["dollars"]
    assert service["healthcheck"]["test"] == ["CMD", "/bin/echo", "price$$5 $${HOME} $$$$ $$"]
    config = subprocess.run(["docker", "compose", "-f", str(out), "config", "--format", "json"], capture_output=True,
                            text=True, timeout=120)  # HOME is set: `${HOME}` would be replaced
    if "is not a docker command" in config.stderr:
        tools.unavailable("docker compose is missing: install with scripts/setup-engine.sh (docker-compose)")
    assert config.returncode == 0, config.stderr
    read = json.loads(config.stdout)["services"]["dollars"]["healthcheck"]["test"]
    assert read == ["CMD", "/bin/echo", "price$$5 $${HOME} $$$$ $$"]  # its output's `$$`: a literal `$`


def test_writable_folders_of_one_name_get_volumes_of_their_own_and_zero_durations_the_engines(
        tmp_path: Path) -> None:
    """QA: `/data dir`, `/data-dir` and `/data_dir` were three volumes named writable-data-dir
    (Kubernetes refuses the Deployment), and a health check's `0s` (the engine's default: 30s;
    no start period) became 1 second."""
    spec = tmp_path / "imagespec.yaml"
    spec.write_text("name: acme/x\nfinal:\n  from: debian-slim\n  writable: ['/data dir', /data-dir, /data_dir, /a/b, "
                    "/a-b, /ü, /ä, /cache]\n  healthcheck: {cmd: [/a], interval: 0s, timeout: 0s, start_period: 0s}\n"
                    "  cmd: [/a]\n", encoding="utf-8")
    out = tmp_path / "k.yaml"
    pod = manifest(spec, "kubernetes", out)["spec"]["template"]["spec"]
    mounts = pod["containers"][0]["volumeMounts"]
    assert len({m["name"] for m in mounts}) == 8 and {v["name"] for v in pod["volumes"]} == {m["name"] for m in mounts}
    assert {"name": "writable-cache", "mountPath": "/cache"} in mounts  # a name of its own keeps its plain form
    assert all(len(m["name"]) <= 63 and m["name"].startswith("writable-") for m in mounts)
    probe = pod["containers"][0]["livenessProbe"]
    assert (probe["periodSeconds"], probe["timeoutSeconds"], probe["initialDelaySeconds"]) == (30, 30, 0)
    valid = subprocess.run([tools.require("kubernetes-validate"), "--strict", "-k", "1.30.0", str(out)],
                           capture_output=True, text=True, timeout=120)
    assert valid.returncode == 0, valid.stdout + valid.stderr
