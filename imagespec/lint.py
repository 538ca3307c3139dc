"""Findings on a spec, beyond what makes it invalid: each with a level, a rule id,
the practice it protects and a location. Only `error` fails `imagespec lint`.

Pure: works on a Compiled result. May import errors, spec, plan, compiler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imagespec.compiler import Compiled
from imagespec.errors import Location
from imagespec.plan import model as p

LEVELS = ("error", "warning", "info")
_SECRETISH = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)", re.I)
# tools an attacker would love to find in a final image (BP6)
_TOOLS = {"curl", "wget", "netcat", "netcat-openbsd", "netcat-traditional", "ncat", "nmap", "socat", "sudo",
          "gcc", "g++", "make", "git", "ssh", "openssh-client", "openssh-server", "vim", "nano", "telnet",
          "strace", "gdb", "build-essential"}


@dataclass(frozen=True, order=True)
class Finding:
    location: Location
    level: str
    rule: str
    message: str
    practice: str = ""
    hint: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"location": str(self.location), "level": self.level, "rule": self.rule,
                "practice": self.practice, "message": self.message, "hint": self.hint}


def _tag_of(ref: str) -> str | None:
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def lint(compiled: Compiled) -> list[Finding]:
    spec, doc, plan = compiled.loaded.spec, compiled.loaded.document, compiled.plan
    found: list[Finding] = []

    def add(path: tuple, level: str, rule: str, message: str, practice: str = "", hint: str = "") -> None:
        found.append(Finding(doc.location(path), level, rule, message, practice, hint))

    for stage in plan.stages:
        ref = stage.base.ref
        if stage.base.from_stage or ref == "scratch" or "@" in ref:
            continue
        tag = _tag_of(ref)
        if tag in (None, "latest"):
            add(stage.origin.path, "warning", "IS001", f"'{ref}' floats: it has no version tag",
                "BP13", "name a version tag (and a digest) so rebuilds are deliberate")
    for where, env in [(("stages", n, "env"), st.env) for n, st in spec.stages.items()] + [(("final", "env"), spec.final.env)]:
        for key in env:
            if _SECRETISH.search(key):
                add((*where, key), "error", "IS002", f"'{key}' looks like a secret written into the image",
                    "BP15", "pass secrets at run time, or at build time as a BuildKit secret; ENV stays in the image")
    for name, stage in spec.stages.items():
        for key, default in stage.args.items():
            if _SECRETISH.search(key) and default:
                add(("stages", name, "args", key), "error", "IS002", f"build arg '{key}' has a secret-looking default",
                    "BP15", "build args are recorded in the image history; use a build secret")
    packages = spec.final.packages if isinstance(spec.final.packages, list) else list(spec.final.packages)
    for tool in sorted(set(packages) & _TOOLS):
        add(("final", "packages"), "warning", "IS003", f"'{tool}' in the final image is a tool for an attacker",
            "BP6", "install it in a build stage, or drop it")
    if not spec.license:
        add(("name",), "warning", "IS004", "no `license`: the image's license label will be empty", "BP16",
            "set `license:` to an SPDX expression")
    if not spec.version:
        add(("name",), "info", "IS005", "no `version`: only the git SHA and extra tags will be applied", "BP14")
    if spec.final.shell:
        add(("final", "shell"), "warning", "IS006", "the entrypoint runs through /bin/sh (exec keeps PID 1, "
            "but the image needs a shell)", "BP2", "give the program and its arguments directly")
    if plan.runtime.uid == 0:
        add(("final", "user"), "warning", "IS007", f"the image runs as root ({plan.runtime.root_reason})", "BP8")
    used = _reachable(plan)
    for name in spec.stages:
        if name not in used:
            add(("stages", name), "warning", "IS008", f"stage '{name}' is not used by the final image",
                "BP11", "copy an artifact from it, or remove it")
    if spec.final.healthcheck is None and spec.final.ports:
        add(("final", "ports"), "info", "IS009", "a server without a healthcheck", "BP1",
            "add `healthcheck: {cmd: [...]}` so the orchestrator can tell a hung app from a live one")
    return sorted(found)


def _reachable(plan: p.Plan) -> set[str]:
    seen: set[str] = set()
    todo = list(plan.final.depends_on())
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(plan.stage(name).depends_on())
    return seen
