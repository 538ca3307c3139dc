"""The SBOM of every preset's example, built by `imagespec build` on the real engine: it
is stored in the image (the label names the file), written beside the build (--sbom),
passes the validators, describes the app by the spec's name and version, and names each
runtime dependency with the version the example's own lock file pins, read here from
the lock file itself (requirements.txt, uv.lock, poetry.lock, package-lock.json,
yarn.lock, pnpm-lock.yaml, Cargo.lock, pom.xml, go.mod), and none of its dev-only ones.

Builds reuse the engine's cache (the examples are built by other tests too).
"""

from __future__ import annotations

import json
import re
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from imagespec.sbom.diff import packages
from tests.integration.conftest import EXAMPLES, LOCAL_CONFIG, docker, imagespec
from tests.leftovers import remove_untagged
from tests.sbom.validators import cyclonedx_problems, spdx_problems

pytestmark = pytest.mark.engine

Pins = dict[str, str]  # package name -> version
SBOM_LABEL = "io.imagespec.sbom"


# -- what each lock file says the app runs with (runtime, dev, in that order) ----------------


def requirements(folder: Path) -> tuple[Pins, Pins]:
    pins = dict(re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", line.strip()).groups()  # type: ignore[union-attr]
                for line in (folder / "requirements.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#"))
    return {k.lower(): v for k, v in pins.items()}, {}


def uv_lock(folder: Path) -> tuple[Pins, Pins]:
    lock = tomllib.loads((folder / "uv.lock").read_text())
    by_name = {p["name"]: p for p in lock["package"]}
    (root,) = [p for p in lock["package"] if "virtual" in p["source"] or "editable" in p["source"]]

    def closure(names: list[str]) -> Pins:
        found: Pins = {}
        while names:
            name = names.pop()
            if name not in found:
                found[name] = by_name[name]["version"]
                names += [d["name"] for d in by_name[name].get("dependencies", [])]
        return found

    runtime = closure([d["name"] for d in root.get("dependencies", [])])
    dev = closure([d["name"] for group in root.get("dev-dependencies", {}).values() for d in group])
    return runtime, {k: v for k, v in dev.items() if k not in runtime}


def poetry_lock(folder: Path) -> tuple[Pins, Pins]:
    lock = tomllib.loads((folder / "poetry.lock").read_text())
    main = {p["name"]: p["version"] for p in lock["package"] if "main" in p.get("groups", ["main"])}
    dev = {p["name"]: p["version"] for p in lock["package"] if "main" not in p.get("groups", ["main"])}
    return main, dev


def package_lock(folder: Path) -> tuple[Pins, Pins]:
    lock = json.loads((folder / "package-lock.json").read_text())
    entries = {path.rsplit("node_modules/", 1)[1]: entry for path, entry in lock["packages"].items() if path}
    return ({n: e["version"] for n, e in entries.items() if not e.get("dev")},
            {n: e["version"] for n, e in entries.items() if e.get("dev")})


def _direct(folder: Path, locked: Callable[[str], str]) -> tuple[Pins, Pins]:
    manifest = json.loads((folder / "package.json").read_text())
    return ({n: locked(n) for n in manifest.get("dependencies", {})},
            {n: locked(n) for n in manifest.get("devDependencies", {})})


def yarn_lock(folder: Path) -> tuple[Pins, Pins]:
    text = (folder / "yarn.lock").read_text()
    versions = {m[0]: m[1] for m in re.findall(r'^"?(@?[^@\s"]+)@[^\n]*:\n  version "([^"]+)"', text, re.M)}
    return _direct(folder, versions.__getitem__)


def pnpm_lock(folder: Path) -> tuple[Pins, Pins]:
    importer = yaml.safe_load((folder / "pnpm-lock.yaml").read_text())["importers"]["."]
    runtime = {n: str(v["version"]) for n, v in (importer.get("dependencies") or {}).items()}
    dev = {n: str(v["version"]) for n, v in (importer.get("devDependencies") or {}).items()}
    return runtime, dev


def cargo_lock(folder: Path) -> tuple[Pins, Pins]:
    lock = tomllib.loads((folder / "Cargo.lock").read_text())
    return {p["name"]: p["version"] for p in lock["package"] if "source" in p}, {}


def maven_pom(folder: Path) -> tuple[Pins, Pins]:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    project = ET.parse(folder / "pom.xml").getroot()

    def coordinates(node: ET.Element) -> tuple[str, str]:
        return (f"{node.findtext('m:groupId', '', ns)}/{node.findtext('m:artifactId', '', ns)}",
                node.findtext("m:version", "", ns))

    deps = project.findall("m:dependencies/m:dependency", ns)
    runtime = dict(coordinates(d) for d in deps if d.findtext("m:scope", "compile", ns) != "test")
    runtime.update([coordinates(project)])  # the app's own jar names its artifact
    return runtime, dict(coordinates(d) for d in deps if d.findtext("m:scope", "", ns) == "test")


def go_mod(folder: Path) -> tuple[Pins, Pins]:
    text = (folder / "go.mod").read_text()
    block = re.findall(r"require\s*\(([^)]*)\)", text)
    lines = re.findall(r"^require\s+(\S+\s+\S+)", text, re.M) + [ln for b in block for ln in b.splitlines()]
    pins = dict(ln.split()[:2] for ln in lines if ln.strip() and not ln.strip().startswith("//"))
    return pins, {}


def no_lock(folder: Path) -> tuple[Pins, Pins]:
    return {}, {}


#: example -> (the purl type its dependencies have, its lock reader). One app per preset.
PRESETS: dict[str, tuple[str, Callable[[Path], tuple[Pins, Pins]]]] = {
    "preset-go": ("golang", go_mod),
    "preset-c": ("deb", no_lock),  # static, on scratch: nothing but the app
    "preset-rust": ("cargo", cargo_lock),
    "preset-python": ("pypi", requirements),
    "preset-python-uv": ("pypi", uv_lock),
    "preset-python-poetry": ("pypi", poetry_lock),
    "preset-python-distroless": ("pypi", requirements),
    "preset-node": ("npm", package_lock),
    "preset-node-yarn": ("npm", yarn_lock),
    "preset-node-pnpm": ("npm", pnpm_lock),
    "preset-node-distroless": ("npm", package_lock),
    "preset-java-maven": ("maven", maven_pom),
}


#: every tag ``build`` applied in the running test (the examples' own names among them)
_APPLIED: list[str] = []


@pytest.fixture(autouse=True)
def _remove_applied_tags() -> Iterator[None]:
    """The tags a test's builds applied go after it (the examples' 1, 1.0, 1.0.0, latest and
    the commit's stayed behind, one set per commit the suite ran on)."""
    yield
    if _APPLIED:
        docker("rmi", *dict.fromkeys(_APPLIED), check=False)
        _APPLIED.clear()


def build(spec: Path, out: Path, *extra: str, env: dict | None = None) -> dict:
    result = imagespec("build", "--config", str(LOCAL_CONFIG), "--progress", "plain", "--format", "json",
                       "--sbom", str(out), *extra, str(spec), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    _APPLIED.extend(summary["tags"])
    return summary


def stored(image: str) -> tuple[str, dict]:
    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout)
    shown = imagespec("sbom", image)
    assert shown.returncode == 0, shown.stderr
    assert "made from its file system now" not in shown.stderr
    return labels[SBOM_LABEL], json.loads(shown.stdout)


def versions(document: dict, ecosystem: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for entry in packages(document):
        kind, namespace, name, _ = entry.key
        if kind == ecosystem:
            full = f"{namespace}/{name}" if namespace and kind in ("golang", "maven", "npm") else name
            found.setdefault(full.replace("%40", "@"), set()).add(entry.version)
    return found


def described(document: dict) -> tuple[str, str]:
    if "spdxVersion" in document:
        (app,) = [p for p in document["packages"] if p["SPDXID"] in document["documentDescribes"]]
        return app["name"], app["versionInfo"]
    return document["metadata"]["component"]["name"], document["metadata"]["component"]["version"]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_sbom_names_the_locked_runtime_dependencies(engine, tmp_path: Path, name: str) -> None:
    folder = EXAMPLES / name
    spec = yaml.safe_load((folder / "imagespec.yaml").read_text())
    summary = build(folder / "imagespec.yaml", tmp_path / "sbom.spdx.json")
    written = json.loads((tmp_path / "sbom.spdx.json").read_text())
    path, in_image = stored(summary["tags"][0])
    assert path == f"/usr/share/imagespec/sbom/{spec['name']}.spdx.json"
    assert in_image == written  # the file beside the build is the one in the image
    assert spdx_problems(written) == []
    assert described(written) == (spec["name"], spec["version"])
    assert "(devel)" not in json.dumps(written)

    ecosystem, lock = PRESETS[name]
    runtime, dev = lock(folder)
    found = versions(written, ecosystem)
    normal = (lambda n: n.lower().replace("_", "-")) if ecosystem == "pypi" else (lambda n: n)
    found = {normal(n): v for n, v in found.items()}
    for package, version in runtime.items():
        assert version in found.get(normal(package), set()), (package, version, sorted(found.items())[:40])
    for package in dev:
        assert normal(package) not in found, f"{package} is a dev dependency, absent from the image"
    if name == "preset-c":
        # a static binary on scratch: no package database; what is listed is what the build
        # knows: the C library linked in (the build stage's) and the init stage's tini
        assert sorted(entry.key[2] for entry in packages(written)) == ["libc6-dev", "tini"]


def test_scratch_go_app_lists_its_modules_in_cyclonedx(engine, tmp_path: Path) -> None:
    """A Go program on scratch (no package database at all): its modules come from the
    binary's build information; one module, replaced by a local directory, is listed at
    the version go.mod requires; the main module carries the spec's version."""
    app = tmp_path / "app"
    (app / "cmd" / "hi").mkdir(parents=True)
    (app / "greet").mkdir()
    (app / "go.mod").write_text("module example.com/hi\n\ngo 1.19\n\nrequire example.com/greet v1.2.3\n\n"
                                "replace example.com/greet => ./greet\n")
    (app / "greet" / "go.mod").write_text("module example.com/greet\n\ngo 1.19\n")
    (app / "greet" / "greet.go").write_text('package greet\n\nfunc Hello() string { return "hello" }\n')
    (app / "cmd" / "hi" / "main.go").write_text('package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\n'
                                                 "func main() { fmt.Println(greet.Hello()) }\n")
    (app / "imagespec.yaml").write_text("""\
name: isx15b-scratch-go
version: 2.3.4
license: MIT
stages:
  build:
    from: go-build
    env: {CGO_ENABLED: "0"}
    cache: [/root/go/pkg/mod, /root/.cache/go-build]
    copy: [.]
    run: go build -trimpath -ldflags="-s -w" -o /out/hi ./cmd/hi
    artifacts: [/out/hi]
final:
  from: scratch
  copy:
    - {from: build, src: /out/hi, dest: /usr/local/bin/hi}
  entrypoint: [/usr/local/bin/hi]
""")
    out = tmp_path / "sbom.cdx.json"
    epoch = {"SOURCE_DATE_EPOCH": "1700000000"}  # the created label too: the same image twice
    summary = build(app / "imagespec.yaml", out, "--sbom-format", "cyclonedx", env=epoch)
    try:
        written = json.loads(out.read_text())
        assert cyclonedx_problems(written) == []
        assert described(written) == ("isx15b-scratch-go", "2.3.4")
        assert written["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"
        assert versions(written, "golang") == {"example.com/greet": {"v1.2.3"}, "example.com/hi": {"2.3.4"},
                                               "stdlib": {versions(written, "golang")["stdlib"].pop()}}
        assert go_mod(app)[0] == {"example.com/greet": "v1.2.3"}
        path, in_image = stored(summary["tags"][0])
        assert path.endswith("/isx15b-scratch-go.cdx.json") and in_image == written
        # the same build again: the same SBOM, in the same layer (its diff ID is a hash of
        # its content: the file's bytes and the mtimes set to the epoch)
        first_layer = _layers(summary["image_id"])[-1]
        again = build(app / "imagespec.yaml", tmp_path / "again.cdx.json", "--sbom-format", "cyclonedx", env=epoch)
        assert (tmp_path / "again.cdx.json").read_text() == out.read_text()
        assert _layers(again["image_id"])[-1] == first_layer
        # ... and it is the same image, kept (#14): --sbom FILE was read back from it
        assert again["sbom_reused"] and again["image_id"] == summary["image_id"], again
    finally:
        docker("rmi", *summary["tags"], check=False)


def test_a_rebuild_of_the_same_inputs_keeps_the_image_and_its_sbom(engine, tmp_path: Path) -> None:
    """#14: without SOURCE_DATE_EPOCH each build's `created` label is "now", and that is all
    a rebuild of unchanged inputs changes: the image already tagged, whose SBOM layer was
    made on an image built the same way, is kept (same ID, no scan, no layer build). A
    changed input is a new image with a new SBOM of its own file system."""
    import uuid

    name = f"isx14-keep-{uuid.uuid4().hex[:8]}"
    (tmp_path / "note.txt").write_text("one\n")
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(f"name: {name}\nversion: 1.0.0\nlicense: MIT\ntags: {{git_sha: false}}\n"
                    "final:\n  from: static\n  copy: [{src: note.txt, dest: /note.txt}]\n"
                    "  entrypoint: [/note]\n")
    try:
        first = build(spec, tmp_path / "first.spdx.json")
        again = build(spec, tmp_path / "again.spdx.json")
        assert not first["sbom_reused"] and again["sbom_reused"], again
        assert again["image_id"] == first["image_id"] and again["tags"] == first["tags"]
        assert (tmp_path / "again.spdx.json").read_text() == (tmp_path / "first.spdx.json").read_text()
        (tmp_path / "note.txt").write_text("two\n")
        changed = build(spec, tmp_path / "changed.spdx.json")
        assert not changed["sbom_reused"] and changed["image_id"] != first["image_id"], changed
        made_on = '{{index .Config.Labels "io.imagespec.sbom.image"}}'
        assert docker("image", "inspect", "--format", made_on, f"{name}:1.0.0").stdout != \
            docker("image", "inspect", "--format", made_on, first["image_id"]).stdout
        assert (tmp_path / "changed.spdx.json").read_text() != (tmp_path / "first.spdx.json").read_text()
    finally:
        docker("rmi", "--force", f"{name}:1.0.0", f"{name}:1.0", f"{name}:1", f"{name}:latest", check=False)
        remove_untagged(name)  # the first image, whose tags the changed one took


def _layers(image: str) -> list[str]:
    return json.loads(docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", image).stdout)


def test_sbom_of_a_missing_image_is_exit_2(engine) -> None:
    result = imagespec("sbom", "isx15b-no-such-image:1")
    assert result.returncode == 2, result.stderr
    assert "no such image" in result.stderr and "Traceback" not in result.stderr


def test_sbom_diff_of_two_bases(engine, tmp_path: Path) -> None:
    """What lock15's update report shows: two images' package lists compared."""
    result = imagespec("sbom-diff", "--format", "json", "imagespec-test/debian:bookworm-slim",
                       "imagespec-test/python-slim:bookworm")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    added = {row["name"].split(":")[0] for row in found["added"]}
    assert {"python3.11-minimal", "libpython3.11-stdlib"} <= added
    assert not found["removed"]


def test_scans_are_remembered_by_layers(engine, tmp_path: Path) -> None:
    """A metadata-only rebuild has the same layers: its scan comes from the cache. A
    cache entry is keyed by the layers' content, and one that is not readable is re-made."""
    from imagespec.sbom.store import scan_cached

    image = "imagespec-test/static:nonroot"
    first = scan_cached(image, tmp_path).components()
    (entry,) = tmp_path.glob("*.json")
    assert any(c.name == "base-files" for c in first)
    assert scan_cached(image, tmp_path).components() == first
    doctored = json.loads(entry.read_text())
    doctored["components"][0]["version"] = "0-doctored"
    entry.write_text(json.dumps(doctored))
    assert scan_cached(image, tmp_path).components()[0].version == "0-doctored"  # read, not re-scanned
    entry.write_text("{half a file")
    assert scan_cached(image, tmp_path).components() == first


#: example -> the catalog name of the image its static program is compiled on ("" for none)
STATIC_INIT = {"preset-c": "gcc-build", "preset-rust": "rust-build", "preset-node": ""}


@pytest.mark.parametrize("name", sorted(STATIC_INIT))
def test_tini_and_the_static_c_library_are_listed_with_the_versions_they_have(engine, tmp_path: Path,
                                                                              name: str) -> None:
    """tini, copied from the init stage, is listed with the version the binary itself
    prints (supplier Debian, MIT, from the Debian source package); a static program's C
    library with the version the build stage's image has (dpkg-query there); both say
    that they were not read from the image's file system."""
    summary = build(EXAMPLES / name / "imagespec.yaml", tmp_path / "sbom.spdx.json")
    written = json.loads((tmp_path / "sbom.spdx.json").read_text())
    assert spdx_problems(written) == []
    image = summary["tags"][0]
    printed = docker("run", "--rm", "--network", "none", "--entrypoint", "/usr/bin/tini", image, "--version").stdout
    version = re.fullmatch(r"tini version (\S+)", printed.strip()).group(1)  # type: ignore[union-attr]
    by_name = {p["name"]: p for p in written["packages"]}
    tini = by_name["tini"]
    assert (tini["versionInfo"], tini["licenseDeclared"], tini["supplier"]) == (version, "MIT", "Organization: Debian")
    assert tini["externalRefs"][0]["referenceLocator"] == f"pkg:deb/debian/tini@{version}?arch=source"
    assert "not read from the image's file system alone" in tini["annotations"][0]["comment"]
    catalog = yaml.safe_load((LOCAL_CONFIG.parent / "../bases/catalog.local.yaml").read_text())["images"]
    if STATIC_INIT[name]:
        base = catalog[STATIC_INIT[name]]["image"]
        libc = docker("run", "--rm", "--network", "none", base, "dpkg-query", "-W", "-f", "${Version}",
                      "libc6-dev").stdout
        assert by_name["libc6-dev"]["versionInfo"] == libc
        assert "the build stage 'build'" in by_name["libc6-dev"]["annotations"][0]["comment"]
        assert base in by_name["libc6-dev"]["annotations"][0]["comment"]
    else:  # node runs on glibc from the final's own package database: nothing static to add
        assert "libc6-dev" not in by_name and "annotations" not in by_name["libc6"]


def test_a_build_images_c_library_is_read_once_per_image_id(engine, tmp_path: Path) -> None:
    """The build stage's dpkg status is read from two files of a created container, then
    remembered by the image's ID; an image the engine does not hold gives None (nothing
    is claimed), not an error."""
    from imagespec.sbom.store import image_packages

    (first,) = image_packages("imagespec-test/gcc:bookworm", ("libc6-dev", "musl-dev"), tmp_path)  # type: ignore[misc]
    libc = docker("run", "--rm", "--network", "none", "imagespec-test/gcc:bookworm", "dpkg-query", "-W", "-f",
                  "${Version}", "libc6-dev").stdout
    assert (first.name, first.version) == ("libc6-dev", libc) and "LGPL-2.1-or-later" in first.licenses
    (entry,) = tmp_path.glob("packages-*.json")
    entry.write_text(entry.read_text().replace(libc, "0-doctored"))
    assert image_packages("imagespec-test/gcc:bookworm", ("libc6-dev", "musl-dev"), tmp_path)[0].version == \
        "0-doctored"  # type: ignore[index]  # read from the cache, not the image
    assert image_packages("isx15b-no-such-image:1", ("libc6-dev",), tmp_path) is None


def test_imagespec_test_checks_the_images_own_sbom(engine, tmp_path: Path) -> None:
    """Issue 15 (BP16): `imagespec test SPEC` reports the `sbom` check, in text and JSON:
    the image `imagespec build` made carries its own SBOM; the same Dockerfile built by
    docker alone (no SBOM layer, no label) fails it."""
    import shutil

    app = tmp_path / "app"
    shutil.copytree(EXAMPLES / "go-hello", app)
    spec = app / "imagespec.yaml"
    spec.write_text(spec.read_text().replace("name: go-hello", "name: smallfix-sbomcheck"))
    tags = [f"smallfix-sbomcheck:{tag}" for tag in ("1.4.2", "1.4", "1", "latest")]
    bare = "smallfix-sbomcheck-bare:1"
    try:
        built = imagespec("build", str(spec), "--config", str(LOCAL_CONFIG), "--progress", "quiet")
        assert built.returncode == 0, built.stderr[-3000:]
        tested = imagespec("test", str(spec), "--config", str(LOCAL_CONFIG), "--format", "json")
        assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
        (check,) = [c for c in json.loads(tested.stdout)["checks"] if c["name"] == "sbom"]
        assert check["ok"] and check["bp"] == "BP16", check
        assert check["detail"].startswith("/usr/share/imagespec/sbom/smallfix-sbomcheck.spdx.json: SPDX-2.3, ")
        text = imagespec("test", str(spec), "--config", str(LOCAL_CONFIG))
        assert text.returncode == 0 and re.search(r"sbom\s.*ok\s.*BP16", text.stdout), text.stdout

        dockerfile = imagespec("generate", str(spec), "--config", str(LOCAL_CONFIG), "-o", "-")
        assert dockerfile.returncode == 0, dockerfile.stderr
        (app / "Dockerfile").write_text(dockerfile.stdout)
        docker("buildx", "build", "--network", "host", "--load", "--quiet", "-t", bare, str(app), timeout=600)
        failed = imagespec("test", str(spec), "--config", str(LOCAL_CONFIG), "--image", bare, "--format", "json")
        assert failed.returncode == 1, failed.stdout[-3000:] + failed.stderr[-2000:]
        (check,) = [c for c in json.loads(failed.stdout)["checks"] if c["name"] == "sbom"]
        assert not check["ok"] and "no io.imagespec.sbom label" in check["detail"], check
        # an image tested without its spec: not checked when it has no label
        alone = imagespec("test", bare, "--format", "json")
        assert "sbom" not in [c["name"] for c in json.loads(alone.stdout)["checks"]], alone.stdout[-2000:]
    finally:
        docker("rmi", *tags, bare, check=False)
