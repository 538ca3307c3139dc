"""What a digest bump brings: the packages added, removed and changed between a base's
locked image and the one its tag names now, from their SBOMs (BP16), so that a reviewer of
`imagespec lock --update --packages` sees more than two hashes.

Each image is pulled by digest (the engine's own credentials and registries), and its SBOM
is the one it carries, else one made from its file system (``imagespec.sbom``); the lists
are compared with ``imagespec.sbom.diff``. One comparison per distinct (base, old, new).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from imagespec.lock.resolve import with_digest

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.lock.jobs import Move
    from imagespec.sbom import SbomDiff

Key = tuple[str, str, str]  # (image, old digest, new digest)


def package_changes(moves: Iterable[Move], on_note: Callable[[str], None] = lambda _: None) -> dict[Key, SbomDiff]:
    from imagespec.engine import connect
    from imagespec.engine.client import engine_errors
    from imagespec.sbom import diff, document_of

    wanted = sorted({(m.image, m.old, m.new) for m in moves if m.moved and m.old})
    found: dict[Key, SbomDiff] = {}
    if not wanted:
        return found
    client = connect()
    for image, old, new in wanted:
        documents = []
        for digest in (old, new):
            reference = with_digest(image, digest)
            on_note(f"reading the packages of {reference}")
            with engine_errors(f"pull {reference}"):
                client.images.pull(reference)
            documents.append(document_of(reference, client=client)[0])
        found[(image, old, new)] = diff(documents[0], documents[1])
    return found
