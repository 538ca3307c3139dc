"""Base specs: the company's standard base images, built from distribution packages
(BP12, BP15). One file per image; `imagespec base build` builds a set of them in
dependency order and writes the catalog that app specs resolve against.

A base spec names the catalog entry it provides (`base`), the reference it is tagged
with (`image`) and exactly one way to make it:
- `bootstrap`: a root file system from a Debian mirror (mmdebstrap, outside any
  container), loaded into the engine with a fixed config (reproducible image ID);
- `distroless`: a shell-less root assembled from package contents in a generated
  multi-stage Dockerfile (an apt stage unpacks, a scratch stage copies);
- `spec`: an ordinary imagespec spec (toolchains: Go, Python, Node, gcc, ...).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from imagespec import reference as grammar
from imagespec.spec.model import Flag, Model, Spec
from imagespec.spec.values import AbsPath, Argv, DebianPackageName, EnvKey, Line, MirrorUrl, Platforms

CatalogName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")]
Suite = Annotated[str, Field(pattern=r"^[a-z][a-z0-9.-]{0,31}$")]
Component = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
# mmdebstrap's variants that leave a working dpkg (extract/custom do not run dpkg at all)
Variant = Literal["essential", "apt", "required", "minbase", "buildd", "important", "standard"]


def _tagged(value: str) -> str:
    """The reference a base is tagged with: a name and a tag, never a digest (the digest
    is what the build produces) and never `scratch`."""
    if value == "scratch":
        raise grammar.Invalid("a base is tagged NAME:TAG, not scratch", "name the image it is tagged as, "
                                                                        "e.g. company/debian:bookworm-slim")
    if grammar.parse(value).digest:
        raise grammar.Invalid("a base is tagged NAME:TAG, not with a digest",
                              f"drop the digest: '{value.partition('@')[0]}' (the build records it in the catalog)")
    if not grammar.parse(value).tag:
        raise grammar.Invalid("an image without a tag would be tagged latest (BP14: no implicit latest)",
                              "give the tag too, e.g. company/debian:bookworm-slim")
    return value


TaggedRef = Annotated[str, AfterValidator(_tagged)]


class Bootstrap(Model):
    """A root file system bootstrapped from a distribution mirror, built outside any
    container and loaded with a fixed config: the same mirror state and
    SOURCE_DATE_EPOCH give the same image ID."""

    distribution: Literal["debian"] = "debian"
    suite: Suite = Field(description="The release, e.g. bookworm.")
    variant: Variant = Field("minbase", description="mmdebstrap's package set; minbase is what debian:SUITE is made of.")
    mirror: MirrorUrl | None = Field(None, description="Default: configuration `bases.mirror`, $IMAGESPEC_MIRROR, "
                                     "then the machine's apt sources.")
    components: list[Component] = Field(default_factory=lambda: ["main"], min_length=1)
    updates: Flag = Field(True, description="Also SUITE-updates and SUITE-security (when the machine has a source for it).")
    include: list[DebianPackageName] = Field(default_factory=list, description="Packages beyond the variant's set.")
    slim: Flag = Field(True, description="Like debian:SUITE-slim: dpkg drops docs (but copyright), man pages and "
                       "locales, apt keeps no lists or caches.")
    cmd: Argv = Field(("bash",), description="The image's CMD.")
    nonroot: Flag = Field(False, description="Create the non-root user 65532 (`nonroot`) in the root file system, "
                          "so an app image on this base needs no useradd step (BP8), whose rewrite of /etc/passwd "
                          "and its siblings would store them twice (dive).")


class Distroless(Model):
    """A shell-less root assembled from package contents: no maintainer scripts run,
    no shell or package manager ships (BP6). Users root and nonroot (65532), /tmp 1777,
    /home/nonroot 0700, the CA bundle built when ca-certificates is included."""

    from_: CatalogName | Literal["scratch"] = Field(
        "scratch", alias="from",
        description="scratch, or the base this one adds packages to (its layers are shared, BP12).")
    assemble_in: CatalogName = Field(description="An apt-based base whose apt downloads and unpacks the packages.")
    packages: list[DebianPackageName] = Field(min_length=1, description="Unpacked as they are: dependencies are not "
                                        "resolved, so list every library the root needs.")
    libc: Literal["glibc", "musl", "none"] = "none"
    timezone: Line | None = Field("Etc/UTC", description="/etc/localtime (a base from scratch with tzdata).")
    remove: list[AbsPath] = Field(default_factory=list, description="Paths dropped from the assembled root.")
    links: dict[AbsPath, Line] = Field(default_factory=dict, description="Symlinks made in the root: path -> target.")
    env: dict[EnvKey, Line] = Field(default_factory=dict)
    cmd: Argv | None = None
    verify: list[Argv] = Field(default_factory=list,
                               description="Commands (exec form) run in the built image; each must exit 0.")

    @model_validator(mode="after")
    def _scratch_needs_base_files(self) -> Distroless:
        if self.from_ == "scratch" and "base-files" not in self.packages:
            raise grammar.Invalid("a root built from scratch needs base-files (/etc/os-release, the FHS directories)",
                                  "add it to `packages:`, e.g. `packages: [base-files, tzdata, ca-certificates]`")
        return self


class BaseSpec(Model):
    """One standard base image (BP12, BP15)."""

    imagespec: Literal[1] = 1
    base: CatalogName = Field(description="The catalog name this image provides, e.g. debian-slim, static, go-build.")
    image: TaggedRef = Field(description="The reference it is tagged with: [registry/]name:tag.")
    description: Line | None = None
    bootstrap: Bootstrap | None = None
    distroless: Distroless | None = None
    spec: Spec | None = Field(None, description="An ordinary imagespec spec (its `name` defaults to the image's).")
    platforms: Platforms = Field(default_factory=list, description="Platforms to build it for, one image each, "
                                 "joined into one index in the registry of `image` (needs --push): a bootstrap "
                                 "base is mmdebstrap's root of that architecture, a spec base one build per "
                                 "platform FROM its parent's index, a distroless base that platform's packages "
                                 "unpacked; what runs the target's programs (maintainer scripts, RUN steps, "
                                 "`verify`) runs under QEMU where that is not the build machine's. Default: the "
                                 "build machine's alone.")

    @model_validator(mode="after")
    def _one_kind(self) -> BaseSpec:
        kinds = [k for k in ("bootstrap", "distroless", "spec") if getattr(self, k) is not None]
        if len(kinds) != 1:
            hint = ("keep the one that makes this base: `bootstrap:` (a Debian root from a mirror), `distroless:` "
                    "(packages unpacked, no shell) or `spec:` (an imagespec spec)" if kinds else
                    "e.g. `bootstrap: {suite: bookworm}` for a Debian root from a mirror; `distroless:` unpacks "
                    "packages, `spec:` builds an imagespec spec")
            raise grammar.Invalid("a base spec has exactly one of `bootstrap`, `distroless` or `spec`"
                                  + (f" (found {', '.join(kinds)})" if kinds else ""), hint)
        return self

    @property
    def runs_target_programs(self) -> bool:
        """Whether building it runs programs of each platform (emulated where that is not the
        machine's): mmdebstrap's maintainer scripts, a spec's RUN steps, `verify` commands.
        A distroless root is only unpacked."""
        return self.distroless is None or bool(self.distroless.verify)

    @property
    def kind(self) -> str:
        return "bootstrap" if self.bootstrap else "distroless" if self.distroless else "spec"

    def needs(self) -> tuple[str, ...]:
        """The catalog names this base is built from (built first when in the same set)."""
        if self.distroless:
            parent = () if self.distroless.from_ == "scratch" else (self.distroless.from_,)
            return (*parent, self.distroless.assemble_in)
        if self.spec:
            names = [self.spec.final.from_, *(s.from_ for s in self.spec.stages.values())]
            return tuple(dict.fromkeys(n for n in names if isinstance(n, str) and n not in self.spec.stages))
        return ()

