"""SPDX 2.3 and CycloneDX 1.5 documents of an app, checked by other people's validators;
deterministic output; the app as the described package; and diffs of two SBOMs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagespec.errors import SpecError
from imagespec.sbom import diff, diff_files
from imagespec.sbom.component import Component
from imagespec.sbom.document import App, document, to_json
from tests.sbom.validators import cyclonedx_problems, spdx_problems

CREATED = "2024-01-02T03:04:05Z"
APP = App("shop", "1.4.2", "Apache-2.0", "registry.example/shop:1.4.2", programs=("/usr/local/bin/shop",))
COMPONENTS = [
    Component("deb", "libc6", "2.36-9+deb12u7", ("LGPL-2.1-or-later", "LicenseRef-public-domain"),
              location="/usr/share/doc/libc6/copyright", architecture="amd64", note="built from glibc"),
    Component("golang", "example.com/shop", "", location="/usr/local/bin/shop", note="main module"),
    Component("golang", "stdlib", "1.19.8", location="/usr/local/bin/shop"),
    Component("golang", "github.com/a/b", "v1.2.3", location="/usr/local/bin/shop"),
    Component("pypi", "MarkupSafe", "2.1.5", ("BSD-3-Clause",), location="/opt/venv/x.dist-info"),
    Component("npm", "@types/node", "20.1.0", ("MIT",), location="/app/node_modules/@types/node"),
    Component("npm", "weird", "1.0.0", ("LicenseRef-Some-Words", "(MIT OR Apache-2.0)"), location="/app/node_modules/w"),
    Component("maven", "lib", "3.4.5", location="/app/app.jar", group="org.example"),
    Component("cargo", "itoa", "1.0.11", location="Cargo.lock of the build context"),
]


@pytest.mark.parametrize("fmt", ["spdx", "cyclonedx"])
def test_documents_pass_the_validators(fmt: str) -> None:
    produced = document(fmt, APP, COMPONENTS, created=CREATED)
    problems = spdx_problems(produced) if fmt == "spdx" else cyclonedx_problems(produced)
    assert problems == []


def test_the_validators_can_fail() -> None:
    """A broken document is refused: the checks above are not vacuous."""
    spdx = document("spdx", APP, COMPONENTS, created=CREATED)
    spdx["packages"][1]["licenseDeclared"] = "LicenseRef-Undefined"
    assert spdx_problems(spdx)
    cdx = document("cyclonedx", APP, COMPONENTS, created=CREATED)
    cdx["components"][0]["type"] = "not-a-type"
    assert cyclonedx_problems(cdx)


def test_spdx_describes_the_app_by_the_specs_name_and_version() -> None:
    produced = document("spdx", APP, COMPONENTS, created=CREATED)
    (app,) = [p for p in produced["packages"] if p["SPDXID"] in produced["documentDescribes"]]
    assert (app["name"], app["versionInfo"], app["licenseDeclared"]) == ("shop", "1.4.2", "Apache-2.0")
    contained = {r["relatedSpdxElement"] for r in produced["relationships"] if r["relationshipType"] == "CONTAINS"}
    assert contained == {p["SPDXID"] for p in produced["packages"]} - {app["SPDXID"]}
    versions = {p["name"]: p["versionInfo"] for p in produced["packages"]}
    assert versions["example.com/shop"] == "1.4.2"  # the Go main module's (devel) is the app's version
    assert "(devel)" not in json.dumps(produced)


def test_cyclonedx_names_the_app_and_every_component() -> None:
    produced = document("cyclonedx", APP, COMPONENTS, created=CREATED)
    assert produced["metadata"]["component"]["name"] == "shop"
    assert produced["metadata"]["component"]["version"] == "1.4.2"
    purls = {c["purl"] for c in produced["components"]}
    assert "pkg:npm/%40types/node@20.1.0" in purls and "pkg:maven/org.example/lib@3.4.5" in purls
    assert "pkg:golang/example.com/shop@1.4.2" in purls
    assert produced["dependencies"][0]["dependsOn"] == [c["bom-ref"] for c in produced["components"]]


@pytest.mark.parametrize("fmt", ["spdx", "cyclonedx"])
def test_documents_are_deterministic(fmt: str) -> None:
    first = to_json(document(fmt, APP, COMPONENTS, created=CREATED))
    assert to_json(document(fmt, APP, list(reversed(COMPONENTS)), created=CREATED)) == first
    # identity from content: another package list is another namespace / serial number
    other = document(fmt, APP, COMPONENTS[:-1], created=CREATED)
    key = "documentNamespace" if fmt == "spdx" else "serialNumber"
    assert other[key] != json.loads(first)[key]


def test_app_without_a_licence_and_empty_list_still_validate() -> None:
    bare = App("scratch-app", "0.1.0")
    assert spdx_problems(document("spdx", bare, [], created=CREATED)) == []
    assert cyclonedx_problems(document("cyclonedx", bare, [], created=CREATED)) == []


# -- diff ----------------------------------------------------------------------------------


def _bump(components: list[Component]) -> list[Component]:
    from dataclasses import replace

    changed = [replace(c, version="2.36-9+deb12u8") if c.name == "libc6" else c for c in components]
    return [c for c in changed if c.name != "lib"] + [Component("deb", "tzdata", "2024a-0+deb12u1", architecture="all")]


@pytest.mark.parametrize(("old_fmt", "new_fmt"), [("spdx", "spdx"), ("cyclonedx", "cyclonedx"), ("spdx", "cyclonedx")])
def test_diff_names_added_removed_and_changed(old_fmt: str, new_fmt: str) -> None:
    old = document(old_fmt, APP, COMPONENTS, created=CREATED)
    new = document(new_fmt, APP, _bump(COMPONENTS), created=CREATED)
    found = diff(old, new)
    assert [(c.ecosystem, c.name, c.new) for c in found.added] == [("deb", "tzdata:all", ("2024a-0+deb12u1",))]
    assert [(c.ecosystem, c.name, c.old) for c in found.removed] == [("maven", "org.example/lib", ("3.4.5",))]
    assert [(c.name, c.old, c.new) for c in found.changed] == [
        ("libc6:amd64", ("2.36-9+deb12u7",), ("2.36-9+deb12u8",))]
    assert found.unchanged == len(COMPONENTS) - 2
    assert found.lines()[0] == "+ deb tzdata:all 2024a-0+deb12u1"
    assert diff(old, old).empty


def test_diff_reads_the_bases_spdx_too() -> None:
    """Any SPDX document with purls: the bases' (imagespec.sbom.spdx) as well as the apps'."""
    from imagespec.sbom.dpkg import Package
    from imagespec.sbom.spdx import spdx_document

    def base(version: str) -> dict:
        package = Package("libc6", version, "amd64", "glibc", version, "m")
        return spdx_document(name="b", image="b", packages=[package], created=CREATED, namespace="urn:x:" + version)

    found = diff(base("1"), base("2"))
    assert [(c.name, c.old, c.new) for c in found.changed] == [("libc6:amd64", ("1",), ("2",))]


def test_diff_files_refuses_what_is_not_an_sbom(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": 1,\n  oops}')
    good = tmp_path / "good.json"
    good.write_text(to_json(document("spdx", APP, COMPONENTS, created=CREATED)))
    with pytest.raises(SpecError, match=r"broken.json:2:3: not JSON"):
        diff_files(broken, good)
    other = tmp_path / "other.json"
    other.write_text('{"name": "not an sbom"}')
    with pytest.raises(SpecError, match="not an SPDX or CycloneDX"):
        diff_files(good, other)
    assert diff_files(good, good).empty


def test_sbom_with_a_target_build_is_refused_before_building(tmp_path: Path) -> None:
    """A --target build is a stage, not the spec's image: asking for its SBOM is bad
    input (exit 2), found before anything is built or written."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "sbom.json"
    result = subprocess.run([sys.executable, "-m", "imagespec", "build", "--config", "scripts/local-config.yaml",
                             "--target", "build", "--sbom", str(out), "examples/preset-go/imagespec.yaml"],
                            capture_output=True, text=True, cwd=root, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "--target build is a stage" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["sbom", "Bad Ref!!"], "is not a valid image reference"),
    (["sbom-diff", "tests", "tests"], "tests: not a file"),
    (["sbom-diff", "pyproject.toml", "pyproject.toml"], "pyproject.toml:1:2: not JSON"),
    (["sbom-diff", "specs/imagespec.schema.json", "specs/imagespec.schema.json"], "not an SPDX or CycloneDX"),
])
def test_bad_sbom_arguments_are_exit_2_before_the_engine(args: list[str], message: str) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-m", "imagespec", *args], capture_output=True, text=True, cwd=root,
                            timeout=60, env={**__import__("os").environ, "DOCKER_HOST": "unix:///nonexistent.sock"})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(("text", "words"), [
    ('{"spdxVersion": "SPDX-2.3", "packages": "x"}', "'packages' must be a list of objects"),
    ('{"spdxVersion": "SPDX-2.3", "packages": [1, null]}', "packages[0] must be an object"),
    ('{"spdxVersion": "SPDX-2.3", "packages": [{"name": 5}]}', "packages[0].name must be a string"),
    ('{"spdxVersion": 5}', "'spdxVersion' must be a string"),
    ('{"bomFormat": "CycloneDX", "components": {"a": 1}}', "'components' must be a list of objects"),
    ('{"bomFormat": "CycloneDX", "components": [{"name": "a", "version": {}}]}', "components[0].version must be"),
    ('{"bomFormat": "CycloneDX", "components": [{"name": "a", "components": "x"}]}',
     "components[0].components must be a list"),
])
def test_diff_files_refuses_an_sbom_of_the_wrong_shape(tmp_path: Path, text: str, words: str) -> None:
    # redteam: each of these compared as an SBOM of 0 (or nameless) packages, so a broken
    # file against a good one reported every package removed, exit 0
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    good = tmp_path / "good.json"
    good.write_text(to_json(document("spdx", APP, COMPONENTS, created=CREATED)))
    with pytest.raises(SpecError, match=r"bad.json: ") as caught:
        diff_files(bad, good)
    assert words in caught.value.message, caught.value.message


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000,
                                  '{"bomFormat": "CycloneDX", "components": [' + '{"name": "a", "components": [' * 900
                                  + "]}" * 900 + "]}"])
def test_diff_files_refuses_json_nested_too_deeply_without_a_traceback(tmp_path: Path, text: str) -> None:
    # redteam: json's RecursionError went up as a traceback (exit 1)
    deep = tmp_path / "deep.json"
    deep.write_text(text)
    with pytest.raises(SpecError, match="deep.json: .*nested too deeply"):
        diff_files(deep, deep)


@pytest.mark.parametrize("args", [["build", "examples/preset-go/imagespec.yaml", "--sbom", "{file}"],
                                  ["sbom", "imagespec-test/debian:bookworm-slim", "-o", "{file}"]])
def test_an_sbom_never_replaces_a_file_that_is_not_one(tmp_path: Path, args: list[str]) -> None:
    # redteam: `imagespec build SPEC --sbom SPEC` built, then wrote the SBOM over the spec
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    precious = tmp_path / "imagespec.yaml"
    precious.write_text("name: mine\n")
    result = subprocess.run([sys.executable, "-m", "imagespec", *(a.format(file=precious) for a in args),
                             "--config", "scripts/local-config.yaml"] if args[0] == "build" else
                            [sys.executable, "-m", "imagespec", *(a.format(file=precious) for a in args)],
                            capture_output=True, text=True, cwd=root, timeout=120,
                            env={**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock"})  # refused before the engine
    assert result.returncode == 2, result.stderr
    assert f"{precious}: not an SBOM" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert precious.read_text() == "name: mine\n"


def test_an_sbom_replaces_an_older_sbom_or_an_empty_file(tmp_path: Path) -> None:
    from imagespec.sbom.diff import refuse_replacing

    old = tmp_path / "old.json"
    old.write_text(to_json(document("spdx", APP, COMPONENTS, created=CREATED)))
    empty = tmp_path / "empty.json"
    empty.write_text("")
    for path in (old, empty, tmp_path / "new.json"):
        refuse_replacing(path)  # no error


def test_a_multi_platform_sbom_never_replaces_a_file_that_is_not_one(tmp_path: Path) -> None:
    # the per-platform files (FILE.linux-arm64.json) are checked too, before the engine
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    spec = tmp_path / "imagespec.yaml"
    spec.write_text("name: isx15r/app\nversion: 1.0.0\nplatforms: [linux/amd64, linux/arm64]\nfinal:\n"
                    "  from: {image: \"127.0.0.1:5000/isx15r/base:1\", family: distroless, user: 65532, libc: none}\n"
                    "  copy: [{src: a, dest: /a}]\n  entrypoint: [/a]\n")
    (tmp_path / "a").write_text("x")
    precious = tmp_path / "sbom.linux-arm64.json"
    precious.write_text("mine\n")
    result = subprocess.run([sys.executable, "-m", "imagespec", "build", str(spec), "--sbom",
                             str(tmp_path / "sbom.json"), "--push", "--tag", "127.0.0.1:5000/isx15r/app:1.0.0"],
                            capture_output=True, text=True, cwd=root, timeout=120,
                            env={**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock"})
    assert result.returncode == 2, result.stderr
    assert f"{precious}: not an SBOM" in result.stderr, result.stderr
    assert precious.read_text() == "mine\n"


@pytest.mark.parametrize("fmt", ["spdx", "cyclonedx"])
def test_a_base_images_go_binary_keeps_its_own_version(fmt: str) -> None:
    """Issue 15: an app built FROM a company Go image holds that image's binary too. Its
    main module's version is what its build information says ((devel): unknown), never
    the described app's: only the app's own programs get the spec's version."""
    parent = [Component("golang", "example.com/parent", "", location="/usr/local/bin/parent", note="main module"),
              Component("golang", "example.com/tagged", "v0.9.0", location="/usr/local/bin/tagged",
                        note="main module")]
    produced = to_json(document(fmt, APP, [*COMPONENTS, *parent], created=CREATED))
    assert "pkg:golang/example.com/shop@1.4.2" in produced  # the app's own binary
    assert "example.com/parent@1.4.2" not in produced and '"1.4.2"' in produced
    assert "pkg:golang/example.com/tagged@v0.9.0" in produced
    # without knowing the app's programs (an image scanned without its spec), none is the app
    unknown = to_json(document(fmt, App("shop", "1.4.2"), COMPONENTS, created=CREATED))
    assert "example.com/shop@1.4.2" not in unknown


def test_the_apps_programs_are_where_the_finals_own_copies_put_them() -> None:
    """What the spec's final copies in (from its stages or the context) is the app's;
    what its base image brings is not (a parent spec's binary at /usr/local/bin/parent)."""
    from imagespec.compiler import compile_spec
    from imagespec.pipeline.sbom_layer import own_programs, sbom_app
    from imagespec.spec.config import load_config
    from imagespec.spec.read_spec import load_spec_text

    compiled = compile_spec(load_spec_text("""\
name: child
version: 2.0.0
stages:
  build:
    from: go-build
    copy: [.]
    run: go build -o /out/child ./cmd/child && mkdir -p /out/tools && go build -o /out/tools/ ./cmd/...
    artifacts: [/out/child, /out/tools/]
final:
  from: {image: "registry.example/company/parent-go:1.0.0", family: distroless}
  copy:
    - {from: build, src: /out/child, dest: /usr/local/bin/child}
    - {from: build, src: /out/tools/, dest: /opt/tools/}
    - {src: config.toml, dest: /etc/child/}
  entrypoint: [/usr/local/bin/child]
"""), load_config())
    assert own_programs(compiled) == ("/usr/local/bin/child", "/opt/tools/", "/etc/child/config.toml")
    app = sbom_app(compiled)
    assert app.owns("/usr/local/bin/child") and app.owns("/opt/tools/lint")
    assert not app.owns("/usr/local/bin/parent") and not app.owns("/usr/local/bin/child2")


def _build_refused(tmp_path: Path, sbom: Path, *extra: str, spec: str = "examples/preset-go/imagespec.yaml"):
    """`imagespec build SPEC --sbom FILE` with no engine to reach: only a refusal that
    comes before anything builds can be exit 2 (a build would be the engine's exit 3)."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, "-m", "imagespec", "build", spec, "--sbom", str(sbom),
                           "--config", str(root / "scripts/local-config.yaml"), *extra],
                          capture_output=True, text=True, cwd=root, timeout=120,
                          env={**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock"})


@pytest.mark.parametrize("case", ["fifo", "through-a-file", "folder-takes-no-files"])
def test_an_sbom_file_that_cannot_be_written_is_refused_before_the_build(tmp_path: Path, case: str) -> None:
    """Issue 15: `--sbom` to a place the write would fail (or hang, on a FIFO) was found
    only after the build, the image tagged (exit 1): now bad input (exit 2), nothing built."""
    import os

    if case == "fifo":
        sbom = tmp_path / "sbom.json"
        os.mkfifo(sbom)
    elif case == "through-a-file":
        (tmp_path / "file").write_text("x")
        sbom = tmp_path / "file" / "sbom.json"
    elif case == "folder-takes-no-files":
        # sysfs takes no new files, for root too (a chmod would not stop root)
        sbom = Path("/sys/isx15-sbom.json")
    else:  # a folder: click's own check says so (the multi-platform files below are ours)
        raise AssertionError(case)
    result = _build_refused(tmp_path, sbom)
    assert result.returncode == 2, result.stderr
    assert "--sbom" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert str(sbom) in result.stderr.splitlines()[0], result.stderr
    assert "hint:" in result.stderr


def test_each_platforms_sbom_file_is_checked_before_the_build(tmp_path: Path) -> None:
    """The multi-platform variant writes FILE.linux-arm64.json etc.: each is checked."""
    spec = tmp_path / "imagespec.yaml"
    spec.write_text("name: isx15r/app\nversion: 1.0.0\nplatforms: [linux/amd64, linux/arm64]\nfinal:\n"
                    "  from: {image: \"127.0.0.1:5000/isx15r/base:1\", family: distroless, user: 65532, libc: none}\n"
                    "  copy: [{src: a, dest: /a}]\n  entrypoint: [/a]\n")
    (tmp_path / "a").write_text("x")
    (tmp_path / "sbom.linux-arm64.json").mkdir()
    result = _build_refused(tmp_path, tmp_path / "sbom.json", "--push", "--tag", "127.0.0.1:5000/isx15r/app:1.0.0",
                            spec=str(spec))
    assert result.returncode == 2, result.stderr
    assert f"{tmp_path / 'sbom.linux-arm64.json'} is a folder" in result.stderr, result.stderr
