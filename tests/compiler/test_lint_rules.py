"""One test per lint rule (imagespec/lint.py): the rule fires on the smallest spec that
breaks it, at the right place and level, and stays quiet on the spec that does not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiler_helpers import compile_path, compile_text
from imagespec.cli import main
from imagespec.spec.build_context import BuildContext
from imagespec import lint as lint_module
from imagespec.lint import Finding, lint

CLEAN = """\
name: app
version: 1.0.0
license: MIT
final:
  from: debian-slim
  entrypoint: [/app]
"""


def findings(text: str) -> list[Finding]:
    return lint(compile_text(text))


def rules(text: str) -> list[str]:
    return [f.rule for f in findings(text)]


def only(text: str, rule: str) -> Finding:
    found = [f for f in findings(text) if f.rule == rule]
    assert len(found) == 1, found
    return found[0]


def test_clean_spec_has_no_findings() -> None:
    assert findings(CLEAN) == []


def test_every_rule_has_a_test() -> None:
    source = Path(lint_module.__file__).read_text(encoding="utf-8")
    declared = set(re.findall(r'"(IS[0-9]{3})"', source))
    tested = {name.split("_")[1].upper() for name in globals() if re.match(r"test_is[0-9]{3}_", name)}
    assert declared == tested


def test_readme_lists_every_rule() -> None:
    source = Path(lint_module.__file__).read_text(encoding="utf-8")
    readme = (Path(lint_module.__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert set(re.findall(r'"(IS[0-9]{3})"', source)) == set(re.findall(r"^\| (IS[0-9]{3}) \|", readme, re.M))


def test_is001_floating_base_image() -> None:
    floating = CLEAN.replace("from: debian-slim", "from: {image: 'debian:latest', family: debian}")
    finding = only(floating, "IS001")
    assert (finding.level, finding.practice) == ("warning", "BP13")
    assert "'debian:latest' floats" in finding.message
    assert (finding.location.line, finding.location.col) == (5, 3)
    assert "IS001" in rules(CLEAN.replace("from: debian-slim", "from: {image: debian, family: debian}"))
    pinned = CLEAN.replace("from: debian-slim", "from: {image: 'debian@sha256:" + "a" * 64 + "', family: debian}")
    assert "IS001" not in rules(pinned)  # a digest never floats


@pytest.mark.parametrize("where", ["final", "stage", "arg"])
def test_is002_secret_in_the_image(where: str) -> None:
    if where == "final":
        text = CLEAN.replace("  entrypoint:", "  env:\n    DB_PASSWORD: hunter2\n  entrypoint:")
        line = 7
    elif where == "stage":
        text = CLEAN.replace("final:", "stages:\n  build:\n    from: debian-slim\n    env: {GITHUB_TOKEN: x}\n"
                                       "    run: make\nfinal:")
        text = text.replace("  entrypoint:", "  copy: [{from: build, src: /out, dest: /out}]\n  entrypoint:")
        text = text.replace("    run: make\n", "    run: make\n    artifacts: [/out]\n")
        line = 7
    else:
        text = CLEAN.replace("final:", "stages:\n  build:\n    from: debian-slim\n    args: {API_KEY: default}\n"
                                       "    run: make\n    artifacts: [/out]\nfinal:")
        text = text.replace("  entrypoint:", "  copy: [{from: build, src: /out, dest: /out}]\n  entrypoint:")
        line = 7
    finding = only(text, "IS002")
    assert (finding.level, finding.practice, finding.location.line) == ("error", "BP15", line)
    if where == "arg":  # a build arg without a default carries nothing into the image history
        assert "IS002" not in rules(text.replace("{API_KEY: default}", "{API_KEY: null}"))


def test_is003_attack_tool_in_the_final_image() -> None:
    finding = only(CLEAN.replace("  entrypoint:", "  packages: [ca-certificates, curl]\n  entrypoint:"), "IS003")
    assert (finding.level, finding.practice) == ("warning", "BP6")
    assert "'curl'" in finding.message
    in_build_stage = CLEAN.replace("final:", "stages:\n  fetch:\n    from: debian-slim\n    packages: [curl]\n"
                                             "    artifacts: [/out]\nfinal:").replace(
        "  entrypoint:", "  copy: [{from: fetch, src: /out, dest: /out}]\n  entrypoint:")
    assert "IS003" not in rules(in_build_stage)
    # a stage the final image is built FROM hands over everything, its packages too (was: unseen)
    built_on = CLEAN.replace("final:\n  from: debian-slim", "stages:\n  tools:\n    from: debian-slim\n"
                             "    packages: [curl]\n  base:\n    from: tools\nfinal:\n  from: base")
    finding = only(built_on, "IS003")
    assert finding.location.line == 7 and "from stage 'tools'" in finding.message, finding


def test_is004_no_license() -> None:
    finding = only(CLEAN.replace("license: MIT\n", ""), "IS004")
    assert (finding.level, finding.practice, finding.location.line) == ("warning", "BP16", 1)


def test_is005_no_version() -> None:
    finding = only(CLEAN.replace("version: 1.0.0\n", ""), "IS005")
    assert (finding.level, finding.practice) == ("info", "BP14")


def test_is006_shell_entrypoint() -> None:
    finding = only(CLEAN.replace("  entrypoint: [/app]", "  shell: true\n  entrypoint: /app --port $PORT"), "IS006")
    assert (finding.level, finding.practice, finding.location.line) == ("warning", "BP2", 6)


@pytest.mark.parametrize(("start", "line"), [("  entrypoint: [/bin/sh, -c, 'mkdir -p /tmp/x && /app']", 6),
                                             ("  entrypoint: [bash, -c, 'exec /app']", 6),
                                             ("  cmd: [/usr/bin/dash, -c, /app]", 6)])
def test_is014_a_shell_as_pid_1(start: str, line: int) -> None:
    """What `imagespec test` fails (config-exec-form) said before a build: was lint-clean."""
    finding = only(CLEAN.replace("  entrypoint: [/app]", start), "IS014")
    assert (finding.level, finding.practice, finding.location.line) == ("error", "BP2", line)
    assert "shell: true" in finding.hint


@pytest.mark.parametrize("start", ["  entrypoint: [/app, -c, x]", "  entrypoint: [/bin/sh, /app.sh]",
                                   "  entrypoint: [/bin/sh, -c, x]\n  shell: true",
                                   "  entrypoint: [/app]\n  cmd: [sh, -c, x]"])  # cmd: the entrypoint's arguments
def test_is014_not_for_a_program_its_script_or_a_declared_shell(start: str) -> None:
    assert "IS014" not in rules(CLEAN.replace("  entrypoint: [/app]", start))


@pytest.mark.parametrize(("start", "line", "col"), [
    ("  entrypoint: [/app, --bind, '0.0.0.0:$PORT']", 6, 30),  # a stranger's Procfile, as init wrote it
    ("  entrypoint: [/app]\n  cmd: [--home, '${HOME}']", 7, 17),
    ("  shell: true\n  entrypoint: /app\n  cmd: [$PORT]", 8, 9),  # the script's arguments: "$@" keeps them
    ("  entrypoint: [/app]\n  healthcheck: {cmd: [/app, -port, $PORT]}", 7, 36)])
def test_is017_a_variable_in_an_exec_form_argument(start: str, line: int, col: int) -> None:
    """Was lint-clean: the container failed ("'$PORT' is not a valid port number")."""
    finding = only(CLEAN.replace("  entrypoint: [/app]", start), "IS017")
    assert (finding.level, finding.practice, finding.location.line, finding.location.col) == \
        ("warning", "BP2", line, col), finding
    assert "never expanded" in finding.message and "shell: true" in finding.hint


@pytest.mark.parametrize("start", ["  entrypoint: [/app, 'costs $5', '$1.50', '\\\\$']",
                                   "  shell: true\n  entrypoint: /app --port $PORT"])
def test_is017_not_for_a_dollar_that_names_nothing_or_a_shell_entrypoint(start: str) -> None:
    assert "IS017" not in rules(CLEAN.replace("  entrypoint: [/app]", start))


def test_is016_an_env_value_naming_a_variable_the_container_has() -> None:
    """Was lint-clean: PATH was literally '/app/node_modules/.bin:$PATH', node was not found
    (tini: exec failed, 127). A value is written as it is (README)."""
    finding = only(CLEAN.replace("  entrypoint:", "  env: {PATH: '/app/node_modules/.bin:$PATH'}\n  entrypoint:"),
                   "IS016")
    assert (finding.level, finding.location.line) == ("warning", 6)
    assert "not expanded" in finding.message and "'/app/node_modules/.bin:$PATH'" in finding.message
    assert "`PATH: /app/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`" \
        in finding.hint
    # its own name, another key of the same env, a build stage's env
    assert rules(CLEAN.replace("  entrypoint:", "  env: {LD_LIBRARY_PATH: '/opt/lib:${LD_LIBRARY_PATH}'}\n"
                               "  entrypoint:")).count("IS016") == 1
    assert rules(CLEAN.replace("  entrypoint:", "  env: {DATA: /srv, CACHE: '$DATA/cache'}\n  entrypoint:"))\
        .count("IS016") == 1


def test_is016_shows_the_value_as_written() -> None:
    """QA: a value ending in one backslash was shown as Python's repr, with two."""
    finding = only(CLEAN.replace("  entrypoint:", "  env: {A: '${HOME} \\'}\n  entrypoint:"), "IS016")
    assert finding.message.endswith("so A is '${HOME} \\'")


@pytest.mark.parametrize("env", ["{GREETING: 'hello $USER'}", "{PRICE: '$5'}", "{MOTTO: 'a $ sign'}"])
def test_is016_not_for_text_with_a_dollar(env: str) -> None:
    """odd-values' literal values: a name the container has no value for is text."""
    assert "IS016" not in rules(CLEAN.replace("  entrypoint:", f"  env: {env}\n  entrypoint:"))


STAGED = """\
name: app
license: MIT
version: 1.0.0
stages:
  build:
    from: debian-slim
    env: {PATH: /opt/tools}
    run: make all
    artifacts: [/out/app]
final:
  from: debian-slim
  env: {PATH: /opt/bin}
  copy: [{from: build, src: /out/app, dest: /opt/bin/app}]
  cmd: [app]
"""


def test_is020_a_path_without_the_system_folders() -> None:
    """QA: `env: {PATH: /opt/bin}` with `cmd: [echo]` was lint-clean; the container then did
    not start (exec form looks the program up on the image's PATH alone). A stage's `run`
    commands look theirs up there too (make is /usr/bin/make)."""
    found = [f for f in findings(STAGED.replace("cmd: [app]", "cmd: [echo]")) if f.rule == "IS020"]
    assert [(f.location.line, f.location.col, f.level, f.practice) for f in found] == \
        [(7, 11, "warning", "BP2"), (12, 9, "warning", "BP2")]
    stage, final = found
    assert "look their programs up in it alone" in stage.message and "/usr/bin, /sbin, /bin" in stage.message
    assert "looks 'echo' up in it alone" in final.message
    assert final.hint == ("keep the system folders: `PATH: /opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                          "/usr/bin:/sbin:/bin`, or start the program by its absolute path")
    # the health check's program is looked up on it too
    probed = STAGED.replace("  cmd: [app]", "  cmd: [app]\n  healthcheck: {cmd: [curl, -f, 'http://127.0.0.1/']}")
    assert "looks 'curl' up" in [f for f in findings(probed) if f.rule == "IS020"][-1].message


@pytest.mark.parametrize("change", [
    ("cmd: [echo]", "cmd: [app]"),  # the program is copied there by its name
    ("cmd: [echo]", "cmd: [/bin/echo]"),  # by its absolute path
    ("PATH: /opt/bin}", "PATH: '/opt/bin:/usr/bin:/bin'}"),  # the base's own folders kept
    ("PATH: /opt/bin}", "PATH: '/opt/bin:$PATH'}"),  # IS016's case, not this one
])
def test_is020_quiet_where_the_program_is_found(change: tuple[str, str]) -> None:
    text = STAGED.replace("cmd: [app]", "cmd: [echo]").replace("make all", "/usr/bin/make all")
    text = text.replace("    env: {PATH: /opt/tools}\n", "")  # the stage's case is the other test's
    assert "IS020" in rules(text)
    assert "IS020" not in rules(text.replace(*change))


def test_is007_root_user() -> None:
    text = CLEAN.replace("  entrypoint:", "  user: {uid: 0, root_reason: binds port 80}\n  entrypoint:")
    finding = only(text, "IS007")
    assert (finding.level, finding.practice) == ("warning", "BP8")
    assert "binds port 80" in finding.message


def test_is008_unused_stage() -> None:
    text = CLEAN.replace("final:", "stages:\n  leftover:\n    from: debian-slim\n    run: make\nfinal:")
    finding = only(text, "IS008")
    assert (finding.level, finding.practice, finding.location.line) == ("warning", "BP11", 5)
    # used through another stage's `from:` counts
    chained = text.replace("final:", "  build:\n    from: leftover\n    run: make\n    artifacts: [/out]\nfinal:")
    chained = chained.replace("  entrypoint:", "  copy: [{from: build, src: /out, dest: /out}]\n  entrypoint:")
    assert "IS008" not in rules(chained)


def test_is009_server_without_healthcheck() -> None:
    finding = only(CLEAN.replace("  entrypoint:", "  ports: [8080]\n  entrypoint:"), "IS009")
    assert (finding.level, finding.practice) == ("info", "BP1")
    with_check = CLEAN.replace("  entrypoint:", "  ports: [8080]\n  healthcheck: {cmd: [/app, -health]}\n  entrypoint:")
    assert "IS009" not in rules(with_check)


def test_findings_are_sorted_and_only_errors_fail() -> None:
    text = CLEAN.replace("version: 1.0.0\nlicense: MIT\n", "").replace(
        "  entrypoint:", "  ports: [80]\n  env: {SECRET_KEY: x}\n  entrypoint:")
    found = findings(text)
    assert found == sorted(found)
    assert [f.level for f in found if f.rule == "IS002"] == ["error"]
    assert {f.rule for f in found} == {"IS002", "IS004", "IS005", "IS009", "IS012"}


# --- rules that look at the build context: real small contexts on disk ------------------

def on_disk(tmp_path: Path, text: str, files: dict[str, str]) -> list[Finding]:
    """Lint `text` as tmp_path/imagespec.yaml with `files` in its context (the same folder)."""
    for name, body in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    (tmp_path / "imagespec.yaml").write_text(text, encoding="utf-8")
    compiled = compile_path(tmp_path / "imagespec.yaml")
    return lint(compiled, BuildContext(compiled.loaded.context))


GO = """\
name: app
version: 1.0.0
license: MIT
stages:
  build:
    from: go-build
    dependencies: {copy: [go.mod, go.sum*], run: go mod download}
    copy: [cmd/, main.go]
    run: go build -o /out/app .
    artifacts: [/out/app]
final:
  from: static
  copy: [{from: build, src: /out/app, dest: /app}]
  entrypoint: [/app]
"""


def test_is010_copy_source_missing_from_the_context(tmp_path: Path) -> None:
    found = [f for f in on_disk(tmp_path, GO, {"go.mod": "module app\n", "cmd/x.go": ""}) if f.rule == "IS010"]
    assert len(found) == 1, found
    finding = found[0]
    assert (finding.level, finding.practice) == ("error", "BP4")
    assert "'main.go' is not in the build context" in finding.message
    assert (finding.location.line, finding.location.col) == (8, 18)  # `main.go` in `copy: [cmd/, main.go]`
    # negatives: present files, and an optional pattern beside a present file (go.sum* without go.sum)
    assert "IS010" not in {f.rule for f in on_disk(tmp_path, GO, {"main.go": "package main\n"})}
    # a pattern alone that matches nothing copies nothing: BuildKit builds on without it
    alone = GO.replace("[go.mod, go.sum*]", "[go.sum*]")
    assert [f.message for f in on_disk(tmp_path, alone, {}) if f.rule == "IS010"] == [
        "'go.sum*' is not in the build context (" + tmp_path.name + "/)"]


def test_is010_each_final_copy_is_a_copy_of_its_own(tmp_path: Path) -> None:
    """A pattern of one `final.copy` entry that matches nothing is not made optional by
    another entry's file (each is its own COPY); a `[` is a name's own, not a class."""
    spec = ("name: app\nversion: 1.0.0\nlicense: MIT\nfinal:\n  from: debian-slim\n  copy:\n"
            "    - {src: a.txt, dest: /a.txt}\n    - {src: \"b?.txt\", dest: /b/}\n"
            "    - {src: \"data[1].txt\", dest: /d.txt}\n  cmd: [/bin/true]\n")
    found = [f for f in on_disk(tmp_path, spec, {"a.txt": "", "data1.txt": ""}) if f.rule == "IS010"]
    assert [(f.message.split(" is ")[0], f.location.line) for f in found] == [("'b?.txt'", 8), ("'data[1].txt'", 9)]
    assert found[0].hint.startswith("a pattern that matches nothing copies nothing")
    assert found[1].hint.startswith("the build fails at this COPY")


def test_is010_is_silent_without_a_context() -> None:
    assert "IS010" not in rules(GO)  # a spec given as text has no folder to look in


SCRIPTED = """\
name: app
version: 1.0.0
license: MIT
final:
  from: static
  copy: [{src: bin/, dest: /opt/app/}]
  entrypoint: [/opt/app/start.sh]
"""


@pytest.mark.parametrize("shebang", ["#!/bin/sh", "#!/usr/bin/env bash", "#! /bin/bash -e"])
def test_is011_shell_script_entrypoint_on_a_shell_less_final(tmp_path: Path, shebang: str) -> None:
    found = [f for f in on_disk(tmp_path, SCRIPTED, {"bin/start.sh": f"{shebang}\nexec /opt/app/server\n"})
             if f.rule == "IS011"]
    assert len(found) == 1, found
    assert (found[0].level, found[0].practice, found[0].location.line) == ("error", "BP2", 7)
    assert "/opt/app/start.sh is a script for" in found[0].message and "has no shell" in found[0].message


def test_is011_negatives(tmp_path: Path) -> None:
    # a binary at the same place; a script on a final that has a shell; a file copied by name
    assert "IS011" not in {f.rule for f in on_disk(tmp_path, SCRIPTED, {"bin/start.sh": "\x7fELF..."})}
    shell = SCRIPTED.replace("from: static", "from: debian-slim")
    assert "IS011" not in {f.rule for f in on_disk(tmp_path, shell, {"bin/start.sh": "#!/bin/sh\n"})}
    by_name = SCRIPTED.replace("{src: bin/, dest: /opt/app/}", "{src: run.sh, dest: /opt/app/start.sh}")
    assert "IS011" in {f.rule for f in on_disk(tmp_path, by_name, {"run.sh": "#!/bin/sh\n"})}


def test_is012_privileged_port_with_a_non_root_user() -> None:
    finding = only(CLEAN.replace("  entrypoint:", "  ports: [8080, 443]\n  entrypoint:"), "IS012")
    assert (finding.level, finding.practice) == ("warning", "BP8")
    assert (finding.location.line, finding.location.col) == (6, 17)  # the 443
    assert "port 443 is privileged: user 65532" in finding.message
    assert "IS012" not in rules(CLEAN.replace("  entrypoint:", "  ports: [8080, 1024]\n  entrypoint:"))
    as_root = CLEAN.replace("  entrypoint:", "  ports: [80]\n  user: {uid: 0, root_reason: binds 80}\n  entrypoint:")
    assert "IS012" not in rules(as_root)


SECRET_VALUES = {
    "AWS access key ID": "AKIAIOSFODNN7EXAMPLE",
    "GitHub token": "ghp_" + "a1B2c3D4e5" * 3 + "f6G7h8",
    "GitHub fine-grained token": "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    "Slack token": "xoxb-1234567890-abcdefghij",
    "GitLab token": "glpat-abcdefghij0123456789",
    "private key": "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXk=",
    "URL with a password": "postgres://app:s3cret@db.internal:5432/app",
}
HARMLESS = [
    "https://example.com/path", "https://user@example.com/", "postgres://app:${DB_PASSWORD}@db/app",
    "AKIA-not-a-key", "AKIAIOSFODNN7EXAMPL", "ghp_short", "xoxb", "glpat-short", "-----BEGIN PUBLIC KEY-----",
    "/usr/local/bin:/usr/bin", "1.2.3", "a:b@c", "redis://cache:6379/0",
]


@pytest.mark.parametrize("kind", sorted(SECRET_VALUES))
@pytest.mark.parametrize("where", ["env", "label", "arg"])
def test_is013_secret_by_value(kind: str, where: str) -> None:
    value = SECRET_VALUES[kind]
    if where == "arg":
        text = CLEAN.replace("final:", f"stages:\n  build:\n    from: debian-slim\n    args: {{SETTING: '{value}'}}\n"
                                       "    run: make\n    artifacts: [/out]\nfinal:")
        text = text.replace("  entrypoint:", "  copy: [{from: build, src: /out, dest: /out}]\n  entrypoint:")
        line = 7
    else:
        key = "env" if where == "env" else "labels"
        text = CLEAN.replace("  entrypoint:", f"  {key}:\n    SETTING: '{value}'\n  entrypoint:")
        line = 7
    finding = only(text, "IS013")
    assert (finding.level, finding.practice, finding.location.line) == ("error", "BP15", line)
    assert value not in finding.message and value not in finding.hint  # the report does not repeat the secret


@pytest.mark.parametrize("key", ["source", "description"])
def test_is013_reads_the_fields_that_become_labels(key: str) -> None:
    """`source` and `description` are written as OCI labels: a token there is in the image.
    Was: not read, so a clone URL with its token passed lint."""
    value = "https://oauth2:" + SECRET_VALUES["GitLab token"] + "@gitlab.example.com/team/app" if key == "source" \
        else SECRET_VALUES["AWS access key ID"]
    finding = only(CLEAN.replace("final:", f"{key}: '{value}'\nfinal:", 1), "IS013")
    assert finding.location.line == CLEAN.split("final:")[0].count("\n") + 1


def test_is002_accepts_a_variable_that_names_where_a_secret_is_mounted() -> None:
    """`PASSWORD_FILE=/run/secrets/db` is how a secret is passed at run time (BP15), not
    a secret. Was: IS002, an error, so CI failed for doing it right."""
    assert "IS002" not in rules(CLEAN.replace("  entrypoint:", "  env:\n    PASSWORD_FILE: /run/secrets/db\n"
                                                               "    API_KEY_PATH: /run/secrets/key\n  entrypoint:"))
    assert "IS002" in rules(CLEAN.replace("  entrypoint:", "  env:\n    PASSWORD_FILE: hunter2\n  entrypoint:"))


@pytest.mark.parametrize("value", HARMLESS)
def test_is013_no_false_positive_on_ordinary_values(value: str) -> None:
    assert "IS013" not in rules(CLEAN.replace("  entrypoint:", f"  env:\n    SETTING: '{value}'\n  entrypoint:"))


def test_lint_cli_reads_the_spec_context(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "imagespec.yaml").write_text(GO, encoding="utf-8")
    (tmp_path / "go.mod").write_text("module app\n", encoding="utf-8")
    assert main(["lint", str(tmp_path / "imagespec.yaml")]) == 1
    out = capsys.readouterr().out
    assert "error: IS010 (BP4): 'cmd/' is not in the build context" in out


def test_lint_survives_a_loop_of_links_in_the_context(tmp_path: Path) -> None:
    (tmp_path / "main.go").symlink_to("main.go")
    found = on_disk(tmp_path, GO, {"go.mod": "module app\n", "cmd/x.go": ""})
    assert [f.message for f in found if f.rule == "IS010"] == [
        f"'main.go' is not in the build context ({tmp_path.name}/)"]


@pytest.mark.parametrize("key", ["DB_PASSWORD", "dbPassword", "apiToken", "API_KEY", "APIKEY", "SSH_PRIVATE_KEY",
                                 "AWS_SECRET_ACCESS_KEY", "CLIENT_SECRET", "OAUTH_TOKEN_SECRET", "CREDENTIALS"])
def test_is002_names_a_secret_by_its_words(key: str) -> None:
    assert "IS002" in rules(CLEAN.replace("  entrypoint:", f"  env:\n    {key}: s3cr3t-value\n  entrypoint:"))


@pytest.mark.parametrize(("key", "value"), [("TOKENIZER", "bert"), ("PASSWORD_MIN_LENGTH", "12"),
                                            ("TOKEN_URL", "https://auth.example.com/token"), ("SECRET_NAME", "db"),
                                            ("REQUIRE_PASSWORD", "true"), ("PASSWORDLESS", "1"), ("KEYBOARD", "us")])
def test_is002_not_for_a_setting_about_a_secret(key: str, value: str) -> None:
    """Was: an error (`lint` exit 1 in CI) for any name that merely contains TOKEN or PASSWORD."""
    assert "IS002" not in rules(CLEAN.replace("  entrypoint:", f"  env:\n    {key}: '{value}'\n  entrypoint:"))


SHELL_LESS = """\
name: app
version: 1.0.0
license: MIT
stages:
  build:
    from: go-build
    run: go build -o /out/app .
    artifacts: [/out/app]
final:
  from: FINAL
  copy: [{from: build, src: /out/app, dest: /usr/local/bin/app}]
  entrypoint: [/usr/local/bin/app]
  healthcheck: {cmd: CMD}
"""


@pytest.mark.parametrize(("final", "cmd"), [("static", "[curl, -f, 'http://127.0.0.1:8080/']"),
                                            ("scratch", "[sh, -c, 'wget -q -O- http://127.0.0.1:8080/']"),
                                            ("static", "[/usr/bin/env, probe]"),
                                            ("scratch", "[/bin/probe]")])
def test_is015_a_healthcheck_a_shell_less_final_cannot_run(final: str, cmd: str) -> None:
    """Was lint-clean and passed `imagespec test`'s 17 checks; the container stayed unhealthy."""
    finding = only(SHELL_LESS.replace("FINAL", final).replace("CMD", cmd), "IS015")
    assert (finding.level, finding.practice, finding.location.line) == ("error", "BP6", 13)
    assert "application itself" in finding.hint


@pytest.mark.parametrize(("final", "cmd"), [("static", "[/usr/local/bin/app, --health]"),
                                            ("scratch", "[app, --health]"),
                                            ("static", "[/nodejs/bin/node, health.js]"),  # the base's own program
                                            ("debian-slim", "[curl, -f, 'http://127.0.0.1:8080/']"),
                                            ("debian-slim", "[sh, -c, 'test -f /tmp/ok']")])
def test_is015_not_for_the_app_the_bases_program_or_a_final_with_a_shell(final: str, cmd: str) -> None:
    assert "IS015" not in rules(SHELL_LESS.replace("FINAL", final).replace("CMD", cmd))


def test_is015_not_for_a_probe_the_spec_puts_there() -> None:
    text = SHELL_LESS.replace("FINAL", "static").replace("CMD", "[curl, -f, 'http://127.0.0.1:8080/']")
    copied = text.replace("dest: /usr/local/bin/app}]", "dest: /usr/local/bin/app}, "
                                                         "{from: build, src: /out/curl, dest: /usr/bin/}]")
    copied = copied.replace("artifacts: [/out/app]", "artifacts: [/out/app, /out/curl]")
    assert "IS015" not in rules(copied)


@pytest.mark.parametrize(("start", "line", "col", "said"), [
    ("  entrypoint: FOO=1 /app", 6, 3, "'FOO=1' is run as the program"),  # a string: split as a shell would
    ("  entrypoint: [/app]\n  cmd: [--config, ~/app.yaml]", 7, 19, "exec form starts no shell to expand `~`"),
    ("  entrypoint: [/app, --fast, '# the default']", 6, 30, "in exec form `#` begins no comment"),
    ("  entrypoint: [/app]\n  cmd: '--fast # the default'", 7, 3, "in exec form `#` begins no comment"),
    ("  entrypoint: [/app]\n  healthcheck: {cmd: ['X=1', /app]}", 7, 23, "'X=1' is run as the program")])
def test_is018_shell_syntax_in_an_exec_form_argument(start: str, line: int, col: int, said: str) -> None:
    """Stranger QA: `entrypoint: "FOO=1 app"` made FOO=1 the program, `~` and `#` reached it as they are."""
    finding = only(CLEAN.replace("  entrypoint: [/app]", start), "IS018")
    assert (finding.level, finding.practice, finding.location.line, finding.location.col) == \
        ("warning", "BP2", line, col), finding
    assert said in finding.message, finding.message


@pytest.mark.parametrize("start", ["  entrypoint: [/app, --define, 'X=1', --home, /x/~user, 'a#b']",
                                   "  entrypoint: [/app]\n  cmd: ['MODE=fast']"])  # the program's own argument
def test_is018_not_for_words_a_program_takes_as_they_are(start: str) -> None:
    assert "IS018" not in rules(CLEAN.replace("  entrypoint: [/app]", start))


COPIED = """\
name: app
version: 1.0.0
license: MIT
stages:
  deps:
    from: python-build
    dependencies:
      copy: [requirements.txt]
      run: pip install --prefix=/install -r requirements.txt
    copy: COPIES
    RUN
    artifacts: ARTIFACTS
final:
  from: python-runtime
  copy: [{from: deps, src: /install, dest: /usr/local}]
  entrypoint: [python3, -m, app]
"""


def test_is019_a_stage_copies_files_nothing_reads() -> None:
    """Stranger QA: the source copied into a stage whose artifact is the dependency install,
    after the last step: a COPY layer and a cache key for nothing."""
    text = COPIED.replace("COPIES", "[src/, {src: conf/app.toml, dest: /etc/app/}]").replace("    RUN\n", "")
    found = [f for f in findings(text.replace("ARTIFACTS", "[/install]")) if f.rule == "IS019"]
    assert [(f.level, f.practice, f.location.line, f.location.col) for f in found] == \
        [("warning", "BP4", 10, 12), ("warning", "BP4", 10, 18)], found
    assert "copies src/ to /src/src, but no step after it reads it" in found[0].message
    assert "copies conf/app.toml to /etc/app" in found[1].message


@pytest.mark.parametrize(("run", "artifacts"), [
    ("    run: python -m compileall src\n", "[/install]"),  # a step after the copy reads it
    ("", "[/install, /src/src]"),  # the copy is an artifact
    ("", "[/install, /src]"),  # in an artifact's folder
    ("", "[/install, /src/src/app.py]"),  # an artifact inside it
])
def test_is019_not_for_a_copy_a_step_or_an_artifact_uses(run: str, artifacts: str) -> None:
    text = COPIED.replace("COPIES", "[src/]").replace("    RUN\n", run).replace("ARTIFACTS", artifacts)
    assert "IS019" not in rules(text)


def test_is019_not_for_a_stage_another_stage_builds_on() -> None:
    text = COPIED.replace("COPIES", "[src/]").replace("    RUN\n", "").replace("ARTIFACTS", "[/install]")
    text = text.replace("final:\n", "  app:\n    from: deps\n    run: python -m compileall src\n"
                        "    artifacts: [/install]\nfinal:\n").replace("{from: deps,", "{from: app,")
    assert "IS019" not in rules(text)
