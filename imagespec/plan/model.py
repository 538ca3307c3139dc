"""The Plan: small frozen dataclasses for stages and instructions (plan/frozen.py).

Each instruction remembers the spec path it came from and the practices (BP ids)
that shaped it, so `explain` can put every Dockerfile line beside its reason.
Kept apart from the Spec: the Spec is what the user asked, the Plan is what the
compiler emits (the Dofigen split).
"""

from __future__ import annotations

from dataclasses import field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, TypeVar

from imagespec.plan.frozen import frozen
from imagespec.spec.yaml_source import DataPath

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def replace(obj: T, /, **changes: Any) -> T:
    """dataclasses.replace for the plan's frozen dataclasses, without its per-call field
    introspection: the passes copy instructions thousands of times per batch of specs.
    Same contract: only declared fields, and no __post_init__ in this module to rerun."""
    fields = obj.__dataclass_fields__
    if not changes.keys() <= fields.keys():
        raise TypeError(f"{type(obj).__name__} has no field(s) {sorted(changes.keys() - fields.keys())}")
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    new.__dict__.update(changes)
    return new


class Phase(IntEnum):
    """Position within a stage, rarely-changing first (BP4). order_for_cache sorts by it."""

    BASE = 0  # FROM, SHELL
    SYSTEM = 1  # OS packages, users, directories: change with the base only
    SETUP = 2  # ARG, ENV, WORKDIR
    DEPENDENCIES = 3  # manifests + install: change with the lockfile
    SOURCE = 4  # the source: changes with every commit
    BUILD = 5
    ARTIFACTS = 6  # final stage: COPY --from
    RUNTIME = 7  # USER, WORKDIR, ENV, EXPOSE, HEALTHCHECK, STOPSIGNAL
    METADATA = 8  # LABEL: the version changes every release, so it goes last
    START = 9  # ENTRYPOINT, CMD


@frozen
class Origin:
    path: DataPath
    practices: tuple[str, ...] = ()
    why: str = ""


@frozen(kw_only=True)
class Instruction:
    phase: Phase
    origin: Origin


@frozen
class Mount:
    kind: str  # cache | secret | tmpfs
    target: str
    id: str | None = None
    default_target: bool = True  # secrets: mounted at /run/secrets/ID, so no target= flag


@frozen(kw_only=True)
class Shell(Instruction):
    argv: tuple[str, ...]


@frozen(kw_only=True)
class Run(Instruction):
    commands: tuple[str, ...]
    mounts: tuple[Mount, ...] = ()
    # secret-backed environment for this step only, exported when the secret exists:
    # (variable, file) pairs point a variable at the file; `secret_values` export the
    # file's content (a token, an index URL)
    secret_env: tuple[tuple[str, str], ...] = ()
    secret_values: tuple[tuple[str, str], ...] = ()
    # the system CA bundle that the step's CA bundle starts from (plan/ca_trust.py), or
    # None when every variable adds to its tool's own store
    ca_system: str | None = None
    # hadolint rules this step deliberately breaks, each with its reason
    ignores: tuple[tuple[str, str], ...] = ()
    mergeable: bool = True
    downloads: bool = False  # fetches from the network: gets the CA bundle secret
    merged_from: tuple[Origin, ...] = ()  # origins of the steps merge_run_steps folded in
    # the step each command came from, once merged (empty: every command is `origin`'s), so a
    # failure inside a merged RUN names the spec line of its command
    command_origins: tuple[Origin, ...] = ()
    # the stage's SHELL (set_pipefail), which an exec-form script step names itself: a SHELL
    # instruction reaches shell-form and heredoc RUNs only
    shell: tuple[str, ...] = ()

    def origins_of_commands(self) -> tuple[Origin, ...]:
        return self.command_origins or (self.origin,) * len(self.commands)


@frozen(kw_only=True)
class InstallPackages(Instruction):
    """An intent, expanded into a Run by expand_package_installs."""

    manager: str
    packages: tuple[tuple[str, str | None], ...]


@frozen(kw_only=True)
class Copy(Instruction):
    sources: tuple[str, ...]
    dest: str
    from_stage: str | None = None
    chown: str | None = None
    chmod: str | None = None
    link: bool = False


@frozen(kw_only=True)
class Arg(Instruction):
    name: str
    default: str | None = None


@frozen(kw_only=True)
class Env(Instruction):
    items: tuple[tuple[str, str], ...]
    # values are build-arg names, written `${NAME}` (GOARCH=${TARGETARCH}): only passes set
    # it, never from the spec's text, whose `$` is always literal
    from_args: bool = False


@frozen(kw_only=True)
class Label(Instruction):
    items: tuple[tuple[str, str], ...]


@frozen(kw_only=True)
class Workdir(Instruction):
    path: str


@frozen(kw_only=True)
class User(Instruction):
    user: str
    # a later USER of the stage replaces it (root for a stage's steps, then the image's
    # user): hadolint's DL3002 is about the last one, so no ignore comment is needed
    temporary: bool = False


@frozen(kw_only=True)
class Expose(Instruction):
    ports: tuple[str, ...]


@frozen(kw_only=True)
class Healthcheck(Instruction):
    argv: tuple[str, ...] | None  # None: HEALTHCHECK NONE
    options: tuple[tuple[str, str], ...] = ()


@frozen(kw_only=True)
class Volume(Instruction):
    paths: tuple[str, ...]


@frozen(kw_only=True)
class StopSignal(Instruction):
    signal: str


@frozen(kw_only=True)
class Entrypoint(Instruction):
    argv: tuple[str, ...]


@frozen(kw_only=True)
class Cmd(Instruction):
    argv: tuple[str, ...]


@frozen
class Base:
    """What the compiler knows about the image a stage starts from."""

    ref: str  # the FROM text: an image reference or an earlier stage's name
    family: str
    package_manager: str | None
    has_shell: bool
    provided_user: int | None = None
    from_stage: str | None = None


@frozen
class Stage:
    name: str
    base: Base
    origin: Origin
    instructions: tuple[Instruction, ...] = ()
    final: bool = False
    artifacts: tuple[str, ...] = ()
    # FROM --platform=…: `$BUILDPLATFORM` for a stage that cross-compiles (plan/passes/cross_compile.py)
    platform: str | None = None
    cross_compile: str | None = None  # the spec's `cross_compile:` toolchain (go, c)

    @property
    def from_line(self) -> str:
        flag = f"--platform={self.platform} " if self.platform else ""
        return f"FROM {flag}{self.base.ref} AS {self.name}"

    def with_instructions(self, *more: Instruction) -> Stage:
        return replace(self, instructions=self.instructions + more)

    def depends_on(self) -> tuple[str, ...]:
        deps = [self.base.from_stage] if self.base.from_stage else []
        deps += [i.from_stage for i in self.instructions if isinstance(i, Copy) and i.from_stage]
        return tuple(dict.fromkeys(d for d in deps if d))


@frozen
class Runtime:
    """Facts about the final image that several passes need."""

    uid: int
    gid: int
    user_name: str
    root_reason: str | None
    writable: tuple[str, ...]
    init: bool
    shell_entrypoint: bool


@frozen
class Plan:
    name: str
    stages: tuple[Stage, ...]
    runtime: Runtime
    features: frozenset[str] = field(default_factory=frozenset)
    identity: tuple[tuple[str, str], ...] = ()  # OCI label name -> value, from the spec
    dockerignore: tuple[str, ...] = ()
    # the image a helper stage (passwd, writable dirs) can start from: the first
    # build base with a shell and a package manager; None when the spec has none
    helper_base: Base | None = None
    # where single files from packages (a static tini) are fetched, each in a stage of its
    # own: the catalog's debian-slim, the one image every spec shares, so the stage is
    # cached across specs and toolchains (BP4, BP12); else the helper base
    fetch_base: Base | None = None
    secrets: tuple[tuple[str, str | None, str | None], ...] = ()  # (id, env, target) from the spec
    platforms: tuple[str, ...] = ()  # the spec's `platforms:` (or the configuration's); empty: the engine's own

    # loops and a list rather than generators: every pass asks for the final stage, most
    # replace one, and a generator's frame costs more than the few stages it walks
    @property
    def final(self) -> Stage:
        for s in self.stages:
            if s.final:
                return s
        raise ValueError(f"plan {self.name!r} has no final stage")

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def replace_stage(self, stage: Stage) -> Plan:
        return replace(self, stages=tuple([stage if s.name == stage.name else s for s in self.stages]))
