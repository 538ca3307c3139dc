"""Plan -> Dockerfile text and .dockerignore text.

Templates lay text out; the filters below are the only way values reach them.
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from types import CodeType
from typing import TYPE_CHECKING, cast

import jinja2

from imagespec.contract import GENERATED_MARK, as_pattern
from imagespec.plan import model as p
from imagespec.plan.frozen import frozen
from imagespec.plan import ca_trust
from imagespec.render import dockerfile_j2, serialize
from imagespec.resources import templates_dir

if TYPE_CHECKING:  # pragma: no cover
    from importlib.abc import InspectLoader

TEMPLATE = "Dockerfile.j2"

_WS = re.compile(r"\s")


@frozen
class RunBody:
    kind: str  # shell | exec | heredoc
    flags: str
    commands: tuple[str, ...] = ()
    argv: tuple[str, ...] = ()
    script: str = ""
    delimiter: str = ""
    # items (shell) or script lines (heredoc) before the step's own commands: the
    # secret prelude and `set -ex`; render/line_map.py places the commands after them
    lead: int = 0


def _mount_flag(mount: p.Mount) -> str:
    if mount.kind == "secret":
        # no `required`: an absent secret is not mounted, so the file builds anywhere
        target = "" if mount.default_target else f",target={mount.target}"
        return f"--mount=type=secret,id={mount.id}{target}"
    return f"--mount=type={mount.kind},target={mount.target}"  # cache, tmpfs


def _secret_prelude(secret_env: tuple[tuple[str, str], ...], secret_values: tuple[tuple[str, str], ...],
                    ca_system: str | None) -> tuple[str, ...]:
    lines = []
    if secret_env:
        exports = " ".join(f"{k}={v}" for k, v in secret_env)
        # the public roots plus the company CA, in the step's tmpfs (never in a layer)
        combine = f"cat {ca_system} {ca_trust.SECRET} >{ca_trust.BUNDLE}; " if ca_system else ""
        lines.append(f"if [ -f {ca_trust.SECRET} ]; then {combine}export {exports}; fi")
    for env, path in secret_values:
        lines.append(f'if [ -f {path} ]; then {env}="$(cat {path})" && export {env}; fi')
    # one command: it runs first and unwrapped, so its exports reach the commands after it
    return (" && ".join(lines),) if lines else ()


def run_body(run: p.Run, features: frozenset[str]) -> RunBody:
    return _run_body(run.commands, run.mounts, run.secret_env, run.secret_values, run.ca_system, features, run.shell)


# A pure function of the fields it is given (not of the whole Run: its origins differ from
# spec to spec); specs made from one template or preset have the same steps, and a batch
# (a fleet, the tests) lays each out once
@lru_cache(maxsize=1024)
def _run_body(commands: tuple[str, ...], mounts: tuple[p.Mount, ...], secret_env: tuple[tuple[str, str], ...],
              secret_values: tuple[tuple[str, str], ...], ca_system: str | None,
              features: frozenset[str], shell: tuple[str, ...] = ()) -> RunBody:
    flags = "".join(f"{_mount_flag(m)} " for m in mounts)
    prelude = _secret_prelude(secret_env, secret_values, ca_system)
    every = (*prelude, *commands)
    joinable = len(every) == 1 or not any(serialize.has_comment(c) for c in every)
    if joinable and all(serialize.shell_safe(c) for c in every):
        if flags and len(every) > 1:
            flags = flags.rstrip() + " \\\n    "
        return RunBody("shell", flags, commands=serialize.and_chain(prelude, commands), lead=len(prelude))
    # the prelude before `set -e`: a build image without a system bundle still gets the secret.
    # `-e` so that no line fails silently; not `-u`: a RUN of its own (the && form) reads an
    # unset variable as empty, and so must the same command written over several lines
    own = serialize.separate_commands(commands)
    script = "\n".join((*prelude, "set -e", *own))
    if "heredoc" in features:
        script = "\n".join((*prelude, "set -ex", *own))
        return RunBody("heredoc", flags, script=script, delimiter=serialize.heredoc_delimiter(script),
                       lead=len(prelude) + 1)
    # exec form: JSON keeps newlines and backslashes exactly; the shell sees the script as written.
    # The stage's SHELL (pipefail) by name: exec form does not go through it
    return RunBody("exec", flags, argv=(*(shell or ("/bin/sh", "-c")), script))


def _path_list(paths: tuple[str, ...]) -> str:
    if _WS.search("".join(paths)):  # one search: a space in any path is a space in them all
        return serialize.exec_form(paths)
    return " ".join(paths)


def copy_flags(copy: p.Copy, features: frozenset[str]) -> tuple[str, ...]:
    flags = []
    if copy.from_stage:
        flags.append(f"--from={copy.from_stage}")
    if copy.chown:
        flags.append(f"--chown={copy.chown}")
    if copy.chmod:
        flags.append(f"--chmod={copy.chmod}")
    if copy.link or ("copy-link" in features and copy.from_stage):
        flags.append("--link")
    return tuple(flags)


def copy_args(copy: p.Copy, features: frozenset[str]) -> str:
    # the sources are patterns to BuildKit, the destination a path
    return " ".join((*copy_flags(copy, features), _path_list((*map(as_pattern, copy.sources), copy.dest))))


def _expose_port(port: str) -> str:
    return port.removesuffix("/tcp")


@jinja2.pass_context
def _run_body_filter(ctx: jinja2.runtime.Context, run: p.Run) -> RunBody:
    return run_body(run, ctx["plan"].features)


@jinja2.pass_context
def _copy_args_filter(ctx: jinja2.runtime.Context, copy: p.Copy) -> str:
    return copy_args(copy, ctx["plan"].features)


def _pairs_filter(i: p.Env | p.Label) -> list[str]:
    if isinstance(i, p.Env) and i.from_args:
        return serialize.arg_references(i.items)
    return serialize.pairs(i.items, path=i.origin.path)


def _no_layout(i: p.Instruction) -> str:
    """The template's last branch: an instruction it has no layout for (an intent that a
    pass should have expanded) is a compiler bug, never a line silently left out."""
    raise TypeError(f"{TEMPLATE} has no layout for {type(i).__name__} instructions")


class _Precompiled(jinja2.BytecodeCache):
    """Hands Jinja the code of Dockerfile.j2 from render/dockerfile_j2_code.py when that was
    made from the same source by the same Jinja version (render/dockerfile_j2.py says which):
    compiling the template would otherwise be a large part of every uncached `imagespec
    generate` (BENCHMARKS.md). Anything else is compiled as usual."""

    def get_bucket(self, environment: jinja2.Environment, name: str, filename: str | None,
                   source: str) -> jinja2.bccache.Bucket:
        bucket = super().get_bucket(environment, name, filename, source)
        if (name == TEMPLATE and bucket.checksum == dockerfile_j2.SOURCE_SHA1
                and jinja2.__version__ == dockerfile_j2.JINJA2_VERSION):
            bucket.code = _precompiled_code(filename or "<template>")
        return bucket

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        pass  # nothing is stored: only the module above is read

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        pass


def _precompiled_code(filename: str) -> CodeType:
    """render/dockerfile_j2_code.py's code object, as Environment.compile would have made it
    from the template (named after the template file, which Jinja's tracebacks show). Python
    keeps it compiled in __pycache__ like any module's: only a stale or missing cache
    compiles it, as importing a module would."""
    spec = importlib.util.find_spec(f"{__package__}.dockerfile_j2_code")  # found, not imported
    assert spec is not None, "render/dockerfile_j2_code.py ships with imagespec"
    return _named(cast("InspectLoader", spec.loader).get_code(spec.name), filename)


def _named(code: CodeType | None, filename: str) -> CodeType:
    assert code is not None, "render/dockerfile_j2_code.py has code"
    consts = tuple(_named(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


PRECOMPILED_REGENERATE = ("python -c 'from pathlib import Path; from imagespec.render.dockerfile import "
                          "precompiled_modules as m; [Path(\"imagespec/render\", n).write_text(t) for n, t in m().items()]'")


def precompiled_modules() -> dict[str, str]:
    """The texts of render/dockerfile_j2.py (which template and Jinja) and
    render/dockerfile_j2_code.py (Jinja's code, line for line: its debug_info maps the
    template's lines to these) for the current template and Jinja
    (tests/compiler/test_precompiled.py fails when a committed one differs)."""
    env = _environment()
    assert env.loader is not None  # _environment() always gives it a FileSystemLoader
    source, filename, _ = env.loader.get_source(env, TEMPLATE)
    code = env.compile(source, TEMPLATE, filename, raw=True)
    made_by = f"Generated by imagespec.render.dockerfile.precompiled_modules(): do not edit (`{PRECOMPILED_REGENERATE}`)."
    return {
        "dockerfile_j2.py": "".join((
            f'"""Which template render/dockerfile_j2_code.py is the Python code of (Jinja {jinja2.__version__}\'s\n',
            f"compile of templates/dockerfile/{TEMPLATE}): it is used instead of compiling the template\n",
            "while its text and the Jinja version match (render/dockerfile.py).\n",
            f'{made_by}\n"""\n\n',
            f"JINJA2_VERSION = {jinja2.__version__!r}\n",
            f"SOURCE_SHA1 = {_Precompiled().get_source_checksum(source)!r}\n",
        )),
        "dockerfile_j2_code.py": "".join((
            code.rstrip("\n"), "\n\n",
            f"# The Python code Jinja {jinja2.__version__} makes of templates/dockerfile/{TEMPLATE}, the\n",
            "# template's text being the one render/dockerfile_j2.py names. Not a module to import: Jinja runs\n",
            "# its code object with an `environment` (render/dockerfile.py hands it over), which Python keeps\n",
            "# compiled in __pycache__ as it does every module's. Excluded from ruff and mypy: generated code.\n",
            f"# {made_by}\n",
        )),
    }


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # auto_reload off: the template is read once per process, not stat()ed again for every spec
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir() / "dockerfile")),
                             undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
                             bytecode_cache=_Precompiled(), auto_reload=False)
    # the template uses none of Jinja's default globals (range, dict, lipsum, …), and each
    # render copies them into its context through a (Python) ChainMap
    env.globals.clear()
    env.filters.update(exec_form=serialize.exec_form, quoted=serialize.quoted, expose_port=_expose_port, kind=lambda i: type(i).__name__,
                       run_body=_run_body_filter, copy_args=_copy_args_filter, pairs=_pairs_filter, no_layout=_no_layout)
    return env


_HEREDOC_START = re.compile(r"^RUN .*<<(EOF[0-9]*)$")
# a run of blank (whitespace-only) lines: the first is kept as it is, the rest dropped
_BLANK_RUN = re.compile(r"(\n[^\S\n]*)(?:\n[^\S\n]*)+(?=\n)")


def _tidy(text: str) -> str:
    """One blank line between blocks, one newline at the end: stable, reviewable text.
    Heredoc bodies are the author's script and stay exactly as written."""
    # only a line ending in `<<EOF…` starts a heredoc: without one, one substitution
    # does what the loop below does line by line (the text is stripped, so every blank
    # line has a line before and after it)
    if "<<EOF" not in text:
        return _BLANK_RUN.sub(r"\1", text.strip()) + "\n"
    lines: list[str] = []
    delimiter = None
    for line in text.strip().split("\n"):
        if delimiter is None and not line.strip() and lines and not lines[-1].strip():
            continue
        lines.append(line)
        if delimiter is None:
            start = _HEREDOC_START.match(line)
            delimiter = start[1] if start else None
        elif line == delimiter:
            delimiter = None
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    # looked up once: the environment never reloads it (auto_reload off)
    return _environment().get_template(TEMPLATE)


def render_dockerfile(plan: p.Plan, *, source: str, inputs_hash: str) -> str:
    text = _template().render(plan=plan, source=source, inputs_hash=inputs_hash)
    return _tidy(text)


def render_dockerignore(plan: p.Plan, *, source: str) -> str:
    header = f"{GENERATED_MARK} from {source}.\n"
    return header + "\n".join(plan.dockerignore) + "\n"


def render_instruction(plan: p.Plan, stage: p.Stage, instruction: p.Instruction) -> str:
    """One instruction's text, laid out by the same template as the Dockerfile (for
    explain): the plan cut down to this stage with only this instruction, rendered,
    without the comments and the stage's FROM line."""
    alone = p.replace(plan, stages=(p.replace(stage, instructions=(instruction,)),))
    text = render_dockerfile(alone, source="", inputs_hash="")
    _, _, body = text.partition(f"\n{stage.from_line}\n")
    # split at newlines only: splitlines() also splits at U+2028 and the like, which a value
    # may hold and the Dockerfile keeps on its line (explain showed a made-up second line)
    return "\n".join(line for line in body.strip().split("\n") if not line.startswith("#"))
