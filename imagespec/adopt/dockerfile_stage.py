"""One Dockerfile stage read instruction by instruction into what a spec stage (or the
final stage) can hold. Each instruction ends in one of three places: expressed (a spec
value), a difference (expressed, but the generated Dockerfile does it otherwise: said
so), or a comment (`# Dockerfile:12: VOLUME /data (not expressed: …)`). Every value is
checked by the spec's own validators before it is kept, so nothing reaches the spec
that the model would read as something else.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import dockerfile

from imagespec.adopt.dockerfile_run import only_housekeeping, read_mounts, read_run
from imagespec.adopt.dockerfile_user import take_accounts
from imagespec.adopt.dockerfile_words import Unknown, env_pairs, read_word
from imagespec.adopt.import_heredoc import HeredocFiles, HeredocRefused, run_script
from imagespec.contract import DEFAULT_PATH
from imagespec.render.serialize import changes_shell_state
from imagespec.spec import values as v

#: files a dependency step installs from (BP4): a COPY of only these, then a RUN
MANIFESTS = re.compile(r"(requirements[\w.-]*\.txt|package(-lock)?\.json|npm-shrinkwrap\.json|yarn\.lock|"
                       r"pnpm-lock\.yaml|\.npmrc|\.yarnrc(\.yml)?|go\.(mod|sum)|Cargo\.(toml|lock)|pom\.xml|"
                       r"pyproject\.toml|poetry\.lock|uv\.lock|Pipfile(\.lock)?|setup\.(py|cfg)|Gemfile(\.lock)?|"
                       r"composer\.(json|lock)|[\w.-]+\.csproj|build\.gradle(\.kts)?|settings\.gradle(\.kts)?|mix\.(exs|lock))")
#: the globs Dockerfiles copy manifests with (`COPY package*.json ./`)
MANIFEST_GLOBS = frozenset({"package*.json", "requirements*.txt", "go.*", "Cargo.*", "Gemfile*", "composer.*",
                            "Pipfile*", "pyproject.toml", "poetry.lock*"})
#: a COPY source's character class (`yarn.loc[k]`), which a spec's sources cannot say (contract.as_pattern)
_CHARACTER_CLASS = re.compile(r"\[[^\]/]+\]")
# shell state a command may change: merged with others, it must not leak into them
_SHELL_SYNTAX = re.compile(r"[$&|;<>()`*?\[\]~#{}\n\\]")
#: A word that sets a variable for the command after it (`NODE_ENV=production node app.js`)
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


class NotExpressed(Exception):
    """An instruction the spec cannot say; its reason goes into the comment."""


class PartlyExpressed(Exception):
    """Some values of an instruction were expressed (`ENV A=1 PATH=/x:$PATH` keeps A);
    `rest` is the instruction with the others alone, as written, for the comment."""

    def __init__(self, rest: str, why: str) -> None:
        super().__init__(why)
        self.rest = rest


def _why(exc: Exception) -> str:
    if isinstance(exc, (NotExpressed, Unknown)):
        return str(exc)
    return f"a spec cannot hold it: {exc}"


@dataclass
class Report:
    expressed: list[tuple[int, str]] = field(default_factory=list)
    comments: list[tuple[int, str, str]] = field(default_factory=list)  # line, instruction, why
    differences: list[str] = field(default_factory=list)
    guessed: list[str] = field(default_factory=list)


@dataclass
class Config:
    """What an image carries to a stage built FROM it."""

    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    user: tuple[int, str] | None = None  # (line, USER value)
    ports: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    healthcheck: dict[str, Any] | None = None
    stop_signal: str | None = None
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    env_not_expressed: dict[str, int] = field(default_factory=dict)  # ENV name -> the line that set it
    base_user: int | None = None  # the non-root uid the first base image runs as, by the catalog
    base_image: str = ""  # the first base image, as the FROM names it (for what import says of it)
    base_shell: bool = True  # the first base image has /bin/sh
    #: "CMD"/"ENTRYPOINT" -> (line, text) of the one in shell form whose shell syntax needs a shell
    #: (its argv is `/bin/sh -c text`; import_dockerfile._command decides how the spec says it)
    scripts: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: the catalog knows the first base image's user (base_user), or it is scratch's root;
    #: False: an image outside the catalog, whose USER import cannot know (`:nonroot`)
    base_user_known: bool = True
    #: the line of the ENTRYPOINT in shell form that runs: it passes no CMD to its program
    shell_entrypoint: int | None = None

    def copy(self) -> Config:
        return Config(dict(self.env), self.workdir, self.user, list(self.ports), dict(self.labels), self.healthcheck,
                      self.stop_signal, self.entrypoint, self.cmd, dict(self.env_not_expressed), self.base_user,
                      self.base_image, self.base_shell, dict(self.scripts), self.base_user_known, self.shell_entrypoint)


@dataclass
class Step:
    kind: str  # copy | run | artifact
    line: int
    workdir: str
    data: dict[str, Any]


@dataclass
class StageRead:
    name: str
    line: int
    from_: object  # catalog name, stage name, or {image, family}
    manager: str | None
    config: Config
    own_env: dict[str, str] = field(default_factory=dict)
    args: dict[str, str | None] = field(default_factory=dict)
    packages: dict[str, str | None] = field(default_factory=dict)
    cache: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    features: set[str] = field(default_factory=set)
    workdir_set: bool = False
    variables: dict[str, str] = field(default_factory=dict)
    user_before_steps: int | None = None
    artifacts: list[str] = field(default_factory=list)
    env_moved: bool = False
    directories: set[str] = field(default_factory=set)  # WORKDIRs: they exist once set
    created_user: dict[str, Any] | None = None  # final.user from the Dockerfile's own useradd (import_user.py)
    #: variable -> the ARGs its value came from, with their defaults: an ENV or LABEL value that
    #: used one is written with the default, which a `--build-arg` then no longer changes (said)
    arg_sources: dict[str, dict[str, str | None]] = field(default_factory=dict)


def _sh_c(command: dockerfile.Command) -> bool:
    """`["sh", "-c", TEXT]`: the shell form of TEXT, written as JSON."""
    return bool(command.json) and len(command.value) == 3 and command.value[0] in ("sh", "/bin/sh") \
        and command.value[1] == "-c"


class StageReader:
    def __init__(self, stage: StageRead, stages: dict[str, str], source: str, escape: str, report: Report,
                 global_args: dict[str, str | None], last: bool, heredocs: HeredocFiles | None = None) -> None:
        self.stage, self.stages, self.source, self.escape = stage, stages, source, escape
        self.heredocs = heredocs  # where COPY heredocs become context files; None: they stay comments
        self.report, self.global_args, self.last = report, global_args, last
        self.used: list[str] = []  # the variables the words read since it was last emptied

    # --- helpers ------------------------------------------------------------------------
    def word(self, text: str, variables: dict[str, str] | None = None) -> str:
        try:
            value, names = read_word(text, self.stage.variables if variables is None else variables, self.escape,
                                     declared=self.stage.args)  # an ARG without a default: unset, known to be
        except Unknown as exc:
            line = self.stage.config.env_not_expressed.get(exc.name or "")
            if line is None:
                raise
            raise Unknown(f"${exc.name} is set by the ENV on line {line}, which is not expressed", exc.name) from None
        self.used += names
        return value

    def args_used(self) -> dict[str, str | None]:
        """The ARGs (with their defaults) the words read since `used` was emptied depend on;
        empties it."""
        names, self.used = self.used, []
        return {arg: default for name in names for arg, default in self.stage.arg_sources.get(name, {}).items()}

    def say_args_written(self, command: dockerfile.Command, what: str, args: dict[str, str | None]) -> None:
        for name, default in args.items():
            written = f"the ARG {name}'s default ({default}) is written into the value" if default is not None \
                else f"its value without the ARG {name} (which has no default) is written in"
            self.differ(command, f"{command.cmd.upper()} {what}: {written}; `--build-arg {name}=…` no longer changes it")

    def here(self) -> str:
        return self.stage.config.workdir or "/"

    def absolute(self, path: str) -> str:
        """A COPY destination made absolute; a directory keeps (or gets) its trailing
        slash: `COPY app.py .` copies into the working directory, which in the spec's
        final stage is made after the copies, so `/app` alone would become a file."""
        joined = path if path.startswith("/") else posixpath.join(self.here(), path)
        normal = posixpath.normpath(joined)
        directory = path.endswith(("/", "/.")) or path == "." or normal in self.stage.directories
        return normal + "/" if directory and normal != "/" else normal

    def differ(self, command: dockerfile.Command, text: str) -> None:
        self.report.differences.append(f"Dockerfile:{command.start_line}: {text}")

    @staticmethod
    def leave(command: dockerfile.Command, left: list[tuple[str, str]], total: int) -> None:
        """The values of an instruction a spec cannot hold, (as written, why), of `total`:
        all of them leave the instruction a comment, some of them a comment of their own."""
        if not left:
            return
        why = "; ".join(dict.fromkeys(reason for _, reason in left))
        if len(left) == total:
            raise NotExpressed(why)
        raise PartlyExpressed(f"{command.cmd.upper()} {' '.join(text for text, _ in left)}", why)

    # --- the instructions ---------------------------------------------------------------
    def read(self, command: dockerfile.Command) -> None:
        handler = getattr(self, f"on_{command.cmd.lower()}", None)
        self.used = []  # each instruction's ARGs on their own (say_args_written)
        try:
            if handler is None:
                raise NotExpressed(_NO_KEY.get(command.cmd.upper(), "the spec has no key for it"))
            handler(command)
        except PartlyExpressed as exc:
            self.report.comments.append((command.start_line, exc.rest, str(exc)))
            self.report.expressed.append((command.start_line, command.cmd.upper()))
        except HeredocRefused as exc:
            self.report.comments.append((command.start_line, command.original, str(exc)))
        except (NotExpressed, ValueError) as exc:
            self.report.comments.append((command.start_line, command.original, _why(exc)))
        else:
            self.report.expressed.append((command.start_line, command.cmd.upper()))

    def on_arg(self, command: dockerfile.Command) -> None:
        """Each name on its own; left to right, as BuildKit reads ARG (`ARG A=1 B=$A`: B is 1)."""
        left: list[tuple[str, str]] = []
        for item in command.value:
            name, eq, raw = item.partition("=")
            self.used = []
            try:
                v.env_key(name)
                default = self.word(raw) if eq else self.global_args.get(name)
                if default is not None:
                    v.no_control_chars(default)
            except ValueError as exc:
                self.stage.variables.pop(name, None)  # its value is no longer the one known before
                self.stage.arg_sources.pop(name, None)
                left.append((item, _why(exc)))
                continue
            self.stage.args[name] = default
            self.stage.arg_sources[name] = {name: default, **self.args_used()}
            if default is not None:  # without one, `--build-arg` decides: a reference stays unknown
                self.stage.variables[name] = default
        self.leave(command, left, len(command.value))

    def on_env(self, command: dockerfile.Command) -> None:
        """Each pair on its own. BuildKit expands every pair of one ENV with the variables
        from before it (`ENV A=2 B=$A`: B is the old A), so the values are read first,
        then set."""
        pairs = env_pairs(command.value)
        if not pairs:
            raise NotExpressed("ENV without a value")
        values: dict[str, str] = {}
        sources: dict[str, dict[str, str | None]] = {}
        left: list[tuple[str, str]] = []
        failed: list[str] = []
        for key, raw in pairs:
            self.used = []
            try:
                value = self._path(command, raw) if key == "PATH" else self.word(raw)
                if "\n" in value or "\r" in value:
                    raise NotExpressed("a newline in an ENV value")
                values[v.env_key(key)] = value
                sources[key] = self.args_used()
            except (NotExpressed, ValueError) as exc:
                values.pop(key, None)  # a later pair wins: an earlier one's value is not the image's
                failed.append(key)
                # `ENV A=1 B=$A`: BuildKit reads B with the A from before the instruction
                same = [k for k, _ in pairs[:pairs.index((key, raw))] if re.search(rf"\$\{{?{k}\b", raw)]
                left.append((f"{key}={raw}", _why(exc) + (
                    f"; the {same[0]} this ENV sets is not it: BuildKit expands each of an ENV's values with the "
                    "variables from before the instruction" if same else "")))
        for key in failed:
            if key not in values:
                self.stage.variables.pop(key, None)  # a later reference must not read the old value
                self.stage.arg_sources.pop(key, None)
                self.stage.config.env_not_expressed[key] = command.start_line
        for key, value in values.items():
            self.stage.own_env[key] = value
            self.stage.config.env[key] = value
            self.stage.variables[key] = value
            self.stage.arg_sources[key] = sources[key]  # the ENV hides an ARG of its name
            self.stage.config.env_not_expressed.pop(key, None)
            self.say_args_written(command, key, sources[key])
        if values and not self.stage.env_moved and any(s.kind == "run" for s in self.stage.steps):
            self.stage.env_moved = True  # said once per stage
            self.differ(command, "ENV is set before the stage's RUN steps (the spec's env applies to all of them)")
        self.leave(command, left, len(pairs))

    def _path(self, command: dockerfile.Command, raw: str) -> str:
        """An ENV PATH value; its `$PATH`, where no earlier ENV set one, is the base
        image's PATH written out (a spec's values are literal), which for an image the
        Dockerfile cannot tell is Debian's default (a guess, said): dropped, the
        `/opt/venv/bin:$PATH` of a venv would leave pip the system's."""
        variables = self.stage.variables
        if "PATH" in variables or "PATH" in self.stage.config.env_not_expressed:
            return self.word(raw)
        value = self.word(raw, {**variables, "PATH": DEFAULT_PATH})
        if "PATH" in self.used:
            base = self.stage.config.base_image
            self.report.guessed.append(
                f"PATH: $PATH in the ENV PATH on Dockerfile:{command.start_line} is {base}'s PATH, written as Debian's "
                f"default {DEFAULT_PATH}; `docker image inspect -f '{{{{.Config.Env}}}}' {base}` shows the base's")
        return value

    def on_workdir(self, command: dockerfile.Command) -> None:
        if len(command.value) != 1:
            raise NotExpressed("WORKDIR takes one path")
        word = self.word(command.value[0])
        path = posixpath.normpath(self.absolute(word))
        if not word.startswith("/") and not self.stage.workdir_set:
            # relative to the base image's WORKDIR, which the Dockerfile does not show
            base, known = self.stage.config.base_image, self.stage.config.workdir
            self.report.guessed.append(
                f"workdir {path}: WORKDIR {word} on Dockerfile:{command.start_line} is relative to {base}'s WORKDIR, "
                + (f"{known} by the image's name" if known else "/ unless the image sets one")
                + f" (check it: docker image inspect -f '{{{{.Config.WorkingDir}}}}' {base})")
        self.stage.config.workdir = v.absolute_path(path)
        self.stage.directories.add(path)
        self.stage.workdir_set = True
        self.say_args_written(command, command.value[0], self.args_used())

    def on_run(self, command: dockerfile.Command) -> None:
        mounts = read_mounts(command.flags)
        if mounts.refused:
            raise NotExpressed("; ".join(mounts.refused))
        for note in mounts.notes:
            self.differ(command, note)
        user = self.stage.config.user
        # a USER other than root ran this RUN; a spec stage runs as root (`USER root`: the same)
        if user and user[1].split(":", 1)[0] not in ("root", "0") and self.stage.user_before_steps is None:
            self.stage.user_before_steps = command.start_line
        text = _run_text(command)
        # packages are read from the stage's first RUN, or from the first after RUNs of
        # housekeeping alone (`RUN apt-get update` then `RUN apt-get install …`)
        first = all(s.data.get("housekeeping") for s in self.stage.steps if s.kind in ("run", "copy"))
        read = read_run(text, self.stage.manager if first else None)
        if read.packages:
            self.stage.packages.update(read.packages)
            self._drop_housekeeping()
            self.differ(command, f"{read.manager} packages ({', '.join(read.packages)}) are installed by imagespec's "
                        "install step (no recommends, caches and lists removed in the same layer)")
        if read.rest is None:
            if mounts.cache:
                self.differ(command, "its cache mounts are not needed by imagespec's install step")
            return
        self.stage.cache += [c for c in mounts.cache if c not in self.stage.cache]
        if mounts.cache:
            self.differ(command, f"cache mounts ({', '.join(mounts.cache)}) apply to every RUN of the stage")
        for source, target in mounts.binds:
            v.context_path(source or ".")
            v.copy_destination(target)
        binds = [(source or ".", target) for source, target in mounts.binds]
        lone = bool(self.stage.manager) and not mounts.cache and not binds and only_housekeeping(read.rest)
        # the users and groups it creates are set apart: import_user.py decides whether they are final.user
        accounts, rest = take_accounts(read.rest, self.stage.manager, lambda w: self.word(w) if "$" in w else w)
        data = {"command": _self_contained(rest) if rest else "", "binds": binds, "housekeeping": lone}
        if accounts:
            data.update(accounts=accounts, with_accounts=_self_contained(read.rest))
        self.stage.steps.append(Step("run", command.start_line, self.here(), data))

    def _drop_housekeeping(self) -> None:
        """The RUNs of housekeeping alone before the install read into `packages`: its
        step updates the lists and cleans up itself, in its one layer."""
        for step in self.stage.steps:
            if step.data.get("housekeeping"):
                self.report.differences.append(
                    f"Dockerfile:{step.line}: `{step.data['command']}` is done by imagespec's install step, in the "
                    "same layer as the install (a separate RUN keeps stale lists in the build cache)")
        self.stage.steps = [step for step in self.stage.steps if not step.data.get("housekeeping")]

    def on_copy(self, command: dockerfile.Command, add: bool = False) -> None:
        flags = dict(f.lstrip("-").partition("=")[::2] for f in command.flags)
        for flag in sorted(set(flags) - {"from", "chown", "chmod", "link"}):
            raise NotExpressed(f"{command.cmd.upper()} --{flag} cannot be written in a spec")
        if command.heredocs:
            words = self._heredoc_words(command, flags)
        else:
            words = list(command.value) if command.json else [self.word(w) for w in command.value]
        if len(words) < 2:
            raise NotExpressed(f"{command.cmd.upper()} needs a source and a destination")
        *sources, dest = words
        classes = [source for source in sources if _CHARACTER_CLASS.search(source)]
        if classes:  # QA: `yarn.loc[k]` became a file of that name, silently
            raise NotExpressed(f"a source with a [...] pattern ({', '.join(classes)}; often a file copied only where it "
                               "exists): a spec's source names files, whose [ is their own; copy the file by its name")
        if add and any(re.match(r"[a-z]+://", s) or re.search(r"\.(tar|tgz|tar\.\w+)$", s) or s.startswith("git@")
                       for s in sources):
            raise NotExpressed("ADD of a URL, repository or archive (unpacked by ADD): the spec copies files as they are")
        if "link" in flags:
            self.stage.features.add("copy-link")
        data = {"sources": sources, "dest": dest, "absolute": self.absolute(dest), "owner": None, "mode": None}
        if flags.get("chown"):
            data["owner"] = v.owner(self.word(flags["chown"]))
        if flags.get("chmod"):
            data["mode"] = v.mode(self.word(flags["chmod"]))
        if "from" in flags:
            self._copy_from(command, self.word(flags["from"]), data)
        else:
            for source in sources:
                v.context_path(source)
            v.copy_destination(dest if len(sources) == 1 or dest.endswith("/") else dest + "/")
            self.stage.steps.append(Step("copy", command.start_line, self.here(), data))
        self.say_args_written(command, " ".join((*command.flags, *command.value)), self.args_used())
        if add:
            self.differ(command, "ADD of local files written as COPY (the same files; no archive unpacking or URLs)")

    def _heredoc_words(self, command: dockerfile.Command, flags: dict[str, str]) -> list[str]:
        """`COPY <<EOF /path`: the context files import writes the heredocs as, then the
        destination (import_heredoc.py)."""
        if self.heredocs is None or "from" in flags or command.cmd.upper() != "COPY" or len(command.value) < 2:
            raise NotExpressed(f"a heredoc {command.cmd.upper()}: the spec copies files of the build context")
        *words, dest = command.value
        chmod = flags.get("chmod", "")
        sources = self.heredocs.sources(command, words, int(chmod, 8) if re.fullmatch("[0-7]{3,4}", chmod) else 0o644)
        many = len(sources) > 1
        self.differ(command, f"the text of its heredoc{'s' * many} is the context file{'s' * many} "
                    f"{', '.join(sources)}, written by import beside the Dockerfile (a spec copies files of the build "
                    f"context); commit {'them' if many else 'it'} with the spec")
        return [*sources, self.word(dest)]

    def on_add(self, command: dockerfile.Command) -> None:
        self.on_copy(command, add=True)

    def _copy_from(self, command: dockerfile.Command, origin: str, data: dict[str, Any]) -> None:
        producer = self.stages.get(origin.lower())
        if producer is None:
            raise NotExpressed(f"COPY --from={origin}: the spec copies only from its own earlier stages")
        if not self.last:
            raise NotExpressed("COPY --from in a build stage: a spec stage copies only from the build context")
        for source in data["sources"]:
            v.absolute_path(posixpath.normpath("/" + source.lstrip("/")))
        v.absolute_path(data["absolute"].rstrip("/") or "/")
        data["from"] = producer
        self.stage.steps.append(Step("artifact", command.start_line, self.here(), data))

    def on_user(self, command: dockerfile.Command) -> None:
        # a USER that cannot be read still replaces the one before it: the image does not run
        # as an earlier `USER 0` (the spec then says imagespec's non-root user, BP8)
        self.stage.config.user = (command.start_line, " ".join(command.value))
        if len(command.value) != 1:
            raise NotExpressed("USER takes one user")
        self.stage.config.user = (command.start_line, self.word(command.value[0]))
        self.say_args_written(command, command.value[0], self.args_used())

    def on_expose(self, command: dockerfile.Command) -> None:
        left: list[tuple[str, str]] = []
        for word in command.value:
            self.used = []
            try:
                port = v.port(self.word(word))
            except ValueError as exc:
                left.append((word, _why(exc)))
                continue
            if port not in self.stage.config.ports:
                self.stage.config.ports.append(port)
            self.say_args_written(command, word, self.args_used())
        self.leave(command, left, len(command.value))

    def on_label(self, command: dockerfile.Command) -> None:
        """Each pair on its own; as ENV's, every pair is expanded with the variables from
        before the instruction (labels set none)."""
        pairs = env_pairs(command.value)
        labels: dict[str, str] = {}
        left: list[tuple[str, str]] = []
        sources: dict[str, dict[str, str | None]] = {}
        for raw_key, raw in pairs:
            self.used = []
            try:
                key, value = v.label_key(self.word(raw_key)), self.word(raw)
                if "\n" in value or "\r" in value:
                    raise NotExpressed("a newline in a LABEL value")
                labels[key], sources[key] = value, self.args_used()
            except (NotExpressed, ValueError) as exc:
                labels.pop(raw_key, None)  # a later pair wins
                left.append((f"{raw_key}={raw}", _why(exc)))
        self.stage.config.labels.update(labels)
        for key in labels:
            self.say_args_written(command, key, sources[key])
        self.leave(command, left, len(pairs))

    def on_stopsignal(self, command: dockerfile.Command) -> None:
        self.stage.config.stop_signal = v.stop_signal(self.word(" ".join(command.value)))
        self.say_args_written(command, " ".join(command.value), self.args_used())

    def on_healthcheck(self, command: dockerfile.Command) -> None:
        if command.value and command.value[0].upper() == "NONE":
            self.stage.config.healthcheck = {"disable": True}
            return
        check: dict[str, object] = {}
        for flag in command.flags:
            key, _, value = flag.lstrip("-").partition("=")
            if key == "retries":
                retries = int(value)
                if retries == 0:  # what no flag means too (QA: it was refused in the spec not written)
                    self.differ(command, "HEALTHCHECK --retries=0 is the engine's default (3): left out")
                    continue
                if not 1 <= retries <= 100:
                    raise NotExpressed(f"HEALTHCHECK --retries={value}: a spec's healthcheck retries are 1 to 100")
                check["retries"] = retries
            elif key in ("interval", "timeout", "start-period"):
                check[key.replace("-", "_")] = v.duration(value)
            else:
                raise NotExpressed(f"HEALTHCHECK --{key} cannot be written in a spec")
        rest = list(command.value[1:])
        if not rest:
            raise NotExpressed("HEALTHCHECK CMD without a command")
        self.stage.config.healthcheck = {"cmd": rest if command.json else ["/bin/sh", "-c", rest[0]], **check}

    def on_entrypoint(self, command: dockerfile.Command) -> None:
        argv = self._argv(command)
        config = self.stage.config
        shell_form = not command.json or _sh_c(command)  # `sh -c TEXT` gets CMD as $0…, which TEXT never names
        if shell_form or config.cmd is not None and not self._set_here("CMD"):
            # the shell form ignores CMD; ENTRYPOINT resets a CMD inherited from the base (Dockerfile reference)
            if shell_form and config.cmd is not None and self._set_here("CMD"):
                self.differ(command, "the CMD before it is not kept: an ENTRYPOINT in shell form never passes CMD "
                            "to its program")
            config.cmd = None
            config.scripts.pop("CMD", None)
        config.entrypoint = argv
        config.shell_entrypoint = command.start_line if shell_form else None

    def on_cmd(self, command: dockerfile.Command) -> None:
        shell_entrypoint = self.stage.config.shell_entrypoint
        if shell_entrypoint is not None:
            # `/bin/sh -c TEXT CMD…` makes CMD the shell's $0, $1…, which TEXT never names: the
            # program never got it, and the exec form the spec writes would pass it on
            self.differ(command, f"{command.cmd.upper()} is not kept: the ENTRYPOINT in shell form (line "
                        f"{shell_entrypoint}) never passed it to its program")
            self._mark("CMD")
            return
        self.stage.config.cmd = self._argv(command)
        self._mark("CMD")

    def _argv(self, command: dockerfile.Command) -> list[str]:
        self.stage.config.scripts.pop(command.cmd.upper(), None)
        # `["sh", "-c", TEXT]` is the shell form of TEXT written as JSON: read as that (QA: kept
        # as it was, the imported spec failed its own lint, IS014: the shell is PID 1)
        wrapped = _sh_c(command)
        if command.json and not wrapped:
            argv = list(command.value)
        else:
            text = (command.value[2] if wrapped else command.value[0]) if command.value else ""
            if _SHELL_SYNTAX.search(text) or '"' in text or "'" in text:
                argv = ["/bin/sh", "-c", text]
                self.stage.config.scripts[command.cmd.upper()] = (command.start_line, text)
            else:
                argv = shlex.split(text)
                if argv[:1] == ["exec"]:  # `CMD exec app`: the shell's exec, which exec form is already
                    argv = argv[1:]
                if argv and ASSIGNMENT.match(argv[0]):  # `CMD NODE_ENV=production node app.js`
                    argv = ["env", *argv]  # env sets them and execs the program: no program named NODE_ENV=…
                self.differ(command, f"{command.cmd.upper()} shell form became exec form {argv}: the program is PID 1 "
                            "and gets SIGTERM (BP2)")
        if not argv:
            raise NotExpressed("an empty command")
        v.argv(argv)
        if command.cmd.upper() == "ENTRYPOINT":
            self._mark("ENTRYPOINT")
        return argv

    def _mark(self, kind: str) -> None:
        setattr(self, f"_seen_{kind}", True)

    def _set_here(self, kind: str) -> bool:
        return getattr(self, f"_seen_{kind}", False)


_NO_KEY = {
    "VOLUME": "the spec has no volumes; list the directories the app writes under `final.writable` (BP9)",
    "SHELL": "the spec's RUN steps use /bin/sh (imagespec adds a pipefail SHELL itself where commands pipe)",
    "ONBUILD": "a spec has no ONBUILD triggers",
    "MAINTAINER": "deprecated; put it in a label (`final.labels`)",
}


def _run_text(command: dockerfile.Command) -> str:
    if command.json:
        return shlex.join(command.value)  # exec form: the same argv, through sh
    text = command.value[0] if command.value else ""
    script = run_script(command, text) if command.heredocs else None
    if script is not None:
        return script  # `RUN <<EOF`: the heredoc is the script
    if command.heredocs:  # `RUN python3 <<EOF`: the shell reads the heredocs, as BuildKit's did
        return "\n".join((text, *(h.content + h.name for h in command.heredocs)))
    return text


def _self_contained(command: str) -> str:
    """Merged into one RUN with other commands, a command must not change the shell they
    share (`cd`, `export`, `exit`), and a script must keep running without `set -e`."""
    if "\n" in command:
        return f"(\nset +eu\n{command}\n)"
    if changes_shell_state(command):  # the one test of it, the generated RUN's too
        return f"( {command} )"
    return command
