"""What lowering promises, on the plan: where the helper stage starts, which specs it
refuses (with a message that helps), and what `imagespec explain` attributes to which
spec field. Found missing by bench/mutation.py (docs/mutation.md)."""

from __future__ import annotations

import pytest

from compiler_helpers import compile_text
from imagespec.errors import SpecError
from imagespec.plan import model as p
from imagespec.plan.passes import rootfs

SHELL_LESS_DEBIAN = "{image: registry.example.com/base/debian-noshell:12, family: debian, shell: false}"


def _final(body: str, stages: str = "") -> str:
    return f"name: t\n{stages}final:\n{body}"


def test_the_helper_stage_starts_from_an_image_with_a_shell_and_a_package_manager() -> None:
    """Stages that cannot run commands (a shell-less base, however it is declared) are
    never the helper's base, even when they come first."""
    stages = ("stages:\n"
              f"  assets:\n    from: {SHELL_LESS_DEBIAN}\n    copy: [static/]\n    artifacts: [/src/static]\n"
              "  tools:\n    from: static\n    copy: [bin/]\n    artifacts: [/src/bin]\n"
              "  build:\n    from: debian-slim\n    run: make\n    artifacts: [/out/app]\n")
    plan = compile_text(_final("  from: scratch\n  copy: [{from: build, src: /out/app, dest: /app}]\n"
                               "  entrypoint: [/app]\n", stages)).plan
    helper = plan.stage(rootfs.NAME)
    assert helper.base.has_shell and helper.base.package_manager == "apt", helper.base


def test_a_shell_less_final_without_any_stage_to_prepare_it_has_the_catalogs_debian_slim() -> None:
    """Stranger QA: `from: scratch` with a binary built elsewhere (copied from the context)
    was exit 2, "add a build stage": its user (BP8) is made on the catalog's debian-slim."""
    plan = compile_text(_final("  from: scratch\n  copy: [{src: app, dest: /app}]\n  entrypoint: [/app]\n"
                               "  user: {uid: 10001}\n")).plan
    helper = plan.stage(rootfs.NAME)
    assert helper.base.ref == "debian:bookworm-slim" and helper.base.package_manager == "apt", helper.base
    assert [s.name for s in plan.stages] == [rootfs.NAME, "final"]
    assert plan.runtime.uid == 10001


def test_a_shell_less_final_is_refused_when_not_even_the_catalog_has_a_shell() -> None:
    images = "images:\n  debian-slim: {image: 'example.com/slim:1', family: distroless, shell: false}\n"
    with pytest.raises(SpecError, match="has no shell, so the user 65532 must be prepared in another stage") as info:
        compile_text(_final("  from: scratch\n  copy: [{src: app, dest: /app}]\n  entrypoint: [/app]\n", images))
    assert "add a build stage" in (info.value.hint or "") and "`debian-slim` entry" in (info.value.hint or "")


@pytest.mark.parametrize("base", ["static", SHELL_LESS_DEBIAN])
def test_a_stage_that_runs_commands_needs_a_shell(base: str) -> None:
    stages = f"stages:\n  build:\n    from: {base}\n    run: make\n    artifacts: [/out]\n"
    with pytest.raises(SpecError, match="runs commands but .* has no shell"):
        compile_text(_final("  from: debian-slim\n  copy: [{from: build, src: /out, dest: /out}]\n"
                            "  cmd: [/out/app]\n", stages))


def test_packages_need_a_shell_and_a_package_manager() -> None:
    stages = f"stages:\n  build:\n    from: {SHELL_LESS_DEBIAN}\n    packages: [curl]\n    artifacts: [/out]\n"
    with pytest.raises(SpecError, match="has no package manager to install packages with"):
        compile_text(_final("  from: debian-slim\n  copy: [{from: build, src: /out, dest: /out}]\n"
                            "  cmd: [/out/app]\n", stages))


def test_an_unknown_stage_lists_the_stages_there_are() -> None:
    stages = ("stages:\n  alpha:\n    from: debian-slim\n    run: make\n    artifacts: [/out]\n"
              "  beta:\n    from: debian-slim\n    run: make\n    artifacts: [/out]\n")
    with pytest.raises(SpecError, match="no stage named 'zzz'") as info:
        compile_text(_final("  from: debian-slim\n  copy: [{from: zzz, src: /out, dest: /out}]\n  cmd: [x]\n", stages))
    assert info.value.hint == "stages: alpha, beta"


@pytest.mark.parametrize(("shell", "field"), [(True, "shell"), (False, "entrypoint")])
def test_explain_attributes_the_entrypoint_to_the_field_that_made_it(shell: bool, field: str) -> None:
    plan = compile_text(_final(f"  from: debian-slim\n  shell: {str(shell).lower()}\n  entrypoint: [/app]\n")).plan
    entrypoint = next(i for i in plan.final.instructions if isinstance(i, p.Entrypoint))
    assert entrypoint.origin.path == ("final", field)


def test_dependency_manifests_keep_their_paths_one_copy_per_folder() -> None:
    """Was: every manifest went to `./` (`COPY reqs/prod.txt ./`), so the install command,
    which names it as the project does (`pip install -r reqs/prod.txt`), found nothing. A
    stage's `copy` keeps paths; so do its dependencies now, grouped by folder (BP4: still
    one COPY for the top-level manifests)."""
    stages = ("stages:\n  build:\n    from: debian-slim\n    dependencies:\n"
              "      copy: [go.mod, reqs/prod.txt, go.sum, 'my reqs/a b.txt', reqs/dev.txt, vendor/, 'conf/*.toml']\n"
              "      run: make deps\n    artifacts: [/out]\n")
    plan = compile_text(_final("  from: debian-slim\n  copy: [{from: build, src: /out, dest: /out}]\n"
                               "  cmd: [/out/app]\n", stages)).plan
    copies = [(i.sources, i.dest) for i in plan.stage("build").instructions if isinstance(i, p.Copy)]
    assert copies == [(("go.mod", "go.sum"), "./"), (("reqs/prod.txt", "reqs/dev.txt"), "./reqs/"),
                      (("my reqs/a b.txt",), "./my reqs/"), (("vendor/",), "./vendor/"), (("conf/*.toml",), "./conf/")]


def test_a_wildcard_in_a_dependency_folders_name_is_refused_at_its_item() -> None:
    stages = ("stages:\n  build:\n    from: debian-slim\n    dependencies:\n"
              "      copy: [go.mod, 'svc*/go.mod']\n      run: make deps\n    artifacts: [/out]\n")
    with pytest.raises(SpecError, match="a wildcard in a folder's name") as info:
        compile_text(_final("  from: debian-slim\n  copy: [{from: build, src: /out, dest: /out}]\n"
                            "  cmd: [/out/app]\n", stages))
    assert info.value.location is not None and info.value.location[1:3] == (6, 22), info.value.location


def test_a_copy_source_that_holds_a_shell_is_known_whatever_its_destination() -> None:
    """BP6: the source of a copy from a stage with a shell, not its destination, says whether
    a shell comes along (was: only a destination named like a shell was refused)."""
    from imagespec.contract import copies_shells

    for source in ("/usr/bin/dash", "/bin/sh", "/bin/", "/usr/bin", "/usr/bin/*", "/usr/bin/da?h", "/usr", "/",
                   "/usr/local/", "/sbin/../bin/bash", "/*"):
        assert copies_shells(source), source
    for source in ("/out/app", "/usr/bin/tini", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/local/bin/app",
                   "/opt/venv/", "/usr/share/zoneinfo/", "/out/*"):
        assert not copies_shells(source), source
