"""`imagespec init`: the first spec of an existing project.

Detection (adopt/detect.py) says which preset fits and what it read; flags override
every guess; the result is a short, commented spec that is compiled in memory before it
is written, so init never leaves a spec that does not generate. It never overwrites.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from imagespec.adopt.detect import DEFAULT_VERSION, KNOWN_FILES, Project, detect, read, why_unread
from imagespec.adopt.manifest import parse_toml
from imagespec import reference as grammar
from imagespec.errors import Location, SpecError, one_line

SPEC_NAME = "imagespec.yaml"
DEFAULT_PORT = 8000  # gunicorn's and uvicorn's own default, for a `$PORT` nothing else gives


@dataclass(frozen=True)
class InitOptions:
    """What the user said on the command line; None leaves the guess standing."""

    preset: str | None = None
    name: str | None = None
    version: str | None = None
    license: str | None = None
    ports: tuple[int, ...] | None = None  # () or (0,) means: no ports
    entrypoint: str | tuple[str, ...] | None = None  # a string: a command line (`--entrypoint`)
    with_: dict[str, str] = field(default_factory=dict)
    output: Path | None = None
    config: Path | None = None  # $IMAGESPEC_CONFIG; None: the nearest .imagespec.yaml


@dataclass(frozen=True)
class InitResult:
    path: Path
    text: str
    preset: str
    found: tuple[str, ...]
    guessed: tuple[str, ...]


_SPELLED = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l",
                          "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "TH"})
_NAME_CHARACTERS = 64  # an image name init makes is a few words


def image_name(raw: str) -> str:
    """A project name as an image name: lower case, [a-z0-9] joined by single . _ -"""
    import unicodedata

    # QA: `Ünïcödé` gave `n-c-d`: a letter's accents are dropped, not the letter (the
    # letters without a decomposition are spelled out)
    spelled = raw.translate(_SPELLED)
    ascii_name = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9._-]+", "-", ascii_name.lower().rsplit("/", 1)[-1])
    # QA: a 300-character name was exit 2 with no place to fix it: a name is a few words
    name = re.sub(r"[._-]{2,}", "-", name)[:_NAME_CHARACTERS].strip("._-")
    return name or "app"


def _unread_manifest(folder: Path) -> SpecError | None:
    """A manifest init looks for that is there but was not read (detect.read: not a regular
    file, too large, a link out of the folder, not UTF-8 text): said as such."""
    for name in ("go.mod", "Cargo.toml", "requirements.txt", "package.json", "pom.xml", "pyproject.toml"):
        path = folder / name
        why = why_unread(path)
        if why is None:
            continue
        return SpecError(f"{name} is {why}: init does not read it", location=Location(str(path)),
                         hint=f"make {name} the project's manifest as its tool writes it, or name the preset: "
                              "imagespec init --preset go|python|node|rust|java|c|service …")
    return None


def plan_project(folder: Path, options: InitOptions) -> Project:
    project = detect(folder)
    if project is None and options.preset is None and (folder / "pyproject.toml").is_file():
        parse_toml(folder / "pyproject.toml", read(folder / "pyproject.toml"))  # broken: said first, located
        # a pyproject.toml alone names no pinned dependency set the presets can install
        raise SpecError("pyproject.toml without a lock: the python presets install requirements.txt (pip), "
                        "uv.lock (python-uv) or poetry.lock (python-poetry)", location=Location(str(folder / "pyproject.toml"), 1, 1),
                        hint="lock it first: `uv lock`, `poetry lock`, or `pip-compile -o requirements.txt pyproject.toml`;"
                        " then run init again")
    if project is None and options.preset is None:
        unread = _unread_manifest(folder)
        if unread is not None:  # QA: a FIFO or a 50 MB package.json was "no project imagespec knows"
            raise unread
        raise SpecError(f"no project imagespec knows in this folder (looked for {', '.join(KNOWN_FILES)})",
                        location=Location(str(folder)),
                        hint="name the preset yourself: imagespec init --preset go|python|node|rust|java|c|service …")
    if project is None:
        project = Project(options.preset or "")
    elif options.preset and options.preset != project.preset:
        project.found.append(f"--preset {options.preset} (detected {project.preset})")
        project.preset = options.preset
    if project.unbuildable is not None and project.preset.startswith("node"):
        raise project.unbuildable
    _refuse_missing_script(folder, project.preset, options)
    _apply(project, folder, options)
    return project


def _refuse_missing_script(folder: Path, preset: str, options: InitOptions) -> None:
    """`--with script=FILE` of a python preset names a file of the project: the image runs
    /app/FILE (QA: `script=nope.py`, `.`, `/etc/passwd` wrote a spec that could not start).
    Its grammar (a path parameter's) is the compile's to check."""
    script = options.with_.get("script")
    if script is None or not preset.startswith("python"):
        return
    path = folder / script
    inside = os.path.realpath(path).startswith(os.path.realpath(folder) + os.sep)
    if script.startswith("/") or script.endswith("/") or not inside or not path.is_file():
        raise SpecError(f"--with script={one_line(script[:120])}: no such file in {folder}",
                        location=Location(str(folder)),
                        hint="name the program's file relative to the project folder, e.g. --with script=src/main.py")


def _note_dockerfile(project: Project, folder: Path) -> None:
    """A hand-written Dockerfile stays: generate refuses to replace it without --force."""
    from imagespec.contract import GENERATED_MARK

    text = read(folder / "Dockerfile")
    if text and not text.startswith(GENERATED_MARK):
        project.guessed.append("Dockerfile: hand-written, so `imagespec generate` will not replace it (--force does;"
                               " or set `dockerfile: Dockerfile.imagespec`); `imagespec import Dockerfile` translates it")


def _apply(project: Project, folder: Path, options: InitOptions) -> None:
    _note_dockerfile(project, folder)
    if options.name:
        # the user's own name is kept whole (team/api), checked as the spec's `name` is;
        # only names read from a manifest or the folder are made into one path component
        project.found = [line for line in project.found if not line.startswith("name ")]  # --name replaced it
        try:
            project.name = grammar.path(options.name)
        except grammar.Invalid as invalid:
            raise SpecError(f"--name: {one_line(str(invalid))}", hint="e.g. --name team/api; the registry goes in "
                            "`registry:` or the configuration") from None
    else:
        raw = project.name or folder.resolve().name
        if project.name is None:
            project.guessed.append(f"name {image_name(raw)}: the folder's name (--name)")
        elif image_name(raw) != raw:  # QA: `日本語` became `app` unsaid
            project.guessed.append(f"name {image_name(raw)}: {raw[:80]!r} as an image name (--name)")
        project.name = image_name(raw)
    if options.version:
        try:  # said of the flag, not of a spec init never wrote
            project.version = grammar.semantic_version(options.version)
        except grammar.Invalid as invalid:
            raise SpecError(f"--version: {one_line(str(invalid))}", hint=invalid.hint) from None
        project.guessed = [g for g in project.guessed if not g.startswith("version ")]  # the flag replaced it
    elif project.version is None:
        project.guessed.append(f"version {DEFAULT_VERSION}: no version in the project's manifest (--version)")
    if options.license:
        project.license = options.license
    if options.ports is not None:
        project.ports = [p for p in options.ports if p]
        project.guessed = [g for g in project.guessed if not g.startswith("port ")]
    if project.program_parameter in options.with_ or options.entrypoint is not None:
        # QA: "found …: the program to run" stayed in the report above the user's own program
        project.found = [f for f in project.found if ": the program to run" not in f]
    if project.program_parameter in options.with_:  # the preset's program, as the user says: not the one found
        project.entrypoint = project.command = None
    if options.entrypoint is not None:
        command = options.entrypoint
        port = _port_for(command, project, options)
        project.entrypoint = list(_entrypoint(_port_given(command, port) if port and isinstance(command, str)
                                              else command))
        if port:
            _set_port(project, port, options, "--entrypoint's command")
        # the preset's program (a script, an entry file) is not what runs: no guess about it
        project.guessed = [g for g in project.guessed if not g.startswith(("script ", "main "))]
    elif project.command is not None:
        _take_command(project, project.command, options)
    if project.entrypoint and project.program_parameter not in options.with_:
        project.with_.pop(project.program_parameter or "", None)  # nothing says ${{ script }} any more
    project.with_.update(options.with_)
    if project.unresolved is not None and not project.entrypoint and project.program_parameter not in project.with_:
        raise project.unresolved  # a guess would be a file that is not there: an image that cannot start


def _port_for(command: str | tuple[str, ...], project: Project, options: InitOptions) -> int | None:
    """The port a command's `$PORT` stands for (Heroku's convention: the platform names the
    port): the one given or found, else DEFAULT_PORT; None when it names no $PORT."""
    from imagespec.spec.values import variables

    if not isinstance(command, str) or "PORT" not in variables(command):
        return None
    return project.ports[0] if project.ports else DEFAULT_PORT


def _port_given(command: str, port: int) -> str:
    """`$PORT` (and `${PORT}`) replaced by the number: exec form (BP2) starts no shell
    that would expand it, and the program would get '$PORT' itself."""
    from imagespec.spec.values import VARIABLE

    return VARIABLE.sub(lambda m: str(port) if "PORT" in (m.group(1), m.group(2)) else m.group(0), command)


def _set_port(project: Project, port: int, options: InitOptions, source: str) -> None:
    """The image listens on `port` and says so to the app too (env PORT), as the platform
    would; --port 0 (no ports) still sets the variable the command used."""
    if options.ports is None and port not in project.ports:
        project.ports.append(port)
    env = project.final.setdefault("env", {})
    assert isinstance(env, dict)
    env["PORT"] = str(port)
    project.guessed.append(f"$PORT in {source}: {port}, written in its place and as env PORT (exec form "
                           "expands no variable; --port to change)")


def _take_command(project: Project, command: str, options: InitOptions) -> None:
    """The project's own start command as the entrypoint, when a spec can say it: one with
    other shell syntax (`${WORKERS:-2}`, `&&`) is left out and said, never written to fail."""
    port = _port_for(command, project, options)
    try:
        project.entrypoint = list(_entrypoint(_port_given(command, port) if port and isinstance(command, str)
                                              else command))
    except SpecError as error:
        project.found = [f for f in project.found if not f.startswith("Procfile:")]
        instead, project.served_instead = project.served_instead, None
        runs = instead.source if instead else "the preset's program"
        project.guessed.append(f"Procfile: its web command is not the entrypoint, {runs} is: "
                               f"{error.message.removeprefix('--entrypoint: ')} (--entrypoint)")
        if instead is not None and instead.command is not None:  # QA: else `python app.py`, which exits
            project.found = [f for f in project.found if ": the program to run" not in f] + [instead.found]
            project.with_.pop("script", None)
            project.command, project.command_source = instead.command, instead.source
            _take_command(project, instead.command, options)
        return
    # the program the preset would run is not what runs: nothing said about it
    project.found = [f for f in project.found if ": the program to run" not in f]
    project.guessed = [g for g in project.guessed if not g.startswith("script ")]
    if port:
        _set_port(project, port, options, project.command_source)


def _entrypoint(command: str | tuple[str, ...]) -> tuple[str, ...]:
    """A command line is what a spec's entrypoint string is (init writes it as a list, where
    shell syntax would reach the program as arguments): checked by the spec's own rule."""
    if not isinstance(command, str):
        return command
    from imagespec.spec.shell_scan import list_operator
    from imagespec.spec.values import exec_argv

    if list_operator(command) == "#":  # QA: a Procfile's `# comment` became arguments `#`, `comment`
        raise SpecError(f"--entrypoint: {one_line(command[:80])!r} holds a comment (#), which a shell reads and exec "
                        "form would pass to the program as arguments", hint="name the program and its arguments alone")
    try:
        return exec_argv(command)
    except ValueError as exc:
        raise SpecError(f"--entrypoint: {one_line(str(exc))}",
                        hint=getattr(exc, "hint", None) or "quote it as a shell would") from None


def render(project: Project, spec: str = SPEC_NAME, context: str = ".") -> str:
    """The spec's text: a comment block that says what was read and guessed, then YAML
    written by the YAML library (every value quoted as it must be). `context`: the
    project's folder, relative to the spec's."""
    data: dict[str, object] = {"extends": project.preset}
    if project.with_:
        data["with"] = dict(sorted(project.with_.items()))
    data["name"] = project.name
    if context != ".":  # QA: `-o ci/app.yaml` built the spec's own folder, without the project's files
        data["context"] = context
    data["version"] = project.version or DEFAULT_VERSION
    if project.license:
        data["license"] = project.license
    if project.stages:
        data["stages"] = project.stages
    final: dict[str, object] = dict(project.final)
    if project.ports:
        final["ports"] = sorted(set(project.ports))
    if project.entrypoint:
        final["entrypoint"] = project.entrypoint
    if final:
        data["final"] = final
    lines = [f"# Written by `imagespec init` on the `{project.preset}` preset (templates/presets/{project.preset}.yaml):",
             "# anything the preset sets can be overridden here; README \"Spec reference\" lists the keys.",
             "# Found:", *(f"#   {one_line(line)}" for line in project.found)]
    if project.guessed:
        lines += ["# Guessed (check these):", *(f"#   {one_line(line)}" for line in project.guessed)]
    named = one_line(shlex.quote(spec))  # where -o put it (QA: the header named imagespec.yaml whatever -o said)
    lines += [f"# Next: imagespec generate {named} && imagespec build {named} && imagespec test {named}", ""]
    return "\n".join(lines) + "".join(_dump_key(key, value) for key, value in data.items())


def _dump_key(key: str, value: object) -> str:
    """One top-level key in block style, its value's innermost collections in flow style
    (`with: {binary: api}`), as people write specs; the YAML library does the quoting."""
    flow = None if isinstance(value, (dict, list)) else False
    return yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True, default_flow_style=flow, width=100)


def _not_written(error: SpecError, target: Path) -> SpecError:
    """The spec init would write does not compile: said of that unwritten spec, not at a
    line of it (or of a preset) the user cannot open; the flags are what change it."""
    where = f" (at {error.location})" if error.location and error.location.file != str(target) else ""
    flags = ("the preset and its parameters come from the flags: --preset, --with KEY=VALUE, --entrypoint "
             "'PROGRAM ARG…' (imagespec init --help)")
    # the error's own hint says what the spec needs (nearly every error has one); the flags say how
    return SpecError(f"the spec for {target} (not written) does not compile: {error.message}{where}",
                     hint=f"{error.hint}; {flags}" if error.hint else flags)


def _taken(target: Path) -> SpecError:
    """Why init writes nothing at ``target``, which exists: a spec is there (a file, or a
    link to one or to nothing), or something no spec can be written to."""
    if target.is_file() or not target.exists():  # a broken link: what it names may appear
        return SpecError("a spec exists here already; init never overwrites", location=Location(str(target), 1, 1),
                         hint=f"it is ready to use (imagespec generate {target}); to start over, remove it first,"
                         " or write another one with -o FILE")
    what = "a folder" if target.is_dir() else "not a regular file (a device, a pipe or a socket)"
    return SpecError(f"this is {what}: init writes the spec into a new file", location=Location(str(target)),
                     hint="name a new file with -o FILE, or print the spec with -o -")


def init_project(folder: Path, options: InitOptions) -> InitResult:
    """Detect, render, check by compiling in memory, then write (never over a file)."""
    from imagespec.compiler import compile_spec
    from imagespec.spec.config import load_config
    from imagespec.spec import files
    from imagespec.spec.read_spec import load_spec_text
    from imagespec.spec.repository import refuse_output_outside, repository_root

    if not folder.is_dir():
        raise SpecError("not a folder", location=Location(str(folder)), hint="imagespec init [DIR]: the project's folder")
    to_stdout = options.output is not None and str(options.output) == "-"  # the spec as if in FOLDER
    target = folder / SPEC_NAME if to_stdout or options.output is None else options.output
    if not to_stdout and (target.exists() or target.is_symlink()):
        raise _taken(target)
    if not to_stdout and options.output is not None:
        refuse_output_outside(target, repository_root(files.resolve(folder)), "init")
    project = plan_project(folder, options)
    context = "." if to_stdout else Path(os.path.relpath(folder.resolve(), target.parent.resolve())).as_posix()
    text = render(project, SPEC_NAME if to_stdout else str(target), context)
    config = load_config(options.config, start=folder)
    try:  # a spec that generates, or an error about what was asked for (nothing is written)
        compile_spec(load_spec_text(text, name=str(target), config=config, folder=target.parent), config)
    except SpecError as error:
        raise _not_written(error, target) from None
    if to_stdout:
        return InitResult(Path("-"), text, project.preset, tuple(project.found), tuple(project.guessed))
    try:
        with open(target, "x", encoding="utf-8", newline="\n") as handle:  # "x": never over a file that appeared
            handle.write(text)
    except OSError as exc:
        raise SpecError(f"cannot write the spec: {exc.strerror or exc}", location=Location(str(target))) from None
    return InitResult(target, text, project.preset, tuple(project.found), tuple(project.guessed))
