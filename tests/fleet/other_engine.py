"""A second Docker Engine beside the machine's, as a builder that is not the local engine.

No buildkitd binary or BuildKit image can be had here (no registry is reachable), so the
remote, kubernetes and docker-container drivers cannot run. What can: a second dockerd
(the same Debian package) with its own socket, data root, exec root and PID file under a
temporary folder, reached through a docker context, which buildx lists as a builder
(docker driver). Its image store has none of the local bases, so what changes on a
builder that is not the engine's own really changes there: bases come from the registry,
results are pushed, the cache goes through the registry, secrets still come from the
client. It runs with the containerd image store (``--feature
containerd-snapshotter=true``): the docker driver exports cache to a registry only then.

Started as a child of the test session (its own managed containerd under its exec root,
so nothing is shared with the main engine's); stopped by its PID, its context removed and
its folder deleted afterwards. The main engine is never touched.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests import docker_cli

DOCKERD = Path("/usr/sbin/dockerd")
REGISTRY = "127.0.0.1:5000"
WAIT_S = 90
#: what a manifest or index may be, for the registry's HEAD/DELETE by digest
MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json"))


def docker(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return docker_cli.docker(*args, check=check, timeout=timeout)


@dataclass
class OtherEngine:
    """A running second dockerd: ``context`` is the docker context (and buildx builder)
    that reaches it at ``host``."""

    root: Path
    context: str
    proc: subprocess.Popen[bytes]

    @property
    def host(self) -> str:
        return f"unix://{self.root / 'docker.sock'}"

    def docker(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """The docker CLI against this engine."""
        return docker("--context", self.context, *args, check=check, timeout=timeout)

    def log_tail(self) -> str:
        try:
            return (self.root / "dockerd.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def start(name: str) -> OtherEngine:
    """Start a dockerd named ``name`` (its context's name too) under a new /tmp folder."""
    # a short folder: the socket's path must stay under the 108 bytes of a unix address
    root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir="/tmp"))
    (root / "daemon.json").write_text("{}\n")  # not the machine's /etc/docker/daemon.json
    log = (root / "dockerd.log").open("wb")
    argv = [str(DOCKERD), "--config-file", str(root / "daemon.json"), "--host", f"unix://{root / 'docker.sock'}",
            "--data-root", str(root / "data"), "--exec-root", str(root / "exec"),
            "--pidfile", str(root / "docker.pid"),
            # no bridge, no iptables rules: as the machine's own engine (ENVIRONMENT.md)
            "--bridge=none", "--iptables=false", "--ip6tables=false",
            "--feature", "containerd-snapshotter=true"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    engine = OtherEngine(root, name, proc)
    try:
        _wait(engine)
        docker("context", "create", name, "--description", "imagespec tests: a second engine",
               "--docker", f"host={engine.host}")
    except BaseException:
        stop(engine)
        raise
    return engine


def _wait(engine: OtherEngine) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if engine.proc.poll() is not None:
            raise RuntimeError(f"the second dockerd exited ({engine.proc.returncode}):\n{engine.log_tail()}")
        done = docker("--host", engine.host, "info", "--format", "{{.ServerVersion}}", check=False, timeout=30)
        if done.returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the second dockerd did not answer within {WAIT_S} s:\n{engine.log_tail()}")


def stop(engine: OtherEngine) -> None:
    """Remove the context, stop that dockerd by its PID (its containerd stops with it), and
    delete its folder."""
    docker("context", "rm", "--force", engine.context, check=False)
    if engine.proc.poll() is None:
        engine.proc.send_signal(signal.SIGTERM)
        try:
            engine.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            engine.proc.kill()
            engine.proc.wait(timeout=30)
    _unmount_below(engine.root)
    shutil.rmtree(engine.root, ignore_errors=True)


def _unmount_below(root: Path) -> None:
    """Whatever the stopped daemon left mounted below ``root`` (normally nothing), deepest first."""
    try:
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return
    for point in sorted((m for m in mounts if m.startswith(f"{root}/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


# -- the registry: the bases a builder without the local images pulls, and cleanup ------

def registry_up() -> str | None:
    """None when the registry answers, else why not."""
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=3).close()
    except OSError as error:
        return f"no registry on {REGISTRY} ({error}); scripts/start-registry.sh starts one"
    return None


def push_base(local: str, repository: str) -> tuple[str, str]:
    """Push the local image ``local`` as ``REGISTRY/repository:tag`` (its tag kept); the
    reference and its registry digest. The local tag made for it is removed again."""
    tag = local.rsplit(":", 1)[1]
    reference = f"{REGISTRY}/{repository}:{tag}"
    docker("tag", local, reference)
    try:
        docker("push", reference)
        digests = json.loads(docker("image", "inspect", "--format", "{{json .RepoDigests}}", reference).stdout)
    finally:
        docker("rmi", reference, check=False)  # the tag only: the image stays as it was
    digest = next(d.split("@", 1)[1] for d in digests if d.startswith(f"{REGISTRY}/{repository}@"))
    return reference, digest


def repositories(prefix: str) -> list[str]:
    """The registry's repositories named ``prefix/…`` (its catalog, page by page: the
    registry answers at most 1000 names a request)."""
    found, page = [], f"/v2/_catalog?n=1000&last={prefix}"
    while page:
        with urllib.request.urlopen(f"http://{REGISTRY}{page}", timeout=10) as answer:
            names = json.load(answer).get("repositories") or []
            link = answer.headers.get("Link") or ""
        found += [name for name in names if name.startswith(f"{prefix}/")]
        past = bool(names) and names[-1] > f"{prefix}/\uffff"  # sorted: nothing of ours further on
        page = link[link.index("<") + 1:link.index(">")] if "<" in link and not past else ""
    return found


def tags(repository: str) -> list[str]:
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/{repository}/tags/list", timeout=10) as answer:
            return sorted(json.load(answer).get("tags") or [])
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise


def digest(repository: str, tag: str) -> str:
    """The digest the registry's ``repository:tag`` names now."""
    head = urllib.request.Request(f"http://{REGISTRY}/v2/{repository}/manifests/{tag}", method="HEAD",
                                  headers={"Accept": MANIFEST_TYPES})
    with urllib.request.urlopen(head, timeout=10) as answer:
        return str(answer.headers["Docker-Content-Digest"])


def delete_repositories(prefix: str) -> None:
    """Delete every manifest of the repositories named ``prefix/…`` (the registry allows
    deletes; its blobs wait for the registry's own garbage collection)."""
    for repository in repositories(prefix):
        for tag in tags(repository):
            try:
                named = digest(repository, tag)
                delete = urllib.request.Request(f"http://{REGISTRY}/v2/{repository}/manifests/{named}",
                                                method="DELETE")
                urllib.request.urlopen(delete, timeout=10).close()
            except urllib.error.HTTPError:
                continue  # deleted already through another tag of the same digest

