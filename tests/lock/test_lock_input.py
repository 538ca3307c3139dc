"""Bad input and a registry that does not answer: one message at the line, the right exit
code, and no lock file written (#15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagespec.cli import main
from imagespec.errors import SpecError
from imagespec.fleet import links
from imagespec.lock.file import LOCK_FORMAT, LockedBase, LockFile, render_lock
from imagespec.lock.jobs import parse_age

SPEC = "name: isx15a/app\nfinal:\n  from: {image: \"%s\", family: debian}\n  entrypoint: [/app]\n"
DIGEST = "sha256:" + "a" * 64


def imagespec(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_registry_that_does_not_answer_is_exit_3_and_nothing_is_written(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(SPEC % "127.0.0.1:9/isx15a/base:1")  # the discard port: nothing listens
    code, _, err = imagespec(capsys, "lock", str(spec))
    assert code == 3 and "cannot reach the registry" in err, err
    assert not (tmp_path / "imagespec.lock.yaml").exists()


def test_an_image_that_names_no_registry_and_cannot_be_asked_hints_at_pushing_the_bases() -> None:
    """A lock of the bases `imagespec base build` made (in the engine, never pushed) asks
    Docker Hub for them: the hint says why that fails and how to give them a registry."""
    from imagespec.publish.registry import _unreachable_hint

    assert "imagespec base build BASES --push" in _unreachable_hint("registry-1.docker.io")
    assert _unreachable_hint("127.0.0.1:5000") == "check the registry address and that it runs"


def test_an_image_that_does_not_exist_is_exit_2_at_the_spec_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import urllib.request

    try:
        urllib.request.urlopen("http://127.0.0.1:5000/v2/", timeout=2).close()
    except OSError:
        from tests import tools

        tools.unavailable("no registry on 127.0.0.1:5000; scripts/start-registry.sh starts one")
    good = tmp_path / "good"
    good.mkdir()
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(SPEC % "127.0.0.1:5000/isx15a/no-such-image:1")
    code, _, err = imagespec(capsys, "lock", str(spec))
    assert code == 2, err
    assert f"{spec}:3:10: image 127.0.0.1:5000/isx15a/no-such-image:1 does not exist in its registry" in err, err
    assert not (tmp_path / "imagespec.lock.yaml").exists()


def _locked(tmp_path: Path, text: str) -> Path:
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(SPEC % "127.0.0.1:5000/isx15a/base:1")
    (tmp_path / "imagespec.lock.yaml").write_text(text)
    return spec


@pytest.mark.parametrize(("text", "where", "words"), [
    ("lock: 1\nspec: imagespec.yaml\ninputs: sha256:0123456789abcdef\nbases:\n- image: \"x:1\"\n  digest: sha256:abc\n"
     "  media_type: a/b\n", ":6:", "invalid digest"),
    ("lock: 1\nspec: imagespec.yaml\ninputs: sha256:0123456789abcdef\n<<<<<<< HEAD\n", ":", ""),
    ("lock: 2\nspec: imagespec.yaml\ninputs: sha256:0123456789abcdef\n", ":1:", ""),
    ("lock: 1\nspec: imagespec.yaml\ninputs: sha256:0123456789abcdef\nbases:\n- image: \"Not A Ref\"\n  digest: "
     f"\"{DIGEST}\"\n  media_type: a/b\n", ":5:", "not a valid image reference"),
    ("- just\n- a list\n", ":1:", "a lock file must be a mapping"),
])
def test_a_corrupt_lock_file_is_exit_2_at_its_line(tmp_path: Path, capsys, text: str, where: str,  # type: ignore[no-untyped-def]
                                                   words: str) -> None:
    spec = _locked(tmp_path, text)
    for command in (("generate",), ("lock",), ("lock", "--check"), ("outdated",)):
        code, _, err = imagespec(capsys, *command, str(spec))
        assert code == 2, (command, err)
        assert err.startswith(f"{tmp_path / 'imagespec.lock.yaml'}{where}") and words in err, (command, err)
        assert "Traceback" not in err
    assert not (tmp_path / "Dockerfile").exists()


def test_the_lock_text_is_deterministic_and_sorted() -> None:
    bases = [LockedBase(image=f"r.example.com/b{i}:1", digest=DIGEST, media_type="a/b",
                        platforms={"linux/arm64": DIGEST, "linux/amd64": DIGEST}, used_by=["final.from"])
             for i in (2, 1)]
    text = render_lock(LockFile(lock=LOCK_FORMAT, spec="imagespec.yaml", inputs="sha256:0123456789abcdef",
                                bases=bases), generator="imagespec lock")
    assert text.index("b1:1") < text.index("b2:1") and text.index("linux/amd64") < text.index("linux/arm64")
    assert text == render_lock(LockFile(lock=LOCK_FORMAT, spec="imagespec.yaml", inputs="sha256:0123456789abcdef",
                                        bases=bases[::-1]), generator="imagespec lock")


def test_min_age_durations() -> None:
    assert parse_age("1w2d").days == 9 and parse_age("90m").total_seconds() == 5400
    for bad in ("", "3", "3 days", "-1d", "1d1w"):
        with pytest.raises(ValueError):
            parse_age(bad)


def test_the_graph_follows_images_through_specs() -> None:
    """What lock and outdated ask of the fleet's graph: a spec locked on another's tag (here
    pinned, as a lock pins it) is downstream of it, and comes after it in the rebuild."""
    produced = {"company": ["r.example.com/company:1.0.0", "r.example.com/company:1"],
                "app": ["r.example.com/app:1"], "other": ["r.example.com/other:1"]}
    uses = {"company": ["r.example.com/debian:12"], "app": [f"r.example.com/company:1@{DIGEST}"],
            "other": ["r.example.com/debian:13"]}
    made = links.producers(produced)
    up = {spec: {m for image in images for m in links.makers(image, made, follow_pinned=True)}
          for spec, images in uses.items()}
    assert up == {"company": set(), "app": {"company"}, "other": set()}
    assert links.descendants(["company"], up) == {"company": ["company"], "app": ["company", "app"]}
    assert links.order({"app": up["app"], "company": up["company"]}) == (["company", "app"], [])


def test_a_duration_too_long_for_a_clock_is_bad_input_not_a_traceback() -> None:
    # redteam: --min-age 99999999999999999999d raised OverflowError out of timedelta (exit 1)
    for bad in ("99999999999999999999d", "9999999999w"):
        with pytest.raises(SpecError, match="is not a duration"):
            parse_age(bad)


@pytest.mark.parametrize("args", [("--update", "--min-age", ""), ("--check", "--update"), ("--check", "--update",
                                                                                            "--base", "x")])
def test_lock_options_that_were_ignored_are_exit_2(tmp_path: Path, capsys, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    # redteam: `--min-age ''` locked with no minimum age, `--check --update` checked and
    # ignored --update (exit 0); neither may touch the network or write a lock
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(SPEC % "127.0.0.1:9/isx15a/base:1")  # nothing listens: a request would be exit 3
    code, out, err = imagespec(capsys, "lock", *args, str(spec), "--format", "json")
    assert code == 2 and out == "", err
    assert json.loads(err)["exit_code"] == 2
    assert not (tmp_path / "imagespec.lock.yaml").exists()


@pytest.mark.parametrize("text", ["", "a: &a [x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 8)}]\n" for i in range(8))])
def test_an_empty_or_bomb_lock_hints_at_the_lock_not_at_a_spec(tmp_path: Path, capsys, text: str) -> None:  # type: ignore[no-untyped-def]
    # redteam: an empty lock file said "hint: a spec needs at least `name:` and `final:`"
    spec = _locked(tmp_path, text)
    code, _, err = imagespec(capsys, "lock", "--check", str(spec))
    assert code == 2 and err.startswith(f"{tmp_path / 'imagespec.lock.yaml'}:"), err
    assert "hint: restore it from version control" in err and "spec needs" not in err and "extends" not in err, err


@pytest.mark.parametrize("make", ["loop", "dangling", "folder"])
def test_a_lock_path_that_is_no_file_is_exit_2_not_an_unpinned_build(tmp_path: Path, capsys, make: str) -> None:  # type: ignore[no-untyped-def]
    # redteam: a lock path that was a link loop, a dangling link or a folder read as "no lock":
    # generate wrote FROM without the pin, silently
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(SPEC % "127.0.0.1:5000/isx15a/base:1")
    lock = tmp_path / "imagespec.lock.yaml"
    if make == "loop":
        lock.symlink_to(lock.name)
    elif make == "dangling":
        lock.symlink_to("nowhere.lock.yaml")
    else:
        lock.mkdir()
    for command in (("generate", "--no-cache"), ("lock", "--check"), ("outdated",)):
        code, _, err = imagespec(capsys, *command, str(spec))
        assert code == 2 and err.startswith(f"{lock}: ") and "not a file" in err, (command, err)
    assert not (tmp_path / "Dockerfile").exists()


def test_a_pin_that_waits_for_the_fleet_build_is_reported_and_not_moved() -> None:
    """`lock --update` of a company base and an app on its image: the app's pin waits for the
    fleet build that pushes the company image (#15's cascade), and the report says so."""
    from imagespec.lock.jobs import LockReport, Move

    waiting = Move("app/imagespec.yaml", "127.0.0.1:5000/c/company:stable", DIGEST, DIGEST, None,
                   waits_for="company/imagespec.yaml")
    assert not waiting.moved
    report = LockReport((), (), (waiting,), 0, ("company/imagespec.yaml", "app/imagespec.yaml"))
    lines = report.lines()
    assert lines[0] == ("app/imagespec.yaml: 127.0.0.1:5000/c/company:stable waits for company/imagespec.yaml: "
                        "`imagespec build --push` of both moves it to the image that build pushes"), lines
    assert "company/imagespec.yaml, app/imagespec.yaml" in lines[1]
    assert report.to_dict()["moves"] == [{"spec": "app/imagespec.yaml", "image": "127.0.0.1:5000/c/company:stable",
                                          "old": DIGEST, "new": DIGEST, "created": None, "moved": False,
                                          "skipped": None, "waits_for": "company/imagespec.yaml"}]
