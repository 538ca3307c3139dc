"""The environment, read once at the boundary: ``read_environment`` is the one function
that reads imagespec's variables (tests/compiler/test_architecture.py keeps it so), and
the value is passed down; nothing below reads the environment. How to build is decided
from it, the flags and the configuration in imagespec.build_settings, a module of its
own so that a cached `generate` (which reads the environment) never makes that dataclass.

May import: ``imagespec.cache`` (where it lives) and ``imagespec.errors``; neither may
import pydantic at module level (generate's cached start-up).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from imagespec.cache import cache_dir
from imagespec.errors import SpecError

CONFIG_ENV = "IMAGESPEC_CONFIG"
CA_BUNDLE_ENV = "IMAGESPEC_CA_BUNDLE"
MIRROR_ENV = "IMAGESPEC_MIRROR"  # named in imagespec.bootstrap.apt_sources' messages too
EPOCH_ENV = "SOURCE_DATE_EPOCH"


class Environment(NamedTuple):  # not a dataclass: made at every start, a cached `generate`'s too
    """imagespec's environment variables, as read once (None: unset or empty)."""

    config: Path | None = None  # $IMAGESPEC_CONFIG: the configuration file when --config is not given
    ca_bundle: Path | None = None  # $IMAGESPEC_CA_BUNDLE
    mirror: str | None = None  # $IMAGESPEC_MIRROR: the Debian mirror bases are bootstrapped from
    source_date_epoch: str | None = None  # $SOURCE_DATE_EPOCH: checked where it is used (bases, `created` label)
    # generate's result cache: $IMAGESPEC_CACHE_DIR, $XDG_CACHE_HOME/imagespec or ~/.cache/imagespec;
    # None when $IMAGESPEC_NO_CACHE switches it off
    cache_dir: Path | None = None


def read_environment(environ: Mapping[str, str] | None = None) -> Environment:
    """The one place imagespec reads its environment variables."""
    env = os.environ if environ is None else environ

    def value(name: str) -> str | None:
        return env.get(name) or None

    config, bundle = value(CONFIG_ENV), value(CA_BUNDLE_ENV)
    return Environment(config=Path(config) if config else None, ca_bundle=Path(bundle) if bundle else None,
                       mirror=value(MIRROR_ENV), source_date_epoch=value(EPOCH_ENV), cache_dir=cache_dir(env))


def scans_cache(env: Environment) -> Path | None:
    """Where what was read from images' file systems is remembered by their layers: the SBOM
    scans (sbom.store) and `imagespec test`'s file facts (verify.files), which a build
    gathers on the same pass. None when the cache is switched off."""
    return env.cache_dir / "sbom" if env.cache_dir else None


def config_path(flag: Path | None, env: Environment) -> Path | None:
    """--config, else $IMAGESPEC_CONFIG; None: the nearest .imagespec.yaml (spec.config)."""
    return flag or env.config


def source_date_epoch(env: Environment) -> int | None:
    """$SOURCE_DATE_EPOCH as seconds; a value that is not one is a usage error."""
    raw = env.source_date_epoch
    if raw is None:
        return None
    if not raw.isdigit():
        raise SpecError(f"{EPOCH_ENV}={raw!r} is not a number of seconds", hint="unset it or give an integer")
    return int(raw)
