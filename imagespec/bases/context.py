"""What building one base needs to know: the catalog so far (the configuration's plus
the bases built in this run), options, and where to put logs and scratch files."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from datetime import UTC, datetime
from pathlib import Path

from imagespec.contract import DEFAULT_NETWORK, SECRET_ID
from imagespec.engine import BuildOptions, Secret
from imagespec.engine.backend import ProgressMode
from imagespec.errors import ImageSpecError
from imagespec.spec.read_base import LoadedBase
from imagespec.spec.catalog import Catalog, Entry
from imagespec.spec.config import Config
from imagespec.spec.yaml_source import DataPath
from imagespec.spec.model import Image

if TYPE_CHECKING:
    import docker.models.images

    from imagespec.build_settings import BuildSettings


@dataclass(frozen=True)
class BaseOptions:
    """How to build the bases (never what: that is the base specs). Made at the boundary
    from a build's settings (imagespec.build_settings.base_options): flags, then the
    configuration, then the environment."""

    force: bool = False  # rebuild even when up to date, without the build cache
    push: bool = False
    progress: ProgressMode = "auto"
    ca_bundle: Path | None = None
    network: str = DEFAULT_NETWORK
    logs: Path = Path("/var/log/imagespec-bases")
    mirror: str | None = None  # `bases.mirror`, else $IMAGESPEC_MIRROR; a base spec's own `mirror:` wins
    source_date_epoch: int | None = None  # $SOURCE_DATE_EPOCH; else each base's own (the mirror's date)

    @classmethod
    def from_settings(cls, settings: BuildSettings, *, logs: Path, mirror: str | None,
                      source_date_epoch: int | None) -> BaseOptions:
        return cls(force=settings.force, push=settings.push, progress=settings.progress, ca_bundle=settings.ca_bundle,
                   network=settings.network, logs=logs, mirror=mirror, source_date_epoch=source_date_epoch)


@dataclass
class BaseBuildRun:
    """The state of one `imagespec base build`: the catalog grows as bases are built."""

    config: Config
    options: BaseOptions
    workdir: Path
    catalog: Catalog = field(init=False)
    epochs: dict[str, int] = field(default_factory=dict)  # base name -> its SOURCE_DATE_EPOCH
    on_status: Callable[[str], None] = lambda _: None

    def __post_init__(self) -> None:
        self.catalog = self.config.catalog

    def add(self, loaded: LoadedBase, image: Image) -> None:
        self.catalog = self.catalog.merged({loaded.name: Entry(image, loaded.document.location(("base",)))})

    def resolve(self, loaded: LoadedBase, name: str, path: DataPath) -> Image:
        return self.catalog.resolve(name, location=loaded.document.location(path))

    def scratch(self, name: str) -> Path:
        folder = self.workdir / f"{name}-{secrets.token_hex(4)}"
        folder.mkdir(parents=True)
        return folder

    def log(self, name: str) -> Path:
        self.options.logs.mkdir(parents=True, exist_ok=True)
        return self.options.logs / f"{name}.log"


def build_options(run: BaseBuildRun, *, tags: tuple[str, ...], epoch: int | None, labels: dict[str, str] | None = None,
             dockerignore: str | None = None, platform: str | None = None) -> BuildOptions:
    """BuildKit options for a base: the epoch as a build argument, the CA bundle secret."""
    bundle = run.options.ca_bundle
    return BuildOptions(tags=tags, build_args={"SOURCE_DATE_EPOCH": str(epoch)} if epoch else {},
                        no_cache=run.options.force, network=run.options.network, progress=run.options.progress,
                        secrets=(Secret(SECRET_ID, bundle),) if bundle else (), labels=labels or {},
                        dockerignore=dockerignore, platform=platform)


def find_image(reference: str) -> docker.models.images.Image | None:
    """The engine's image for `reference`, or None when it has none (no engine: EngineError)."""
    import docker.errors

    from imagespec.engine.client import connect, engine_errors

    with engine_errors(f"inspect {reference}"):
        try:
            return connect().images.get(reference)
        except docker.errors.ImageNotFound:
            return None


def rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def located(error: ImageSpecError, loaded: LoadedBase, path: DataPath) -> ImageSpecError:
    """Give an error raised without a location the one of the spec part that caused it."""
    if error.location is None:
        error.location = loaded.document.location(path)
    return error
