"""The Spec: what the user asked for, validated and frozen.

Field names follow the Dockerfile reference where one exists (entrypoint, cmd,
healthcheck, workdir, stop_signal). Every model forbids unknown keys: a misspelled
key is an error with a suggestion, never silently ignored (unlike Dofigen).
"""

from __future__ import annotations

import re

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationInfo, field_validator, model_validator

from imagespec.reference import Invalid, foreign_version_tag, full_name, version_tags
from imagespec.spec.accounts import ACCOUNT_NAME, new_account_name
from imagespec.spec.values import (
    AbsPath,
    InvalidPart,
    WritableDir,
    argv,
    shell_entrypoint,
    Command,
    ExecArgv,
    exec_argv,
    ContextFolder,
    ContextPath,
    CopyDest,
    DockerfilePath,
    Digest,
    Duration,
    EnvKey,
    ImageName,
    ImageRef,
    LabelKey,
    License,
    Line,
    Mode,
    MountTarget,
    SourceUrl,
    Owner,
    PackageName,
    PackageVersion,
    Platforms,
    Port,
    Registry,
    SemanticVersion,
    Signal,
    SpecLabelKey,
    STRING_OR_LIST,
    StageName,
    Tag,
)

Family = Literal["debian", "ubuntu", "alpine", "fedora", "rhel", "centos", "distroless", "scratch"]
Feature = Literal["heredoc", "copy-link", "copy-chmod"]
# toolchains whose build stage runs on the build platform and compiles for the target (plan/passes/cross_compile.py)
CrossCompiler = Literal["go", "c", "rust"]
# what an image is for: one application (BP1), or a base that specs build FROM and nobody runs
Kind = Literal["app", "base"]
NONROOT_UID = 65532  # the distroless convention; one UID across every imagespec final (BP8)
# a BuildKit secret id, as the spec declares it and the configuration's `build.secrets` maps it
SecretId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


def _empty_list() -> list[Any]:
    # what default_factory=list does, without pydantic tokenizing a builtin's text
    # signature for every such field at each start (BENCHMARKS.md, "Why the compiler is
    # shaped this way")
    return []


#: YAML's booleans and integers as they are: pydantic's lax mode took `uid: true` as 1,
#: `init: "no"` as false and `uid: 1.0` or `"+1000"` as numbers (QA); a value is checked whole
def _decimal(value: object) -> object:
    """A YAML 1.1 integer the loader keeps as its text (`10_001`), read as the number."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]+(?:_[0-9]+)*", value):
        return int(value.replace("_", ""))
    return value


Flag = Annotated[bool, Strict()]
# `_decimal` runs as each model's before-validator of its Number fields: in the type, it made
# pydantic write `ge`/`le` into the JSON Schema of `Number | None` as they are (no `minimum`)
Number = Annotated[int, Strict()]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True,
                              populate_by_name=True)


#: Which package manager a family's images use: the one table (import reads it too).
PACKAGE_MANAGERS = {"debian": "apt", "ubuntu": "apt", "alpine": "apk", "fedora": "dnf", "rhel": "dnf", "centos": "yum"}


class Image(Model):
    """A base image and the facts the compiler must know about it (never guessed from its name)."""

    image: ImageRef = Field(description="Reference: [registry/]name[:tag][@digest], or `scratch`.")
    family: Family = Field(description="Decides the package manager: debian/ubuntu apt, alpine apk, "
                           "fedora/rhel dnf, centos yum; distroless and scratch have none.")
    shell: Flag | None = Field(None, description="Whether /bin/sh exists; default: false for distroless/scratch.")
    user: Number | None = Field(None, ge=1, description="A non-root UID the image already provides (distroless: 65532).")
    _user_number = field_validator("user", mode="before")(_decimal)
    libc: Literal["glibc", "musl", "none"] | None = None
    description: Line | None = None
    digest: Digest | None = Field(
        None, description="What `imagespec base build` built (registry digest, else image ID): which images "
        "use which base (BP13). Informational; the reference decides what FROM uses.")

    @model_validator(mode="after")
    def _scratch_is_empty(self) -> Image:
        """`scratch` is no image: nothing is in it, whatever a spec declares (QA: `family:
        debian` gave `FROM scratch` an apt-get step)."""
        if self.image == "scratch" and (self.family != "scratch" or self.shell or self.user is not None):
            raise Invalid("scratch is empty: no package manager, shell or user, whatever the declaration says",
                          "write `from: scratch` (it needs no family); a base with files is another image")
        return self

    @property
    def has_shell(self) -> bool:
        if self.shell is not None:
            return self.shell
        return self.family not in ("distroless", "scratch")

    @property
    def package_manager(self) -> str | None:
        return PACKAGE_MANAGERS.get(self.family)


# A string names a stage of this spec or an entry of the image catalog.
From = Annotated[str | Image, Field(union_mode="left_to_right")]
Packages = Annotated[list[PackageName] | dict[PackageName, PackageVersion | None], Field(
    description="OS packages: a list, or a mapping name -> version pin (null: unpinned).")]


class Dependencies(Model):
    """Manifests copied before the source, and the command that installs from them (BP4)."""

    copy_: list[ContextPath] = Field(alias="copy", min_length=1, description="Dependency manifests, e.g. [go.mod, go.sum].")
    run: Annotated[list[Command], STRING_OR_LIST] = Field(min_length=1, description="Commands that install the dependencies.")
    downloads: Flag = Field(True, description="Mount the build CA bundle secret into this step (TLS proxies).")

    @field_validator("run", mode="before")
    @classmethod
    def _one_command(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class SourceCopy(Model):
    src: ContextPath
    dest: CopyDest | None = Field(None, description="Destination; default: the same path under the workdir.")


class Stage(Model):
    """A build stage: everything here stays out of the final image unless listed as an artifact."""

    from_: From = Field(alias="from", description="Catalog name, stage name, or {image, family}.")
    packages: Packages = Field(default_factory=_empty_list)
    args: dict[EnvKey, Line | None] = Field(default_factory=dict, description="Build args with defaults.")
    env: dict[EnvKey, Line] = Field(default_factory=dict)
    workdir: AbsPath | None = None
    cache: list[MountTarget] = Field(default_factory=_empty_list,
                                 description="Cache mounts for dependency and build steps (package manager caches).")
    dependencies: Dependencies | None = None
    copy_: list[ContextPath | SourceCopy] = Field(default_factory=_empty_list, alias="copy", description="Source copied after dependencies.")
    run: Annotated[list[Command], STRING_OR_LIST] = Field(default_factory=_empty_list, description="Build commands, one per item.")
    artifacts: list[AbsPath] = Field(default_factory=_empty_list, description="Paths this stage produces for later stages.")
    cross_compile: CrossCompiler | None = Field(
        None, description="With `platforms:`, this stage runs on the build platform and its toolchain compiles for "
        "each target (go: GOOS/GOARCH; c: Debian's cross gcc as cc; rust: the target's standard library, "
        "its gcc as linker, the triple in /usr/local/etc/rust-target for cargo's --target); without it the stage runs on each target "
        "platform, emulated (QEMU) where that is not the build machine's.")

    @field_validator("run", mode="before")
    @classmethod
    def _one_command(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class Artifact(Model):
    """A file or directory copied into the final image."""

    from_: StageName | None = Field(None, alias="from", description="Stage that produced it; omit for the build context.")
    src: Line
    dest: AbsPath
    owner: Owner | None = Field(None, description="uid[:gid]; default root, so the app cannot rewrite itself.")
    mode: Mode | None = None


class User(Model):
    uid: Number = Field(NONROOT_UID, ge=0, le=2**31 - 1)
    gid: Number | None = Field(None, ge=0, le=2**31 - 1)
    _ids_number = field_validator("uid", "gid", mode="before")(_decimal)
    name: Annotated[str, Field(pattern=f"^{ACCOUNT_NAME}$")] = "nonroot"
    root_reason: Line | None = Field(None, description="Required when uid is 0 (BP8).")

    @field_validator("name")
    @classmethod
    def _a_user_of_its_own(cls, value: str, info: ValidationInfo) -> str:
        # uid 0 is the base's root, made by no step: `name: root` names it
        return value if info.data.get("uid") == 0 else new_account_name(value)

    @field_validator("root_reason")
    @classmethod
    def _a_reason_says_something(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise Invalid("an empty root_reason is no reason (BP8)",
                          "say why the app must run as root, or drop `uid: 0` (the default user is the "
                          "non-root 65532)")
        return value

    @model_validator(mode="after")
    def _root_needs_reason(self) -> User:
        if self.uid == 0 and not (self.root_reason or "").strip():
            raise Invalid("running as root needs a reason (BP8)",
                          "drop `uid: 0` (the default user is the non-root 65532), or say why: "
                          '`user: {uid: 0, root_reason: "…"}`')
        return self


class Healthcheck(Model):
    cmd: ExecArgv | None = Field(None, description="Exec-form probe; omit with `disable: true` for HEALTHCHECK NONE.")
    disable: Flag = False
    interval: Duration | None = None
    timeout: Duration | None = None
    start_period: Duration | None = None
    retries: Number | None = Field(None, ge=1, le=100)
    _retries_number = field_validator("retries", mode="before")(_decimal)

    @model_validator(mode="after")
    def _cmd_or_disable(self) -> Healthcheck:
        if self.cmd is not None and self.disable:
            raise Invalid("a health check with `cmd` cannot also be `disable: true`",
                          "keep `cmd:` to probe the application, or only `disable: true` to turn the base's "
                          "health check off")
        if self.cmd is None and not self.disable:
            raise Invalid("a health check needs `cmd` or `disable: true`",
                          "e.g. `healthcheck: {cmd: [/app, --health]}`; `disable: true` turns the base's check off")
        return self


class Final(Model):
    """The runtime stage: only what the application needs (BP6, BP7)."""

    from_: From = Field(alias="from", description="scratch, a distroless-style or a slim distro image.")
    packages: Packages = Field(default_factory=_empty_list, description="Runtime OS packages.")
    copy_: list[Artifact] = Field(default_factory=_empty_list, alias="copy")
    user: User | None = Field(None, description="Default: non-root 65532 with a passwd/group entry (BP8).")
    workdir: AbsPath | None = None
    env: dict[EnvKey, Line] = Field(default_factory=dict)
    ports: list[Port] = Field(default_factory=_empty_list)
    writable: list[WritableDir] = Field(default_factory=_empty_list,
                                    description="Directories the app writes; the rest can be read-only (BP9).")
    healthcheck: Healthcheck | None = None
    stop_signal: Signal | None = None
    # before entrypoint and cmd: their validator reads it
    shell: Flag = Field(False, description="Run the entrypoint through /bin/sh -c 'exec …' (BP2 keeps PID 1).")
    entrypoint: str | list[str] | None = Field(
        None, description="Exec form (BP2). A string is split as a shell would; with `shell: true` it is the script.")
    cmd: str | list[str] | None = None
    init: Flag = Field(False, description="tini as PID 1: reaps zombies, forwards signals (BP3).")
    labels: dict[SpecLabelKey, Line] = Field(default_factory=dict, description="Labels of the spec's own; "
                                             "not the OCI ones imagespec derives from the spec (version, title, …) "
                                             "nor io.imagespec.*.")

    @field_validator("entrypoint", "cmd")
    @classmethod
    def _splittable(cls, value: str | list[str] | None, info: ValidationInfo) -> str | list[str] | None:
        # a field validator, so an unsplittable string is reported at its own line; a string
        # entrypoint under `shell: true` is the script, where shell syntax is what is meant
        if value is not None:
            script = info.field_name == "entrypoint" and info.data.get("shell")
            # a cmd after an entrypoint is its arguments (an empty one is an argument); alone, the program
            program = info.field_name == "entrypoint" or info.data.get("entrypoint", "") is None
            try:
                shell_entrypoint(value) if script else exec_argv(value, program=program)
            except Invalid as exc:
                if type(exc) is Invalid and info.field_name == "cmd" and info.data.get("shell"):
                    # the script's arguments ("$@"), in exec form: the usual hint offers `shell: true`
                    raise Invalid(str(exc), "with `shell: true` the cmd is the entrypoint's arguments (\"$@\"), "
                                            "as they are: write shell syntax in the entrypoint") from None
                raise
        return value

    @property
    def entrypoint_argv(self) -> tuple[str, ...] | None:
        return None if self.entrypoint is None else argv(self.entrypoint)

    @property
    def cmd_argv(self) -> tuple[str, ...] | None:
        return None if self.cmd is None else argv(self.cmd)


class TagPolicy(Model):
    """BP14: which tags a build gets. Visible in the spec so reviewers see the strategy."""

    semver: Flag = Field(True, description="version X.Y.Z also tags X.Y, X and latest (not pre-releases).")
    git_sha: Flag = Field(True, description="Tag the git short SHA when building in a git repository.")
    extra: list[Tag] = Field(default_factory=_empty_list)


_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?) *(B|KB|MB|GB|KiB|MiB|GiB)?")
_UNITS = {None: 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
#: The unit suffixes a size may carry (the CLI's --size-budget reads the same grammar).
SIZE_UNITS = tuple(unit for unit in _UNITS if unit)


def size_in_bytes(value: int | str) -> int:
    match = _SIZE.fullmatch(str(value))
    if not match:
        raise Invalid(f"'{value}' is not a size", f"bytes, or a number with a unit: {', '.join(SIZE_UNITS)}, "
                                                  "e.g. 25MB or 1.5GiB")
    return int(float(match[1]) * _UNITS[match[2]])


class Policies(Model):
    """Company rules checked at compile time (BP6, BP8, BP15). Policies only tighten: a spec
    may add rules or make its templates' and the configuration's stricter, never looser."""

    allowed_registries: list[Registry] = Field(default_factory=_empty_list,
                                           description="Every base image must come from one of these (host[/path]).")
    push_registries: list[Registry] = Field(
        default_factory=_empty_list, description="`--push` may push only to these (host[/path]): the spec's "
        "`registry:` and every `--tag` that names a registry (BP15).")
    required_labels: list[LabelKey] = Field(default_factory=_empty_list, description="Labels the final image must carry.")
    forbidden_packages: list[Line] = Field(default_factory=_empty_list, description="Packages not allowed in final images.")
    no_shell: Flag = Field(False, description="The final image must have no shell (scratch or distroless-style).")
    non_root: Flag = Field(False, description="The final image must not run as root, whatever the reason.")
    clean_push: Flag = Field(False, description="`--push` only from a clean git checkout (nothing uncommitted or "
                             "untracked): a pushed image traces to its commit (BP14).")
    size_budget: Annotated[int | str, AfterValidator(size_in_bytes)] | None = Field(
        None, description="Largest final image, checked by `imagespec test` (e.g. 25MB).")


# The defaults of Spec.policies and Spec.tags, made once: they are frozen, and pydantic
# calls a field's factory for every spec that omits it and again, for exclude_defaults,
# when the inputs hash dumps the spec (a model validation each with `default_factory=Policies`)
NO_POLICIES = Policies()
DEFAULT_TAGS = TagPolicy()


class BuildSecret(Model):
    """A BuildKit secret mounted into the steps that download (dependency installs):
    a private index URL, a token, an .npmrc. It never lands in a layer or the history;
    `imagespec build --secret id=ID,src=FILE` (or the configuration) supplies it."""

    id: SecretId
    env: EnvKey | None = Field(None, description="Export the secret's content as this variable for the step.")
    target: MountTarget | None = Field(None, description="Mount the file here (default /run/secrets/ID).")


class Parameter(Model):
    """(templates) One `${{ name }}` parameter; imagespec/spec/parameters.py checks and quotes its values."""

    type: Literal["name", "path", "glob", "version", "shell", "string"] = Field(
        description="What a value may be; in a shell command it is one quoted word (`shell`: written as it is).")
    default: Line | None = None
    description: Line | None = None
    pattern: Line | None = Field(None, description="A regular expression the whole value must match as well.")


class Spec(Model):
    """One image: identity, build stages and the final stage."""

    imagespec: Literal[1] = Field(1, description="Spec format version.")
    extends: Line | None = Field(None, description="A template name (presets: go, python, node, rust, java, c, "
                                 "service) or a path to another spec, merged under this one.")
    with_: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], Line] = Field(
        default_factory=dict, alias="with", description="Values for the `${{ name }}` parameters of the templates.")
    parameters: dict[str, Parameter] = Field(default_factory=dict, description="(templates) parameters they take.")
    policies: Policies = Field(default_factory=lambda: NO_POLICIES)
    secrets: list[BuildSecret] = Field(default_factory=_empty_list,
                                       description="Build secrets for download steps (besides the CA bundle).")
    name: ImageName
    # before final, whose validator reads it
    kind: Kind = Field("app", description="`app`: the image runs one application (BP1), so `final` names it "
                       "(`entrypoint` or `cmd`). `base`: an image that exists to be built FROM (a company base): "
                       "it runs nothing of its own, and `imagespec test` checks it without running it.")
    description: Line | None = None
    version: SemanticVersion | None = Field(None, description="MAJOR.MINOR.PATCH (semver 2.0); drives the tags (BP14).")
    source: SourceUrl | None = Field(None, description="Source repository URL (org.opencontainers.image.source).")
    license: License | None = Field(None, description="SPDX expression (BP16).")
    registry: Registry | None = Field(
        None, description="Where `imagespec build --push` pushes, e.g. registry.example.com/team.")
    context: ContextFolder = Field(".", description="Build context, relative to the spec file.")
    dockerfile: DockerfilePath = Field("Dockerfile", description="Where `generate` writes, relative to the spec file.")
    platforms: Platforms = Field(default_factory=_empty_list, description="Platforms to build for (os/arch[/variant], "
                                 "e.g. [linux/amd64, linux/arm64]): one image per platform under one OCI index; "
                                 "default: the configuration's `build.platforms`, else the engine's own.")
    features: list[Feature] = Field(default_factory=_empty_list,
                                    description="Opt into newer Dockerfile frontends (heredoc, copy-link, copy-chmod).")
    tags: TagPolicy = Field(default_factory=lambda: DEFAULT_TAGS)
    images: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")], Image] = Field(
        default_factory=dict, description="Images added to the catalog for this spec.")
    ignore: list[Line] = Field(default_factory=_empty_list, description="Extra .dockerignore patterns.")
    stages: dict[StageName, Stage] = Field(default_factory=dict)
    final: Final

    @field_validator("final")
    @classmethod
    def _something_to_run(cls, final: Final, info: ValidationInfo) -> Final:
        # at `final:`, where the program is missing; `kind` is read before it (absent: invalid, said at its line)
        kind = info.data.get("kind")
        if kind is None:
            return final
        if kind == "base":
            started = [key for key, on in (("init", final.init), ("shell", final.shell)) if on]
            if started:
                raise Invalid(f"`{started[0]}: true` starts the application, and a base image (`kind: base`) "
                              "runs none of its own", f"drop `{started[0]}: true` here and set it in the specs "
                              "built FROM this image, which name their program")
            return final
        if final.entrypoint is None and final.cmd is None:
            raise Invalid("the final stage needs an `entrypoint` or a `cmd` (BP1: one application)",
                          "name the program the container runs, in exec form (BP2): `entrypoint: [/app]`; an "
                          "image that is only built FROM (a company base) says `kind: base`")
        return final

    @field_validator("tags")
    @classmethod
    def _no_other_version(cls, tags: TagPolicy, info: ValidationInfo) -> TagPolicy:
        # at the extra tag: `version: 1.0.0` with `extra: [2.0.0]` would push a 2.0.0 whose
        # version label says 1.0.0, and refuse the real 2.0.0 later (BP14). `version` is read
        # before `tags`; an invalid one is said at its own line
        if "version" not in info.data:
            return tags
        version = info.data["version"]
        for index, extra in enumerate(tags.extra):
            if foreign_version_tag(extra, version):
                own = (f"this spec's version {version} tags {', '.join(version_tags(version, latest=False))}"
                       if version else "this spec has no `version:`")
                raise InvalidPart(f"'{extra}' reads as a version, and {own}: the image would carry that tag "
                                  "while its labels say otherwise, and a later release of it would be refused (BP14)",
                                  "set `version:` to release that version; an extra tag names something else "
                                  "(`stable`, `edge`, `2-alpine`)", at=("extra", index))
        return tags

    @field_validator("registry")
    @classmethod
    def _full_name_fits(cls, value: str | None, info: ValidationInfo) -> str | None:
        # at `registry:`, read after `name:`: each may fit alone, and a push needs both in 255 characters
        if "name" in info.data:
            full_name(value, info.data["name"])
        return value


__all__ = ["Artifact", "BuildSecret", "Dependencies", "Final", "Healthcheck", "Image", "Parameter", "Policies", "Spec", "Stage",
           "TagPolicy", "User"]
