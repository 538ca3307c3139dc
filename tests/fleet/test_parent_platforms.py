"""A spec built FROM another spec's image of the same fleet starts, for each platform it
builds for, FROM that spec's image of that platform: a platform the parent does not build
is bad input (exit 2) before anything builds, at the child's `platforms:` (or the
configuration line that set it; without one, at the `from:`), naming the parent and the
platform (issue #14). `bake`, `check --bake` and `build` refuse it alike: the bake file
would be broken too. A target without `platforms:` builds this machine's platform; a
cross-compiling stage needs its parent's image of this machine's platform only."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from imagespec.cli import main
from imagespec.engine.emulation import native_platform

from tests.fleet.conftest import Write

NATIVE = native_platform() or "linux/amd64"
OTHER = "linux/arm64" if NATIVE != "linux/arm64" else "linux/amd64"
PARENT_REF = "127.0.0.1:5000/isx14a-platcheck/parent:1.0.0"


def _platforms(listed: tuple[str, ...] | None) -> str:
    return "" if listed is None else f"platforms: [{', '.join(listed)}]\n"


def parent(listed: tuple[str, ...] | None) -> str:
    return ("name: parent\nversion: 1.0.0\nregistry: 127.0.0.1:5000/isx14a-platcheck\n" + _platforms(listed) +
            "final:\n  from: {image: \"debian:bookworm-slim\", family: debian, user: 65532}\n"
            "  entrypoint: [/bin/true]\n")


def child(listed: tuple[str, ...] | None) -> str:
    return ("name: child\nversion: 1.0.0\nregistry: 127.0.0.1:5000/isx14a-platcheck\n" + _platforms(listed) +
            f"final:\n  from: {{image: \"{PARENT_REF}\", family: debian, user: 65532}}\n"
            "  entrypoint: [/bin/true]\n")


def cross_child(listed: tuple[str, ...]) -> str:
    """A Go stage that cross-compiles on the parent's image (the build machine's platform
    alone), onto scratch: no stage runs on the parent's image of any target platform."""
    return ("name: child\nversion: 1.0.0\nregistry: 127.0.0.1:5000/isx14a-platcheck\n" + _platforms(listed) +
            "stages:\n  build:\n"
            f"    from: {{image: \"{PARENT_REF}\", family: debian}}\n"
            "    cross_compile: go\n    run: mkdir -p /out && go build -o /out/app .\n    artifacts: [/out/app]\n"
            "final:\n  from: scratch\n  copy: [{from: build, src: /out/app, dest: /app}]\n  entrypoint: [/app]\n")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def line_of(path: Path, start: str) -> int:
    return next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text.lstrip().startswith(start))


@pytest.mark.parametrize(("parent_builds", "child_builds"), [
    ((NATIVE, OTHER), (NATIVE, OTHER)),
    ((NATIVE, OTHER), (OTHER,)),
    ((NATIVE, OTHER), None),  # this machine's platform, from the parent's index
    (None, None),
    (None, (NATIVE,)),
    ((NATIVE,), None),
])
def test_a_child_of_platforms_its_parent_builds_is_baked(repo: Path, write: Write, capsys,  # type: ignore[no-untyped-def]
                                                         parent_builds: tuple[str, ...] | None,
                                                         child_builds: tuple[str, ...] | None) -> None:
    write("parent/imagespec.yaml", parent(parent_builds))
    write("child/imagespec.yaml", child(child_builds))
    code, _, err = run(capsys, "bake", ".")
    assert code == 0, err
    targets = json.loads((repo / "docker-bake.json").read_text())["target"]
    assert targets["child"]["contexts"] == {PARENT_REF: "target:parent"}


def test_a_platform_the_parent_does_not_build_is_exit_2_at_the_childs_platforms(repo: Path, write: Write,
                                                                                capsys) -> None:  # type: ignore[no-untyped-def]
    write("parent/imagespec.yaml", parent((NATIVE,)))
    spec = write("child/imagespec.yaml", child((NATIVE, OTHER)))
    code, out, err = run(capsys, "bake", ".")
    assert code == 2 and out == "", err
    first, hint = err.splitlines()[:2]
    assert first.startswith(f"child/imagespec.yaml:{line_of(spec, 'platforms:')}:1: {OTHER}: the final stage starts "
                            f"FROM {PARENT_REF}, which parent/imagespec.yaml (target 'parent') builds in this run, but "
                            f"not for {OTHER}: its `platforms:` (parent/imagespec.yaml:4:1) lists {NATIVE} only"), err
    assert hint.startswith(f"  hint: add {OTHER} to the `platforms:` of parent/imagespec.yaml, or drop {OTHER}"), hint
    assert not (repo / "docker-bake.json").exists()


def test_a_parent_without_platforms_builds_this_machines_only(repo: Path, write: Write,
                                                               capsys) -> None:  # type: ignore[no-untyped-def]
    write("parent/imagespec.yaml", parent(None))
    spec = write("child/imagespec.yaml", child((NATIVE, OTHER)))
    code, _, err = run(capsys, "bake", ".", "--format", "json")
    assert code == 2, err
    error = json.loads(err)
    assert error["location"] == f"child/imagespec.yaml:{line_of(spec, 'platforms:')}:1", error
    assert error["message"].endswith(f"but not for {OTHER}: it has no `platforms:`, so it builds this machine's "
                                     f"platform ({NATIVE}) only"), error
    assert not (repo / "docker-bake.json").exists()


def test_a_child_without_platforms_on_a_parent_of_another_platform_is_exit_2_at_its_from(
        repo: Path, write: Write, capsys) -> None:  # type: ignore[no-untyped-def]
    write("parent/imagespec.yaml", parent((OTHER,)))
    spec = write("child/imagespec.yaml", child(None))
    code, _, err = run(capsys, "bake", ".")
    assert code == 2, err
    assert err.startswith(f"child/imagespec.yaml:{line_of(spec, 'from:')}:3: no `platforms:`: this spec builds for "
                          f"this machine's platform ({NATIVE}), and the final stage starts FROM {PARENT_REF}, which "
                          f"parent/imagespec.yaml (target 'parent') builds in this run, but not for {NATIVE}: its "
                          f"`platforms:` (parent/imagespec.yaml:4:1) lists {OTHER} only"), err
    assert "hint: list in this spec's `platforms:` the platforms to build" in err


def test_platforms_from_the_configuration_are_located_there(repo: Path, write: Write,
                                                             capsys) -> None:  # type: ignore[no-untyped-def]
    write(".imagespec.yaml", f"build:\n  network: host\n  platforms: [{NATIVE}, {OTHER}]\n")
    write("parent/imagespec.yaml", parent((NATIVE,)))  # its own list wins over the configuration's
    write("child/imagespec.yaml", child(None))
    code, _, err = run(capsys, "bake", ".", "--format", "json")
    assert code == 2, err
    error = json.loads(err)
    assert error["location"] == f"{repo / '.imagespec.yaml'}:3:3", error
    assert error["message"].startswith(f"{OTHER}: the final stage starts FROM {PARENT_REF}"), error


def test_a_cross_compiling_stage_needs_the_parent_of_this_machines_platform_only(
        repo: Path, write: Write, capsys) -> None:  # type: ignore[no-untyped-def]
    write("parent/imagespec.yaml", parent(None))
    write("child/imagespec.yaml", cross_child((NATIVE, OTHER)))
    code, _, err = run(capsys, "bake", ".")
    assert code == 0, err
    write("parent/imagespec.yaml", parent((OTHER,)))
    spec = repo / "child" / "imagespec.yaml"
    code, _, err = run(capsys, "bake", ".", "-o", "other.json")
    assert code == 2, err
    assert err.startswith(f"child/imagespec.yaml:{line_of(spec, 'from:')}:5: stage `build` cross-compiles on this "
                          f"machine's platform ({NATIVE}) and starts FROM {PARENT_REF}"), err
    assert not (repo / "other.json").exists()


def test_check_bake_refuses_it_as_bake_does_and_the_cached_facts_too(repo: Path, write: Write, capsys,  # type: ignore[no-untyped-def]
                                                                     tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGESPEC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("IMAGESPEC_NO_CACHE", raising=False)
    write("parent/imagespec.yaml", parent((NATIVE, OTHER)))
    write("child/imagespec.yaml", child((NATIVE, OTHER)))
    assert run(capsys, "bake", ".")[0] == 0
    baked = (repo / "docker-bake.json").read_text()
    write("parent/imagespec.yaml", parent((NATIVE,)))
    errors = []
    for _ in range(2):  # the second from the result cache's facts, without a compile
        code, _, err = run(capsys, "check", ".", "--bake", "docker-bake.json")
        assert code == 2, err  # not 1 (stale): no bake file could be right
        errors.append(err)
    assert errors[0] == errors[1] and f"but not for {OTHER}" in errors[0], errors
    assert any((tmp_path / "cache").glob("fleet*/*/*.json")), "the fleet facts were not kept"
    assert (repo / "docker-bake.json").read_text() == baked


def test_build_refuses_it_before_anything_builds(repo: Path, write: Write, capsys, engine) -> None:  # type: ignore[no-untyped-def]
    write("parent/imagespec.yaml", parent((NATIVE,)))
    write("child/imagespec.yaml", child((NATIVE, OTHER)))
    code, out, err = run(capsys, "build", ".", "--push", "--progress", "plain")
    assert code == 2 and out == "", err
    assert err.startswith("child/imagespec.yaml:4:1: ") and f"but not for {OTHER}" in err, err
    assert "#1 " not in err and "Traceback" not in err  # BuildKit never started
    for reference in (PARENT_REF, PARENT_REF.replace("parent:", "child:")):
        found = subprocess.run(["docker", "image", "inspect", reference], capture_output=True, check=False)
        assert found.returncode != 0, reference


def test_a_cross_compiling_stage_on_a_parent_of_several_platforms_is_marked_for_its_index(
        repo: Path, write: Write) -> None:
    """The references the build machine's stages start FROM reach the run's bake file
    (fleet.bake_file gives them the parent's index: a named context is one image for every
    stage); the final's reference, run on each target platform, is not among them."""
    from imagespec.fleet.build import _on_build_machine
    from imagespec.fleet.model import load_fleet

    write("parent/imagespec.yaml", parent((NATIVE, OTHER)))
    text = cross_child((NATIVE, OTHER)).replace(
        "final:\n  from: scratch\n", f"final:\n  from: {{image: \"{PARENT_REF}\", family: debian, user: 65532}}\n")
    write("child/imagespec.yaml", text)
    fleet = load_fleet([repo], use_cache=False)
    child_target = fleet.targets["child"]
    assert sorted(use.runs for use in child_target.bases) == ["build", "target"], child_target.bases
    assert _on_build_machine(child_target) == frozenset({PARENT_REF})
    assert _on_build_machine(fleet.targets["parent"]) == frozenset()
