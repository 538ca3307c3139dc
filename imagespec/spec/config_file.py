"""The configuration file's format (`.imagespec.yaml`), as pydantic models: validated once,
like a spec, each problem located in the file.

Apart from spec/config.py (finding the file, the Config a compile takes), so that a spec
with no configuration file, the usual case, never makes these models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from imagespec.spec.model import NO_POLICIES, Image, Line, Model, Policies, SecretId
from imagespec.spec.engine_flags import engine_flags
from imagespec.spec.values import BuilderName, MirrorUrl, Platforms

# BuildKit's --network modes; a network name is not one (buildx: "not supported by buildkit")
Network = Literal["default", "host", "none"]


class _Section(Model):
    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        # `build:` or `secrets:` written with nothing after it means "none", as it always has
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class BuildSection(_Section):
    """`build:` — how this repository's images are built; flags win over it, it wins over
    the environment (imagespec.settings). None: not set here."""

    network: Network | None = Field(None, description="BuildKit's network for RUN steps (default: host).")
    ca_bundle: Line | None = Field(None, description="CA bundle mounted into download steps (TLS proxies).")
    secrets: dict[SecretId, Line] = Field(default_factory=dict, description="Secret id -> file, for declared secrets.")
    builder: BuilderName | None = Field(None, description="The buildx builder to use (a builder or docker context name).")
    extra_args: Annotated[list[Line], AfterValidator(engine_flags)] = Field(
        default_factory=list, description="Engine flags that change how a build runs, not what it builds "
        "(--cache-from, --cache-to, --no-cache, --no-cache-filter, --shm-size, --ulimit).")
    platforms: Platforms | None = Field(None, description="Platforms of every spec that names none "
                                        "(os/arch[/variant]); a spec's `platforms:` wins.")


class BasesSection(_Section):
    """`bases:` — `imagespec base build` settings."""

    mirror: MirrorUrl | None = Field(None, description="The Debian mirror bases are bootstrapped from.")


class ConfigFile(_Section):
    """A configuration file (.imagespec.yaml) as written: validated once, like a spec."""

    images: dict[Line, Image] = Field(default_factory=dict, description="Catalog entries; they win over `catalog:`.")
    catalog: Line | list[Line] = Field(default_factory=list, description="Catalog files `imagespec base build` wrote.")
    build: BuildSection = Field(default_factory=BuildSection)
    templates: list[Line] = Field(default_factory=list, description="Template folders, searched first.")
    policies: Policies = NO_POLICIES
    bases: BasesSection = Field(default_factory=BasesSection)


# shown when pydantic's own words have no hint: what each top-level key takes
HINTS = {
    "images": "`images:` maps a name to {image: REF, family: debian}",
    "catalog": "`catalog:` names a catalog file, or a list of them",
    "build": "`build: {network: host, ca_bundle: FILE, secrets: {ID: FILE}, builder: NAME, extra_args: [...], "
             "platforms: [linux/amd64, linux/arm64]}`",
    "templates": "`templates:` lists folders of templates",
    "policies": "the same keys as a spec's `policies:`",
    "bases": "`bases: {mirror: URL}`",
}
