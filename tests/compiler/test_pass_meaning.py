"""What the passes promise, checked on the plan's meaning, never on Dockerfile text.

The golden files pin the text; a change that keeps a plausible text but breaks the
promise (a lost cache boundary, a secret that no longer reaches a download step, a pipe
that fails silently, junk back in the build context) must fail here as well. Each test
names the practice it holds (BP4, BP9, BP15, DL4006). The same promises are shown on a
built image in tests/integration/test_pass_behaviour.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from docker.utils.build import exclude_paths

from compiler_helpers import EXAMPLES, GOLDEN_CASES, compile_path, compile_text, hadolint, parse
from imagespec.plan import model as p
from imagespec.plan.passes import rootfs
from imagespec.plan.passes.add_init import STAGE as TINI_STAGE
from imagespec.contract import SECRET_ID

# -- BP4: the dependency install and the build are separate cache boundaries ----------------

# A stage without `copy:` has nothing between its dependency step and its build step:
# only the phase keeps them apart, with or without the CA secret (downloads).
CACHE_SPECS = {
    f"{'downloads' if downloads else 'offline'}-{'source' if source else 'no-source'}": f"""\
name: t
stages:
  build:
    from: go-build
    cache: [/root/go/pkg/mod]
    dependencies:
      copy: [go.mod]
      run: [go mod download, go mod verify]
      downloads: {str(downloads).lower()}
{"    copy: [.]" if source else ""}
    run: [go vet ./..., go build -o /out/app .]
    artifacts: [/out/app]
final:
  from: scratch
  copy: [{{from: build, src: /out/app, dest: /app}}]
  entrypoint: [/app]
"""
    for downloads in (True, False) for source in (True, False)
}


def _run_sources(run: p.Run) -> list[tuple]:
    return [run.origin.path, *(o.path for o in run.merged_from)]


def _kind(path: tuple) -> str | None:
    """Which part of a stage a spec path belongs to: its dependency install or its build."""
    if len(path) > 2 and path[0] == "stages":
        if path[2] == "dependencies":
            return "dependencies"
        if path[2] == "run":
            return "build"
    return None


def assert_dependency_steps_stand_alone(plan: p.Plan) -> None:
    for stage in plan.stages:
        kinds = [{_kind(path) for path in _run_sources(i)} - {None} if isinstance(i, p.Run) else set()
                 for i in stage.instructions]
        for i, found in enumerate(kinds):
            assert len(found) <= 1, f"stage {stage.name}: step {i} mixes {sorted(found)}: one cache key for both (BP4)"
        deps = [i for i, k in enumerate(kinds) if "dependencies" in k]
        build = [i for i, k in enumerate(kinds) if "build" in k]
        sources = [i for i, step in enumerate(stage.instructions)
                   if isinstance(step, p.Copy) and step.phase == p.Phase.SOURCE]
        # the install runs before the source arrives and before the build: editing the
        # source or the build command leaves it cached
        assert not deps or max(deps) < min(sources + build, default=len(kinds)), stage.name


@pytest.mark.parametrize("name", sorted(CACHE_SPECS))
def test_dependency_install_and_build_are_separate_steps(name: str) -> None:
    plan = compile_text(CACHE_SPECS[name]).plan
    assert_dependency_steps_stand_alone(plan)
    runs = [i for i in plan.stage("build").instructions if isinstance(i, p.Run)]
    # the two dependency commands share a step, and so do the two build commands (BP11)
    assert [len(r.commands) for r in runs] == [2, 2]


@pytest.mark.parametrize("spec", [*EXAMPLES, *(c for c in GOLDEN_CASES)], ids=lambda path: path.parent.name)
def test_no_example_merges_its_dependency_install_into_its_build(spec: Path) -> None:
    assert_dependency_steps_stand_alone(compile_path(spec).plan)


# -- BP15: the spec's secrets reach every step that downloads, and no other -------------------

SECRETS_SPEC = """\
name: t
secrets:
  - {id: token, env: TOKEN}
  - {id: netrc, target: /root/.netrc}
stages:
  deps:
    from: debian-slim
    packages: [curl]
    dependencies:
      copy: [requirements.txt]
      run: pip download -r requirements.txt
    run: make
    artifacts: [/out]
  offline:
    from: debian-slim
    dependencies:
      copy: [go.mod]
      run: go mod download
      downloads: false
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{from: deps, src: /out, dest: /out}, {from: offline, src: /out, dest: /out2}]
  cmd: [/out/app]
"""


def _secret_mounts(run: p.Run) -> dict[str, str]:
    return {m.id or "": m.target for m in run.mounts if m.kind == "secret"}


def _mounted_secrets(flags: tuple[str, ...]) -> dict[str, str]:
    """Where BuildKit mounts each secret of a RUN: `target=`, else /run/secrets/<id>."""
    found = {}
    for flag in flags:
        if flag.startswith("--mount="):
            options = dict(part.split("=", 1) for part in flag.removeprefix("--mount=").split(","))
            if options.get("type") == "secret":
                found[options["id"]] = options.get("target", f"/run/secrets/{options['id']}")
    return found


def test_spec_secrets_are_mounted_where_the_spec_says_as_buildkit_reads_them() -> None:
    runs = [c for c in parse(compile_text(SECRETS_SPEC).dockerfile) if c.cmd.upper() == "RUN"]
    mounted = {c.value[0].rsplit("&& ", 1)[-1].strip(): _mounted_secrets(c.flags) for c in runs}
    assert mounted.pop("pip download -r requirements.txt") == {
        SECRET_ID: f"/run/secrets/{SECRET_ID}", "token": "/run/secrets/token", "netrc": "/root/.netrc"}
    assert not any(mounted.values()), mounted


def test_spec_secrets_are_mounted_into_each_download_step_only() -> None:
    plan = compile_text(SECRETS_SPEC).plan
    runs = {(stage.name, _kind(i.origin.path) or "other"): i for stage in plan.stages for i in stage.instructions
            if isinstance(i, p.Run)}
    download = runs[("deps", "dependencies")]
    assert _secret_mounts(download) == {SECRET_ID: f"/run/secrets/{SECRET_ID}", "token": "/run/secrets/token",
                                        "netrc": "/root/.netrc"}
    assert dict(download.secret_values) == {"TOKEN": "/run/secrets/token"}  # the value, read from the mount
    for key, run in runs.items():
        if key != ("deps", "dependencies"):
            # the build, the apt install (plain HTTP) and the step marked `downloads: false`
            assert not _secret_mounts(run) and not run.secret_values, key


# -- DL4006: a failure anywhere in a pipe fails the step ---------------------------------------

PIPE_SPEC = """\
name: t
stages:
  build:
    from: debian-slim
    run: [make, "curl -fsS https://example.com/x | tar -x"]
    artifacts: [/out]
final:
  from: debian-slim
  copy: [{from: build, src: /out, dest: /out}]
  cmd: [/out/app]
"""


def _shell(stage: p.Stage) -> tuple[str, ...]:
    shells = [i.argv for i in stage.instructions if isinstance(i, p.Shell)]
    return shells[-1] if shells else ("/bin/sh", "-c")


@pytest.mark.parametrize("command", ["false | true", "false | true | cat", "echo x | false | cat"])
def test_a_failing_command_in_a_pipe_fails_the_step(command: str, tmp_path: Path) -> None:
    stage = compile_text(PIPE_SPEC).plan.stage("build")
    # run as BuildKit runs a shell-form RUN: the stage's SHELL argv, then the command text
    done = subprocess.run([*_shell(stage), command], cwd=tmp_path, capture_output=True, timeout=10)
    assert done.returncode != 0, (_shell(stage), command)
    assert subprocess.run([*_shell(stage), "true | true"], cwd=tmp_path, timeout=10).returncode == 0


def test_a_stage_without_a_pipe_keeps_the_default_shell() -> None:
    """`||`, `>|` and `|&`-free text are not pipes: the author's /bin/sh stays."""
    plan = compile_text(PIPE_SPEC.replace('"curl -fsS https://example.com/x | tar -x"', '"test -f x || touch x >| y"')).plan
    assert _shell(plan.stage("build")) == ("/bin/sh", "-c")


# -- BP3: tini comes from the helper stage's own package manager ------------------------------

def test_a_static_tini_is_built_small_with_the_helper_stages_package_manager() -> None:
    plan = compile_text("name: t\nstages:\n  build:\n    from: {image: alpine:3.20, family: alpine}\n"
                        "    run: make\n    artifacts: [/out/app]\n"
                        "final:\n  from: scratch\n  init: true\n"
                        "  copy: [{from: build, src: /out/app, dest: /app}]\n  entrypoint: [/app]\n").plan
    # tini comes from a stage of its own on the catalog's debian-slim (the same on every
    # spec, so it stays cached), built with that stage's own apt: Debian's source package,
    # linked against musl (issue #12: glibc's static tini is 708 KB, a Rust app's half)
    helper = plan.stage(TINI_STAGE)
    assert helper.base.package_manager == "apt"
    commands = [c for i in helper.instructions if isinstance(i, p.Run) for c in i.commands]
    assert "apt-get source --download-only tini" in commands, commands
    assert "apt-get install -y --no-install-recommends musl-tools" in commands, commands
    assert any(c.startswith("musl-gcc -static") for c in commands), commands
    assert not any(c.startswith("apk") for c in commands), commands
    assert commands.index("rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin") > commands.index("apt-get update")
    copied = [(i.from_stage, i.sources) for i in plan.final.instructions
              if isinstance(i, p.Copy) and i.dest == "/usr/bin/tini"]
    assert copied == [(TINI_STAGE, ("/usr/local/bin/tini-static",))]
    assert helper.artifacts == ("/usr/local/bin/tini-static",)


def test_an_apk_helper_takes_alpines_own_static_tini() -> None:
    """Alpine's tini-static is already linked against musl: installed, not built."""
    from imagespec.plan.model import replace
    from imagespec.plan.passes.add_init import _tini_stage

    plan = compile_text("name: t\nstages:\n  build:\n    from: {image: alpine:3.20, family: alpine}\n"
                        "    run: make\n    artifacts: [/out/app]\n"
                        "final:\n  from: scratch\n  copy: [{from: build, src: /out/app, dest: /app}]\n"
                        "  entrypoint: [/app]\n").plan
    stage, path = _tini_stage(replace(plan, fetch_base=plan.stage("build").base))
    assert path == "/sbin/tini-static" and stage.artifacts == (path,)
    assert [i.packages for i in stage.instructions] == [(("tini-static", None),)]


# -- BP4/BP15: the generated context holds the declared inputs and nothing else ---------------

TREE = ("app.txt", "go.mod", "src/main.go", "src/.env", "src/.git/HEAD", "src/__pycache__/m.cpython-311.pyc",
        "src/lib.pyc", "src/node_modules/left-pad/index.js", "src/.venv/bin/python", "src/notes.swp",
        ".env", ".git/HEAD", "secret.txt", "build.log", "Dockerfile", "imagespec.yaml", "node_modules/x/index.js",
        # credentials and junk the defaults missed (a stranger's QA report): dotenv variants,
        # npm's and PyPI's auth files, netrc, a virtualenv named venv (pip in the image), caches
        ".env.local", ".env.production", "src/.env.development", ".npmrc", "src/.npmrc", ".pypirc", ".netrc",
        "venv/bin/pip", "src/venv/pyvenv.cfg", ".pytest_cache/v/cache/nodeids", "src/.mypy_cache/x.json",
        ".ruff_cache/x", ".tox/py311/bin/pip",
        # a dotenv template holds names, not values: the top-level one stays with `copy: [.]`
        ".env.example", "src/.env.example")


def _context(tmp_path: Path, patterns: tuple[str, ...]) -> set[str]:
    """The files the engine receives, read with docker-py's implementation of the
    .dockerignore rules (last matching pattern wins, `!` re-includes)."""
    for name in TREE:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    kept = {path for path in exclude_paths(str(tmp_path), list(patterns)) if (tmp_path / path).is_file()}
    # docker-py always keeps the Dockerfile (its legacy builder reads it from the context);
    # BuildKit receives it separately, so the .dockerignore decides about it alone
    return kept - {"Dockerfile"} if "Dockerfile" in patterns or "*" in patterns else kept


def _spec(copies: str, ignore: str = "[]") -> str:
    return f"""\
name: t
ignore: {ignore}
stages:
  build:
    from: go-build
    dependencies: {{copy: [go.mod], run: go mod download}}
    copy: {copies}
    run: go build -o /out/app ./src
    artifacts: [/out/app]
final:
  from: scratch
  copy: [{{from: build, src: /out/app, dest: /app}}, {{src: app.txt, dest: /app.txt}}]
  entrypoint: [/app]
"""


def test_allow_list_context_holds_exactly_the_declared_files(tmp_path: Path) -> None:
    plan = compile_text(_spec("[src/]")).plan
    assert _context(tmp_path, plan.dockerignore) == {"app.txt", "go.mod", "src/main.go"}


def test_allow_list_context_honours_the_specs_own_ignores(tmp_path: Path) -> None:
    plan = compile_text(_spec("[src/]", ignore="['**/main.go']")).plan
    assert _context(tmp_path, plan.dockerignore) == {"app.txt", "go.mod"}


def test_deny_list_context_drops_vcs_data_secrets_and_build_output(tmp_path: Path) -> None:
    plan = compile_text(_spec("[.]", ignore="['*.log', secret.txt]")).plan
    # imagespec's own files (spec, Dockerfiles, ignore files) never enter the context either
    assert _context(tmp_path, plan.dockerignore) == {"app.txt", "go.mod", "src/main.go", ".env.example"}


def test_allow_list_lets_in_a_dotenv_template_it_names(tmp_path: Path) -> None:
    """`**/.env.*` keeps `.env.local` out of a copied folder; a template the spec names
    itself (an app that reads .env.example at run time) still reaches its COPY."""
    plan = compile_text(_spec("[src/, .env.example, src/.env.example]")).plan
    assert _context(tmp_path, plan.dockerignore) == {"app.txt", "go.mod", "src/main.go", ".env.example",
                                                     "src/.env.example"}


# -- BP5: one index update per stage, installing everything the stage asked for --------------

def _without_helper(text: str) -> p.Plan:
    """The plan of a spec whose catalog has no debian-slim and no build stage: nowhere to
    build the static tini, so a final with a package manager installs the distribution's."""
    from imagespec.plan.lower import lower
    from imagespec.plan.model import replace
    from imagespec.plan.passes import run_passes
    from imagespec.spec.config import load_config
    from imagespec.spec.read_spec import load_spec_text

    plan = lower(load_spec_text(text).spec, load_config().catalog)
    return run_passes(replace(plan, fetch_base=None))


def test_a_stage_updates_the_package_index_once_for_all_its_packages() -> None:
    # the final installs curl and, for init: true with no helper, tini: two install intents, one update
    plan = _without_helper("name: t\nfinal:\n  from: debian-slim\n  packages: [curl]\n  init: true\n"
                           "  cmd: [sleep, infinity]\n")
    commands = [c for i in plan.final.instructions if isinstance(i, p.Run) for c in i.commands]
    assert sum(c == "apt-get update" for c in commands) == 1, commands
    installs = [c.split() for c in commands if c.startswith("apt-get install")]
    assert len(installs) == 1 and {"curl", "tini"} <= set(installs[0]), installs
    # explain attributes the one install to the spec's own `packages`, which it came from first
    step = next(i for i in plan.final.instructions if isinstance(i, p.Run) and "apt-get update" in i.commands)
    assert step.origin.path == ("final", "packages")


def test_a_final_with_apt_still_copies_the_small_static_tini() -> None:
    """With a helper to build it in, tini is the static 60 KB file on every final: an apt
    install in the final would rewrite the base layer's package database (issue #12)."""
    plan = compile_text("name: t\nfinal:\n  from: debian-slim\n  init: true\n  cmd: [sleep, infinity]\n").plan
    assert not [i for i in plan.final.instructions if isinstance(i, p.Run) and "apt-get update" in i.commands]
    copied = [(i.from_stage, i.sources) for i in plan.final.instructions if isinstance(i, p.Copy)]
    assert (TINI_STAGE, ("/usr/local/bin/tini-static",)) in copied


# -- BP8/BP9/BP3 on shell-less finals: nothing may RUN in an image without a shell -------------

SHELL_LESS = {
    "scratch": "scratch",
    "distroless": "static",
    "debian-without-shell": "{image: registry.example.com/app/base:1, family: debian, shell: false}",
}


@pytest.mark.parametrize("final", sorted(SHELL_LESS))
@pytest.mark.parametrize("extras", ["", "  writable: [/data, /tmp]\n  init: true\n", "  user: {uid: 1000}\n"])
def test_a_shell_less_final_gets_its_user_and_directories_from_the_helper_stage(final: str, extras: str) -> None:
    text = (f"name: t\nstages:\n  build:\n    from: debian-slim\n    run: make\n    artifacts: [/out/app]\n"
            f"final:\n  from: {SHELL_LESS[final]}\n{extras}"
            "  copy: [{from: build, src: /out/app, dest: /app}]\n  entrypoint: [/app]\n")
    plan = compile_text(text).plan
    assert not [i for i in plan.final.instructions if isinstance(i, p.Run)], "a RUN needs /bin/sh"
    if plan.final.base.provided_user != plan.runtime.uid or extras:
        # the passwd entry, the home and the directories are made in the helper stage
        # (tests/integration/test_pass_behaviour.py shows them on the built image)
        assert any(isinstance(i, p.Copy) and i.from_stage == rootfs.NAME for i in plan.final.instructions)
    for stage in plan.stages:
        if any(isinstance(i, p.Run) for i in stage.instructions):
            assert stage.base.has_shell, stage.name


# -- the lint annotations follow the content: fresh output, not the committed files -----------

def test_every_spec_compiles_now_to_a_hadolint_clean_dockerfile(tmp_path: Path) -> None:
    """test_dockerfile_parse.py lints the committed Dockerfiles (text); this lints what
    the compiler makes today, so a pass that drops or misplaces a `# hadolint ignore=`
    (unpinned packages, DL3008) fails here even before the files are regenerated."""
    written = []
    for n, spec in enumerate([*EXAMPLES, *GOLDEN_CASES]):
        written.append(tmp_path / f"{n}-{spec.parent.name}.Dockerfile")
        written[-1].write_text(compile_path(spec).dockerfile)
    assert {path: found for path, found in hadolint(written).items() if found} == {}


# -- explain: the merged LABEL is attributed to the spec's own `labels` -----------------------

def test_the_merged_label_keeps_the_spec_labels_origin_and_both_kinds() -> None:
    # a spec cannot set a label imagespec derives (spec.values.spec_label_key): the two never disagree
    plan = compile_text("name: t\nversion: 1.0.0\nfinal:\n  from: debian-slim\n  writable: [/data]\n"
                        "  labels: {team: core}\n"
                        "  cmd: [sleep, infinity]\n").plan
    labels = [i for i in plan.final.instructions if isinstance(i, p.Label)]
    assert len(labels) == 1 and labels[0].origin.path == ("final", "labels")
    items = dict(labels[0].items)
    assert items["org.opencontainers.image.version"] == "1.0.0" and items["team"] == "core"
    assert items["org.opencontainers.image.title"] == "t" and items["io.imagespec.writable"] == "/data"


# -- BP8: steps on an image that runs as its non-root user run as root ----------------------

STEPS_ON_NONROOT = """\
name: t
stages:
  tools:
    from: {image: "company/base:1", family: debian, user: 65532}
    run: [mkdir -p /out, touch /out/t]
    artifacts: [/out]
  more:
    from: tools
    run: touch /out/u
    artifacts: [/out]
final:
  from: {image: "company/base:1", family: debian, user: 65532}
  packages: [netbase]
  copy: [{from: more, src: /out, dest: /srv}]
  entrypoint: [/bin/true]
"""


def _users(stage: p.Stage) -> list[str]:
    return [i.user for i in sorted(stage.instructions, key=lambda i: i.phase) if isinstance(i, p.User)]


def test_steps_on_a_base_that_declares_a_nonroot_user_run_as_root_and_the_image_as_that_user(
        tmp_path: Path) -> None:
    """A base spec's image ends with USER 65532: its `from:` says `user: 65532`. A stage
    with steps on it says USER 0 first (apt-get as 65532: Permission denied); a stage FROM
    that stage starts as root already; the final's last USER is still 65532, and hadolint
    has nothing to say (the final's USER 0 is not its last, DL3002)."""
    compiled = compile_text(STEPS_ON_NONROOT)
    plan = compiled.plan
    assert _users(plan.stage("tools")) == ["0"]
    assert _users(plan.stage("more")) == []
    assert _users(plan.final) == ["0", "65532:65532"]
    written = tmp_path / "Dockerfile"
    written.write_text(compiled.dockerfile)
    assert hadolint([written]) == {str(written): []}
    no_steps = compile_text(STEPS_ON_NONROOT.replace("  packages: [netbase]\n", ""))
    assert _users(no_steps.plan.final) == ["65532:65532"]  # nothing to run: no USER 0


def test_steps_on_a_base_without_a_declared_user_get_no_user_line() -> None:
    plan = compile_text(STEPS_ON_NONROOT.replace(", user: 65532}", "}")).plan
    assert _users(plan.stage("tools")) == [] and _users(plan.final)[0] != "0"
