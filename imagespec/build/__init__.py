"""imagespec.build: build, tag, verify and push images on a Docker Engine.

Role: everything after the Dockerfile text exists — it works from plain inputs
(Dockerfile text, a context directory, options) so that it can be used and tested
without the compiler.

May import: the standard library, ``imagespec.errors``, ``imagespec.reference`` (the grammar of
references and tags), ``docker`` and ``rich`` — the
latter two only inside functions, so that ``import imagespec`` stays fast. Never
``imagespec.spec``/``plan``/``render``/``cli`` (imports point one way, see STYLE.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from imagespec.build.backend import Backend, BuildEvent, BuildOptions, BuildResult, Secret
from imagespec.build.engine import connect
from imagespec.build.push import push_tags
from imagespec.build.structure_test import to_structure_test_config
from imagespec.build.tags import git_short_sha, oci_labels, tags_for
from imagespec.build.verify import verify
from imagespec.build.verify_model import CheckResult, Expectations, Report
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

    from imagespec.build.buildkit_cli import BuildKitCLIBackend
    from imagespec.build.progress import ProgressBackend
    from imagespec.build.sdk_legacy import SdkLegacyBackend

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


__all__ = [
    "Backend",
    "BuildEvent",
    "BuildOptions",
    "BuildResult",
    "CheckResult",
    "Expectations",
    "Report",
    "Secret",
    "connect",
    "get_backend",
    "git_short_sha",
    "oci_labels",
    "push_tags",
    "tags_for",
    "to_structure_test_config",
    "verify",
]
