"""Fleet builds on the real engine: specs generated in a temporary folder on the local
bases (scripts/make-bases.sh), built through `imagespec build SPEC_OR_DIR…` (docker buildx
bake). Every image a test makes is named with the test's own prefix and removed afterwards
(the ``fleets`` fixture in test_fleet_build.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import docker_cli


ROOT = Path(__file__).resolve().parents[2]
LOCAL_CONFIG = ROOT / "scripts" / "local-config.yaml"
#: Image names start with this (and a per-test id); `IMAGESPEC_TEST_PREFIX` renames them.
PREFIX = os.environ.get("IMAGESPEC_TEST_PREFIX", "imagespec-fleettest")


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return docker_cli.docker(*args, check=check, timeout=300)


def imagespec(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imagespec", *args], capture_output=True, text=True, timeout=1800,
                          cwd=cwd)


@dataclass
class Fleet:
    """A fleet of generated specs in ``root``: ``parents[name]`` is the spec its final
    image is built FROM (None: the company base's own base, debian-slim)."""

    root: Path
    prefix: str
    parents: dict[str, str | None]
    registry: str | None = None  # `registry:` of every spec (host:port): its images are named there
    config: Path = LOCAL_CONFIG  # the configuration every build of it uses (its catalog)
    #: the company base's own base: debian-slim (its images run /bin/cat), or `static` for a
    #: fleet whose images are never run (a few MB: each target's SBOM scan reads that, not 75 MB)
    root_base: str = "debian-slim"

    def spec(self, name: str) -> Path:
        return self.root / name / "imagespec.yaml"

    def image(self, name: str) -> str:
        return f"{self.registry + '/' if self.registry else ''}{self.prefix}/{name}:1.0.0-fleet"

    def write(self, name: str, *, fail: bool = False, token: str = "") -> None:
        """A tiny spec: a build stage whose one RUN writes a file (exit 7 with ``fail``),
        and a final FROM its parent's image (the company base: FROM debian-slim) copying it."""
        parent = self.parents[name]
        runs = self.root_base == "debian-slim"
        family = "family: debian" if runs else "family: distroless, shell: false"
        base = f'{{image: "{self.image(parent)}", {family}, user: 65532}}' if parent else self.root_base
        command = "exit 7" if fail else f"echo {name} {token} > /out/{name}"
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "imagespec.yaml").write_text(
            f"name: {self.prefix}/{name}\nversion: 1.0.0-fleet\ntags: {{git_sha: false}}\n"
            + (f"registry: {self.registry}\n" if self.registry else "") +
            "stages:\n  make:\n    from: debian-slim\n"
            f"    run:\n      - mkdir -p /out\n      - {command}\n    artifacts: [/out]\n"
            f"final:\n  from: {base}\n  copy:\n    - {{from: make, src: /out, dest: /fleet/{name}}}\n"
            f"  cmd: [/bin/cat, /fleet/{name}/{name}]\n", encoding="utf-8")  # on `static`: never run

    def build(self, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, dict]]:
        """`imagespec build ROOT ARGS… --format json`: the process and the records by target."""
        done = imagespec("build", str(self.root), "--config", str(self.config), "--format", "json",
                         "--progress", "plain", *args)
        try:
            summary = json.loads(done.stdout)
        except ValueError:
            pytest.fail(f"no JSON summary (exit {done.returncode}): {done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        return done, {r["target"]: r for r in summary["targets"]}

    def target(self, name: str) -> str:
        """The bake target of spec ``name``: its folder's path in the fleet (fleet.names)."""
        return name

    def tagged(self, name: str) -> bool:
        return docker("image", "inspect", self.image(name), check=False).returncode == 0


def make_fleet(root: Path, parents: dict[str, str | None], *, failing: Sequence[str] = (),
               prefix: str | None = None, registry: str | None = None, config: Path = LOCAL_CONFIG,
               base: str = "debian-slim") -> Fleet:
    fleet = Fleet(root, prefix or f"{PREFIX}-{uuid.uuid4().hex[:8]}", parents, registry, config, base)
    token = uuid.uuid4().hex
    for name in parents:
        fleet.write(name, fail=name in failing, token=token)
    return fleet


#: A company base spec whose download step records what reached the builder from the client
#: (the secret `token`'s size, whether the CA bundle came), and an app on its image that
#: prints it all: the fleet test_other_builder.py and test_remote_builder.py build on other
#: builders. Format with ``prefix`` and ``registry`` ("" for none: the base is then found
#: by its local name).
SEEN_BASE = """\
name: {prefix}/base
version: 1.0.0
license: MIT
{registry_line}tags: {{git_sha: false}}
secrets: [{{id: token}}]
stages:
  seen:
    from: debian-slim
    dependencies:
      copy: [seen.txt]
      run: "mkdir -p /out && wc -c < /run/secrets/token > /out/token-bytes && if [ -f /run/secrets/ca-bundle ]; then echo ca > /out/ca; fi"
    artifacts: [/out]
final:
  from: debian-slim
  copy:
    - {{src: motd.txt, dest: /motd.txt}}
    - {{from: seen, src: /out, dest: /seen}}
  entrypoint: [/bin/cat, /motd.txt]
"""
SEEN_APP = """\
name: {prefix}/hello
version: 0.1.0
license: MIT
{registry_line}tags: {{git_sha: false}}
final:
  from: {{image: "{base}:1.0.0", family: debian, user: 65532}}
  copy: [{{src: hello.txt, dest: /hello.txt}}]
  entrypoint: [/bin/cat, /motd.txt, /hello.txt, /seen/token-bytes, /seen/ca]
"""


def seen_fleet(prefix: str, registry: str = "") -> dict[str, str]:
    """The files of SEEN_BASE (in base/) and SEEN_APP (in apps/hello/), by path."""
    line = f"registry: {registry}\n" if registry else ""
    base = f"{registry}/{prefix}/base" if registry else f"{prefix}/base"
    return {"base/imagespec.yaml": SEEN_BASE.format(prefix=prefix, registry_line=line),
            "base/motd.txt": "company base\n", "base/seen.txt": "\n",
            "apps/hello/imagespec.yaml": SEEN_APP.format(prefix=prefix, registry_line=line, base=base),
            "apps/hello/hello.txt": "hello\n"}
