"""Every string field of the spec against hostile values: the compiler either refuses
the spec with a SpecError located at that value's line, or writes a Dockerfile that
BuildKit's parser reads back with the baseline's instruction count and the value intact.

The fields come from the committed JSON schema (specs/imagespec.schema.json), so a
field added to the model is fuzzed as soon as a baseline below writes it; the
coverage check (`uncovered()`) fails until one does. Shared by
tests/compiler/test_field_fuzz.py (a few thousand cases) and bench/fuzz.py (the long run).
"""

from __future__ import annotations

import copy
import json
import random
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import dockerfile

from imagespec.compiler import compile_spec
from imagespec.contract import as_pattern
from imagespec.errors import ImageSpecError, PolicyError, SpecError
from imagespec.spec.config import load_config
from imagespec.spec.read_spec import load_spec_text
from imagespec.spec.yaml_source import parse_yaml

SCHEMA = Path(__file__).resolve().parents[2] / "specs" / "imagespec.schema.json"
KEY = "<key>"  # a slot part: the key itself of a mapping entry
ANY = "*"  # a slot part: any item of a list, any value of a mapping

# --- the string slots of the schema -------------------------------------------------------


def _strings(node: dict[str, Any], defs: dict[str, Any], at: tuple[str, ...], seen: frozenset[str]) -> Iterator[tuple[str, ...]]:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _strings(defs[name], defs, at, seen | {name})
        return
    for branch in node.get("anyOf", []) + node.get("oneOf", []) + node.get("allOf", []):
        yield from _strings(branch, defs, at, seen)
    kind = node.get("type")
    if kind == "string" or (kind is None and "enum" in node and all(isinstance(v, str) for v in node["enum"])):
        yield at
    for key, child in node.get("properties", {}).items():
        yield from _strings(child, defs, (*at, key), seen)
    values = [*node.get("patternProperties", {}).values()]
    if isinstance(node.get("additionalProperties"), dict):
        values.append(node["additionalProperties"])
    if kind == "object" and values:
        yield (*at, KEY)  # every mapping key is a string a user writes
        for child in values:
            yield from _strings(child, defs, (*at, ANY), seen)
    if kind == "array" and isinstance(node.get("items"), dict):
        yield from _strings(node["items"], defs, (*at, ANY), seen)


@cache
def slots() -> tuple[tuple[str, ...], ...]:
    """Every place of a spec where a string is written, `+` keys (appends) left out:
    they are the same fields as their plain keys."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    found = dict.fromkeys(_strings(schema, schema["$defs"], (), frozenset()))
    return tuple(s for s in found if not any(part.endswith("+") for part in s))


# --- baselines: valid specs that together write every slot --------------------------------

BASELINES: tuple[dict[str, Any], ...] = (
    {
        "imagespec": 1, "name": "team/fuzz-app", "description": "Fuzz baseline description",
        "kind": "app", "version": "1.2.3", "source": "https://example.com/fuzz.git", "license": "MIT",
        "registry": "registry.example.com/team", "context": ".", "dockerfile": "Dockerfile",
        "features": ["copy-chmod"], "tags": {"extra": ["fuzzextra"]},
        "ignore": ["fuzzignored"],
        "policies": {"allowed_registries": ["docker.io", "registry.example.com"],
                     "push_registries": ["registry.example.com"],
                     "required_labels": ["com.example.team"], "forbidden_packages": ["telnetd"],
                     "size_budget": "900MB"},
        "secrets": [{"id": "fuzzsecret", "env": "FUZZ_TOKEN", "target": "/run/fuzzsecret"}],
        "images": {"fuzz-base": {"image": "registry.example.com/debian:bookworm-slim", "family": "debian", "libc": "glibc",
                                 "description": "Fuzz image description",
                                 "digest": "sha256:" + "ab" * 32}},
        "stages": {
            "build": {
                "from": "fuzz-base",
                "packages": ["fuzzpkg"],
                "args": {"FUZZ_ARG": "fuzzargvalue"},
                "env": {"FUZZ_ENV": "fuzzenvvalue"},
                "workdir": "/fuzzsrc",
                "cache": ["/root/.cache/fuzz"],
                "dependencies": {"copy": ["fuzzdeps.txt"], "run": ["fuzzdeps-install --all"]},
                "copy": ["fuzzdir", {"src": "fuzzsrc", "dest": "fuzzdest/"}],
                "run": ["fuzz-make --jobs 2", "fuzz-check"],
                "artifacts": ["/out/fuzzbin"],
            },
        },
        "final": {
            "from": {"image": "registry.example.com/debian:bookworm-slim", "family": "debian", "libc": "glibc",
                     "description": "Fuzz final image", "digest": "sha256:" + "cd" * 32},
            "packages": {"fuzzruntime": "1.0-1"},
            "copy": [{"from": "build", "src": "/out/fuzzbin", "dest": "/usr/local/bin/fuzzbin",
                      "owner": "root", "mode": "0755"}],
            "user": {"uid": 1000, "gid": 1000, "name": "fuzzuser"},
            "workdir": "/fuzzwork",
            "env": {"FUZZ_FINAL": "fuzzfinalvalue"},
            "ports": ["8080"],
            "writable": ["/fuzzdata"],
            "healthcheck": {"cmd": ["/usr/local/bin/fuzzbin", "fuzzprobe"], "interval": "30s", "timeout": "5s",
                            "start_period": "10s"},
            "stop_signal": "SIGTERM",
            "entrypoint": ["/usr/local/bin/fuzzbin", "fuzzarg"],
            "cmd": "fuzzcmd --flag",
            "labels": {"com.example.team": "fuzzteam"},
        },
    },
    {
        "name": "fuzz-other",
        "platforms": ["linux/amd64", "linux/arm64"],
        "stages": {
            "tools": {
                "cross_compile": "c",
                "from": {"image": "debian:bookworm-slim", "family": "debian", "libc": "glibc",
                         "description": "Fuzz stage image", "digest": "sha256:" + "ef" * 32},
                "packages": {"fuzzpinned": "2.0-1"},
                "dependencies": {"copy": ["fuzzlock"], "run": "fuzzdeps-one"},
                "run": "fuzz-single",
                "artifacts": ["/out/fuzztool"],
            },
        },
        "final": {
            "from": "debian-slim",
            "packages": ["fuzzlib"],
            "copy": [{"from": "tools", "src": "/out/fuzztool", "dest": "/fuzztool"}],
            "user": {"uid": 0, "root_reason": "fuzz root reason"},
            "entrypoint": "/fuzztool fuzzstring",
            "cmd": ["fuzzlistcmd"],
            "healthcheck": {"cmd": "/fuzztool fuzzhealth"},
        },
    },
    {
        "extends": "go",
        "with": {"binary": "fuzzgo", "package": "./cmd/fuzzgo"},
        "parameters": {"greeting": {"type": "string", "default": "fuzzhello", "description": "Fuzz parameter",
                                    "pattern": "[a-z]+"}},
        "name": "fuzz-go",
        "final": {"env": {"GREETING": "${{ greeting }}"}},
    },
)

# --- hostile values ------------------------------------------------------------------------

PAYLOADS: tuple[str, ...] = (
    "\n", "\r", "\r\n", "\x00", "\t", "\x0b", "\x0c", "\x1b[31m", "\x7f", "\x85", "\u2028", "\x01",
    '"', "'", "`", "$", "${HOME}", "$(id)", "\\", "\\\n", " \\", "<<EOF", "<<-'EOF'\nid\nEOF", "\nRUN id",
    "\nUSER root", " && id", "; id", "#", " #x", "[\"id\"]", "--from=x", "{{ x }}", "${{ x }}", " ", "",
    "ü世界🚀", "\ufeff", "a" * 5000,
)
MODES = ("after", "before", "alone", "inside")


def _apply(base: str, payload: str, mode: str) -> str:
    if mode == "after":
        return base + payload
    if mode == "before":
        return payload + base
    if mode == "alone":
        return payload
    middle = len(base) // 2
    return base[:middle] + payload + base[middle:]


# --- cases ---------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Case:
    baseline: int
    path: Path_  # where the string is; for a key, the entry's path (its last part is the key)
    is_key: bool
    value: str


def _matches(slot: tuple[str, ...], path: Path_, is_key: bool) -> bool:
    # a key's path is its entry's: the slot (…, KEY) is the path (…, ANY)
    parts = (*slot[:-1], ANY) if slot and slot[-1] == KEY else slot
    if (slot[-1:] == (KEY,)) != is_key or len(parts) != len(path):
        return False
    return all(p == ANY or p == q for p, q in zip(parts, path, strict=True))


def _walk(data: Any, path: Path_ = ()) -> Iterator[tuple[Path_, bool, str]]:
    """(path, is_key, text) of every string in `data`; a dict key's path is its entry's."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*path, key), True, key
            yield from _walk(value, (*path, key))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from _walk(item, (*path, i))
    elif isinstance(data, str):
        yield path, False, data


def _slot_of(path: Path_, is_key: bool) -> tuple[str, ...] | None:
    return next((s for s in slots() if _matches(s, path, is_key)), None)


@cache
def targets() -> tuple[tuple[int, Path_, bool, str], ...]:
    """Every string of the baselines that a schema slot describes: (baseline, path, is_key, text)."""
    return tuple((b, path, is_key, text) for b, spec in enumerate(BASELINES)
                 for path, is_key, text in _walk(spec) if _slot_of(path, is_key) is not None)


def uncovered() -> list[str]:
    """Slots of the schema that no baseline writes: a new field, still to be fuzzed."""
    covered = {_slot_of(path, is_key) for _, path, is_key, _ in targets()}
    return [".".join(s) for s in slots() if s not in covered]


def all_cases() -> Iterator[Case]:
    for b, path, is_key, text in targets():
        for payload in PAYLOADS:
            for mode in MODES:
                yield Case(b, path, is_key, _apply(text, payload, mode))


def random_cases(seed: int) -> Iterator[Case]:
    """Endless: a random target, one to three payloads in random places."""
    rng = random.Random(seed)
    pool = targets()
    while True:
        b, path, is_key, value = rng.choice(pool)
        for _ in range(rng.randint(1, 3)):
            value = _apply(value, rng.choice(PAYLOADS), rng.choice(MODES))
        yield Case(b, path, is_key, value)


# --- running one -----------------------------------------------------------------------------


def _mutated(case: Case) -> dict[str, Any]:
    spec = copy.deepcopy(BASELINES[case.baseline])
    parent = spec
    for part in case.path[:-1]:
        parent = parent[part]
    last = case.path[-1]
    if case.is_key:
        items = list(parent.items())
        parent.clear()
        for key, value in items:
            parent.setdefault(case.value if key == last else key, value)
    else:
        parent[last] = case.value
    return spec


def to_text(spec: dict[str, Any]) -> str:
    # JSON is YAML, lossless for every character (escapes), one key or item a line
    return json.dumps(spec, indent=1, ensure_ascii=True)


def _texts(commands: list[dockerfile.Command]) -> list[str]:
    """The strings BuildKit reads: values, their unquoted and shell-split forms, heredocs."""
    out: list[str] = []
    for command in commands:
        out.extend(command.value)
        out.extend(_utf8(flag) for flag in command.flags)  # the binding decodes flags as Latin-1
        out.extend(h.content for h in command.heredocs)
        for word in command.value:
            quoted = word.split("=", 1)[1] if "=" in word and word.endswith('"') and not word.startswith('"') else word
            if len(quoted) >= 2 and quoted[0] == quoted[-1] == '"':
                out.append(_unquote(quoted[1:-1]))
        if command.cmd.upper() == "RUN" and not command.json:
            try:
                out.extend(shlex.split(command.value[0]))
            except ValueError:
                pass
    return out


def _utf8(text: str) -> str:
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _unquote(body: str) -> str:
    """Inside BuildKit's double quotes `\\\\`, `\\"` and `\\$` are escapes; between two quoted
    parts (serialize.quoted: a run of backslashes before a quote or the end) `\\\\` is one."""
    return re.sub(r'\\([\\"$])', r"\1", re.sub(r'"((?:\\\\)+)"', r"\1", body))


def _count(commands: list[dockerfile.Command]) -> int:
    # SHELL is left out: a pipe in a command adds `SHELL [bash, -o, pipefail, -c]` on purpose
    return sum(1 for c in commands if c.cmd.upper() != "SHELL")


@cache
def _baseline(b: int) -> tuple[int, tuple[str, ...]]:
    compiled = _compile(to_text(BASELINES[b]))
    commands = list(dockerfile.parse_string(compiled.dockerfile))
    return _count(commands), tuple(_texts(commands))


@cache
def _baseline_document(b: int):  # type: ignore[no-untyped-def]
    return parse_yaml(to_text(BASELINES[b]), "spec.yaml")


def _line(b: int, path: Path_) -> int:
    # a mutation changes no line of the JSON text (escapes keep every value on its line)
    return _baseline_document(b).location(path).line


@cache
def _config():  # type: ignore[no-untyped-def]
    return load_config()


def _compile(text: str):  # type: ignore[no-untyped-def]
    return compile_spec(load_spec_text(text, "spec.yaml", config=_config()), _config())


@dataclass(frozen=True)
class Outcome:
    refused: bool
    problem: str | None  # None: as it should be; else what went wrong ("traceback", "exit", "structure", ...)
    detail: str = ""


def _appears(value: str, texts: tuple[str, ...] | list[str]) -> bool:
    return any(value in text for text in texts)


# fields whose value the compiler writes in a normal form (8080 -> EXPOSE 8080, term ->
# SIGTERM, 755 -> 0755) or as argv (a string entrypoint is split like a shell): their
# grammar is strict; the structure check covers them. `artifacts` declares what a stage
# hands over and is written nowhere itself: the final copy's `src` is (`/out/x/` beside a
# copy of `/out/x` left the Dockerfile as it was, a random case found)
_NORMALISED = {"ports", "stop_signal", "mode", "entrypoint", "cmd", "owner", "size_budget", "version", "packages",
               "artifacts"}


def _refused(case: Case, error: SpecError) -> Outcome:
    errors = getattr(error, "errors", (error,))  # SpecErrors: every error of the spec
    line = _line(case.baseline, case.path)
    if error.exit_code != 2:
        return Outcome(True, "exit", f"exit {error.exit_code}: {error}")
    # at the value's line, or (a reference the new value no longer matches) naming the
    # value; a renamed key leaves its old name unmatched where it is used: naming that
    shown = (case.value, repr(case.value)[1:-1])
    if case.is_key:
        old = next(t for b, p, k, t in targets() if b == case.baseline and p == case.path and k)
        shown += (f"'{old}'",)
    if not any(e.location is not None and (e.location.line == line or (case.value.strip() and any(
            v in f"{e.message} {e.hint}" for v in shown))) for e in errors):
        return Outcome(True, "location", f"expected line {line}: {error}")
    return Outcome(True, None)


def run(case: Case) -> Outcome:
    text = to_text(_mutated(case))
    try:
        compiled = _compile(text)
    except PolicyError as error:
        # a changed value may break a company rule (or a changed rule another line): the
        # error is at the line that breaks it, by design; nothing is written either way
        if error.exit_code == 2 and error.location is not None and error.location.line:
            return Outcome(True, None)
        return _refused(case, error)
    except SpecError as error:
        return _refused(case, error)
    except ImageSpecError as error:
        return Outcome(True, "exit", f"{type(error).__name__} (exit {error.exit_code}): {error}")
    except Exception as error:  # noqa: BLE001 - any other exception is a traceback for the user
        return Outcome(True, "traceback", f"{type(error).__name__}: {error}")
    stand_in = False
    try:
        commands = list(dockerfile.parse_string(compiled.dockerfile))
    except UnicodeDecodeError:
        # the Python binding (not BuildKit) fails to hand some characters outside the BMP
        # back from a flag: the structure is checked on an ASCII stand-in of the same text,
        # and the value's round trip is not (the binding cannot show it)
        commands = list(dockerfile.parse_string(re.sub(r"[^\x00-\x7f]", "x", compiled.dockerfile)))
        stand_in = True
    except Exception as error:  # noqa: BLE001
        return Outcome(False, "structure", f"BuildKit cannot parse it: {error}")
    count, before = _baseline(case.baseline)
    if _count(commands) != count:
        return Outcome(False, "structure", f"{_count(commands)} instructions (SHELL aside), baseline {count}")
    base_text = next(t for b, p, k, t in targets() if b == case.baseline and p == case.path and k == case.is_key)
    field = next((p for p in reversed(case.path) if isinstance(p, str)), "")
    expected = case.value.strip("\n") if field == "run" or "run" in case.path else case.value  # block scalars end in \n
    if field in ("copy", "src") and "copy" in case.path:  # a COPY source's `[` is the name's own: written `[[]`
        expected = as_pattern(expected)
    if (not stand_in and not case.is_key and "fuzz" in base_text and field not in _NORMALISED and not set(case.path) & _NORMALISED
            and _appears(base_text, before) and not _appears(expected, _texts(commands))
            # the Python binding hands flags over as Latin-1 and loses a trailing \xa0 byte
            # (the second byte of `à`): a cache mount's target is read from the text itself
            and not (field == "cache" and f"target={expected} " in compiled.dockerfile)):
        return Outcome(False, "round-trip", f"{case.value!r} not found in the Dockerfile")
    return Outcome(False, None)
