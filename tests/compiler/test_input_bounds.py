"""Inputs that once hung or crashed the loader: nested aliases ("billion laughs"), an
anchor that contains its own alias, thousands of levels of nesting, a huge file. Each is
exit 2 with one located message and a hint, no traceback and nothing written, for every
command that reads a spec, a configuration, a catalog or a base spec: run through the
real console script, as a user would. (Time and memory: bench/input_bounds.py.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from imagespec.errors import SpecError
from imagespec.spec import yaml_source
from imagespec.spec.yaml_source import MAX_ALIASED, MAX_ALIASED_TEXT, MAX_BYTES, MAX_DEPTH, parse_yaml

LOCATED = re.compile(r"^(?P<file>[^:\n]+):(?P<line>[0-9]+):(?P<col>[0-9]+): \S.*$")


def billion_laughs(first: str) -> str:
    """`first` then nine anchors, each a list of nine aliases of the one before: 9**9 values."""
    lines = [first, 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


def deep(first: str, levels: int) -> str:
    return f"{first}\nfinal: {'[' * levels}{']' * levels}\n"


def too_long(first: str) -> str:
    return first + "\n" + "".join(f"# filler line {i:06d} to pass the limit\n" for i in range(MAX_BYTES // 30))


def long_text(first: str) -> str:
    """A 100 KB value aliased three times: 400 KB (a few thousand times: hundreds of MB)."""
    return f"{first}\nlong: &a \"{'x' * 100_000}\"\nagain: [*a, *a, *a]\n"


BAD = {  # case -> (text given the document's first line, message)
    "billion-laughs": (billion_laughs, f"aliases expand to more than {MAX_ALIASED} values"),
    "aliased-long-text": (long_text, f"aliases repeat more than {MAX_ALIASED_TEXT // 1024} KiB of text"),
    "recursive-alias": (lambda first: f"{first}\nfinal: &a [*a]\n", "contains an alias of itself"),
    # 3000 levels: libyaml refuses past 1000, so the pure parser (which words errors) reads it
    "deep-nesting": (lambda first: deep(first, 3000), f"nesting deeper than {MAX_DEPTH} levels"),
    "deep-nesting-libyaml": (lambda first: deep(first, 500), f"nesting deeper than {MAX_DEPTH} levels"),
    "too-long": (too_long, f"longer than {MAX_BYTES // 1024} KiB"),
}

SPEC = """name: hello
final:
  from: {image: debian:12-slim, family: debian}
  entrypoint: [/bin/true]
"""
BASE = """imagespec: 1
base: tiny
image: example.test/tiny:1
spec: {from: {image: debian:12-slim, family: debian}}
"""


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _imagespec(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("imagespec")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from imagespec.cli import run; run()"]
    env = {k: v for k, v in os.environ.items() if k != "IMAGESPEC_CONFIG"}
    env["IMAGESPEC_NO_CACHE"] = "1"
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def _assert_refused(done: subprocess.CompletedProcess[str], file: str, message: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("skipped ")]
    assert len(lines) == 2, done.stderr
    located = LOCATED.match(lines[0])
    assert located and located["file"].endswith(file), lines[0]
    assert message in lines[0]
    assert lines[1].startswith("  hint: ")


# (command, where the bad document is): every command that reads YAML, and each kind
# of file it reads. `build` and `base build` fail on the input before any engine is asked.
WHERE = [
    (["generate", "app.yaml"], "spec"),
    (["check", "app.yaml"], "spec"),
    (["lint", "app.yaml"], "spec"),
    (["explain", "app.yaml"], "spec"),
    (["build", "app.yaml"], "spec"),
    (["generate", "app.yaml"], "config"),
    (["lint", "app.yaml"], "catalog"),
    (["base", "check", "base.yaml"], "base"),
    (["base", "check", "."], "base"),  # a folder: each file is read to see whether it is a base spec
    (["base", "build", "base.yaml"], "base"),
    (["base", "dockerfile", "base.yaml"], "base"),
    (["base", "check", "base.yaml"], "config"),
]


def _project(tmp_path: Path, where: str, bad: str) -> str:
    """A folder with a spec, a base spec and a configuration, the `where` one bad; the bad file's name."""
    (tmp_path / ".git").mkdir()  # the repository root: no configuration above it is read
    files = {"app.yaml": SPEC, "base.yaml": BASE, ".imagespec.yaml": "catalog: catalog.yaml\n",
             "catalog.yaml": "images: {}\n"}
    name = {"spec": "app.yaml", "base": "base.yaml", "config": ".imagespec.yaml", "catalog": "catalog.yaml"}[where]
    first = {"spec": "name: hello", "base": "base: tiny", "config": "build: {}", "catalog": "images: {}"}[where]
    files[name] = bad.replace("\nfinal:", "\nx:") if where != "spec" else bad
    files[name] = files[name].replace("name: hello", first, 1) if where != "spec" else files[name]
    for file, text in files.items():
        (tmp_path / file).write_text(text, encoding="utf-8")
    return name


@pytest.mark.parametrize("case", sorted(BAD))
def test_generate_refuses_each_bad_spec(case: str, tmp_path: Path) -> None:
    make, message = BAD[case]
    name = _project(tmp_path, "spec", make("name: hello"))
    before = _listing(tmp_path)
    _assert_refused(_imagespec("generate", name, cwd=tmp_path), name, message)
    assert _listing(tmp_path) == before


@pytest.mark.parametrize(("args", "where"), WHERE, ids=lambda v: "-".join(v) if isinstance(v, list) else v)
def test_every_command_refuses_billion_laughs(args: list[str], where: str, tmp_path: Path) -> None:
    name = _project(tmp_path, where, billion_laughs("name: hello"))
    before = _listing(tmp_path)
    _assert_refused(_imagespec(*args, cwd=tmp_path), name, BAD["billion-laughs"][1])
    assert _listing(tmp_path) == before


@pytest.mark.parametrize("where", ["config", "catalog", "base"])
@pytest.mark.parametrize("case", ["recursive-alias", "deep-nesting", "too-long"])
def test_other_files_refuse_each_case(case: str, where: str, tmp_path: Path) -> None:
    make, message = BAD[case]
    name = _project(tmp_path, where, make("name: hello"))
    args = ["base", "dockerfile", "base.yaml"] if where == "base" else ["generate", "app.yaml"]
    _assert_refused(_imagespec(*args, cwd=tmp_path), name, message)


# --- the loader itself, on both parsers ---------------------------------------------------

@pytest.fixture(params=["libyaml", "pure"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "pure":
        monkeypatch.setattr(yaml_source, "_FAST", None)
    elif yaml_source._FAST is None:
        pytest.skip("PyYAML built without libyaml")
    return request.param


@pytest.mark.parametrize("case", sorted(BAD))
def test_both_parsers_give_the_same_located_error(case: str, parser: str) -> None:
    make, message = BAD[case]
    with pytest.raises(SpecError) as caught:
        parse_yaml(make("name: hello"), "f.yaml")
    assert message in caught.value.message
    assert caught.value.location.line >= 1 and caught.value.hint


def test_the_location_is_where_the_limit_is_passed(parser: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_yaml(deep("name: x", MAX_DEPTH + 5), "f.yaml")
    # final: [[[...: the root mapping is level 0, `final`'s list level 1: the first list
    # past the limit is the (MAX_DEPTH + 1)th bracket
    assert str(caught.value.location) == f"f.yaml:2:{len('final: ') + MAX_DEPTH + 1}"


def test_what_stays_inside_the_bounds_loads(parser: str) -> None:
    assert parse_yaml(deep("name: x", MAX_DEPTH - 1), "f.yaml").data["name"] == "x"
    shared = "base: &b [a, b, c]\n" + "".join(f"k{i}: *b\n" for i in range(MAX_ALIASED // 3))
    document = parse_yaml(shared, "f.yaml")
    assert document.data[f"k{MAX_ALIASED // 3 - 1}"] == ["a", "b", "c"]
    # an alias of a value that is not its container is no cycle
    assert parse_yaml("a: &x [1]\nb: [*x, *x]\n", "f.yaml").data["b"] == [[1], [1]]
    # a long value reused a few times (a script shared by two stages)
    script = "make " * 400
    reused = parse_yaml(f"a: &s '{script}'\n" + "".join(f"k{i}: {{run: *s}}\n" for i in range(20)), "f.yaml")
    assert reused.data["k19"]["run"] == script


def test_a_long_extends_chain_is_not_called_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from imagespec.cli import main
    from imagespec.spec.extends import MAX_DEPTH as MAX_CHAIN

    (tmp_path / "app.yaml").write_text("extends: ./t0.yaml\nname: app\n", encoding="utf-8")
    for i in range(MAX_CHAIN + 4):
        (tmp_path / f"t{i}.yaml").write_text(f"extends: ./t{i + 1}.yaml\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--no-cache", "app.yaml"]) == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first == f"t{MAX_CHAIN - 1}.yaml:1:1: `extends` goes more than {MAX_CHAIN} templates deep (from app.yaml)"


@pytest.mark.parametrize("text", [
    "env: {" + "K" * 70_000 + ": 1}\n", "env:\n  " + "K" * 1100 + ": 1\n", "env:\n  '" + "K" * 1100 + "': 1\n",
    "- " + "K" * 1100 + ": 1\n",
])
def test_a_key_past_yamls_limit_is_said_so(text: str, parser: str) -> None:
    """QA: a 70,000-character key read as "malformed YAML: expected ',' or '}'"."""
    with pytest.raises(SpecError, match=r"a mapping key of [0-9,]+ characters: YAML reads a key of at most 1,024") \
            as caught:
        parse_yaml(text, "f.yaml")
    assert caught.value.hint.startswith("a key is a name")
    assert parse_yaml("env: {" + "K" * 1000 + ": 1}\n", "f.yaml").data["env"]["K" * 1000] == 1


@pytest.mark.parametrize(("text", "tag"), [
    ('env: {A: !!python/object/apply:os.system ["touch /tmp/x"]}\n', "!!python/object/apply:os.system"),
    ("env: !!python/object:os.system {A: x}\n", "!!python/object:os.system"), ("a: !custom x\n", "!custom"),
    ("a: !!binary aGk=\n", "!!binary"), ("a: !!omap [b: 1]\n", "!!omap"),
])
def test_a_yaml_tag_outside_yamls_schema_is_named(text: str, tag: str, parser: str) -> None:
    """QA: `A: !!python/object/apply:os.system [...]` said "must be a string, not a list"."""
    with pytest.raises(SpecError, match=f"unsupported YAML tag {re.escape(tag)}:") as caught:
        parse_yaml(text, "f.yaml")
    assert caught.value.location.line == 1 and "remove the tag" in caught.value.hint


def test_the_schemas_own_tags_read_as_untagged(parser: str) -> None:
    assert parse_yaml("a: !!str x\nb: ! y\nc: !!int 5\nd: !!map {e: !!seq [f]}\n", "f.yaml").data == \
        {"a": "x", "b": "y", "c": 5, "d": {"e": ["f"]}}


@pytest.mark.parametrize(("text", "line"), [
    # a script's lines joined into one exec-form RUN: each line under the value limit
    ("name: acme/x\nstages:\n  b:\n    from: debian-slim\n    run:\n      - |\n"
     + "".join(f"        echo {'x' * 9000}\n" for _ in range(9))
     + "    artifacts: [/o]\nfinal:\n  from: debian-slim\n  copy: [{from: b, src: /o, dest: /o}]\n  cmd: [x]\n", 6),
    # a backslash is six bytes in JSON (\u005c): 16 KiB of them pass the value limit
    ("name: acme/x\nfinal:\n  from: debian-slim\n  cmd: ['" + "\\\"" * 8192 + "']\n", 4),
])
def test_a_dockerfile_line_buildkit_would_refuse_is_exit_2_at_its_key(tmp_path: Path, text: str, line: int) -> None:
    """QA: two values within the 16 KiB a value may have wrote lines of 80,087 and 65,544
    bytes; BuildKit refuses a line over 65,535 bytes, after the whole generate."""
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "imagespec", "generate", str(spec)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and not (tmp_path / "Dockerfile").exists(), done.stderr
    assert re.match(rf"{re.escape(str(spec))}:{line}:\d+: this writes a Dockerfile line of \d+ bytes", done.stderr), \
        done.stderr
    assert "BuildKit refuses a line over 65535 bytes" in done.stderr
