"""The fleet's graph: FROM another spec's image is an edge; cycles, clashes and unknown
platforms are exit 2 with a location, before anything is written (imagespec.fleet.graph)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagespec.cli import main
from imagespec.errors import SpecError
from imagespec.fleet import load_fleet

from tests.fleet.conftest import APP_SPEC, CATALOG, Write


def spec(name: str, base: str, *, stage_from: str | None = None) -> str:
    """A spec FROM ``base`` (an image reference), optionally with a build stage FROM another."""
    stages = ""
    if stage_from:
        stages = (f"stages:\n  tools:\n    from: {{image: \"{stage_from}\", family: debian}}\n"
                  "    run: mkdir -p /out && touch /out/t\n    artifacts: [/out/t]\n")
    return (f"name: {name}\nversion: 1.0.0\n{stages}final:\n  from: {{image: \"{base}\", family: debian, "
            "user: 65532}\n  entrypoint: [/bin/true]\n")


def test_an_app_from_a_base_specs_image_builds_after_it_with_a_named_context(company: Path) -> None:
    fleet = load_fleet([Path(".")])
    assert fleet.order() == ["base", "apps-hello"]
    assert fleet.targets["apps-hello"].parents == ("base",)
    assert fleet.contexts("apps-hello") == {"isx14a-fleet-base:1.0.0": "target:base"}
    assert fleet.contexts("base") == {}
    assert fleet.children("base") == ("apps-hello",)
    assert fleet.groups == {"default": ("apps-hello", "base"), "apps": ("apps-hello",)}


def test_a_catalog_name_resolving_to_a_fleet_image_is_an_edge_too(company: Path, write: Write) -> None:
    write(".imagespec.yaml", f"catalog: {CATALOG}\nimages:\n  company-base: {{image: isx14a-fleet-base:1, "
                             "family: debian, user: 65532}\n")
    write("apps/hello/imagespec.yaml", APP_SPEC.replace('{image: "isx14a-fleet-base:1.0.0", family: debian, '
                                                        'user: 65532}', "company-base"))
    fleet = load_fleet([Path(".")])
    assert fleet.contexts("apps-hello") == {"isx14a-fleet-base:1": "target:base"}


def test_a_build_stage_from_another_specs_image_is_an_edge(repo: Path, write: Write) -> None:
    write("tools/imagespec.yaml", spec("isx14a-tools", "debian:bookworm-slim"))
    write("app/imagespec.yaml", spec("isx14a-app", "debian:bookworm-slim", stage_from="isx14a-tools:1.0"))
    fleet = load_fleet([Path(".")])
    assert fleet.order() == ["tools", "app"]
    assert fleet.contexts("app") == {"isx14a-tools:1.0": "target:tools"}


def test_a_digest_pinned_reference_is_the_registrys_image_not_an_edge(repo: Path, write: Write) -> None:
    write("tools/imagespec.yaml", spec("isx14a-tools", "debian:bookworm-slim"))
    write("app/imagespec.yaml", spec("isx14a-app", "isx14a-tools:1.0.0@sha256:" + "a" * 64))
    assert load_fleet([Path(".")]).targets["app"].parents == ()


def test_a_cycle_is_exit_2_naming_the_chain_at_the_from_line(repo: Path, write: Write,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    write("a/imagespec.yaml", spec("isx14a-a", "isx14a-b:1.0.0"))
    write("b/imagespec.yaml", spec("isx14a-b", "isx14a-c:1"))
    write("c/imagespec.yaml", spec("isx14a-c", "isx14a-a:latest"))
    write("d/imagespec.yaml", spec("isx14a-d", "isx14a-a:1.0"))  # downstream of the cycle, not in it
    assert main(["bake", "."]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("a/imagespec.yaml:4:3: the specs build FROM each other in a cycle: "
                      "a/imagespec.yaml -> b/imagespec.yaml -> c/imagespec.yaml -> a/imagespec.yaml")
    assert err[1].startswith("  hint: X -> Y: X builds FROM an image Y builds")
    assert not (repo / "docker-bake.json").exists()


@pytest.mark.parametrize("command", ["generate", "check", "lint", "test"])
def test_a_cycle_is_exit_2_for_every_command_on_several_specs(repo: Path, write: Write, command: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Each Dockerfile of a cycle is valid alone: the graph of the specs given together
    refuses it, before anything is written or run (cli.common.selected)."""
    write("a/imagespec.yaml", spec("isx14a-a", "isx14a-b:1.0.0"))
    write("b/imagespec.yaml", spec("isx14a-b", "isx14a-a:1"))
    assert main([command, "a", "b/imagespec.yaml"]) == 2
    assert capsys.readouterr().err.startswith(
        "a/imagespec.yaml:4:3: the specs build FROM each other in a cycle: a/imagespec.yaml -> b/imagespec.yaml -> "
        "a/imagespec.yaml\n  hint: X -> Y")
    assert sorted(path.name for path in repo.rglob("*") if path.is_file() and ".git" not in path.parts
                  and path.name != CATALOG) == ["imagespec.yaml", "imagespec.yaml"]
    assert main(["generate", "a"]) == 0  # one spec alone is no cycle: its Dockerfile is written


def test_a_spec_from_its_own_image_is_refused_alone_as_in_a_fleet(repo: Path, write: Write,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    write("a/imagespec.yaml", spec("isx14a-a", "isx14a-a:1"))
    with pytest.raises(SpecError, match=r"isx14a-a:1 is this spec's own image \(isx14a-a\)"):
        load_fleet([Path("a")])
    for command in ("generate", "lint", "bake"):  # was: generate and lint of it alone exit 0
        assert main([command, "a/imagespec.yaml"]) == 2, command
        assert "a/imagespec.yaml:4:3: isx14a-a:1 is this spec's own image" in capsys.readouterr().err


def test_a_target_name_clash_is_exit_2_with_both_specs(repo: Path, write: Write,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    write("web.app/imagespec.yaml", spec("isx14a-one", "debian:bookworm-slim"))
    write("web-app/imagespec.yaml", spec("isx14a-two", "debian:bookworm-slim"))
    assert main(["bake", "."]) == 2
    err = capsys.readouterr().err
    assert err.startswith("web.app/imagespec.yaml:1:1: target name 'web-app' of web.app/imagespec.yaml is also the "
                          "name of web-app/imagespec.yaml")
    assert "web-app/imagespec.yaml:1:1 has it too" in err
    assert not (repo / "docker-bake.json").exists()


def test_a_group_named_like_a_target_gets_the_group_suffix(repo: Path, write: Write) -> None:
    write("company/imagespec.yaml", spec("isx14a-base", "debian:bookworm-slim"))
    write("company/billing/imagespec.yaml", spec("isx14a-billing", "isx14a-base:1.0.0"))
    fleet = load_fleet([Path(".")])
    assert fleet.groups == {"default": ("company", "company-billing"), "company-group": ("company-billing",)}


def test_two_specs_making_the_image_a_third_builds_on_are_said_as_the_cause(repo: Path, write: Write) -> None:
    write("a/imagespec.yaml", spec("isx14a-same", "debian:bookworm-slim"))
    write("b/imagespec.yaml", spec("isx14a-same", "debian:bookworm-slim"))
    write("c/imagespec.yaml", spec("isx14a-c", "isx14a-same:1.0.0"))
    # QA: only "built by both …: ambiguous" at c's FROM was said; the clash that causes it comes first
    with pytest.raises(SpecError, match="b/imagespec.yaml and a/imagespec.yaml both tag isx14a-same:1.0.0") as caught:
        load_fleet([Path(".")])
    assert str(caught.value.location) == "b/imagespec.yaml:1:1"  # its name:


def test_platforms_come_from_the_spec_else_the_configuration(repo: Path, write: Write) -> None:
    write(".imagespec.yaml", "build:\n  platforms: [linux/arm64]\n")
    write("a/imagespec.yaml", spec("isx14a-pa", "debian:bookworm-slim"))
    write("b/imagespec.yaml", "platforms: [linux/amd64, linux/arm64]\n" + spec("isx14a-pb", "debian:bookworm-slim"))
    fleet = load_fleet([Path(".")])
    assert fleet.targets["a"].platforms == ("linux/arm64",)
    assert fleet.targets["b"].platforms == ("linux/amd64", "linux/arm64")


@pytest.mark.parametrize("bad", ["linux/amd65", "linux", "Linux/AMD64", "linux/arm64 ", "windows/amd64/x/y"])
def test_an_unknown_platform_is_bad_input_at_its_place(repo: Path, write: Write, bad: str) -> None:
    write("a/imagespec.yaml", f"platforms: [linux/amd64, \"{bad}\"]\n" + spec("isx14a-pc", "debian:bookworm-slim"))
    with pytest.raises(SpecError, match="platform") as caught:
        load_fleet([Path(".")])
    assert str(caught.value.location).startswith("a/imagespec.yaml:1:")


def test_two_specs_with_one_version_tag_are_exit_2_naming_both(repo: Path, write: Write,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    # redteam: `x.imagespec.yaml` copied beside `imagespec.yaml` (same name and version): both
    # targets were tagged isx14a-same:1.0.0, the second build moving the X.Y.Z tag (BP14)
    write("a/imagespec.yaml", spec("isx14a-same", "debian:bookworm-slim"))
    write("a/x.imagespec.yaml", "dockerfile: x.Dockerfile\n" + spec("isx14a-same", "debian:bookworm-slim"))
    assert main(["bake", "."]) == 2
    err = capsys.readouterr().err.splitlines()
    # said at the `name:` the tags are made of (was 1:1)
    assert err[0] == ("a/x.imagespec.yaml:2:1: a/x.imagespec.yaml and a/imagespec.yaml both tag "
                      "isx14a-same:1.0.0: an X.Y.Z tag names one image (BP14)"), err
    assert err[1].startswith("  hint: give each spec its own name or version")
    assert not (repo / "docker-bake.json").exists()


def test_two_versions_of_one_image_share_only_moving_tags_and_are_fine(repo: Path, write: Write) -> None:
    write("a/imagespec.yaml", spec("isx14a-same", "debian:bookworm-slim"))
    write("b/imagespec.yaml", spec("isx14a-same", "debian:bookworm-slim").replace("1.0.0", "1.1.0"))
    assert load_fleet([Path(".")]).order() == ["a", "b"]


def test_two_specs_writing_one_dockerfile_are_exit_2_as_for_generate(repo: Path, write: Write,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # redteam: `generate` refused two specs of one folder both writing its Dockerfile, `bake`
    # wrote both targets onto that one Dockerfile (bake alone then built one spec twice)
    write("a/imagespec.yaml", spec("isx14a-one", "debian:bookworm-slim"))
    write("a/x.imagespec.yaml", spec("isx14a-other", "debian:bookworm-slim"))
    assert main(["bake", "."]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("a/x.imagespec.yaml:1:1: a/x.imagespec.yaml and a/imagespec.yaml both write ") and \
        err[0].endswith("a/Dockerfile"), err
    assert err[1].startswith("  hint: give each spec its own `dockerfile:`")
    assert not (repo / "docker-bake.json").exists()
    # QA: said at the `dockerfile:` that leads there, with the path normalised (was 1:1, `b/../a/Dockerfile`)
    (repo / "a" / "x.imagespec.yaml").unlink()
    write("b/imagespec.yaml", "name: isx14a-b\nversion: 1.0.0\ndockerfile: ../a/Dockerfile\n"
          "final: {from: {image: 'debian:bookworm-slim', family: debian}, cmd: [/bin/true]}\n")
    assert main(["bake", "."]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"b/imagespec.yaml:3:1: b/imagespec.yaml and a/imagespec.yaml both write {repo}/a/Dockerfile", err


def test_an_app_that_would_make_its_base_specs_user_again_is_exit_2_at_its_from(
        repo: Path, write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    """BP8: the base spec's image has the user 65532 (imagespec made it there); an app FROM
    it that does not say so would run groupadd/useradd again, which fail on an existing
    name or ID. Said before anything builds, at the app's `final.from`, with the fix."""
    write("base/imagespec.yaml", "name: isx14a-ubase\nversion: 1.0.0\nfinal:\n  from: {image: \"debian:bookworm-slim\", "
                                 "family: debian}\n  entrypoint: [/bin/true]\n")
    write("app/imagespec.yaml", "name: isx14a-uapp\nversion: 1.0.0\nfinal:\n  from: {image: \"isx14a-ubase:1.0.0\", "
                                "family: debian}\n  entrypoint: [/bin/true]\n")
    assert main(["bake", "."]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("app/imagespec.yaml:4:3: isx14a-ubase:1.0.0 already has the user nonroot (65532): "
                      "base/imagespec.yaml makes it there, and this spec's final stage would make its user again "
                      "(groupadd and useradd refuse a name or ID that exists)"), err
    assert err[1] == ("  hint: say the base has it: `user: 65532` in this `from:` (the app then runs as 65532 with "
                      "no useradd step, BP8)")
    assert not (repo / "docker-bake.json").exists()
    # another name and ID is a second user, which useradd makes beside the first
    write("app/imagespec.yaml", "name: isx14a-uapp\nversion: 1.0.0\nfinal:\n  from: {image: \"isx14a-ubase:1.0.0\", "
                                "family: debian}\n  user: {uid: 1000, name: app}\n  entrypoint: [/bin/true]\n")
    assert load_fleet([Path(".")]).targets["app"].parents == ("base",)
    # the same name with another ID clashes too; saying the base's user is the fix
    write("app/imagespec.yaml", "name: isx14a-uapp\nversion: 1.0.0\nfinal:\n  from: {image: \"isx14a-ubase:1.0.0\", "
                                "family: debian}\n  user: {uid: 1000, name: nonroot}\n  entrypoint: [/bin/true]\n")
    with pytest.raises(SpecError, match=r"already has the user nonroot \(65532\)") as caught:
        load_fleet([Path(".")])
    assert "or give this spec's `user:` another name" in str(caught.value.hint)
    write("app/imagespec.yaml", "name: isx14a-uapp\nversion: 1.0.0\nfinal:\n  from: {image: \"isx14a-ubase:1.0.0\", "
                                "family: debian, user: 65532}\n  entrypoint: [/bin/true]\n")
    assert load_fleet([Path(".")]).targets["app"].runs_as.makes is False


def test_the_second_user_is_found_when_a_build_stage_starts_from_the_base_too(repo: Path, write: Write) -> None:
    """The build stage's `from:` comes first in the spec; the final one still makes the user."""
    write("base/imagespec.yaml", "name: isx14a-ubase\nversion: 1.0.0\nfinal:\n  from: {image: \"debian:bookworm-slim\", "
                                 "family: debian}\n  entrypoint: [/bin/true]\n")
    write("app/imagespec.yaml", "name: isx14a-uapp\nversion: 1.0.0\nstages:\n  tools:\n    from: {image: "
                                "\"isx14a-ubase:1.0.0\", family: debian}\n    run: mkdir -p /out && touch /out/t\n"
                                "    artifacts: [/out/t]\nfinal:\n  from: {image: \"isx14a-ubase:1.0.0\", family: debian}\n"
                                "  copy: [{from: tools, src: /out/t, dest: /t}]\n  entrypoint: [/bin/true]\n")
    with pytest.raises(SpecError, match=r"already has the user nonroot \(65532\)") as caught:
        load_fleet([Path(".")])
    assert str(caught.value.location) == "app/imagespec.yaml:9:3"  # final.from, not the build stage's
