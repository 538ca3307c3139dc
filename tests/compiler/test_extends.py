"""`extends`: presets and company templates fill the same spec model (issue 3).
Merge rules, parameters, policies and the one-file catalog repoint, each proven on
compiled output."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler_helpers import REPO, compile_path
from imagespec.errors import PolicyError, SpecError, SpecErrors
from imagespec.spec.config import load_config
from imagespec.spec.read_spec import load_spec

PRESETS = sorted(p.stem for p in (REPO / "templates" / "presets").glob("*.yaml"))
COMPANY = REPO / "examples" / "company"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def froms(dockerfile: str) -> list[str]:
    return [line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM ")]


def test_there_is_a_preset_per_ecosystem() -> None:
    assert {"c", "go", "java", "java-maven", "node", "node-pnpm", "node-yarn", "python", "python-distroless",
            "python-poetry", "python-uv", "rust", "service"} <= set(PRESETS)


@pytest.mark.parametrize("preset", ["c", "go", "java", "java-maven", "node", "node-pnpm", "node-yarn", "python",
                                    "python-distroless", "python-poetry", "python-uv", "rust"])
def test_every_preset_compiles_from_a_few_lines(preset: str, tmp_path: Path) -> None:
    spec = write(tmp_path, "imagespec.yaml", f"extends: {preset}\nname: app\nversion: 1.0.0\n")
    compiled = compile_path(spec)
    assert compiled.plan.runtime.uid == 65532  # BP8 by default
    assert any(line.startswith("ENTRYPOINT [") for line in compiled.dockerfile.splitlines())  # BP2
    assert len(froms(compiled.dockerfile)) >= 2  # multi-stage: the toolchain stays behind (BP11)


def test_maps_merge_lists_replace_plus_appends_null_removes(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", """\
name: base
final:
  from: debian-slim
  env: {A: "1", B: "2"}
  ports: [80]
  writable: [/tmp]
  healthcheck: {cmd: [/bin/true]}
  cmd: [sleep, infinity]
""")
    (tmp_path / ".git").mkdir()  # a path stays in the spec's repository (outside git: its folder)
    spec = write(tmp_path, "app/imagespec.yaml", """\
extends: ../base.yaml
name: app
final:
  env: {B: "two", C: "3"}
  ports: [8080]
  writable+: [/var/cache/app]
  healthcheck: null
""")
    compiled = compile_path(spec)
    final = compiled.loaded.spec.final
    assert final.env == {"A": "1", "B": "two", "C": "3"}  # deep merge, child wins
    assert final.ports == ["8080/tcp"]  # a list replaces
    assert final.writable == ["/tmp", "/var/cache/app"]  # `+` appends
    assert final.healthcheck is None and "HEALTHCHECK" not in compiled.dockerfile  # null removes
    assert compiled.loaded.spec.name == "app"


def test_parameters_fill_the_template(tmp_path: Path) -> None:
    spec = write(tmp_path, "imagespec.yaml", "extends: go\nwith: {package: ./cmd/api, binary: api}\nname: app\n")
    text = compile_path(spec).dockerfile
    assert "-o /out/api ./cmd/api" in text and 'ENTRYPOINT ["/usr/local/bin/api"]' in text


def test_a_final_copy_that_drops_the_templates_binary_is_refused_and_copy_plus_keeps_it(tmp_path: Path) -> None:
    """Lists replace: `final.copy` of a spec on the go preset dropped the binary's copy
    without an error (lint said only IS008), and the scratch image failed at run (127)."""
    extra = "    - {src: config.yaml, dest: /etc/api/config.yaml}\n"
    replaced = write(tmp_path, "replaced/imagespec.yaml", "extends: go\nwith: {binary: api}\nname: api\nfinal:\n  copy:\n" + extra)
    with pytest.raises(SpecError) as caught:
        compile_path(replaced)
    assert caught.value.location.file == str(replaced) and caught.value.location.line == 5  # at the spec's `copy:`
    assert "/usr/local/bin/api" in str(caught.value) and "use `copy+:`" in caught.value.hint
    appended = write(tmp_path, "appended/imagespec.yaml", "extends: go\nwith: {binary: api}\nname: api\nfinal:\n  copy+:\n" + extra)
    assert "COPY --from=build /out/api /usr/local/bin/api" in compile_path(appended).dockerfile
    # the spec's own entrypoint, with the template's copy: reported at the entrypoint the spec wrote
    entry = write(tmp_path, "entry/imagespec.yaml", "extends: go\nname: api\nfinal:\n  entrypoint: [/bin/api]\n")
    with pytest.raises(SpecError) as caught:
        compile_path(entry)
    assert caught.value.location.file == str(entry) and caught.value.location.line == 4
    # a base with a shell holds programs the spec does not copy (debian-slim's /bin/cat)
    slim = write(tmp_path, "slim/imagespec.yaml", "name: app\nfinal:\n  from: debian-slim\n  entrypoint: [/bin/cat]\n")
    assert 'ENTRYPOINT ["/bin/cat"]' in compile_path(slim).dockerfile


def test_an_invalid_with_value_is_reported_with_the_specs_other_errors(tmp_path: Path) -> None:
    """Was: the `with:` error alone, hiding every other invalid value of the spec. A field the
    rejected value fills is not reported again (its error is the `with:` line's)."""
    write(tmp_path, "templates/web.yaml", "parameters:\n  port: {type: name}\n"
          "final:\n  from: debian-slim\n  ports: [\"${{ port }}\"]\n  cmd: [/bin/true]\n")
    spec = write(tmp_path, "imagespec.yaml", "extends: web\nwith: {port: \"a b\"}\nname: app\ncolour: red\n"
                 "final:\n  stop_signal: SIGNOPE\n")
    with pytest.raises(SpecErrors) as caught:
        compile_path(spec)
    assert [(e.location.line, e.message.split(":")[0]) for e in caught.value.errors] == [
        (2, "with.port"), (4, "unknown key 'colour'"), (6, "final.stop_signal")]


def test_errors_inside_a_template_point_at_the_template(tmp_path: Path) -> None:
    write(tmp_path, "templates/broken.yaml", "final:\n  from: debian-slim\n  ports: [99999]\n  cmd: [x]\n")
    spec = write(tmp_path, "imagespec.yaml", "extends: broken\nname: app\n")
    with pytest.raises(SpecError) as caught:
        compile_path(spec)
    assert caught.value.location.file.endswith("templates/broken.yaml") and caught.value.location.line == 3


def test_a_multi_level_chain_and_its_cycle(tmp_path: Path) -> None:
    write(tmp_path, "templates/level2.yaml", "extends: go\nfinal:\n  ports: [9090]\n")
    write(tmp_path, "templates/level1.yaml", "extends: level2\nfinal:\n  env: {LEVEL: one}\n")
    spec = write(tmp_path, "imagespec.yaml", "extends: level1\nname: app\n")
    text = compile_path(spec).dockerfile
    assert "EXPOSE 9090" in text and 'LEVEL="one"' in text and "go build" in text
    write(tmp_path, "templates/level2.yaml", "extends: level1\n")
    with pytest.raises(SpecError, match=r"cycle: .*level1.yaml -> .*level2.yaml -> .*level1.yaml"):
        compile_path(spec)


def test_configured_template_folders_come_first(tmp_path: Path) -> None:
    (tmp_path / "company").mkdir()
    (tmp_path / "company/.git").mkdir()  # the company's own checkout: its templates extend within it
    write(tmp_path, "company/shared/go.yaml", "extends: ../other.yaml\n")  # shadows the built-in `go`
    write(tmp_path, "company/other.yaml", "final:\n  from: debian-slim\n  cmd: [/company-app]\n")
    write(tmp_path, "repo/.imagespec.yaml", "templates: [../company/shared]\n")
    spec = write(tmp_path, "repo/app/imagespec.yaml", "extends: go\nname: app\n")
    assert 'CMD ["/company-app"]' in compile_path(spec).dockerfile


def test_policies_accumulate_and_cannot_be_switched_off(tmp_path: Path) -> None:
    write(tmp_path, "templates/strict.yaml", "policies:\n  non_root: true\n  required_labels: [com.example.team]\n")
    spec = write(tmp_path, "imagespec.yaml", """\
extends: strict
name: app
policies:
  non_root: false
final:
  from: debian-slim
  labels: {com.example.team: x}
  user: {uid: 0, root_reason: "needs port 80"}
  cmd: [sleep, infinity]
""")
    with pytest.raises(PolicyError) as caught:
        compile_path(spec)
    error = caught.value
    assert "non_root" in error.message and "templates/strict.yaml:2:3" in error.message  # where the rule lives
    assert error.location.line == 8  # the `user:` line that breaks it
    assert error.exit_code == 2


@pytest.mark.parametrize(("policy", "final", "words"), [
    ("allowed_registries: [registry.example.com]", "from: debian-slim", "not from an allowed registry"),
    ("required_labels: [com.example.team]", "from: debian-slim", "needs the label 'com.example.team'"),
    ("forbidden_packages: [curl]", "from: debian-slim\n  packages: [curl]", "'curl' is forbidden"),
    ("no_shell: true", "from: debian-slim", "has a shell"),
])
def test_each_policy_rule(tmp_path: Path, policy: str, final: str, words: str) -> None:
    write(tmp_path, ".imagespec.yaml", f"policies:\n  {policy}\n")
    spec = write(tmp_path, "imagespec.yaml", f"name: app\nfinal:\n  {final}\n  cmd: [sleep, infinity]\n")
    with pytest.raises(PolicyError, match=words) as caught:
        compile_path(spec)
    # the configuration's line that set the rule (a list's entry that makes the demand)
    assert ".imagespec.yaml:2:" in caught.value.message


@pytest.mark.parametrize("value", ['""', "' '"])
def test_a_required_label_needs_a_value(tmp_path: Path, value: str) -> None:
    """An empty owner is no owner: the label is there, the demand is not met (QA)."""
    write(tmp_path, "templates/owned.yaml", "policies:\n  required_labels: [com.example.owner]\n")
    spec = write(tmp_path, "imagespec.yaml", "extends: owned\nname: app\nfinal:\n  from: debian-slim\n"
                 f"  cmd: [sleep, infinity]\n  labels:\n    com.example.owner: {value}\n")
    with pytest.raises(PolicyError, match="the label 'com.example.owner' is required and needs a value") as caught:
        compile_path(spec)
    assert (caught.value.location.file, caught.value.location.line, caught.value.location.col) == (str(spec), 7, 24)
    assert "templates/owned.yaml:2:21" in caught.value.message
    spec.write_text(spec.read_text().replace(value, "team-a"), encoding="utf-8")
    assert 'com.example.owner="team-a"' in compile_path(spec).dockerfile


def test_company_apps_follow_the_company_template() -> None:
    for app in ("billing", "search"):
        compiled = compile_path(COMPANY / app / "imagespec.yaml")
        assert all(ref.startswith("registry.example.com/") for ref in froms(compiled.dockerfile))
        assert 'com.example.owner="platform-team"' in compiled.dockerfile
        assert compiled.plan.final.base.has_shell is False


def test_one_catalog_file_repoints_every_image(tmp_path: Path) -> None:
    company = tmp_path / "company"
    shutil.copytree(COMPANY, company)
    before = {app: froms(compile_path(company / app / "imagespec.yaml").dockerfile) for app in ("billing", "search")}
    config = company / ".imagespec.yaml"
    config.write_text(config.read_text().replace("registry.example.com/base/", "registry.example.com/base-v2/"))
    after = {app: froms(compile_path(company / app / "imagespec.yaml").dockerfile) for app in ("billing", "search")}
    for app in before:
        changed = [(b, a) for b, a in zip(before[app], after[app], strict=True) if b != a]
        image_refs = [b for b in before[app] if not b.startswith("imagespec-")]
        assert len(changed) == len(image_refs) > 0, (before[app], after[app])
        assert all(a.startswith("registry.example.com/base-v2/") for _, a in changed)
    assert load_config(start=company).path == config


def _run_words(dockerfile: str) -> list[list[str]]:
    """Every shell-form RUN of the Dockerfile as BuildKit reads it, split into shell words."""
    import shlex

    from compiler_helpers import parse
    return [shlex.split(c.value[0]) for c in parse(dockerfile) if c.cmd.upper() == "RUN" and not c.json]


def test_a_with_value_is_one_shell_word_where_it_lands_in_a_command(tmp_path: Path) -> None:
    # go's `package` is a path: `./x; touch /tmp/p` once added a command to the build step
    spec = write(tmp_path, "imagespec.yaml", 'extends: go\nwith: {package: "./x; touch /tmp/p"}\nname: app\n')
    runs = _run_words(compile_path(spec).dockerfile)
    build = next(words for words in runs if words[:2] == ["go", "build"])
    assert build[-1] == "./x; touch /tmp/p" and "touch" not in build[:-1]


def test_a_path_with_a_space_stays_one_argument(tmp_path: Path) -> None:
    spec = write(tmp_path, "imagespec.yaml", 'extends: c\nwith: {binary: "build/my app"}\nname: app\n')
    words = [w for run in _run_words(compile_path(spec).dockerfile) for w in run]
    at = next(i for i, w in enumerate(words) if w == "install" and words[i + 1] == "-D")  # not apt-get's (tini)
    assert words[at:at + 6] == ["install", "-D", "-m", "0755", "build/my app", "/out/app"]


def test_a_shell_parameter_is_shell_and_its_references_are_words(tmp_path: Path) -> None:
    # java's `build` is declared `type: shell`: written as it is; main_class inside it is a name
    spec = write(tmp_path, "imagespec.yaml", "extends: java\nwith: {main_class: com.example.Main}\nname: app\n")
    text = compile_path(spec).dockerfile
    assert "--main-class com.example.Main -C /out/classes ." in text
    spec.write_text('extends: java\nwith: {build: "make jar && cp app.jar /out/"}\nname: app\n', encoding="utf-8")
    assert "mkdir -p /out && make jar && cp app.jar /out/" in compile_path(spec).dockerfile


def test_a_glob_parameter_keeps_its_wildcards(tmp_path: Path) -> None:
    spec = write(tmp_path, "imagespec.yaml", "extends: java-maven\nwith: {jar: build/lib*/app-?.jar}\nname: app\n")
    assert "cp build/lib*/app-?.jar /out/app.jar" in compile_path(spec).dockerfile


@pytest.mark.parametrize("value", ["../../etc/passwd", "src/../app.py", "..", "lib/*.py", "app?.py", "app[1].py", "!.env",
                                   "#x"])
def test_a_path_parameter_names_one_place_inside_its_folder(tmp_path: Path, value: str) -> None:
    """QA: `--with script=../../etc/passwd` was taken (the entrypoint ran /etc/passwd), and
    a `*` was a pattern in COPY but a literal name in the quoted shell word."""
    spec = write(tmp_path, "imagespec.yaml", f"extends: python\nwith:\n  script: '{value}'\nname: app\n")
    with pytest.raises(SpecError, match="is not a path parameter value") as caught:
        compile_path(spec)
    assert caught.value.location.line == 3 and "glob parameter" in (caught.value.hint or "")


@pytest.mark.parametrize(("declaration", "words"), [
    ("{default: x}", "needs a `type`"),
    ("{type: word, default: x}", "needs a `type`"),
    ("{type: name, default: 'a b'}", "is not a name parameter value"),
    ("{type: name, dflt: x}", "unknown key 'dflt'"),
    ("x", "must be a mapping"),
])
def test_a_template_declares_each_parameter_with_its_type(tmp_path: Path, declaration: str, words: str) -> None:
    write(tmp_path, "templates/mine.yaml", f"parameters:\n  p: {declaration}\nfinal:\n  from: debian-slim\n"
          "  entrypoint: [\"/app/${{{{ p }}}}\"]\n")
    spec = write(tmp_path, "imagespec.yaml", "extends: mine\nname: app\n")
    with pytest.raises(SpecError, match=words) as caught:
        compile_path(spec)
    assert caught.value.location.file.endswith("templates/mine.yaml") and caught.value.location.line == 2


def test_every_preset_parameter_is_typed_and_quoted_where_it_is_used() -> None:
    from imagespec.spec.parameters import shell_scripts
    from imagespec.spec.shell_scan import exposed_placeholder
    from imagespec.spec.templates import builtin_presets
    from imagespec.spec.yaml_source import read_yaml
    for preset in sorted(builtin_presets().glob("*.yaml")):
        data = read_yaml(preset).data
        for name, declared in (data.get("parameters") or {}).items():
            assert isinstance(declared, dict) and declared.get("type"), f"{preset.name}: {name} has no type"
        # a use site inside shell quotes would get a second quoting: `'${{ x }}'` -> `''x''`;
        # one in a heredoc, backquotes or after `eval` would run the value (shell_scan.py)
        for items in shell_scripts(data):
            assert exposed_placeholder("\n".join(command for _, command in items)) is None, (preset.name, items)


def test_parameters_cannot_blow_up_the_output(tmp_path: Path) -> None:
    """A 30 KB `with:` value used in 300 labels would add 9 MB of Dockerfile: refused at
    the `with:` line, like text repeated by YAML aliases (issue #11)."""
    labels = "".join(f"    l{i}: ${{{{ x }}}}\n" for i in range(300))
    write(tmp_path, "t.yaml", "parameters:\n  x: {type: string, default: a}\nfinal:\n  from: scratch\n"
          "  entrypoint: [/app]\n  labels:\n" + labels)
    write(tmp_path, "app.yaml", f"extends: ./t.yaml\nwith:\n  x: {'y' * 30_000}\nname: app\n")
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path / "app.yaml")
    assert "template parameters add more than 256 KiB" in info.value.message
    assert (info.value.location.file, info.value.location.line) == (str(tmp_path / "app.yaml"), 3)
