"""A base image the engine cannot pull, reported in the spec's terms (issue #18).

BuildKit says only which reference failed to resolve and the Dockerfile line; imagespec
names the spec key and the catalog entry that chose the image, and how to repoint the
catalog. The bases here live on the local registry under a repository that does not
exist, so the pull fails fast without leaving the machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagespec.cli import main
from tests.images.support import RUN_ID

pytestmark = pytest.mark.engine

MISSING = f"127.0.0.1:5000/imagespec-buildtest/missing-{RUN_ID}:1"
SPEC = """\
name: imagespec-buildtest-pull
tags: {{semver: false, git_sha: false, extra: [test]}}
{images}stages:
  build:
    from: {build_from}
    run: echo built > /out.txt
    artifacts: [/out.txt]
final:
  from: scratch
  copy:
    - {{from: build, src: /out.txt, dest: /out.txt}}
  user: {{uid: 65532}}
  cmd: [/out.txt]
"""


def _build(spec: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["build", str(spec), "--progress", "quiet", *args])
    return code, capsys.readouterr().err.splitlines()


def test_an_entry_of_the_specs_own_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "imagespec.yaml"
    images = f"images:\n  app-base: {{image: \"{MISSING}\", family: debian}}\n"
    spec.write_text(SPEC.format(images=images, build_from="app-base"))
    code, err = _build(spec, capsys)
    assert code == 1
    assert err[0] == f"{spec}:7:5: base image {MISSING} cannot be pulled: not found", err
    hint = err[1]
    assert hint.startswith("  hint: `stages.build.from: app-base` is catalog entry `app-base` ")
    assert f"({spec}:4:3)" in hint  # where the entry is defined
    assert "`images: {app-base: {image: REF, family: …}}`" in hint
    assert ".imagespec.yaml" in hint and "--config FILE" in hint
    assert "Dockerfile line" not in "\n".join(err)


def test_an_entry_of_the_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "company.imagespec.yaml"
    config.write_text(f"images:\n  company-base: {{image: \"{MISSING}\", family: debian}}\n")
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(SPEC.format(images="", build_from="company-base"))
    code, err = _build(spec, capsys, "--config", str(config))
    assert code == 1
    assert err[0] == f"{spec}:5:5: base image {MISSING} cannot be pulled: not found", err
    assert f"`stages.build.from: company-base` is catalog entry `company-base` ({config}:2:3)" in err[1]


def test_an_image_written_in_the_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(SPEC.format(images="", build_from=f'{{image: "{MISSING}", family: debian}}'))
    code, err = _build(spec, capsys)
    assert code == 1
    assert err[0] == f"{spec}:5:5: base image {MISSING} cannot be pulled: not found", err
    assert err[1].startswith("  hint: `stages.build.from` names it directly; ")
