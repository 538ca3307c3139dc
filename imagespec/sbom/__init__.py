"""imagespec.sbom: SBOMs of images (BP16), as SPDX 2.3 or CycloneDX 1.5 JSON.

Role: ``scan`` reads an image's file system in one pass and routes each file to its
ecosystem's scanner (``dpkg`` + ``licenses``: Debian packages; ``python``: dist-info;
``npm``: node_modules; ``golang``: a Go binary's build information; ``cargo``: Cargo.lock;
``java``: jars; ``executable``: a static program's facts), which return
``component.Component`` records; ``origins`` adds what the build knows and the image does
not record (the init stage's tini, a static program's C library); ``document`` lays them
out as SPDX or CycloneDX with the app as the described package (``spdx``: the bases'
document of Debian packages); ``store`` does it for a local image through the engine and
stores the result in it; ``diff`` compares two SBOMs' package lists.

Public API (docs/api.md): ``diff(old, new) -> SbomDiff`` and ``diff_files``, on parsed
SPDX or CycloneDX documents (any tool's); ``document_of(image, fmt)`` for a local image.

May import: the standard library, ``imagespec.errors``, ``imagespec.reference``,
``imagespec.sbom`` itself and ``imagespec.verify`` (its probe's chunked reader of
container archives) and ``imagespec.engine`` (the connection); ``docker`` only inside
functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imagespec.sbom.diff import Change, SbomDiff, diff, diff_files

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.sbom.store import document_of

__all__ = ["Change", "SbomDiff", "diff", "diff_files", "document_of"]


def __getattr__(name: str) -> Any:
    # the engine side only when asked for: the pure half stays importable without it
    if name == "document_of":
        from imagespec.sbom.store import document_of

        return document_of
    raise AttributeError(name)
