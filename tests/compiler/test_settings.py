"""How to build is one frozen value made at the boundary (imagespec.settings): a flag wins
over the configuration file, which wins over the environment, which wins over the
default written once. Shown on the resulting value, and on the backend options derived
from it; no engine needed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from imagespec.bases.context import BaseOptions
from imagespec.contract import DEFAULT_NETWORK
from imagespec.engine.backend import BuildOptions
from imagespec.compiler import compile_spec
from imagespec.pipeline import build_options
from imagespec.build_settings import BuildSettings, base_options, build_settings
from imagespec.settings import config_path, read_environment
from imagespec.spec.config import load_config
from imagespec.spec.read_spec import load_spec

SPEC = """name: app
version: 1.0.0
secrets: [{id: token}]
final:
  from: debian-slim
  entrypoint: [/bin/true]
"""
ENV = {"IMAGESPEC_CA_BUNDLE": "/env/ca.pem", "IMAGESPEC_MIRROR": "http://env.example/debian",
       "IMAGESPEC_CONFIG": "/env/imagespec.yaml", "SOURCE_DATE_EPOCH": "1700000000"}


def _config(folder: Path, text: str | None):
    (folder / ".git").mkdir(exist_ok=True)
    if text is not None:
        (folder / ".imagespec.yaml").write_text(text, encoding="utf-8")
    return load_config(start=folder)


def test_a_flag_wins_over_the_config_which_wins_over_the_environment(tmp_path: Path) -> None:
    env = read_environment(ENV)
    configured = _config(tmp_path, "build: {ca_bundle: /config/ca.pem, network: none}\n")
    assert build_settings(configured, env, ca_bundle=Path("/flag/ca.pem")).ca_bundle == Path("/flag/ca.pem")
    assert build_settings(configured, env).ca_bundle == Path("/config/ca.pem")
    bare = load_config()  # no configuration file
    assert build_settings(bare, env).ca_bundle == Path("/env/ca.pem")
    assert build_settings(bare, read_environment({})).ca_bundle is None
    # the network has no flag and no variable: the configuration's, else the one default
    assert build_settings(configured, env).network == "none"
    assert build_settings(bare, env).network == DEFAULT_NETWORK == BuildSettings().network == BuildOptions().network
    assert DEFAULT_NETWORK == "host"  # engines without a bridge fail the first RUN otherwise


def test_the_configuration_file_flag_wins_over_imagespec_config() -> None:
    env = read_environment(ENV)
    assert config_path(Path("flag.yaml"), env) == Path("flag.yaml")
    assert config_path(None, env) == Path("/env/imagespec.yaml")
    assert config_path(None, read_environment({"IMAGESPEC_CONFIG": ""})) is None  # empty is unset


def test_the_mirror_is_the_configs_then_the_environments(tmp_path: Path) -> None:
    env = read_environment(ENV)
    configured = _config(tmp_path, "bases: {mirror: 'http://config.example/debian'}\n")
    assert base_options(configured, env, logs=tmp_path).mirror == "http://config.example/debian"
    assert base_options(load_config(), env, logs=tmp_path).mirror == "http://env.example/debian"
    assert base_options(load_config(), read_environment({}), logs=tmp_path).mirror is None


def test_base_options_derive_from_the_build_settings(tmp_path: Path) -> None:
    configured = _config(tmp_path, "build: {ca_bundle: /config/ca.pem, network: default}\n")
    options = base_options(configured, read_environment(ENV), logs=tmp_path, force=True, progress="plain")
    assert options == BaseOptions(force=True, progress="plain", ca_bundle=Path("/config/ca.pem"), network="default",
                                  logs=tmp_path, mirror="http://env.example/debian", source_date_epoch=1700000000)
    assert BaseOptions().network == DEFAULT_NETWORK


def test_the_backend_options_come_from_the_settings(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(SPEC, encoding="utf-8")
    (tmp_path / "token.txt").write_text("t", encoding="utf-8")
    config = _config(tmp_path, f"build:\n  secrets: {{token: {tmp_path / 'token.txt'}, unused: {tmp_path / 'unused.txt'}}}\n"
                               "  builder: mine\n  extra_args: [--no-cache-filter=final]\n")
    compiled = compile_spec(load_spec(tmp_path / "app.yaml", config), config)
    settings = build_settings(config, read_environment({"IMAGESPEC_CA_BUNDLE": "/env/ca.pem"}), tags=("extra",),
                              no_cache=True)
    options = build_options(compiled, settings)
    assert (options.network, options.builder, options.extra_args, options.no_cache) == (
        "host", "mine", ("--no-cache-filter=final",), True)
    assert [(s.id, s.src, s.optional) for s in options.secrets] == [
        ("ca-bundle", Path("/env/ca.pem"), False), ("token", tmp_path / "token.txt", False)]
    assert options.tags[0] == "app:1.0.0" and options.tags[-1] == "app:extra"  # the spec's tags, then the flags'


def test_settings_are_frozen() -> None:
    settings = BuildSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.network = "none"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.configured_secrets["x"] = Path("/x")  # type: ignore[index]


def test_a_bad_source_date_epoch_is_a_usage_error(tmp_path: Path) -> None:
    from imagespec.errors import SpecError

    with pytest.raises(SpecError, match="SOURCE_DATE_EPOCH='soon' is not a number of seconds"):
        base_options(load_config(), read_environment({"SOURCE_DATE_EPOCH": "soon"}), logs=tmp_path)
