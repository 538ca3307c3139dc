"""The precompiled Dockerfile template (render/dockerfile_j2_code.py, and render/dockerfile_j2.py
naming its template) is what Jinja makes of templates/dockerfile/Dockerfile.j2 now, and it is what
renders: a stale one would only cost start-up time (the template is then compiled as before), so
this test says so."""

from __future__ import annotations

import jinja2
import pytest

from compiler_helpers import EXAMPLES, REPO, compile_path
from imagespec.plan import model as p
from imagespec.render import dockerfile

RENDER = REPO / "imagespec" / "render"


@pytest.mark.parametrize("name", ["dockerfile_j2.py", "dockerfile_j2_code.py"])
def test_precompiled_template_is_current(name: str) -> None:
    assert (RENDER / name).read_text(encoding="utf-8") == dockerfile.precompiled_modules()[name], \
        f"imagespec/render/{name} is stale (template or Jinja changed): run `{dockerfile.PRECOMPILED_REGENERATE}`"


def test_the_template_is_not_compiled_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Dockerfile.j2 was compiled instead of taken from dockerfile_j2_code.py")

    env = dockerfile._environment.__wrapped__()  # a fresh environment: nothing cached yet
    monkeypatch.setattr(env, "compile", refuse)
    template = env.get_template(dockerfile.TEMPLATE)
    # its code is named after the template, as Environment.compile names it (Jinja's tracebacks)
    assert template.filename == str(dockerfile.templates_dir() / "dockerfile" / dockerfile.TEMPLATE)
    assert template.root_render_func.__code__.co_filename == template.filename


def test_another_text_is_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dockerfile.dockerfile_j2, "SOURCE_SHA1", "0" * 40)
    env = dockerfile._environment.__wrapped__()
    compiled = []
    original = env.compile
    monkeypatch.setattr(env, "compile", lambda *a, **k: compiled.append(a[1]) or original(*a, **k))
    assert isinstance(env.get_template(dockerfile.TEMPLATE), jinja2.Template)
    assert compiled == [dockerfile.TEMPLATE]


def test_an_instruction_the_template_has_no_branch_for_fails() -> None:
    """The template lays instructions out by kind; an intent a pass should have expanded
    must stop the render, not vanish from the Dockerfile."""
    plan = compile_path(EXAMPLES[0]).plan
    intent = p.InstallPackages(manager="apt", packages=(("curl", None),), phase=p.Phase.SYSTEM, origin=p.Origin(()))
    with pytest.raises(TypeError, match="no layout for InstallPackages"):
        dockerfile.render_dockerfile(plan.replace_stage(plan.final.with_instructions(intent)), source="x", inputs_hash="h")
