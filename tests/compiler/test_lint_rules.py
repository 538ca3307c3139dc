"""One test per lint rule (imagespec/lint.py): the rule fires on the smallest spec that
breaks it, at the right place and level, and stays quiet on the spec that does not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiler_helpers import compile_text
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


def test_is004_no_license() -> None:
    finding = only(CLEAN.replace("license: MIT\n", ""), "IS004")
    assert (finding.level, finding.practice, finding.location.line) == ("warning", "BP16", 1)


def test_is005_no_version() -> None:
    finding = only(CLEAN.replace("version: 1.0.0\n", ""), "IS005")
    assert (finding.level, finding.practice) == ("info", "BP14")


def test_is006_shell_entrypoint() -> None:
    finding = only(CLEAN.replace("  entrypoint: [/app]", "  shell: true\n  entrypoint: /app --port $PORT"), "IS006")
    assert (finding.level, finding.practice, finding.location.line) == ("warning", "BP2", 6)


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
    assert {f.rule for f in found} == {"IS002", "IS004", "IS005", "IS009"}
