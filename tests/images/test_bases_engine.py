"""`imagespec base build` on the engine (issue 5): the bases of bases/ as built by
scripts/make-bases.sh (which runs that command), checked as their users rely on them,
plus reproducibility and bad input on small throw-away bases of our own.

Shell-less images are inspected through `docker export` (nothing can run in them but
their own binaries); binaries are compiled here with the machine's gcc (Debian 12, the
same glibc as the bases) and bind-mounted read-only.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import textwrap
import urllib.request
from pathlib import Path

import pytest

from tests import tools
from tests.images.support import PREFIX, REPO, RUN_ID, SLIM, STATIC, docker, imagespec, require_images

pytestmark = pytest.mark.engine

LOCAL_CONFIG = REPO / "scripts" / "local-config.yaml"
CATALOG = REPO / "bases" / "catalog.local.yaml"
CC = "imagespec-test/cc:nonroot"
PYTHON = "imagespec-test/python-distroless:nonroot"
NODE = "imagespec-test/node-distroless:nonroot"
SHELL_LESS = [STATIC, CC, PYTHON, NODE]


def exported(client, image: str) -> dict[str, tarfile.TarInfo]:  # type: ignore[no-untyped-def]
    """Every path of an image's file system (no leading ./), from a never-started container."""
    container = client.containers.create(image, entrypoint=["/nonexistent"], network_mode="none")
    try:
        data = b"".join(container.export())
    finally:
        container.remove(force=True, v=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name.removeprefix("./").rstrip("/"): m for m in tar.getmembers()}


def read_file(client, image: str, path: str) -> bytes:  # type: ignore[no-untyped-def]
    container = client.containers.create(image, entrypoint=["/nonexistent"], network_mode="none")
    try:
        stream, _ = container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            assert member is not None
            extracted = tar.extractfile(member)
            assert extracted is not None
            return extracted.read()
    finally:
        container.remove(force=True, v=True)


# --- the bases of bases/ -------------------------------------------------------------------

@pytest.mark.parametrize("image", SHELL_LESS)
def test_shell_less_bases_have_no_shell_no_package_manager_and_user_65532(client, image: str) -> None:
    require_images(client, image)
    files = exported(client, image)
    for forbidden in ("bin/sh", "usr/bin/sh", "bin/bash", "usr/bin/bash", "bin/dash", "usr/bin/dash",
                      "usr/bin/apt", "usr/bin/apt-get", "usr/bin/dpkg", "bin/busybox"):
        assert forbidden not in files, f"{image} ships {forbidden}"
    passwd = files["etc/passwd"]
    assert passwd.isfile()
    lines = read_file(client, image, "/etc/passwd").decode().splitlines()
    assert "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin" in lines
    assert lines[0].startswith("root:x:0:0:")
    assert files["tmp"].mode & 0o7777 == 0o1777
    home = files["home/nonroot"]
    assert (home.uid, home.gid, home.mode & 0o777) == (65532, 65532, 0o700)
    assert client.images.get(image).attrs["Config"]["User"] == "65532:65532"


def test_slim_base_is_like_debian_slim_and_installs_with_apt(client, cleanup, tmp_path: Path) -> None:
    require_images(client, SLIM)
    files = exported(client, SLIM)
    assert "etc/apt/apt.conf.d/docker-clean" in files and "etc/dpkg/dpkg.cfg.d/docker" in files
    assert not [f for f in files if f.startswith("var/lib/apt/lists/") and not f.endswith(("lock", "partial"))]
    assert not [f for f in files if f.startswith("usr/share/doc/") and files[f].isfile()
                and not f.endswith("/copyright")], "docs other than copyright files"
    assert files["bin"].issym() and files["lib"].issym(), "merged /usr"
    # a RUN step installs a package: apt works, dpkg's filters keep its docs out
    (tmp_path / "Dockerfile").write_text(
        f"FROM {SLIM}\nRUN apt-get update && apt-get install -y --no-install-recommends hello"
        " && rm -rf /var/lib/apt/lists/*\nCMD [\"hello\"]\n")
    tag = cleanup.name("slim-apt")
    built = docker("build", "--network", "host", "-q", "-t", tag, str(tmp_path), timeout=300)
    assert built.returncode == 0, built.stderr
    ran = docker("run", "--rm", "--network", "none", tag)
    assert ran.stdout.strip() == "Hello, world!"
    docs = docker("run", "--rm", "--network", "none", tag, "find", "/usr/share/doc/hello", "-type", "f")
    assert docs.stdout.split() == ["/usr/share/doc/hello/copyright"]


@pytest.fixture(scope="module")
def binaries(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = tools.require("gcc")
    folder = tmp_path_factory.mktemp("bin")
    (folder / "hello.c").write_text('#include <stdio.h>\nint main(void) { puts("hello from C"); return 0; }\n')
    for name, flags in (("hello-static", ["-static"]), ("hello-glibc", [])):
        subprocess.run([gcc, "-O2", *flags, "-o", str(folder / name), str(folder / "hello.c")], check=True)
    folder.chmod(0o755)
    return folder


def _run_mounted(image: str, folder: Path, program: str) -> subprocess.CompletedProcess[str]:
    return docker("run", "--rm", "--network", "none", "-v", f"{folder}:/t:ro", "--entrypoint", f"/t/{program}", image)


def test_a_static_binary_runs_on_static_and_a_glibc_binary_needs_cc(client, binaries: Path) -> None:
    require_images(client, STATIC, CC)
    assert _run_mounted(STATIC, binaries, "hello-static").stdout == "hello from C\n"
    assert _run_mounted(CC, binaries, "hello-glibc").stdout == "hello from C\n"
    assert _run_mounted(STATIC, binaries, "hello-glibc").returncode != 0, "static has no libc: it must not run"


TLS_CHECK = textwrap.dedent("""\
    import socket, ssl, sys, threading, zoneinfo, datetime
    default = ssl.create_default_context()
    cas = default.cert_store_stats()["x509_ca"]
    assert cas > 100, f"the CA bundle holds {cas} certificates"
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain("/t/server.pem", "/t/server.key")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    def serve():
        for _ in range(2):
            conn, _ = listener.accept()
            try:
                with server.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError):
                pass
    threading.Thread(target=serve, daemon=True).start()
    def fetch(context):
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.recv(2)
    try:
        fetch(default)
        sys.exit("a certificate from an unknown CA was accepted")
    except ssl.SSLCertVerificationError:
        pass
    assert fetch(ssl.create_default_context(cafile="/t/ca.pem")) == b"ok"
    paris = zoneinfo.ZoneInfo("Europe/Paris").utcoffset(datetime.datetime(2024, 1, 15))
    assert paris == datetime.timedelta(hours=1), paris
    print("tls and time zones ok")
""")


def test_python_distroless_verifies_tls_and_resolves_time_zones(client, tmp_path: Path) -> None:
    require_images(client, PYTHON)
    openssl_path = tools.require("openssl")

    def openssl(*args: str) -> None:
        subprocess.run([openssl_path, *args], check=True, capture_output=True, cwd=tmp_path)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=imagespec test CA",
            "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    (tmp_path / "ext.cnf").write_text("subjectAltName=DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "ext.cnf", "-out", "server.pem")
    (tmp_path / "check.py").write_text(TLS_CHECK)
    for path in tmp_path.iterdir():
        path.chmod(0o644)
    tmp_path.chmod(0o755)
    ran = docker("run", "--rm", "--network", "none", "-v", f"{tmp_path}:/t:ro", PYTHON, "python3", "/t/check.py")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "tls and time zones ok\n"


def test_node_distroless_runs_node_without_npm_or_corepack(client) -> None:
    """BP6: the runtime has node and the libraries it loads, none of the tools that
    install packages (build_tools: npm, npx, corepack wherever they are)."""
    from imagespec.verify.build_tools import find

    require_images(client, NODE)
    assert find(exported(client, NODE)) == {}
    ran = docker("run", "--rm", "--network", "none", "--entrypoint", "/nodejs/bin/node", NODE, "-e",
                 "console.log(require('https') && new Intl.NumberFormat('de-DE').format(1234.5))")
    assert (ran.returncode, ran.stdout) == (0, "1.234,5\n"), ran.stderr


def test_static_resolves_time_zones_from_its_own_files(client) -> None:
    require_images(client, STATIC)
    files = exported(client, STATIC)
    assert files["etc/localtime"].issym() and files["etc/localtime"].linkname == "/usr/share/zoneinfo/Etc/UTC"
    assert files["usr/share/zoneinfo/Europe/Paris"].isfile()
    assert not [f for f in files if f.startswith("usr/share/zoneinfo/right/")], "leap-second copies are dropped"


@pytest.mark.parametrize(("image", "name", "expected"), [
    (SLIM, "debian-slim", {"base-files", "dpkg", "libc6", "apt"}),
    (STATIC, "static", {"base-files", "netbase", "tzdata", "ca-certificates"}),
    (CC, "cc", {"base-files", "libc6", "libstdc++6"}),
    (PYTHON, "python-distroless", {"libc6", "python3.11-minimal", "libpython3.11-stdlib"}),
])
def test_every_base_carries_its_sbom_as_file_and_label(client, image: str, name: str, expected: set[str]) -> None:
    require_images(client, image)
    labels = client.images.get(image).labels
    assert labels["io.imagespec.base"] == name
    path = labels["io.imagespec.sbom"]
    assert path == f"/usr/share/imagespec/sbom/{name}.spdx.json"
    sbom = json.loads(read_file(client, image, path))
    assert sbom["spdxVersion"] == "SPDX-2.3" and sbom["name"] == name
    names = {p["name"] for p in sbom["packages"]}
    assert expected <= names
    licensed = [p for p in sbom["packages"] if p.get("licenseDeclared", "NOASSERTION") != "NOASSERTION"]
    assert len(licensed) >= 0.9 * (len(sbom["packages"]) - 1), "licences found for (almost) every package (BP16)"


def test_the_written_catalog_pins_what_is_tagged(client) -> None:
    if not CATALOG.is_file():
        pytest.fail(f"{CATALOG} is missing: scripts/make-bases.sh writes it")
    import yaml

    entries = yaml.safe_load(CATALOG.read_text())["images"]
    assert {"debian-slim", "static", "cc", "go-build", "python-distroless", "node-runtime"} <= set(entries)
    for name, entry in entries.items():
        assert entry["digest"] == client.images.get(entry["image"]).id, f"{name}: the catalog's digest is stale"
    assert entries["static"]["family"] == "distroless" and entries["static"]["user"] == 65532
    assert entries["go-build"]["family"] == "debian"


# --- reproducibility and bad input, on throw-away bases -------------------------------------------

def temporary_tags() -> list[str]:
    """The imagespec-tmp/ tags the engine holds, in one listing: the SDK's images.list()
    inspects every image after listing them, and fails when another process on the same
    engine removes one in between."""
    done = docker("image", "ls", "--filter", "reference=imagespec-tmp/*", "--format", "{{.Repository}}:{{.Tag}}")
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def _base(tmp_path: Path, name: str, body: str) -> tuple[Path, str]:
    reference = f"{PREFIX}/{name}-{RUN_ID}:1"
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"imagespec: 1\nbase: {name}\nimage: {reference}\n{textwrap.dedent(body)}")
    return path, reference


def _build(path: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return imagespec("base", "build", str(path), "--config", str(LOCAL_CONFIG), "--progress", "quiet",
                     "--format", "json", "--logs", str(path.parent / "logs"), *more)


def test_a_bootstrapped_base_is_bit_for_bit_reproducible(client, cleanup, tmp_path: Path) -> None:
    path, reference = _base(tmp_path, "tiny", """\
        bootstrap:
          suite: bookworm
          variant: apt
          updates: false
        """)
    cleanup.image(reference)
    first = _build(path, "--force")
    assert first.returncode == 0, first.stderr
    image_id = json.loads(first.stdout)["bases"][0]["id"]
    client.images.remove(reference, force=True)  # gone from the engine: the next load must recreate it
    second = _build(path, "--force")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["bases"][0]["id"] == image_id
    labels = client.images.get(reference).labels
    epoch = int(labels["io.imagespec.source-date-epoch"])
    assert client.images.get(reference).attrs["Created"].startswith(
        __import__("datetime").datetime.fromtimestamp(epoch, __import__("datetime").UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    again = _build(path)  # same inputs, no --force: nothing to do
    assert json.loads(again.stdout)["bases"][0]["status"] == "up to date"


def test_a_distroless_base_has_the_same_layers_when_rebuilt_without_cache(client, cleanup, tmp_path: Path) -> None:
    require_images(client, SLIM)
    path, reference = _base(tmp_path, "root", """\
        distroless:
          assemble_in: debian-slim
          packages: [base-files, netbase, tzdata]
        """)
    cleanup.image(reference)
    layers, ids = [], []
    for _ in range(2):
        done = _build(path, "--force")
        assert done.returncode == 0, done.stderr
        layers.append(client.images.get(reference).attrs["RootFS"]["Layers"])
        ids.append(client.images.get(reference).id)
    assert layers[0] == layers[1], "the same packages and epoch give the same diff IDs"
    # this engine's BuildKit also takes SOURCE_DATE_EPOCH for the config's times: the whole image repeats
    assert ids[0] == ids[1]
    assert temporary_tags() == []


@pytest.mark.parametrize(("body", "code", "message", "line"), [
    ("bootstrap: {suite: bookwurm, updates: false}\n", 2, "the mirror has no suite 'bookwurm'", 4),
    ("bootstrap: {suite: bookworm, mirror: 'http://127.0.0.1:9/debian'}\n", 3, "cannot be reached", 4),
    ("bootstrap:\n  suite: bookworm\n  updates: false\n  include: [imagespec-no-such-package]\n", 2,
     "package 'imagespec-no-such-package' is not in bookworm", 7),
    ("distroless:\n  assemble_in: debian-slim\n  packages: [base-files, imagespec-no-such-package]\n", 2,
     "package 'imagespec-no-such-package' does not exist", 6),
])
def test_bad_input_is_one_clear_error_and_tags_nothing(client, cleanup, tmp_path: Path, body: str, code: int,
                                                        message: str, line: int) -> None:
    require_images(client, SLIM)
    path, reference = _base(tmp_path, "broken", body)
    cleanup.image(reference)
    catalog = tmp_path / "catalog.yaml"
    done = imagespec("base", "build", str(path), "--config", str(LOCAL_CONFIG), "--progress", "quiet",
                     "--catalog", str(catalog), "--logs", str(tmp_path / "logs"))
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    last = [ln for ln in done.stderr.splitlines() if not ln.startswith(("imagespec: ", "  hint:"))]
    assert last and last[0].startswith(f"{path}:{line}:") and message in last[0], done.stderr
    assert docker("image", "inspect", reference).returncode != 0, "nothing may be tagged"
    assert not catalog.exists(), "no catalog names a base that failed"
    assert temporary_tags() == []


def test_a_pushed_base_is_pinned_by_its_registry_digest_and_an_app_builds_on_it(client, cleanup, tmp_path: Path) -> None:
    """--push: the catalog names `ref@digest` (BP13), and an app spec that resolves
    through that catalog builds FROM exactly that image."""
    from imagespec.publish.registry import lookup

    require_images(client, SLIM)
    try:
        urllib.request.urlopen("http://127.0.0.1:5000/v2/", timeout=2).close()
    except OSError as error:
        pytest.fail(f"no registry on 127.0.0.1:5000 ({error}): scripts/start-registry.sh starts one")
    reference = f"127.0.0.1:5000/{PREFIX}/pushed-{RUN_ID}:1"
    spec = tmp_path / "pushed.yaml"
    spec.write_text(f"imagespec: 1\nbase: pushed-root\nimage: {reference}\n"
                    "distroless: {assemble_in: debian-slim, packages: [base-files, netbase]}\n")
    cleanup.image(reference)
    catalog = tmp_path / "catalog.yaml"
    done = imagespec("base", "build", str(spec), "--push", "--catalog", str(catalog), "--config", str(LOCAL_CONFIG),
                     "--progress", "quiet", "--format", "json")
    assert done.returncode == 0, done.stderr
    remote = lookup(reference.rsplit(":", 1)[0], "1")
    assert remote is not None
    entry = __import__("yaml").safe_load(catalog.read_text())["images"]["pushed-root"]
    assert entry["image"] == f"{reference}@{remote.digest}" and entry["digest"] == remote.digest

    app = tmp_path / "app"
    app.mkdir()
    (app / "catalog.yaml").write_text(catalog.read_text())  # a found configuration's catalog lies in its repository
    (app / ".imagespec.yaml").write_text("catalog: catalog.yaml\nbuild: {network: host}\n")
    (app / "imagespec.yaml").write_text("name: imagespec-buildtest/on-pushed\nfinal:\n  from: pushed-root\n"
                                        "  cmd: [/nonexistent]\n")
    generated = imagespec("generate", "-o", "-", str(app / "imagespec.yaml"))
    assert f"FROM {reference}@{remote.digest} AS final" in generated.stdout, generated.stderr
    tag = cleanup.name("on-pushed")
    built = imagespec("build", str(app / "imagespec.yaml"), "--tag", tag, "--progress", "quiet")
    assert built.returncode == 0, built.stderr
    assert client.images.get(tag).attrs["RootFS"]["Layers"][:1] == client.images.get(reference).attrs["RootFS"]["Layers"][:1]


def test_base_sbom_writes_the_spdx_document_of_any_image(client, tmp_path: Path) -> None:
    require_images(client, STATIC)
    out = tmp_path / "static.spdx.json"
    first = imagespec("base", "sbom", STATIC, "-o", str(out))
    assert first.returncode == 0, first.stderr
    document = json.loads(out.read_text())
    assert {p["name"] for p in document["packages"]} >= {"base-files", "netbase", "tzdata", "ca-certificates"}
    again = imagespec("base", "sbom", STATIC)
    assert again.stdout == out.read_text(), "the same image gives the same document"
    missing = imagespec("base", "sbom", f"{PREFIX}/no-such-image-{RUN_ID}:1")
    assert missing.returncode == 2 and "no such image" in missing.stderr
