"""The renderer's line map (render/line_map.py): every instruction line of every golden
Dockerfile maps to the spec location that produced it, instructions span exactly the
lines BuildKit's parser gives them, and each command of a merged RUN (BP11) sits on
the line the map says, with its own spec line."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler_helpers import EXAMPLES, GOLDEN_CASES, case_id, compile_path, compile_text, parse
from imagespec.compiler import Compiled
from imagespec.errors import BuildStepFailed
from imagespec.pipeline import locate_failure
from imagespec.plan import model as p


def _spec_line(compiled: Compiled, origin: p.Origin | None) -> int:
    assert origin is not None
    location = compiled.loaded.document.location(origin.path)
    # the spec's own file, or a template it extends (templates/presets/go.yaml)
    assert location.file and location.line > 0, (origin, location)
    return location.line


@pytest.mark.parametrize("spec", EXAMPLES + GOLDEN_CASES, ids=lambda p: f"{p.parent.parent.name}/{case_id(p)}")
def test_every_instruction_line_maps_into_its_spec(spec: Path) -> None:
    compiled = compile_path(spec)
    origins = compiled.line_map().origins()
    parsed = parse(compiled.dockerfile)
    lines = compiled.dockerfile.split("\n")
    for command in parsed:
        for line in range(command.start_line, command.end_line + 1):
            if line in origins or not lines[line - 1].lstrip().startswith("#"):
                _spec_line(compiled, origins.get(line))
    # nothing else: comments and blank lines between instructions have no origin
    assert set(origins) == {n for c in parsed for n in range(c.start_line, c.end_line + 1)}


@pytest.mark.parametrize("spec", EXAMPLES + GOLDEN_CASES, ids=lambda p: f"{p.parent.parent.name}/{case_id(p)}")
def test_instructions_span_the_lines_buildkit_reads(spec: Path) -> None:
    compiled = compile_path(spec)
    placed = compiled.line_map().placed
    assert [(i.first, i.last) for i in placed] == [(c.start_line, c.end_line) for c in parse(compiled.dockerfile)]


@pytest.mark.parametrize("spec", EXAMPLES + GOLDEN_CASES, ids=lambda p: f"{p.parent.parent.name}/{case_id(p)}")
def test_each_command_sits_on_its_mapped_line(spec: Path) -> None:
    compiled = compile_path(spec)
    lines = compiled.dockerfile.split("\n")
    for placed in compiled.line_map().placed:
        for command in placed.commands:
            text = "\n".join(lines[command.first - 1:command.last])
            assert command.text in (text.encode().decode("unicode_escape") if placed.form == "exec" else text), \
                (command, text)


MERGED = """\
name: lines
stages:
  build:
    from: debian-slim
    run:
      - echo one
      - no-such-tool --version
    artifacts: [/out]
  check:
    from: debian-slim
    run:
      - echo one
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{from: build, src: /out, dest: /a}, {from: check, src: /out, dest: /b}]
  cmd: [sleep, "1"]
"""


def _run_line(compiled: Compiled, stage: str, command: str) -> int:
    lines = compiled.dockerfile.split("\n")
    start = lines.index(next(line for line in lines if line.startswith("FROM ") and line.endswith(f" AS {stage}")))
    return next(n for n, line in enumerate(lines[start:], start + 1) if line.removesuffix(" \\").endswith(command))


def test_a_merged_run_maps_each_command_to_its_own_spec_line() -> None:
    compiled = compile_text(MERGED)
    lines = compiled.line_map()
    assert _spec_line(compiled, lines.origin_at(_run_line(compiled, "build", "echo one"))) == 6
    assert _spec_line(compiled, lines.origin_at(_run_line(compiled, "build", "no-such-tool --version"))) == 7


def test_identical_run_lines_in_two_stages_map_to_their_own_spec_lines() -> None:
    compiled = compile_text(MERGED)
    lines = compiled.line_map()
    build, check = _run_line(compiled, "build", "echo one"), _run_line(compiled, "check", "echo one")
    assert build != check
    assert (_spec_line(compiled, lines.origin_at(build)), _spec_line(compiled, lines.origin_at(check))) == (6, 12)


# --- a failed build, mapped back through the map (pipeline.locate_failure) ----------------

def _failed_at(compiled: Compiled, line: int, *tail: str) -> BuildStepFailed:
    failure = BuildStepFailed("build failed at RUN …: exit code: 1", step=line, log_tail=tail)
    return locate_failure(compiled, failure)  # type: ignore[return-value]


def test_a_missing_program_in_a_merged_run_names_its_own_spec_line() -> None:
    compiled = compile_text(MERGED)
    start = _run_line(compiled, "build", "echo one")  # BuildKit names the RUN's first line
    for tail in (("one", "/bin/sh: 1: no-such-tool: not found"), ("/bin/sh: no-such-tool: not found",),
                 ("/bin/bash: line 1: no-such-tool: command not found",)):
        assert _failed_at(compiled, start, *tail).location.line == 7, tail


def test_an_unnamed_failure_in_a_merged_run_lists_every_command_it_may_be() -> None:
    compiled = compile_text(MERGED)
    failure = _failed_at(compiled, _run_line(compiled, "build", "echo one"), "one")
    assert failure.location == compiled.loaded.document.location(("stages", "build", "run"))
    assert "<spec>:6:" in failure.hint and "<spec>:7:" in failure.hint, failure.hint


def test_a_failure_in_an_unmerged_run_names_its_spec_line() -> None:
    compiled = compile_text(MERGED)
    assert _failed_at(compiled, _run_line(compiled, "check", "echo one"), "oops").location.line == 12


C_PRESET = "extends: c\n{with_}name: wc\nversion: 1.0.0\n"


@pytest.mark.parametrize(("with_", "line", "col"), [("", 1, 1), ("with: {binary: bin/wc}\n", 2, 8)])
def test_a_failed_step_of_a_preset_is_reported_at_the_spec_with_its_parameters(with_: str, line: int, col: int) -> None:
    """The c preset's `install … ${{ binary }}` found no file (QA): was reported inside
    templates/presets/c.yaml only, a file the user did not write; now at the spec's `with:`
    value that filled it, else its `extends:`, naming the parameters to set."""
    compiled = compile_text(C_PRESET.format(with_=with_))
    failure = _failed_at(compiled, _run_line(compiled, "build", "make"),
                         "cc -o bin/wc wc.c", "install: cannot stat 'app': No such file or directory")
    assert (failure.location.file, failure.location.line, failure.location.col) == ("<spec>", line, col), failure
    assert failure.hint.startswith("the failed step is the template's, at ") and "c.yaml:24:" in failure.hint
    assert "`with: {binary: …, name: …}`" in failure.hint, failure.hint


def test_an_unnamed_failure_of_a_presets_merged_run_is_reported_at_the_spec() -> None:
    compiled = compile_text(C_PRESET.format(with_=""))
    failure = _failed_at(compiled, _run_line(compiled, "build", "make"), "something went wrong")
    assert failure.location.line == 1 and "c.yaml:23:" in failure.hint and "c.yaml:24:" in failure.hint, failure.hint
    assert "`${{ build }}`" in failure.hint


def test_the_heredoc_trace_names_the_failed_command() -> None:
    compiled = compile_text(HEREDOC)
    start = next(n for n, line in enumerate(compiled.dockerfile.split("\n"), 1) if line.startswith("RUN <<EOF"))
    failure = _failed_at(compiled, start, "+ echo one", "one", "+ echo two", "two", "+ test -f /missing")
    assert failure.location.line == 10, compiled.dockerfile


HEREDOC = """\
name: lines
features: [heredoc]
stages:
  build:
    from: debian-slim
    run:
      - |
        echo 'one'
        echo 'two'
      - test -f /missing
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{from: build, src: /out, dest: /a}]
  cmd: [sleep, "1"]
"""


ON_AN_IMAGE = """\
name: app
version: 1.0.0
stages:
  build:
    from: {{image: "co/base:1.0.0", family: debian{user}}}
    run: mkdir -p /out && touch /out/app
    artifacts: [/out/app]
final:
  from: scratch
  copy: [{{from: build, src: /out/app, dest: /app}}]
  entrypoint: [/app]
"""
DENIED = "mkdir: cannot create directory '/out': Permission denied"


@pytest.mark.parametrize("user, who", [("", "as that image's own USER (an image imagespec built runs as 65532"),
                                       (", user: 65532", "as user 65532 (its `from: user:`)")])
def test_permission_denied_in_a_stage_on_an_image_names_the_images_user(user: str, who: str) -> None:
    """A stranger's build stage FROM a company base spec's image: its steps run as that
    image's non-root user (BP8) and the log says only `Permission denied`."""
    compiled = compile_text(ON_AN_IMAGE.format(user=user))
    failure = _failed_at(compiled, _run_line(compiled, "build", "touch /out/app"), DENIED)
    assert failure.location.line == 6
    assert f"stage `build` starts FROM co/base:1.0.0, so its RUN steps run {who}" in failure.hint, failure.hint
    assert "/tmp" in failure.hint and "build image of the catalog" in failure.hint


def test_permission_denied_in_a_stage_on_a_catalog_build_image_adds_no_user_hint() -> None:
    compiled = compile_text(MERGED)
    failure = _failed_at(compiled, _run_line(compiled, "check", "echo one"), DENIED)
    assert "starts FROM" not in (failure.hint or "")
