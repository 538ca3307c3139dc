"""imagespec.engine: the seam between imagespec and a Docker Engine.

Role: build a Dockerfile text in a context directory and report progress — the
``Backend`` protocol and its two implementations (``buildkit_cli``: the docker CLI with
BuildKit; ``sdk_legacy``: the SDK's legacy builder), the connection (``client``, the one
place where SDK errors are translated) and the progress display (``progress``,
``build_output``, ``dockerfile_lines``, ``shell_messages``) and the all-or-nothing
tagging of a built image (``local_tags``). It works from plain inputs
(Dockerfile text, a context, options), so it can be used and tested without the compiler.

May import: the standard library, ``imagespec.errors``, ``imagespec.reference``,
``imagespec.platform`` (``emulation``: can this machine run a platform's programs) and
``imagespec.engine`` itself; ``docker``, ``requests`` and ``rich`` only inside functions,
so that ``import imagespec`` stays fast. Never the compiler (spec/plan/render), the
features built on the engine (publish, verify, sbom, bootstrap) or the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from imagespec.engine.backend import Backend, BuildEvent, BuildOptions, BuildResult, Secret
from imagespec.engine.client import connect
from imagespec.errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    from typing import IO

    import docker

BackendName = Literal["auto", "buildkit", "legacy"]


def get_backend(
    name: BackendName = "auto",
    *,
    client: docker.DockerClient | None = None,
    display: bool = True,
    stream: IO[str] | None = None,
) -> Backend:
    """A build backend: ``buildkit`` (docker CLI + BuildKit), ``legacy`` (SDK, legacy
    builder) or ``auto`` (BuildKit when the docker CLI is installed).

    With ``display`` (the default) the backend shows progress as ``options.progress``
    says (auto/plain/json/quiet) on ``stream`` (stderr).
    """
    import shutil

    from imagespec.engine.buildkit_cli import BuildKitCLIBackend
    from imagespec.engine.progress import ProgressBackend
    from imagespec.engine.sdk_legacy import SdkLegacyBackend

    if name == "auto":
        name = "buildkit" if shutil.which("docker") else "legacy"
    backend: Backend
    if name == "buildkit":
        backend = BuildKitCLIBackend(client)
    elif name == "legacy":
        backend = SdkLegacyBackend(client)
    else:
        raise SpecError(f"unknown build backend {name!r}", hint="use auto, buildkit or legacy")
    return ProgressBackend(backend, stream=stream) if display else backend


__all__ = ["Backend", "BuildEvent", "BuildOptions", "BuildResult", "Secret", "connect", "get_backend"]
