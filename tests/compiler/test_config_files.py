"""The configuration file and the catalog files it names: a wrong shape is exit 2 at its
line, never silently skipped (a catalog read as empty would send every image back to the
built-in catalog without a word)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagespec.cli import main

SPEC = """name: hello
final:
  from: debian-slim
  entrypoint: [/bin/true]
"""

CASES = {  # name -> (files, expected first line of stderr, relative to the folder)
    "catalog-not-a-mapping": ({"catalog.yaml": "- debian-slim\n"},
                              "catalog.yaml:1:1: a catalog file must be a mapping"),
    "catalog-unknown-key": ({"catalog.yaml": "images: {}\nimagess:\n  x: {image: 'a:1', family: debian}\n"},
                            "catalog.yaml:2:1: unknown key 'imagess' in a catalog file"),
    # the configuration file is validated by one pydantic model (spec.config_file.ConfigFile),
    # through the spec's located-error path: each problem at its own line, with a hint;
    # a key's problem at the key, a scalar value's at the value
    "build-unknown-key": ({".imagespec.yaml": "build: {netwrok: host}\n"},
                          ".imagespec.yaml:1:9: unknown key 'netwrok'"),
    "build-bad-network": ({".imagespec.yaml": "catalog: catalog.yaml\nbuild:\n  network: bridgee\n"},
                          ".imagespec.yaml:3:12: build.network: 'bridgee' is not one of the allowed values"),
    "build-extra-args-not-a-list": ({".imagespec.yaml": "build:\n  extra_args: --no-cache\n"},
                                    ".imagespec.yaml:2:15: 'build.extra_args' must be a list, not a string"),
    # extra_args is an allow-list (spec.engine_flags): a flag that changes what is built is
    # refused at the item naming it; was: accepted, and the base swapped under the labels
    "build-extra-args-build-context": ({".imagespec.yaml": "build:\n  extra_args: [--no-cache, "
                                                           "'--build-context=debian-slim=docker-image://evil:1']\n"},
                                       ".imagespec.yaml:2:28: build.extra_args.1: '--build-context' may change what is "
                                       "built (its base, Dockerfile, inputs or labels), and the image's labels "
                                       "would not say so"),
    "build-extra-args-file-split": ({".imagespec.yaml": "build:\n  extra_args:\n    - --cache-from\n    - x\n"
                                                        "    - -f\n    - other.Dockerfile\n"},
                                    ".imagespec.yaml:5:7: build.extra_args.2: '-f' may change what is built (its "
                                    "base, Dockerfile, inputs or labels), and the image's labels would not say so"),
    "build-extra-args-positional": ({".imagespec.yaml": "build:\n  extra_args: [/other]\n"},
                                    ".imagespec.yaml:2:16: build.extra_args.0: '/other' is not a flag: `docker buildx "
                                    "build` would read it as a second build context"),
    "build-extra-args-pull": ({".imagespec.yaml": "build:\n  extra_args: [--pull=false]\n"},
                              ".imagespec.yaml:2:16: build.extra_args.0: '--pull' may change what is built (its "
                              "base, Dockerfile, inputs or labels), and the image's labels would not say so"),
    "build-extra-args-no-value": ({".imagespec.yaml": "build:\n  extra_args: [--cache-to]\n"},
                                  ".imagespec.yaml:2:16: build.extra_args.0: '--cache-to' needs a value"),
    "build-bad-secret-id": ({".imagespec.yaml": "build:\n  secrets: {'a b': token.txt}\n"},
                            ".imagespec.yaml:2:13: build.secrets.a b: 'a b' is not valid here"),
    "unknown-top-level-key": ({".imagespec.yaml": "catalog: catalog.yaml\nbuidl: {}\n"},
                              ".imagespec.yaml:2:1: unknown key 'buidl'"),
    "policies-not-a-mapping": ({".imagespec.yaml": "policies: [no-root]\n"},
                               ".imagespec.yaml:1:1: 'policies' must be a mapping, not a list"),
    "policies-unknown-rule": ({".imagespec.yaml": "policies:\n  no_shel: true\n"},
                              ".imagespec.yaml:2:3: unknown key 'no_shel'"),
    "bases-bad-mirror": ({".imagespec.yaml": "bases:\n  mirror: ftp://mirror.example/debian\n"},
                         ".imagespec.yaml:2:11: bases.mirror: 'ftp://mirror.example/debian' is not valid here"),
    "image-without-family": ({".imagespec.yaml": "images:\n  debian-slim: {image: 'corp.example/debian:12'}\n"},
                             ".imagespec.yaml:2:3: missing required key 'family'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_wrong_shape_is_exit_2_at_its_line(case: str, tmp_path: Path, monkeypatch, capsys) -> None:
    written, expected = CASES[case]
    files = {"app.yaml": SPEC, ".imagespec.yaml": "catalog: catalog.yaml\n", "catalog.yaml": "images: {}\n", **written}
    (tmp_path / ".git").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = main(["generate", "--no-cache", "app.yaml"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.splitlines()
    assert lines[0] == f"{tmp_path.resolve()}/{expected}"  # both files are named by their real paths
    assert len(lines) == 2 and lines[1].startswith("  hint: ")
    assert not (tmp_path / "Dockerfile").exists()


def test_a_good_catalog_file_still_repoints_images(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "app.yaml").write_text(SPEC, encoding="utf-8")
    (tmp_path / ".imagespec.yaml").write_text("catalog: catalog.yaml\nbuild: {network: host}\n", encoding="utf-8")
    (tmp_path / "catalog.yaml").write_text("images:\n  debian-slim: {image: 'corp.example/debian:12', family: debian}\n",
                                           encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--no-cache", "-o", "-", "app.yaml"]) == 0
    assert "FROM corp.example/debian:12 AS final" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["", "# settings come later\n", "\n\n"])
def test_an_empty_configuration_file_is_no_settings(text: str, tmp_path: Path, monkeypatch, capsys) -> None:
    """As most tools read theirs (`touch .imagespec.yaml`). Was: `the file is empty`, exit 2,
    with a spec's hint (`a spec needs at least name: and final:`)."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "app.yaml").write_text(SPEC, encoding="utf-8")
    (tmp_path / ".imagespec.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--no-cache", "-o", "-", "app.yaml"]) == 0, capsys.readouterr().err
    with_none = capsys.readouterr().out
    (tmp_path / ".imagespec.yaml").unlink()
    assert main(["generate", "--no-cache", "-o", "-", "app.yaml"]) == 0
    assert capsys.readouterr().out == with_none  # the built-in catalog and every default, as with no file


@pytest.mark.parametrize("how", ["--config", "IMAGESPEC_CONFIG"])
def test_a_configuration_that_is_a_fifo_is_exit_2_not_a_hang(how: str, tmp_path: Path, monkeypatch, capsys) -> None:
    """Was: the read waited for a writer for ever."""
    import os

    (tmp_path / "app.yaml").write_text(SPEC, encoding="utf-8")
    os.mkfifo(tmp_path / "fifo")
    monkeypatch.chdir(tmp_path)
    if how == "--config":
        code = main(["generate", "--no-cache", "-o", "-", "--config", "fifo", "app.yaml"])
    else:
        monkeypatch.setenv("IMAGESPEC_CONFIG", "fifo")
        code = main(["generate", "--no-cache", "-o", "-", "app.yaml"])
    assert code == 2
    assert "cannot read fifo: it is not a regular file (a FIFO)" in capsys.readouterr().err


def test_a_template_that_is_a_fifo_is_said_as_what_it_is(tmp_path: Path, monkeypatch, capsys) -> None:
    """Was: "unknown template 'x'", hint "did you mean 'x'?"."""
    import os

    (tmp_path / ".git").mkdir()
    (tmp_path / "templates").mkdir()
    os.mkfifo(tmp_path / "templates" / "x.yaml")
    (tmp_path / "app.yaml").write_text("extends: x\n" + SPEC, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--no-cache", "-o", "-", "app.yaml"]) == 2
    err = capsys.readouterr().err
    assert "template 'x' is " in err and "not a regular file (a FIFO)" in err and "did you mean" not in err
