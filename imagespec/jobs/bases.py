"""imagespec.jobs.bases: base images — build base specs in dependency order, validate them,
show the Dockerfile one is built from, and a base image's SBOM.

May import: as imagespec.jobs; the engine only inside functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imagespec.errors import SpecError
from imagespec.jobs.compiling import config_file, note_unread_configs
from imagespec.notes import OnNote, ignore

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.bases import BuiltBase
    from imagespec.engine.backend import ProgressMode
    from imagespec.spec.config import Config
    from imagespec.spec.read_base import LoadedBase

def base_files(given: Sequence[Path]) -> list[Path]:
    """Files as given; a folder stands for its base specs (*.yaml with a `base:` key)."""
    from imagespec.spec.read_base import is_base_document
    from imagespec.spec.yaml_source import read_yaml

    files: list[Path] = []
    for path in given:
        if path.is_dir():
            files += [f for f in sorted(path.glob("*.yaml")) if is_base_document(read_yaml(f))]
        else:
            files.append(path)
    if not files:
        raise SpecError("no base spec among the paths given", hint="a base spec has `base: NAME` and `image: NAME:TAG`")
    return files


def _base_config(files: list[Path], config: Path | None, on_note: OnNote) -> Config:
    from imagespec.spec.config import load_config

    # the configuration is the one found from the first base's folder: the file --config
    # leaves unread there is named, as for an app's spec
    note_unread_configs(files[:1], config, on_note)
    # the catalog a base build writes may not exist yet: every base it needs is in the set
    return load_config(config_file(config), start=files[0].parent, catalogs_required=False)


def base_build(bases: Sequence[Path], *, catalog: Path | None = None, force: bool = False, push: bool = False,
               progress: ProgressMode = "auto", ca_bundle: Path | None = None, logs: Path = Path("/var/log/imagespec-bases"),
               config: Path | None = None, on_status: OnNote = ignore, on_note: OnNote = ignore) -> list[BuiltBase]:
    """Build base specs (files, or folders of them) in dependency order, tag them (BP14),
    optionally push, and write ``catalog`` with every base built and its digest once all
    succeeded. Returns ``imagespec.bases.BuiltBase`` for each, in build order."""
    from imagespec.bases import build_bases
    from imagespec.build_settings import base_options
    from imagespec.settings import read_environment

    files = base_files(bases)
    env = read_environment()
    loaded_config = _base_config(files, config, on_note)
    options = base_options(loaded_config, env, force=force, push=push, progress=progress,
                           ca_bundle=ca_bundle, logs=logs)
    return build_bases(files, loaded_config, options, catalog_path=catalog, on_status=on_status)


def base_check(bases: Sequence[Path], *, config: Path | None = None, on_note: OnNote = ignore) -> list[LoadedBase]:
    """Validate base specs (files, or folders of them), no engine needed; returns them
    loaded (``imagespec.spec.read_base.LoadedBase``) in build order."""
    from imagespec.bases import load_bases

    files = base_files(bases)
    return load_bases(files, _base_config(files, config, on_note))


def base_dockerfile(base: Path, *, config: Path | None = None, on_note: OnNote = ignore) -> str:
    """The Dockerfile a `distroless` or `spec` base is built from (for review)."""
    from imagespec.bases import dockerfile_of
    from imagespec.spec.config import load_config

    note_unread_configs([base], config, on_note)
    return dockerfile_of(base, load_config(config_file(config), start=base.parent))


def base_sbom(image: str, *, output: Path | None = None) -> str:
    """The SPDX JSON SBOM of a local image's Debian packages (BP16); written to
    ``output`` too when given. The same image always gives the same document: its time and
    namespace are the image's own creation time and ID."""
    from imagespec.engine.client import connect, engine_errors
    from imagespec.sbom.spdx import image_sbom, sbom_json

    with engine_errors(f"inspect {image}"):
        found = connect().images.get(image)
    created = str(found.attrs.get("Created", ""))[:19] + "Z"
    text = sbom_json(image_sbom(image, name=image, created=created, namespace=f"urn:imagespec:image:{found.id}"))
    if output is not None:
        from imagespec.output import write_atomically

        write_atomically({output: text})
    return text
