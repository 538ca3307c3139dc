"""imagespec.jobs.sboms: an image's SBOM (the one `imagespec build` stored, else made now)
and the packages that changed between two SBOMs.

May import: as imagespec.jobs; imagespec.sbom and the engine only inside functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagespec.errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.sbom import SbomDiff

def sbom(image: str, *, fmt: str | None = None, output: Path | None = None) -> tuple[str, bool]:
    """(the SBOM of a local image as JSON text, whether it is the one stored in it): the
    one `imagespec build` stored, else one made from its file system now (``fmt``: spdx
    or cyclonedx; a stored one in the other format is not converted but made anew).
    Written to ``output`` too when given."""
    from imagespec.sbom.document import to_json
    from imagespec.sbom.store import document_of

    if output is not None:
        from imagespec.sbom.diff import refuse_replacing

        refuse_replacing(output)
    document, was_stored = document_of(image, fmt)
    text = to_json(document)
    if output is not None:
        from imagespec.output import write_atomically

        write_atomically({output: text})
    return text, was_stored


def sbom_diff(old: str, new: str) -> SbomDiff:
    """The packages added, removed and changed between two SBOMs, each an SBOM file
    (SPDX or CycloneDX JSON, any tool's) or a local image (its SBOM, as ``sbom``)."""
    from imagespec.sbom import diff

    return diff(_sbom_document(old), _sbom_document(new))


def _sbom_document(source: str) -> dict[str, Any]:
    path = Path(source)
    if path.is_file():
        from imagespec.sbom.diff import load

        return load(path)
    if path.exists():
        raise SpecError(f"{source}: not a file", hint="give an SBOM file (SPDX or CycloneDX JSON) or a local image")
    from imagespec.sbom.store import document_of

    return document_of(source)[0]
