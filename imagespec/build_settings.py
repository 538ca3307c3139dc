"""How to build, decided once at the boundary: command-line flags, then the configuration
file, then the environment, then the defaults (apko's `Options`, copier's `Settings`).

The CLI makes one frozen value here and passes it down; nothing below reads the
configuration's raw text or the environment (imagespec.settings reads it). Apart from
imagespec.settings because a dataclass is made when its module is imported, and a
cached `generate` needs the environment but never this (BENCHMARKS.md, issue 13).

May import: ``imagespec.errors``, ``imagespec.settings``, ``imagespec.spec.values`` (the
variable-name grammar of build args), ``imagespec.spec.config`` and ``imagespec.engine``
(for the type checker only), ``imagespec.contract`` (the network default) and
``imagespec.bases.context`` (inside base_options).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

from imagespec.contract import DEFAULT_NETWORK
from imagespec.settings import Environment, scans_cache, source_date_epoch

if TYPE_CHECKING:  # pydantic stays unimported until a command needs it
    from imagespec.bases.context import BaseOptions
    from imagespec.engine import BackendName
    from imagespec.engine.backend import ProgressMode
    from imagespec.spec.config import Config

T = TypeVar("T")


def _first(*values: T | None) -> T | None:
    """The first value that is set: the order of the arguments is the precedence."""
    return next((v for v in values if v is not None), None)


@dataclass(frozen=True)
class BuildSettings:
    """How to build one image (never what: that is the spec). Flags win over the
    configuration's `build:`, which wins over the environment, which wins over the
    defaults (each written once: the network's is contract.DEFAULT_NETWORK). The backend's BuildOptions are derived from it
    (imagespec.pipeline); a base build's from it too (imagespec.bases.BaseOptions)."""

    tags: tuple[str, ...] = ()
    build_args: tuple[tuple[str, str], ...] = ()
    target: str | None = None
    no_cache: bool = False
    push: bool = False
    force: bool = False
    progress: ProgressMode = "auto"
    ca_bundle: Path | None = None
    secrets: tuple[tuple[str, Path], ...] = ()  # --secret id=ID,src=FILE: must be declared by the spec
    configured_secrets: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))  # build.secrets
    # engines without a bridge (and corporate set-ups) fail the first RUN otherwise
    network: str = DEFAULT_NETWORK
    builder: str | None = None
    extra_args: tuple[str, ...] = ()  # engine flags from the configuration, never the spec
    backend: BackendName = "auto"
    source_date_epoch: str | None = None  # the `created` label's time (tags.oci_labels checks it)
    sbom_format: str = "spdx"  # the SBOM stored in the image: spdx (SPDX 2.3) or cyclonedx (CycloneDX 1.5)
    sbom_cache: Path | None = None  # image file systems already scanned, by layers (None: scan every time)

    def __post_init__(self) -> None:
        object.__setattr__(self, "configured_secrets", MappingProxyType(dict(self.configured_secrets)))


def build_settings(config: Config, env: Environment, *, tags: tuple[str, ...] = (),
                   build_args: tuple[tuple[str, str], ...] = (), target: str | None = None, no_cache: bool = False,
                   push: bool = False, force: bool = False, progress: ProgressMode = "auto",
                   ca_bundle: Path | None = None, secrets: tuple[tuple[str, Path], ...] = (),
                   sbom_format: str = "spdx") -> BuildSettings:
    """The settings of a build from its flags (the keyword arguments), the configuration
    and the environment. Paths in the configuration are taken as written (relative to
    the working directory), as they always were."""
    for key, _ in build_args:
        _refuse_bad_arg_name(key)
    build = config.build
    configured_bundle = Path(build.ca_bundle) if build.ca_bundle else None
    return BuildSettings(
        tags=tags, build_args=build_args, target=target, no_cache=no_cache, push=push, force=force, progress=progress,
        ca_bundle=_first(ca_bundle, configured_bundle, env.ca_bundle),
        secrets=secrets, configured_secrets={key: Path(value) for key, value in build.secrets.items()},
        network=DEFAULT_NETWORK if build.network is None else build.network, builder=build.builder,
        extra_args=tuple(build.extra_args), source_date_epoch=env.source_date_epoch, sbom_format=sbom_format,
        sbom_cache=scans_cache(env),
    )


def _refuse_bad_arg_name(key: str) -> None:
    """A build arg's name is a variable's, as a spec's `args:` keys are: BuildKit fails the
    build on an empty one ("invalid key-value pair", exit 1), after the compile; bad input is
    exit 2 before anything runs."""
    from imagespec.errors import SpecError
    from imagespec.reference import Invalid
    from imagespec.spec.values import env_key

    try:
        env_key(key)
    except Invalid as exc:
        raise SpecError(f"--build-arg {key}=…: {exc}" if key else "--build-arg =…: the name before '=' is empty",
                        hint="write NAME=VALUE, NAME being an ARG of the Dockerfile (`imagespec generate SPEC -o -` "
                             "shows them); a spec declares them under `stages.NAME.args`") from None


def base_options(config: Config, env: Environment, *, logs: Path, force: bool = False, push: bool = False,
                 progress: ProgressMode = "auto", ca_bundle: Path | None = None) -> BaseOptions:
    """`imagespec base build`'s options: a build's settings (--force also means no
    cache), the mirror (`bases.mirror`, else $IMAGESPEC_MIRROR) and the epoch."""
    from imagespec.bases.context import BaseOptions

    settings = build_settings(config, env, no_cache=force, force=force, push=push, progress=progress,
                              ca_bundle=ca_bundle)
    return BaseOptions.from_settings(settings, logs=logs, mirror=_first(config.bases.mirror, env.mirror),
                                     source_date_epoch=source_date_epoch(env))
