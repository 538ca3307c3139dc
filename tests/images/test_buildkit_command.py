"""The docker CLI command lines the BuildKit backend runs (no engine needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagespec.engine.backend import BuildOptions, Secret
from imagespec.engine.buildkit_cli import BuildKitCLIBackend, CliInfo
from imagespec.errors import SpecError

DF, CTX, IID = Path("/scratch/Dockerfile"), Path("/ctx"), Path("/scratch/iid")


def command(cli: CliInfo, options: BuildOptions) -> tuple[list[str], dict[str, str]]:
    return BuildKitCLIBackend(client=object(), cli=cli).command(DF, CTX, options, IID)  # type: ignore[arg-type]


def test_buildx_with_rawjson(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.crt"
    bundle.write_text("x")
    options = BuildOptions(
        tags=("team/app:1.0.0",), build_args={"B": "2", "A": "1"}, target="final", no_cache=True,
        secrets=(Secret("ca-bundle", bundle), Secret("absent", tmp_path / "nope", optional=True)),
        labels={"k": "v w"}, extra_args=("--no-cache-filter=final",), builder="mine",
    )
    argv, env = command(CliInfo("/usr/bin/docker", (0, 29)), options)
    assert argv == [
        "/usr/bin/docker", "buildx", "build", "--load", "--builder", "mine",
        "--progress", "rawjson", "--iidfile", str(IID), "-f", str(DF), "--network", "host",
        "--build-arg", "A=1", "--build-arg", "B=2", "--label", "k=v w",
        "--secret", f"id=ca-bundle,src={bundle}", "--target", "final", "--no-cache", "--no-cache-filter=final", str(CTX),
    ]
    assert "-t" not in argv and "--tag" not in argv  # tags come after success, all or nothing
    assert "DOCKER_BUILDKIT" not in env or env["DOCKER_BUILDKIT"] != "0"


def test_older_buildx_uses_plain_and_no_buildx_uses_docker_build() -> None:
    argv, _ = command(CliInfo("docker", (0, 12)), BuildOptions())
    assert argv[:3] == ["docker", "buildx", "build"] and argv[argv.index("--progress") + 1] == "plain"
    argv, env = command(CliInfo("docker", None), BuildOptions(network="default"))
    assert argv[:2] == ["docker", "build"] and env["DOCKER_BUILDKIT"] == "1"
    assert argv[argv.index("--network") + 1] == "default"


def test_rawjson_needs_buildx_0_13() -> None:
    assert CliInfo("d", (0, 13)).rawjson and not CliInfo("d", (0, 12)).rawjson and not CliInfo("d", None).rawjson


def test_option_validation() -> None:
    with pytest.raises(SpecError, match="progress"):
        BuildOptions(progress="fancy")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="secret id"):
        Secret("a,b", Path("/x"))
    with pytest.raises(SpecError, match="is not a file"):
        command(CliInfo("docker", (0, 29)), BuildOptions(secrets=(Secret("s", Path("/nonexistent/x")),)))
