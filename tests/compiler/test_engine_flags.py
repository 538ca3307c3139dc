"""`build.extra_args` is an allow-list of flags that change how a build runs, never what it
builds (spec.engine_flags): the configuration's `--build-context NAME=docker-image://other`
swapped the base while the labels named the catalog's."""

from __future__ import annotations

import pytest

from imagespec.spec.engine_flags import ALLOWED, engine_flags
from imagespec.spec.values import InvalidPart


@pytest.mark.parametrize("args", [
    [], ["--cache-from", "type=local,src=/c"], ["--cache-to=type=local,dest=/c,mode=max"], ["--no-cache"],
    ["--no-cache=false"], ["--no-cache-filter", "build"], ["--shm-size=1g", "--ulimit", "nofile=1024:1024"],
    # a flag's value is the next word whatever it reads like, as the engine's flag parser takes it
    ["--cache-from", "--build-context=x"],
])
def test_flags_that_change_how_a_build_runs_are_kept(args: list[str]) -> None:
    assert engine_flags(args) == args


@pytest.mark.parametrize(("args", "at", "words"), [
    (["--build-context", "debian-slim=docker-image://evil:1"], 0, "'--build-context' may change what is built"),
    (["--no-cache", "--build-context=debian-slim=docker-image://evil:1"], 1, "'--build-context'"),
    (["--file=other.Dockerfile"], 0, "'--file'"), (["-f", "x"], 0, "'-f'"), (["--target=build"], 0, "'--target'"),
    (["--build-arg", "BUILDKIT_SYNTAX=evil/frontend"], 0, "'--build-arg'"), (["--secret", "id=x"], 0, "'--secret'"),
    (["--ssh=default"], 0, "'--ssh'"), (["--allow", "security.insecure"], 0, "'--allow'"),
    (["--output=type=local,dest=/"], 0, "'--output'"), (["-o", "x"], 0, "'-o'"), (["--platform=linux/arm64"], 0,
    "'--platform'"), (["--pull"], 0, "'--pull'"), (["--label", "org.opencontainers.image.base.name=x"], 0,
    "'--label'"), (["--tag=x"], 0, "'--tag'"), (["-qf", "x"], 0, "'-qf'"), (["--cache-from", "a", "ctx"], 2,
    "'ctx' is not a flag"), (["--no-cache=ctx"], 0, "takes no value"), (["--ulimit"], 0, "needs a value"),
])
def test_anything_else_is_refused_at_its_item(args: list[str], at: int, words: str) -> None:
    with pytest.raises(InvalidPart) as raised:
        engine_flags(args)
    assert words in str(raised.value) and raised.value.at == (at,)
    assert raised.value.hint
    if "may change" in str(raised.value):  # the hint says what may be written
        assert all(flag in raised.value.hint for flag in ALLOWED)
