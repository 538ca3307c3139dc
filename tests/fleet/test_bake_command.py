"""The bake invocation of one target (fleet.run.bake_command): every secret file it reads
is granted with ``--allow fs.read`` (buildx asks for that entitlement for files outside the
bake file's folder, and enforces it on some progress modes only), also those of the parents
bake solves in the same invocation on a builder that keeps `target:` contexts; the builder
is chosen the way buildx accepts, and nothing else changes. Pure."""

from __future__ import annotations

from pathlib import Path

from imagespec.fleet.builder import Builder
from imagespec.fleet.run import bake_command, secret_reads

RUN, META = Path("/tmp/run.json"), Path("/tmp/meta.json")


def _flags(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, word in enumerate(argv) if word == name]


def test_each_secret_file_is_granted_once_and_in_order() -> None:
    argv = bake_command("docker", Builder("default", "docker"), RUN, META, ["app"],
                        reads=["/etc/ssl/certs/ca.crt", "/run/secrets/npmrc", "/etc/ssl/certs/ca.crt"])
    assert _flags(argv, "--allow") == ["network.host", "fs.read=/etc/ssl/certs/ca.crt", "fs.read=/run/secrets/npmrc"]
    assert argv[-1] == "app" and "--no-cache" not in argv


def test_no_secret_no_file_grant() -> None:
    argv = bake_command("docker", Builder("default", "docker"), RUN, META, ["a--linux-amd64", "a--linux-arm64"],
                        no_cache=True)
    assert _flags(argv, "--allow") == ["network.host"]
    assert argv[-3:] == ["--no-cache", "a--linux-amd64", "a--linux-arm64"]
    assert _flags(argv, "--builder") == ["default"] and "--context" not in argv


def test_another_contexts_docker_driver_runs_in_that_context() -> None:
    argv = bake_command("docker", Builder("other", "docker", context="other"), RUN, META, ["app"])
    assert argv[:3] == ["docker", "--context", "other"] and "--builder" not in argv


GRAPH = {"base": frozenset(), "mid": frozenset({"base"}), "app": frozenset({"mid"}), "other": frozenset()}
FILES = {"base": ("/ca.crt", "/token"), "mid": (), "app": ("/npmrc",), "other": ("/elsewhere",)}


def test_where_target_contexts_stay_a_target_reads_its_ancestors_secrets_too() -> None:
    # a remote, kubernetes or docker-container builder: bake solves mid and base in app's invocation
    assert secret_reads("app", GRAPH, FILES, local_store=False) == ["/npmrc", "/ca.crt", "/token"]
    assert secret_reads("base", GRAPH, FILES, local_store=False) == ["/ca.crt", "/token"]


def test_on_the_docker_driver_a_target_reads_only_its_own() -> None:
    # its parents are images already built and tagged in the engine's store, not solved again
    assert secret_reads("app", GRAPH, FILES, local_store=True) == ["/npmrc"]
