"""Which BuildKit builder a fleet runs on, asked before anything builds.

Role: ``docker buildx inspect [NAME]`` gives the builder's name and driver; a name buildx
does not know is bad input (exit 2), found before any target starts. The driver decides
how a target sees the images its parents built (``fleet.bake_file``): the ``docker``
driver builds into the engine's own image store, every other driver (remote, kubernetes,
docker-container) into its own cache.

May import: the standard library and ``imagespec.errors``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from imagespec.errors import EngineError, SpecError, one_line

_FIELD = re.compile(r"^(Name|Driver):\s+(\S+)\s*$", re.M)


@dataclass(frozen=True)
class Builder:
    name: str
    driver: str

    @property
    def local_store(self) -> bool:
        """Whether built images land in the engine's image store, where the next target's
        FROM finds them by tag (only the docker driver's)."""
        return self.driver == "docker"


def find_builder(name: str | None, *, docker: str = "docker") -> Builder:
    """The builder ``name`` (None: buildx's current one). Unknown: SpecError (exit 2)."""
    path = shutil.which(docker)
    if path is None:
        raise EngineError("the docker CLI is not installed (a fleet is built by `docker buildx bake`)",
                          hint="install docker-cli and docker-buildx")
    argv = [path, "buildx", "inspect", *([name] if name else [])]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EngineError(f"`docker buildx inspect` did not answer: {error}") from None
    fields = dict(_FIELD.findall(done.stdout))
    if done.returncode != 0 or "Driver" not in fields:
        said = one_line(done.stderr.strip().removeprefix("ERROR: ")) or f"exit {done.returncode}"
        if name and "no builder" in done.stderr:
            raise SpecError(f"unknown builder {one_line(name)!r}: {said}",
                            hint="`docker buildx ls` lists the builders; create one with `docker buildx create "
                                 "--driver remote|kubernetes|docker-container …` (docs/fleet.md)")
        raise EngineError(f"cannot inspect the BuildKit builder: {said}",
                          hint="is the engine running? `docker buildx ls` shows the builders")
    return Builder(fields.get("Name", name or "default"), fields["Driver"])
