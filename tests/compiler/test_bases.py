"""Base specs without an engine: validation (invalid_bases/<case>.yaml next to the exact
message), build order, the generated distroless Dockerfiles (hadolint, BuildKit's
parser), the catalog file `imagespec base build` writes, and mirror discovery.
The images themselves are built and checked in tests/images/test_bases_engine.py."""

from __future__ import annotations

import re
from dataclasses import replace
import shutil
from pathlib import Path

import dockerfile
import pytest
from compiler_helpers import REPO, hadolint

from imagespec.bases import load_bases
from imagespec.bases.built import distroless_dockerfile
from imagespec.bases.catalog_file import entry_for, render_catalog
from imagespec.bases.context import BaseBuildRun, BaseOptions
from imagespec.bootstrap.apt_sources import choose_mirror, machine_mirror
from imagespec.cli import main
from imagespec.errors import SpecError
from imagespec.build_settings import base_options
from imagespec.settings import read_environment
from imagespec.spec.read_base import load_base
from imagespec.spec.config import load_config

BASES = REPO / "bases"
INVALID = Path(__file__).parent / "invalid_bases"
CASES = sorted(INVALID.glob("*.yaml"))
LOCATED = re.compile(r"^(?P<file>[^:\n]+):(?P<line>[0-9]+):(?P<col>[0-9]+): \S.*$")
DISTROLESS = ["static", "cc", "python-distroless"]


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_invalid_corpus_has_every_kind_of_mistake() -> None:
    assert {"unknown-key", "no-kind", "two-kinds", "untagged-image", "unknown-variant", "bad-mirror",
            "scratch-without-base-files", "unknown-assembly-base", "bad-package-name", "not-a-base"} <= {
        c.stem for c in CASES}
    assert {p.stem for p in INVALID.glob("*.err")} == {c.stem for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_invalid_base_spec_is_one_located_error(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str], golden) -> None:
    shutil.copy(case, tmp_path / case.name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IMAGESPEC_CONFIG", raising=False)
    before = _listing(tmp_path)
    code = main(["base", "check", case.name])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err
    assert _listing(tmp_path) == before
    lines = err.splitlines()
    assert lines and all(LOCATED.match(line) or line.startswith("  hint: ") for line in lines), err
    golden(case.with_suffix(".err"), err)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _distroless(name: str, parent: str, assemble: str = "debian-slim") -> str:
    return (f"imagespec: 1\nbase: {name}\nimage: company/{name}:1\n"
            f"distroless: {{from: {parent}, assemble_in: {assemble}, packages: [base-files]}}\n")


def test_a_cycle_between_bases_shows_the_chain(tmp_path: Path) -> None:
    files = [_write(tmp_path, "a", _distroless("a", "b")), _write(tmp_path, "b", _distroless("b", "a"))]
    with pytest.raises(SpecError, match=r"cycle: a -> b -> a") as caught:
        load_bases(files, load_config(start=tmp_path))
    assert caught.value.location is not None and caught.value.location.line == 2


def test_two_files_cannot_provide_the_same_base(tmp_path: Path) -> None:
    files = [_write(tmp_path, "one", _distroless("same", "scratch")), _write(tmp_path, "two", _distroless("same", "scratch"))]
    with pytest.raises(SpecError, match="two base specs provide 'same'"):
        load_bases(files, load_config(start=tmp_path))


def test_a_base_outside_the_set_must_be_in_the_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "a", _distroless("a", "scratch", assemble="no-such-base"))
    assert main(["base", "check", str(tmp_path / "a.yaml")]) == 2
    assert "a.yaml:4:" in capsys.readouterr().err


def test_the_repository_bases_build_in_dependency_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["base", "check", str(BASES), "--config", str(REPO / "scripts" / "local-config.yaml")]) == 0
    order = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert order[0] == "debian-slim"
    assert order.index("static") < order.index("cc") < order.index("python-distroless")
    assert {"go-build", "python-build", "python-runtime", "node-build", "node-runtime", "gcc-build", "rust-build",
            "java-build", "java-runtime"} <= set(order)


@pytest.fixture(scope="module")
def distroless_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("distroless")
    config = load_config(start=BASES)  # the public catalog: the text must not depend on the machine
    run = BaseBuildRun(config, BaseOptions(), folder)
    for name in DISTROLESS:
        loaded = load_base(BASES / f"{name}.yaml", config)
        run.add(loaded, entry_for(loaded, run.catalog, reference=loaded.base.image, digest="sha256:" + "0" * 64))
        (folder / name).mkdir()
        (folder / name / "Dockerfile").write_text(distroless_dockerfile(loaded, run), encoding="utf-8")
    return {name: folder / name / "Dockerfile" for name in DISTROLESS}


def test_distroless_dockerfiles_are_hadolint_clean(distroless_files: dict[str, Path]) -> None:
    assert {f: found for f, found in hadolint(list(distroless_files.values())).items() if found} == {}


def test_distroless_dockerfiles_assemble_in_apt_and_ship_no_shell(distroless_files: dict[str, Path]) -> None:
    for name, path in distroless_files.items():
        instructions = dockerfile.parse_file(str(path))
        froms = [i for i in instructions if i.cmd == "FROM"]
        assert len(froms) == 2
        assert froms[0].value[0] == "debian:bookworm-slim"  # the assembly stage: apt is there
        final = instructions[instructions.index(froms[1]):]
        assert not [i for i in final if i.cmd == "RUN"], f"{name}: nothing runs in a shell-less final (BP6)"
        assert [(i.flags, i.value) for i in final if i.cmd == "COPY"] == [((f"--from={name}-rootfs",), ("/rootfs/", "/"))]
        run = next(i for i in instructions if i.cmd == "RUN").value[0]
        assert "imagespec-rootfs unpack /rootfs" in run and "clamp /rootfs" in run
    text = {name: path.read_text() for name, path in distroless_files.items()}
    assert "FROM scratch AS static" in text["static"] and "skeleton /rootfs 65532" in text["static"]
    # cc and python add to the base below them: its layers are shared (BP12), no skeleton again
    assert "FROM imagespec-test/static:nonroot AS cc" in text["cc"] and "skeleton" not in text["cc"]
    assert "FROM imagespec-test/cc:nonroot AS python-distroless" in text["python-distroless"]
    assert "ln -sfn python3.11 /rootfs/usr/bin/python3" in text["python-distroless"]
    assert 'CMD ["python3"]' in text["python-distroless"]


def test_written_catalog_is_what_app_specs_resolve_against(tmp_path: Path) -> None:
    config = load_config(start=BASES)
    loaded = load_base(BASES / "static.yaml", config)
    digest = "sha256:" + "ab" * 32
    static = entry_for(loaded, config.catalog, reference="registry.example/base/static:1@" + digest, digest=digest)
    go = load_base(BASES / "go-build.yaml", config)
    toolchain = entry_for(go, config.catalog, reference="registry.example/base/golang:1", digest=digest)
    assert (static.family, static.shell, static.user, static.libc) == ("distroless", False, 65532, "none")
    assert (toolchain.family, toolchain.user, toolchain.libc) == ("debian", None, "glibc")

    (tmp_path / "bases.yaml").write_text(render_catalog({"static": static, "go-build": toolchain}, sources="bases"))
    (tmp_path / ".imagespec.yaml").write_text("catalog: bases.yaml\nimages:\n"
                                              "  go-build: {image: 'mirror.example/golang:2', family: debian}\n")
    catalog = load_config(start=tmp_path).catalog
    assert catalog.entries["static"].image.image == "registry.example/base/static:1@" + digest
    assert catalog.entries["static"].image.digest == digest
    assert catalog.entries["go-build"].image.image == "mirror.example/golang:2"  # the file's own images win


def test_a_missing_catalog_file_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / ".imagespec.yaml").write_text("build: {}\ncatalog: nowhere.yaml\n")
    with pytest.raises(SpecError, match="catalog file .*nowhere.yaml does not exist") as caught:
        load_config(start=tmp_path)
    assert caught.value.location is not None and caught.value.location.line == 2


def test_the_mirror_comes_from_the_spec_then_config_then_environment_then_apt(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = read_environment({"IMAGESPEC_MIRROR": "http://env.example/debian/"})
    (tmp_path / ".imagespec.yaml").write_text("bases: {mirror: 'http://config.example/debian'}\n")
    configured = base_options(load_config(start=tmp_path), env, logs=tmp_path).mirror
    from_env = base_options(load_config(), env, logs=tmp_path).mirror  # no configuration file
    assert choose_mirror("bookworm", spec="http://spec.example/debian", configured=configured) == "http://spec.example/debian"
    assert choose_mirror("bookworm", spec=None, configured=configured) == "http://config.example/debian"
    assert choose_mirror("bookworm", spec=None, configured=from_env) == "http://env.example/debian"

    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://one.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://sec.example/debian-security\nSuites: bookworm-security\nComponents: main\n"
        "\nEnabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: trixie\n")
    (apt / "sources.list").write_text("# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://list.example/debian trixie main\n")
    assert machine_mirror("bookworm-security", apt) == "http://sec.example/debian-security"
    assert machine_mirror("trixie", apt) == "http://list.example/debian"  # the disabled deb822 entry is skipped
    assert machine_mirror("sid", apt) is None


BASE_SCHEMA = REPO / "specs" / "imagespec-base.schema.json"


def test_committed_base_schema_is_fresh_and_accepts_every_base(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import jsonschema

    from imagespec.spec.yaml_source import parse_yaml

    assert main(["schema", "--base"]) == 0
    printed = capsys.readouterr().out
    assert printed == BASE_SCHEMA.read_text(encoding="utf-8"), \
        "stale: run `imagespec schema --base -o specs/imagespec-base.schema.json`"
    validator = jsonschema.Draft202012Validator(json.loads(printed))
    for path in sorted(BASES.glob("*.yaml")):
        if path.name == "catalog.local.yaml":
            continue
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# yaml-language-server: $schema=../specs/imagespec-base.schema.json\n"), path
        assert [e.message for e in validator.iter_errors(parse_yaml(text, path.name).data)] == [], path
    assert not validator.is_valid({"base": "x", "image": "a/b:1", "distroless": {"assemble_in": "y", "pakages": []}})


def test_push_needs_a_registry_in_every_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Checked before anything is built (and before the engine is asked): no accidental
    push to Docker Hub."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    path = _write(tmp_path, "a", _distroless("a", "scratch"))  # image: company/a:1, no registry host
    assert main(["base", "build", str(path), "--push"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3:1: --push: 'company/a:1' names no registry to push to" in err


RUNTIMES = ["python-runtime", "node-runtime", "java-runtime"]


@pytest.mark.parametrize("name", RUNTIMES)
def test_runtime_bases_are_one_bootstrapped_layer_with_the_nonroot_user(name: str) -> None:
    """Issue #12, 0 wasted bytes: a runtime installed by a layer on debian-slim rewrites
    dpkg's status and debconf's templates of the layer below (1.7 MB stored twice), and
    the app's useradd rewrites /etc/passwd and its siblings. Bootstrapped with the
    runtime and the user 65532 in one root, the catalog says so and no app adds a user."""
    config = load_config(start=BASES)
    loaded = load_base(BASES / f"{name}.yaml", config)
    assert loaded.base.bootstrap is not None and loaded.base.bootstrap.nonroot and loaded.base.bootstrap.include
    entry = entry_for(loaded, config.catalog, reference=loaded.base.image, digest="sha256:" + "0" * 64)
    assert (entry.family, entry.user, entry.libc) == ("debian", 65532, "glibc")


def test_the_nonroot_hook_runs_only_when_asked_and_leaves_other_keys_alone() -> None:
    from imagespec.bases.from_mirror import _spec_inputs
    from imagespec.bootstrap.mmdebstrap import NONROOT_HOOK, RootfsRequest, mmdebstrap_command

    plain = RootfsRequest("bookworm", "minbase", ("deb http://m.example/debian bookworm main",))
    assert f"--customize-hook={NONROOT_HOOK}" not in mmdebstrap_command(plain, Path("/tmp/x.tar"))
    command = mmdebstrap_command(replace(plain, nonroot=True), Path("/tmp/x.tar"))
    assert command[-4:-2] == [f"--customize-hook={NONROOT_HOOK}", "bookworm"]  # after every other hook
    assert "useradd --system --uid 65532 --gid 65532" in NONROOT_HOOK
    # debian-slim's inputs (so its image ID) are what they were before the field existed
    slim = _spec_inputs(load_base(BASES / "debian-slim.yaml", load_config(start=BASES)))
    assert "nonroot" not in slim["bootstrap"]
    python = _spec_inputs(load_base(BASES / "python-runtime.yaml", load_config(start=BASES)))
    assert python["bootstrap"]["nonroot"] is True
