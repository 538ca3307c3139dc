"""Findings on a spec, beyond what makes it invalid: each with a level, a rule id,
the practice it protects and a location. Only `error` fails `imagespec lint`.

Pure: works on a Compiled result, and on the build context through the questions
spec.build_context answers (given by the caller; without it the rules that need the
files, IS010 and IS011, stay silent). May import errors, spec, plan, compiler.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass

from imagespec import reference as grammar
from imagespec.compiler import Compiled
from imagespec.contract import DEFAULT_PATH, WILDCARDS, starts_a_shell
from imagespec.errors import Location
from imagespec.plan import model as p
from imagespec.plan.final_contents import INTERPRETERS, copied_to, missing_program
from imagespec.plan.lower import covered
from imagespec.spec.build_context import BuildContext
from imagespec.spec.model import Spec
from imagespec.spec.values import argv as split_argv, variables
from imagespec.spec.yaml_source import DataPath

LEVELS = ("error", "warning", "info")
# a name's words (split at `_`, `-`, `.` and camelCase): one of these words, or API/PRIVATE
# then KEY, names a secret; unless the next word makes it a setting about one
# (PASSWORD_MIN_LENGTH, TOKEN_URL, SECRET_NAME), or it is part of a longer word (TOKENIZER)
_SECRET_WORDS = frozenset({"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY", "CREDENTIAL",
                           "CREDENTIALS"})
_KEY_OF = frozenset({"API", "PRIVATE"})
_ABOUT_A_SECRET = frozenset({"LENGTH", "LEN", "MIN", "MAX", "POLICY", "PATTERN", "REGEX", "EXPIRY", "EXPIRES", "TTL",
                             "LIFETIME", "AGE", "TIMEOUT", "ROUNDS", "COST", "ALGORITHM", "HEADER", "NAME", "URL",
                             "URI", "ENDPOINT", "ENABLED", "REQUIRED", "COUNT", "FORMAT", "TYPE", "ID", "VERSION"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_FLAGS = frozenset({"true", "false", "yes", "no", "on", "off", "0", "1", ""})
# tools an attacker would love to find in a final image (BP6)
_TOOLS = {"curl", "wget", "netcat", "netcat-openbsd", "netcat-traditional", "ncat", "nmap", "socat", "sudo",
          "gcc", "g++", "make", "git", "ssh", "openssh-client", "openssh-server", "vim", "nano", "telnet",
          "strace", "gdb", "build-essential"}
# secrets recognised by their value, whatever the key is called (BP15): what each is, and
# its pattern. Tokens by their issuers' documented prefixes; `\b` keeps them whole words.
_SECRET_VALUES = (
    ("an AWS access key ID", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    # scheme://user:password@host; a password that is a variable reference (`${DB_PASSWORD}`) is no secret
    ("a URL with a password", re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]+:(?![$%{])[^\s/@]+@[^\s/@]")),
)

#: lint()'s `add`: (path, level, rule, message, practice, hint) becomes one Finding
Add = Callable[[DataPath, str, str, str, str, str], None]
PRIVILEGED_PORTS = 1024  # below it, binding needs root or CAP_NET_BIND_SERVICE (Kubernetes, Podman)
#: variables every container has a value for (the engine sets HOME and HOSTNAME, and PATH
#: when the image has none): a value naming one meant to extend or use it (IS016)
_RUNTIME_VARIABLES = frozenset({"PATH", "HOME", "HOSTNAME"})


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


def _floats(ref: str) -> bool:
    """A base pinned by neither a digest nor a version tag (`latest` is no version)."""
    try:
        parsed = grammar.parse(ref)
    except grammar.Invalid:  # a build argument (`${BASE}`): nothing to say about it
        return False
    return not parsed.digest and parsed.tag in (None, "latest")


def _final_packages(spec: Spec) -> list[tuple[DataPath, list[str]]]:
    """The packages that end up in the final image: its own, and those of each stage its
    `from:` chain goes through (`final: {from: tools}` keeps all of tools' packages)."""
    found: list[tuple[DataPath, list[str]]] = [(("final", "packages"), list(spec.final.packages))]
    seen: set[str] = set()
    parent = spec.final.from_
    while isinstance(parent, str) and parent in spec.stages and parent not in seen:
        seen.add(parent)
        found.append((("stages", parent, "packages"), list(spec.stages[parent].packages)))
        parent = spec.stages[parent].from_
    return found


def lint(compiled: Compiled, context: BuildContext | None = None) -> list[Finding]:
    """`context`: the spec's build context, for the rules that look at its files."""
    spec, doc, plan = compiled.loaded.spec, compiled.loaded.document, compiled.plan
    found: list[Finding] = []

    def add(path: DataPath, level: str, rule: str, message: str, practice: str = "", hint: str = "") -> None:
        found.append(Finding(doc.location(path), level, rule, message, practice, hint))

    for stage in plan.stages:
        ref = stage.base.ref
        if not stage.base.from_stage and ref != "scratch" and _floats(ref):
            add(stage.origin.path, "warning", "IS001", f"'{ref}' floats: it has no version tag",
                "BP13", "name a version tag (and a digest) so rebuilds are deliberate")
    for where, env in [(("stages", n, "env"), st.env) for n, st in spec.stages.items()] + [(("final", "env"), spec.final.env)]:
        for key, value in env.items():
            if looks_like_secret(key) and str(value).lower() not in _FLAGS and not _names_a_file(key, value):
                add((*where, key), "error", "IS002", f"'{key}' looks like a secret written into the image",
                    "BP15", "pass secrets at run time, or at build time as a BuildKit secret; ENV stays in the image")
    for name, declared in spec.stages.items():
        for key, default in declared.args.items():
            if looks_like_secret(key) and default and str(default).lower() not in _FLAGS:
                add(("stages", name, "args", key), "error", "IS002", f"build arg '{key}' has a secret-looking default",
                    "BP15", "build args are recorded in the image history; use a build secret")
    for at, packages in _final_packages(spec):
        for tool in sorted(set(packages) & _TOOLS):
            add(at, "warning", "IS003", f"'{tool}' in the final image is a tool for an attacker"
                + (f" (from stage '{at[1]}', which the final image is built FROM)" if at[0] == "stages" else ""),
                "BP6", "install it in a build stage that only hands over artifacts, or drop it")
    if not spec.license:
        add(("name",), "warning", "IS004", "no `license`: the image's license label will be empty", "BP16",
            "set `license:` to an SPDX expression")
    if not spec.version:
        add(("name",), "info", "IS005", "no `version`: only the git SHA and extra tags will be applied", "BP14")
    if spec.final.shell:
        add(("final", "shell"), "warning", "IS006", "the entrypoint runs through /bin/sh (exec keeps PID 1, "
            "but the image needs a shell)", "BP2", "give the program and its arguments directly")
    started = spec.final.entrypoint_argv or (spec.final.cmd_argv if spec.final.entrypoint is None else None) or ()
    if not spec.final.shell and starts_a_shell(started):
        key = "entrypoint" if spec.final.entrypoint is not None else "cmd"
        add(("final", key), "error", "IS014", f"`{' '.join(started[:2])} …`: the shell is PID 1, and SIGTERM does "
            "not reach the program (`imagespec test` fails config-exec-form)", "BP2",
            "give the program and its arguments directly (exec form); where a shell must prepare the start, write "
            "the command in `entrypoint` with `shell: true`: it execs the program")
    _lint_healthcheck(spec, plan, add)
    if plan.runtime.uid == 0:
        add(("final", "user"), "warning", "IS007", f"the image runs as root ({plan.runtime.root_reason})", "BP8")
    used = _reachable(plan)
    for name in spec.stages:
        if name not in used:
            add(("stages", name), "warning", "IS008", f"stage '{name}' is not used by the final image",
                "BP11", "copy an artifact from it, or remove it")
    _lint_unused_copies(spec, plan, add)
    if spec.final.healthcheck is None and spec.final.ports:
        add(("final", "ports"), "info", "IS009", "a server without a healthcheck", "BP1",
            "add `healthcheck: {cmd: [...]}` so the orchestrator can tell a hung app from a live one")
    for index, port in enumerate(spec.final.ports):
        number = int(port.split("/", 1)[0])
        if number < PRIVILEGED_PORTS and plan.runtime.uid != 0:
            add(("final", "ports", index), "warning", "IS012",
                f"port {number} is privileged: user {plan.runtime.uid} may not bind it", "BP8",
                f"listen on a port from {PRIVILEGED_PORTS} up (e.g. 8080) and publish it as {number}; Docker "
                "allows it since 20.10, Kubernetes and Podman without root do not")
    _lint_unexpanded(spec, add)
    _lint_narrow_path(spec, add)
    for path, what in _secret_values(spec):
        add(path, "error", "IS013", f"this value holds {what}: it is written into the image", "BP15",
            "pass secrets at run time, or at build time as a BuildKit secret (`secrets:`); rotate this one")
    if context is not None:
        _lint_context(spec, plan, context, add)
    return sorted(found)


def _lint_healthcheck(spec: Spec, plan: p.Plan, add: Add) -> None:
    """IS015: a health check whose program a shell-less final cannot have (a shell, `env`,
    an HTTP client it was not given; on scratch, anything final.copy does not put there):
    lint-clean and `imagespec test`-clean before, the container then stayed unhealthy."""
    check = spec.final.healthcheck
    if check is None or not check.cmd:
        return
    missing = missing_program(check.cmd[0], base=plan.final.base.ref, has_shell=plan.final.base.has_shell,
                              copies=spec.final.copy_, packages=_final_package_names(spec))
    if missing is None:
        return
    add(("final", "healthcheck", "cmd"), "error", "IS015",
        f"healthcheck `{' '.join(check.cmd[:2])} …`: {missing}, so the check can never pass and the container "
        "stays unhealthy (`imagespec test` fails healthcheck-program)", "BP6",
        "probe with the application itself (`cmd: [/app, --health]`) or a static probe copied from a build stage "
        "(`final.copy`); a `sh -c` or curl probe needs a final with a shell and curl (BP6, BP10)")


def _final_package_names(spec: Spec) -> set[str]:
    return {name for _, packages in _final_packages(spec) for name in packages}
def _lint_unexpanded(spec: Spec, add: Add) -> None:
    """IS017: a `$VAR` in an exec-form argument, which no shell expands (BP2); IS016: an env
    value naming a variable the container has (`PATH: /x/bin:$PATH`), written as it is."""
    final = spec.final
    lists: list[tuple[DataPath, object]] = [(("final", "cmd"), final.cmd)]  # with `shell: true` too: "$@" keeps them
    if not final.shell:  # `shell: true` runs the entrypoint string through sh, which expands it
        lists.append((("final", "entrypoint"), final.entrypoint))
    if final.healthcheck is not None:
        lists.append((("final", "healthcheck", "cmd"), final.healthcheck.cmd))
    for at, value in lists:
        first = at != ("final", "cmd") or final.entrypoint is None  # cmd alone names the program
        if isinstance(value, str):  # split as a shell would, but for `#`: at the string's own line
            for index, argument in enumerate(split_argv(value)):
                _lint_shell_word(at, argument, add, program=first and index == 0)
        for index, argument in enumerate(value if isinstance(value, (list, tuple)) else ()):
            _lint_shell_word((*at, index), argument, add, program=first and index == 0)
            names = variables(argument)
            if names:
                add((*at, index), "warning", "IS017", f"{_shown(argument)} reaches the program as it is: exec form starts "
                    f"no shell, so ${names[0]} is never expanded", "BP2",
                    "write the value itself (a port: the number, and `env: {PORT: '8080'}` where the app reads it "
                    "too), or run the entrypoint string through a shell with `shell: true`: it execs the program")
    envs = [(("stages", n, "env"), st.env) for n, st in spec.stages.items()] + [(("final", "env"), final.env)]
    for where, env in envs:
        for key, value in env.items():
            meant = [n for n in variables(value or "") if n == key or n in env or n in _RUNTIME_VARIABLES]
            if meant:
                whole = (value or "").replace(f"${{{meant[0]}}}", DEFAULT_PATH).replace(f"${meant[0]}", DEFAULT_PATH) \
                    if meant[0] == "PATH" else None
                add((*where, key), "warning", "IS016", f"${meant[0]} in {key} is not expanded: env values are written "
                    f"as they are, so {key} is {_shown(value)}", "",
                    f"write the whole value: `{key}: {whole}` (Debian's and the engine's PATH; `docker image inspect "
                    "BASE` shows the base's)" if whole else "write the value itself, not a reference to another")


def _lint_narrow_path(spec: Spec, add: Add) -> None:
    """IS020: an `env` PATH without /usr/bin and /bin, where something is looked up on it:
    the final's program (exec form finds it on the container's PATH, and runc refuses to
    start a name it does not find, BP2) or a build stage's `run` commands (`make`, `go`, …)."""
    final = spec.final
    started = final.entrypoint_argv or (final.cmd_argv if final.entrypoint is None else None) or ()
    probe = final.healthcheck.cmd if final.healthcheck is not None and final.healthcheck.cmd else ()
    looked_up = [word for word in (started[:1] + tuple(probe[:1])) if "/" not in word
                 and not copied_to(final.copy_, word)]  # copied by name: it may be on the new PATH
    stages = [(("stages", name), stage.env, "the stage's `run` commands look their programs"
               if stage.run or stage.dependencies else "") for name, stage in spec.stages.items()]
    final_what = f"the container looks {' and '.join(repr(w) for w in looked_up)}" if looked_up else ""
    for where, env, what in [*stages, (("final",), final.env, final_what)]:
        value = env.get("PATH")
        # `$PATH` in it is IS016's case; a PATH with the system's own folders finds the base's programs
        if not what or value is None or variables(value) or {"/usr/bin", "/bin"} & set(value.split(":")):
            continue
        missing = [folder for folder in DEFAULT_PATH.split(":") if folder not in value.split(":")]
        add((*where, "env", "PATH"), "warning", "IS020", f"PATH {_shown(value)} replaces the image's, without "
            f"{', '.join(missing)}: {what} up in it alone, so a program elsewhere is not found", "BP2",
            f"keep the system folders: `PATH: {value}:{DEFAULT_PATH}`"
            + (", or start the program by its absolute path" if where == ("final",) else ""))


def _shown(value: str | None) -> str:
    """A value in quotes as the spec's author reads it: repr would double each backslash."""
    return f"'{value or ''}'"


#: `NAME=value` before a program: the shell's way to set a variable for it
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)


def _lint_shell_word(at: DataPath, argument: object, add: Add, *, program: bool) -> None:
    """IS018: shell syntax in an exec-form argument, which reaches the program as it is
    (BP2): `FOO=1` as the program (exec looks for a program of that name), a `~` no shell
    turns into a home folder, a `#` word that would have begun a comment."""
    if not isinstance(argument, str):
        return
    if program and _ASSIGNMENT.fullmatch(argument):
        said, hint = f"{_shown(argument)} is run as the program: exec form sets no variable", \
            f"set it in `env:` ({argument.split('=', 1)[0]}: …) and start the list with the program"
    elif argument == "~" or argument.startswith("~/"):
        said, hint = f"{_shown(argument)} reaches the program as it is: exec form starts no shell to expand `~`", \
            "write the folder itself (the user's home, e.g. /home/app, or WORKDIR's path)"
    elif argument.startswith("#"):
        said, hint = f"{_shown(argument)} and what follows reach the program: in exec form `#` begins no comment", \
            "drop the words meant as a comment"
    else:
        return
    add(at, "warning", "IS018", said, "BP2", hint)


def looks_like_secret(key: str) -> bool:
    """Whether an env or build-arg name looks like it holds a secret (IS002)."""
    words = [word.upper() for word in _WORD.findall(key)]
    for i, word in enumerate(words):
        secret = word in _SECRET_WORDS or (word == "KEY" and i > 0 and words[i - 1] in _KEY_OF)
        if secret and (i + 1 == len(words) or words[i + 1] not in _ABOUT_A_SECRET):
            return True
    return False


def _names_a_file(key: str, value: str | None) -> bool:
    """`PASSWORD_FILE=/run/secrets/db`: the variable names where a secret is mounted at run
    time, the way to pass one (BP15), not the secret itself."""
    return key.upper().endswith(("_FILE", "_PATH")) and bool(value) and str(value).startswith("/")


def _secret_values(spec: Spec) -> list[tuple[DataPath, str]]:
    """(path, what) of each env value, build-arg default and label that holds a secret;
    `source` and `description` become labels too (org.opencontainers.image.*)."""
    values: list[tuple[DataPath, str | None]] = [(("source",), spec.source), (("description",), spec.description)]
    for name, stage in spec.stages.items():
        values += [(("stages", name, "env", k), v) for k, v in stage.env.items()]
        values += [(("stages", name, "args", k), v) for k, v in stage.args.items()]
    values += [(("final", "env", k), v) for k, v in spec.final.env.items()]
    values += [(("final", "labels", k), v) for k, v in spec.final.labels.items()]
    found = []
    for path, value in values:
        what = next((what for what, pattern in _SECRET_VALUES if value and pattern.search(value)), None)
        if what:
            found.append((path, what))
    return found


def _lint_context(spec: Spec, plan: p.Plan, context: BuildContext, add: Add) -> None:
    """IS010 (a COPY source missing from the context) and IS011 (a shell script as the
    entrypoint of a shell-less final)."""
    sources = _context_sources(spec)
    present = {path[:-1] for path, source in sources if context.matches(source)}
    for path, source in sources:
        # a pattern may match nothing when another source of its COPY does (`go.sum*`: optional)
        optional = not WILDCARDS.isdisjoint(source) and path[:-1] in present
        if not optional and not context.matches(source):
            fails = "a pattern that matches nothing copies nothing, and the build passes without it" \
                if not WILDCARDS.isdisjoint(source) else "the build fails at this COPY"
            add(path, "error", "IS010", f"'{source}' is not in the build context ({context.root.name}/)", "BP4",
                f"{fails}: fix the path, or set `context:` to the folder that holds it")
    if plan.final.base.has_shell:
        return
    argv: tuple[str, ...] = spec.final.entrypoint_argv or spec.final.cmd_argv or ()
    key = "entrypoint" if spec.final.entrypoint is not None else "cmd"
    script = _context_file_at(spec, context, argv[0]) if argv else None
    line = context.first_line(script) if script else None
    interpreter = _interpreter(line) if line else None
    if interpreter in INTERPRETERS:
        add(("final", key), "error", "IS011", f"{argv[0]} is a script for {interpreter} (`#!`), but the final "
            "image has no shell: it cannot start", "BP2",
            "make the entrypoint the program itself (exec form), or build on a final with a shell")


def _context_sources(spec: Spec) -> list[tuple[DataPath, str]]:
    """(path, source) of every file the spec copies from the build context."""
    sources: list[tuple[DataPath, str]] = []
    for name, stage in spec.stages.items():
        if stage.dependencies:
            sources += [(("stages", name, "dependencies", "copy", i), s) for i, s in enumerate(stage.dependencies.copy_)]
        for i, item in enumerate(stage.copy_):
            sources.append((("stages", name, "copy", i), item if isinstance(item, str) else item.src))
    # each final.copy entry is a COPY of its own: its path names it alone (IS010's group)
    sources += [(("final", "copy", i, "src"), a.src) for i, a in enumerate(spec.final.copy_) if a.from_ is None]
    return sources


def _context_file_at(spec: Spec, context: BuildContext, program: str) -> str | None:
    """The context file that lands at `program` in the final image, by COPY's rules: a file
    copied to a path ending in `/` keeps its name; a folder's contents land under dest."""
    for artifact in spec.final.copy_:
        if artifact.from_ is not None:
            continue
        src, dest = artifact.src.rstrip("/") or ".", artifact.dest
        if context.is_file(src):
            target = dest + src.rsplit("/", 1)[-1] if dest.endswith("/") else dest
            if target == program:
                return src
        elif context.is_dir(src) and program.startswith(dest.rstrip("/") + "/"):
            inside = f"{src}/{program[len(dest.rstrip('/')) + 1:]}"
            if context.is_file(inside):
                return inside
    return None


def _interpreter(line: str) -> str | None:
    """The program a `#!` line runs, by name (for `#!/usr/bin/env X` that is env, which a
    shell-less final lacks as well)."""
    if not line.startswith("#!"):
        return None
    words = line[2:].split()
    # printable only: the name is quoted in the finding, and the file is anyone's
    return "".join(c for c in words[0].rsplit("/", 1)[-1] if c.isprintable()) if words else None


def _lint_unused_copies(spec: Spec, plan: p.Plan, add: Add) -> None:
    """IS019: a build stage's copy of context files that no step after it reads and no
    artifact comes from: a COPY layer, and a cache key that changes with every edit of
    those files, for nothing (the mistake of copying the source into a stage whose
    artifact is the dependency install)."""
    built_on = {stage.base.from_stage for stage in plan.stages}
    for stage in plan.stages:
        if stage.final or stage.name not in spec.stages or stage.name in built_on:
            continue  # a stage built FROM this one may run on what it copied
        workdir, unused = "/", list[tuple[p.Copy, str]]()
        for instruction in stage.instructions:
            if isinstance(instruction, p.Workdir):
                workdir = posixpath.join(workdir, instruction.path)
            elif isinstance(instruction, (p.Run, p.InstallPackages)):
                unused = []
            elif isinstance(instruction, p.Copy) and instruction.from_stage is None:
                unused.append((instruction, posixpath.normpath(posixpath.join(workdir, instruction.dest))))
        for copy, dest in unused:
            if not covered(dest, stage.artifacts) and not any(covered(a, (dest,)) for a in stage.artifacts):
                add(copy.origin.path, "warning", "IS019", f"stage '{stage.name}' copies {', '.join(copy.sources)} "
                    f"to {dest}, but no step after it reads it and no artifact comes from it", "BP4",
                    "remove it from the stage's `copy:`, or list what the stage makes of it in `artifacts:`")


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
