"""Which BuildKit builder a fleet runs on, asked before anything builds.

Role: ``docker buildx inspect [NAME]`` gives the builder's name, driver and first node's
endpoint; a name buildx does not know is bad input (exit 2), found before any target
starts. The driver decides how a target sees the images its parents built
(``fleet.bake_file``): the ``docker`` driver builds into an engine's own image store,
every other driver (remote, kubernetes, docker-container) into its own cache.

A ``docker`` driver builder is a docker context: the engine's own BuildKit. When that
context reaches another engine than the one imagespec tags in (the SDK's, DOCKER_HOST),
its images land in that engine's store (``Builder.host``): the fleet tags and pushes
them there. buildx refuses ``--builder`` for any context but the current one ("use
`docker --context=NAME buildx`"), even one that reaches the same engine: bake then runs
under ``--context`` (``Builder.context``).

May import: the standard library, ``imagespec.errors`` and the builder-name grammar
(``imagespec.spec.values``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from imagespec.errors import EngineError, Location, SpecError, one_line
from imagespec.spec.values import BUILDER_HINT, BUILDER_NAME

_FIELD = re.compile(r"^(Name|Driver|Endpoint):\s+(\S+)\s*$", re.M)
_ERROR = re.compile(r"^Error:[ \t]+(\S.*?)\s*$", re.M)


@dataclass(frozen=True)
class Builder:
    name: str
    driver: str
    #: the first node's endpoint: for the docker driver, the docker context it builds in
    endpoint: str = ""
    #: the docker driver of a context other than the current one: bake runs in it
    #: (``docker --context NAME buildx bake``; buildx refuses ``--builder`` there)
    context: str | None = None
    #: that context's engine when it is not the local one: its address (``unix:///…``,
    #: ``tcp://…``), where the images are tagged and pushed from
    host: str | None = None

    @property
    def local_store(self) -> bool:
        """Whether built images land in an engine's image store, where the next target's
        FROM finds them by tag once imagespec tagged them there (the docker driver's)."""
        return self.driver == "docker"

    @property
    def other_engine(self) -> bool:
        """The docker driver of a context that is not the local engine."""
        return self.host is not None


def find_builder(name: str | None, *, docker: str = "docker", where: Location | None = None) -> Builder:
    """The builder ``name`` (None: buildx's current one). Unknown: SpecError (exit 2), at
    ``where`` (the configuration's `build.builder` that named it; None: the flag)."""
    if name is not None and not BUILDER_NAME.fullmatch(name):  # the configuration's was checked at its line
        raise SpecError(f"--builder {name[:80]!r} is not a builder name", hint=BUILDER_HINT)  # repr: escaped once
    path = shutil.which(docker)
    if path is None:
        raise EngineError("the docker CLI is not installed (a fleet is built by `docker buildx bake`)",
                          hint="install docker-cli and docker-buildx")
    done = _run([path, "buildx", "inspect", *([name] if name is not None else [])], "docker buildx inspect")
    fields: dict[str, str] = {}
    for key, value in _FIELD.findall(done.stdout):
        fields.setdefault(key, value)  # the builder's own Name first, then its first node's
    if done.returncode != 0 or "Driver" not in fields:
        # an engine that does not answer: buildx exits 0 with an empty Driver and says why in its Error field
        error = _ERROR.search(done.stdout)
        said = one_line(done.stderr.strip().removeprefix("ERROR: ") or (error[1] if error else "")) \
            or f"exit {done.returncode}"
        if name and "no builder" in done.stderr:
            raise SpecError(f"unknown builder {one_line(name)!r}: {said}", location=where,
                            hint="`docker buildx ls` lists the builders; create one with `docker buildx create "
                                 "--driver remote|kubernetes|docker-container …` (docs/fleet.md)")
        raise EngineError(f"cannot inspect the BuildKit builder: {said}",
                          hint="is the engine running? `docker buildx ls` shows the builders")
    found = Builder(fields.get("Name", name or "default"), fields["Driver"], fields.get("Endpoint", ""))
    if found.driver != "docker" or not found.endpoint:
        return found
    current = _run([path, "context", "show"], "docker context show").stdout.strip()
    if found.endpoint == current:
        return found
    return Builder(found.name, found.driver, found.endpoint, found.endpoint, _other_engine(path, found.endpoint, current))


def _other_engine(docker: str, context: str, current: str) -> str | None:
    """The address of ``context``'s engine when it differs from the current context's
    (the engine the docker CLI and imagespec's SDK client use), else None."""
    done = _run([docker, "context", "inspect", "--format", "{{.Endpoints.docker.Host}}", context, current],
                "docker context inspect")
    hosts = done.stdout.split()
    if done.returncode != 0 or len(hosts) != 2:
        raise EngineError(f"cannot read docker context {one_line(context)!r}: "
                          f"{one_line(done.stderr.strip()) or f'exit {done.returncode}'}",
                          hint="`docker context ls` lists the contexts")
    return None if hosts[0] == hosts[1] else hosts[0]


def _run(argv: list[str], what: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EngineError(f"`{what}` did not answer: {error}") from None
