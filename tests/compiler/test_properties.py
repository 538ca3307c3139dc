"""Property tests: random valid specs compile to Dockerfiles that BuildKit's parser
reads back as exactly the intended instructions with every value intact; random
invalid input ends in a located SpecError, never in another exception.

Values are drawn from text with spaces, quotes, `$`, backslashes, `#`, `&&`, `<<EOF`,
unicode (line separators included) and, where the spec allows them, newlines.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import unicodedata
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from imagespec.spec.values import unfinished
from compiler_helpers import (
    assert_matches_plan,
    compile_text,
    final_commands,
    intended_start,
    parse,
    unquote,
)
from imagespec.errors import SpecError
from imagespec.plan.final_contents import INTERPRETERS, PROBE_TOOLS
from imagespec.spec.accounts import debian_id_taken

# ~60 ms per valid spec, ~50 ms per invalid one: together well under a minute (a run of
# 2,500 each found nothing more once the bugs these tests found were fixed)
VALID = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INVALID = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- text ----------------------------------------------------------------------------------

TRICKY = ["", " ", "  ", "\t", '"', "'", "$", "${HOME}", "$(id)", "\\", "\\\\", "\\$", '\\"', "`", "#", " #x",
          "&&", "||", ";", "|", "&", ">", "2>&1", "<<EOF", "<<-'EOF'", "<<1", "2<<X", '<<"$X"', "<<<", "<< x", "EOF",
          "-", "--from=x", "--mount=type=bind", "=", ":", "*", "%s",
          "ü", "世界", "🚀", "\u2028", "\u0085", "\u00a0", "\x0b", "\x0c", "\x1b", "\ufeff", "{{ x }}", "{% raw %}"]
_CHAR = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_LINE_CHAR = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r")
_NO_CONTROL = st.characters(blacklist_categories=("Cs", "Cc"))


def _mixed(char: st.SearchStrategy[str], extra: list[str], max_parts: int = 6) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.text(char, max_size=8), st.sampled_from(TRICKY + extra)), max_size=max_parts).map("".join)


# ENV and LABEL values: one line, no control character but the tab, by design
one_line = _mixed(_NO_CONTROL, []).map(lambda s: "".join(c for c in s if c == "\t" or unicodedata.category(c) != "Cc"))
any_text = _mixed(_CHAR, ["\n", "\r\n", "\n\n\n", "\\\n"])  # argv items: anything but NUL
#: a program: the first item of an exec form that runs one names it (an empty one is exit 2)
a_program = st.lists(any_text, min_size=1, max_size=3).filter(lambda argv: bool(argv[0].strip()))
command = _mixed(_CHAR, ["\n", "\n\n\n", " \\", "\\\n", "\n  indented", "\nEOF\n", "echo a && echo b",
                         "cd /x || exit 1", "# comment", "a | b"]).filter(
    lambda c: c.strip() and not unfinished(c))  # one ending in `|` or `\\` is refused (test_invalid)
plain_line = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)  # `Line` fields

LOWER, DIGITS, UPPER = "abcdefghijklmnopqrstuvwxyz", "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _word(first: str, rest: str, max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    # st.text over a fixed alphabet: much faster to draw than st.from_regex
    return st.builds(str.__add__, st.sampled_from(first), st.text(rest, min_size=min_size, max_size=max_size))


ident = _word(LOWER, LOWER + DIGITS, 7)
stage_name = ident.filter(lambda n: n not in {"scratch", "context", "final"})
env_key = _word(LOWER + UPPER + "_", LOWER + UPPER + DIGITS + "_", 8)
label_key = _word(LOWER, LOWER + DIGITS + ".-", 12)
# paths: what context paths allow, punctuation the shell or the Dockerfile care about included
path_part = _word(LOWER + UPPER + DIGITS + "_", LOWER + UPPER + DIGITS + "_. -#*&;()=@!%+,~<>[]{}^|?:üß世", 6).filter(
    lambda s: not s.endswith(" ") and "<<" not in s)
context_path = st.lists(path_part, min_size=1, max_size=3).map("/".join)
# a build stage's source without `dest`, or a dependency manifest: a wildcard only in its last
# part (its matches land in the folder above; in a folder's name it is bad input, plan.lower._dest_for)
stage_source = context_path.filter(lambda path: not set("*?") & set(path.rpartition("/")[0]))
abs_path = st.lists(path_part, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
# Debian's grammar, but for a last "-": apt-get reads `NAME-` as "remove NAME"
package = _word(LOWER + DIGITS, LOWER + DIGITS + "+.-", 10, min_size=1).filter(lambda n: not n.endswith("-"))
# a package version (Debian allows ~), but for a last "-" or "+": apt-get reads them off the argument
version = _word(DIGITS, LOWER + DIGITS + ".+~-", 8).filter(lambda v: not v.endswith(("-", "+")))
spec_version = st.builds("{}.{}.{}{}".format, st.integers(0, 99), st.integers(0, 99), st.integers(0, 999),
                         st.sampled_from(["", "-rc.1", "-alpha", "+build.7", "-0.x-y+z"]))  # semver 2.0
image_name = st.lists(st.text(LOWER + DIGITS, min_size=1, max_size=6), min_size=1, max_size=3).map("-".join)
cache_path = st.text(LOWER, min_size=1, max_size=6).map(lambda s: f"/root/.cache/{s}")

SHELL_BASES = ["debian-slim", "alpine", "fedora", "go-build", "node-build"]
FINAL_BASES = ["scratch", "static", "cc", "debian-slim", "alpine", "fedora", "python-runtime"]
SHELL_LESS = {"scratch", "static", "cc"}


def argv_value(items: list[str], as_string: bool) -> str | list[str]:
    return shlex.join(items) if as_string else items


@st.composite
def stage_dicts(draw, name: str, earlier: list[str], first: bool, features: list[str]) -> dict[str, Any]:
    stage: dict[str, Any] = {"from": draw(st.sampled_from(SHELL_BASES if first else SHELL_BASES + earlier))}
    if draw(st.booleans()):
        names = draw(st.lists(package, max_size=3, unique=True))
        stage["packages"] = ({n: draw(st.one_of(st.none(), version)) for n in names}
                             if draw(st.booleans()) else names)
    if draw(st.booleans()):
        stage["args"] = draw(st.dictionaries(env_key, st.one_of(st.none(), plain_line), max_size=3))
    if draw(st.booleans()):
        stage["env"] = draw(st.dictionaries(env_key, one_line, max_size=3))
    if draw(st.booleans()):
        stage["workdir"] = draw(abs_path)
    if draw(st.booleans()):
        stage["cache"] = draw(st.lists(cache_path, max_size=2, unique=True))
    if draw(st.booleans()):
        stage["dependencies"] = {"copy": draw(st.lists(stage_source, min_size=1, max_size=2)),
                                 "run": draw(st.lists(command, min_size=1, max_size=2)),
                                 "downloads": draw(st.booleans())}
    copies = draw(st.lists(st.one_of(stage_source, st.just("."),
                                     st.fixed_dictionaries({"src": context_path, "dest": abs_path})), max_size=2))
    if copies:
        stage["copy"] = copies
    stage["run"] = draw(st.lists(command, max_size=3))
    stage["artifacts"] = [f"/out/{name}"]
    return stage


@st.composite
def valid_specs(draw) -> dict[str, Any]:
    features = draw(st.lists(st.sampled_from(["heredoc", "copy-link", "copy-chmod"]), unique=True, max_size=3))
    names = draw(st.lists(stage_name, min_size=1, max_size=3, unique=True))
    stages = {}
    for i, name in enumerate(names):
        stages[name] = draw(stage_dicts(name, names[:i], i == 0, features))
    final_from = draw(st.sampled_from(FINAL_BASES + names))
    final: dict[str, Any] = {"from": final_from}
    shell_less = final_from in SHELL_LESS
    if not shell_less and final_from not in names and draw(st.booleans()):
        final["packages"] = draw(st.lists(package, max_size=2, unique=True))
    copies = []
    for name in draw(st.lists(st.sampled_from(names), max_size=3)):
        copy = {"from": name, "src": f"/out/{name}" + draw(st.sampled_from(["", "/bin", "/a b"])),
                "dest": draw(abs_path)}
        if draw(st.booleans()):
            copy["mode"] = draw(st.sampled_from(["0755", "0644", "755"]))
        if draw(st.booleans()):
            copy["owner"] = draw(st.sampled_from(["0:0", "65532", "root:root"]))
        copies.append(copy)
    if draw(st.booleans()):
        copy = {"src": draw(context_path), "dest": draw(abs_path)}
        if "copy-chmod" in features and draw(st.booleans()):
            copy["mode"] = "0755"
        copies.append(copy)
    final["copy"] = copies
    if draw(st.booleans()):
        final["env"] = draw(st.dictionaries(env_key, one_line, max_size=4))
    if draw(st.booleans()):
        final["labels"] = draw(st.dictionaries(label_key, one_line, max_size=3))
    if draw(st.booleans()):
        final["ports"] = draw(st.lists(st.one_of(st.integers(1, 65535),
                                                 st.integers(1, 65535).map(lambda n: f"{n}/udp")), max_size=3))
    if draw(st.booleans()):
        final["stop_signal"] = draw(st.sampled_from(["SIGTERM", "SIGINT", "QUIT", "3", "SIGRTMIN+3", "rtmax-14", 15, 64]))
    if draw(st.booleans()):
        final["healthcheck"] = draw(st.one_of(
            st.just({"disable": True}),
            st.fixed_dictionaries({"cmd": a_program},
                                  optional={"interval": st.just("30s"), "timeout": st.just("1m30s"),
                                            "start_period": st.just("500ms"), "retries": st.integers(1, 100)})))
    if draw(st.booleans()):
        final["user"] = draw(st.one_of(
            # not an ID Debian's base-passwd already gives an account (exit 2: accounts.debian_id_taken)
            st.fixed_dictionaries({"uid": st.integers(1, 2**31 - 1)}, optional={"gid": st.integers(0, 65535)}).filter(
                lambda user: debian_id_taken(user["uid"], user.get("gid", user["uid"])) is None),
            st.fixed_dictionaries({"uid": st.just(0), "root_reason": plain_line.filter(str.strip)})))
    if draw(st.booleans()):
        final["workdir"] = draw(abs_path)
    if draw(st.booleans()):
        # no comma: the label io.imagespec.writable separates them by commas (spec.values.writable_dir)
        final["writable"] = draw(st.lists(abs_path.filter(lambda path: "," not in path), max_size=2))
    final["init"] = draw(st.booleans())
    final["shell"] = not shell_less and draw(st.booleans())
    entrypoint = draw(st.one_of(st.none(), a_program))
    # after an entrypoint, cmd is its arguments (an empty one is an argument); alone, the program
    cmd = draw(st.one_of(st.none(), st.lists(any_text, min_size=1, max_size=3) if entrypoint else a_program))
    if entrypoint is None and cmd is None:
        entrypoint = ["/app"]
    if final_from == "scratch":  # only final.copy puts files there: the program must be copied (plan.final_contents)
        program = draw(abs_path)
        if entrypoint is not None:
            entrypoint = [program, *entrypoint[1:]]
        else:
            cmd = [program, *cmd[1:]]
        copies.append({"src": draw(context_path), "dest": program})
    started = (entrypoint or cmd)[0]
    assume(final_from not in SHELL_LESS or started.rsplit("/", 1)[-1] not in INTERPRETERS | PROBE_TOOLS)
    if entrypoint is not None:
        final["entrypoint"] = argv_value(entrypoint, draw(st.booleans()))
    if cmd is not None:
        final["cmd"] = argv_value(cmd, draw(st.booleans()))
    spec = {"name": draw(image_name), "description": draw(plain_line), "version": draw(spec_version),
            "license": "MIT", "features": features, "stages": stages, "final": final}
    return spec


def to_yaml(spec: dict[str, Any]) -> str:
    text = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, width=2**16)
    if yaml.safe_load(text) == spec:
        return text
    # PyYAML's own emitter is lossy for some line-break characters (NEL in a quoted
    # scalar folds into a space or a newline); JSON is YAML too, with \u escapes
    # (astral characters as surrogate pairs, which the loader must join)
    return json.dumps(spec, ensure_ascii=True)


# --- (a) valid specs -----------------------------------------------------------------------

def _env_of(commands) -> dict[str, str]:
    env: dict[str, str] = {}
    for command in commands:
        if command.cmd.upper() == "ENV":
            env.update(zip(command.value[::2], map(unquote, command.value[1::2]), strict=True))
    return env


@VALID
@given(spec=valid_specs())
def test_valid_specs_compile_to_exactly_the_intended_dockerfile(spec: dict[str, Any]) -> None:
    text = to_yaml(spec)
    compiled = compile_text(text)

    commands = assert_matches_plan(compiled.dockerfile, compiled.plan)

    # the spec's own values, compared with the spec rather than the plan
    final = final_commands(commands)
    entrypoint, cmd = intended_start(compiled)
    assert [c.value for c in final if c.cmd.upper() == "ENTRYPOINT"] == ([entrypoint] if entrypoint else [])
    assert [c.value for c in final if c.cmd.upper() == "CMD"] == ([cmd] if cmd else [])
    assert all(c.json for c in final if c.cmd.upper() in ("ENTRYPOINT", "CMD"))
    assert _env_of(final) == dict(compiled.loaded.spec.final.env)
    labels = dict(zip(*(iter(next((c.value for c in final if c.cmd.upper() == "LABEL"), ())),) * 2, strict=True))
    for key, value in compiled.loaded.spec.final.labels.items():
        assert unquote(labels[key]) == value
    starts = [i for i, c in enumerate(commands) if c.cmd.upper() == "FROM"]
    for name, stage in compiled.loaded.spec.stages.items():
        begin = next(i for i in starts if commands[i].value[-1] == name)
        end = next((i for i in starts if i > begin), len(commands))
        assert _env_of(commands[begin:end]) == dict(stage.env)

    # deterministic: the same text compiles to the same bytes
    again = compile_text(text)
    assert (again.dockerfile, again.dockerignore) == (compiled.dockerfile, compiled.dockerignore)


def test_newlines_in_env_and_label_values_are_refused_by_design() -> None:
    for field, key in (("env", "A"), ("labels", "com.example.a")):
        text = f'name: app\nfinal:\n  from: debian-slim\n  {field}:\n    {key}: "one\\ntwo"\n  entrypoint: [/app]\n'
        try:
            compile_text(text)
        except SpecError as error:
            assert "newline" in error.message
            # at the value, not its key (`    A: "one\ntwo"`: the quote)
            assert (error.location.line, error.location.col) == (5, 5 + len(key) + 2)
        else:
            raise AssertionError(f"a newline in {field} compiled")


# --- (b) invalid input ---------------------------------------------------------------------

junk = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2, 70000), st.floats(allow_nan=False),
                              st.text(_CHAR, max_size=10), st.sampled_from(TRICKY)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(_LINE_CHAR, max_size=8), inner, max_size=3)),
                    max_leaves=6)
KEYS = ["name", "final", "stages", "from", "copy", "run", "entrypoint", "cmd", "env", "labels", "ports", "user",
        "uid", "packages", "artifacts", "src", "dest", "mode", "healthcheck", "features", "images", "context",
        "dependencies", "cache", "writable", "init", "shell", "stop_signal", "workdir", "args", "imagespec", "x"]


@st.composite
def mutated_specs(draw) -> str:
    spec = draw(valid_specs())
    for _ in range(draw(st.integers(1, 3))):
        node, path = spec, []
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node, key=str) if isinstance(node, dict) else range(len(node))))
            path.append(key)
            if not isinstance(node[key], (dict, list)):
                break
            node = node[key]
        parent = spec
        for key in path[:-1]:
            parent = parent[key]
        target = path[-1] if path else None
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if target is None or action == "add":
            if isinstance(parent, dict):
                parent[draw(st.sampled_from(KEYS))] = draw(junk)
            else:
                parent.append(draw(junk))
        elif action == "delete":
            del parent[target]
        else:
            parent[target] = draw(junk)
    return to_yaml(spec)


yaml_noise = st.one_of(
    st.text(_CHAR, max_size=80),
    st.lists(st.sampled_from(["name: a", "final:", "  from: x", "- a", "  - b", "{", "}", "[", "]", ": :", "&a",
                              "*a", "<<: *a", "!!python/object:os.system", "%YAML 1.1", "---", "...", "? a", "\t",
                              "'", '"', "\\", "name: a\nname: b", "\x85", "\ufeff", "#"]), max_size=8).map("\n".join),
)


def _assert_located_or_valid(text: str) -> None:
    try:
        compiled = compile_text(text)
    except SpecError as error:
        assert error.location is not None and error.location.line >= 1, f"no location: {error!r}"
        assert error.message and "\n" not in error.message
    else:
        parse(compiled.dockerfile)


@INVALID
@given(text=st.one_of(mutated_specs(), yaml_noise))
def test_invalid_input_is_a_located_spec_error(text: str) -> None:
    _assert_located_or_valid(text)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mutated_specs())
def test_cli_never_shows_a_traceback(text: str, tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("cli")
    (folder / "spec.yaml").write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "IMAGESPEC_CONFIG"}
    done = subprocess.run([sys.executable, "-c", "from imagespec.cli import run; run()", "generate", "-o", "-",
                           "spec.yaml"], cwd=folder, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode in (0, 2), done.stderr
    assert "Traceback" not in done.stderr
    if done.returncode == 2:
        lines = done.stderr.splitlines()
        assert lines and all(line.startswith(("spec.yaml:", "  hint: ")) for line in lines), done.stderr
