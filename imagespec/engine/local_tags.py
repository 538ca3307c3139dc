"""Applying tags to a built image, all or nothing.

Role: backends build into an image id (``--iidfile``, never ``-t``) so that a failed or
interrupted build moves no tag; this module then points every requested reference at
the new id, and puts back what it changed if one of them fails.

May import: the standard library, ``imagespec.errors``, ``imagespec.reference`` (the grammar, whose verdict
is given here as a SpecError) and ``imagespec.engine.client``; ``docker`` only for typing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from imagespec import reference as grammar
from imagespec.engine.client import engine_errors, remove_image
from imagespec.errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    import docker


def _checked(check: Callable[[str], str], value: str) -> str:
    """The grammar's verdict as a SpecError, in the words the spec's validation uses."""
    try:
        return check(value)
    except grammar.Invalid as invalid:
        raise SpecError(str(invalid), hint=invalid.hint) from None


def validate_repository(repository: str) -> str:
    """Return ``repository`` if it is a valid image name (no tag), else raise SpecError."""
    return _checked(grammar.repository, repository)


def validate_tag(tag: str) -> str:
    """Return ``tag`` if docker accepts it as a tag, else raise SpecError."""
    return _checked(grammar.tag, tag)


split_reference = grammar.split


def check_references(references: Sequence[str]) -> None:
    """Validate ``name:tag`` references before a build starts, so a typo costs nothing."""
    for reference in references:
        name, tag = split_reference(reference)
        if tag is None:
            raise SpecError(f"tag {reference!r} has no tag part", hint="write it as name:tag")
        validate_repository(name)
        validate_tag(tag)


def current_ids(client: docker.DockerClient, references: Sequence[str]) -> dict[str, str | None]:
    """The image each reference names now (None: none), for ``restore_tags``."""
    import docker.errors  # lazy

    found: dict[str, str | None] = {}
    with engine_errors("inspect " + ", ".join(references[:3])):
        for reference in references:
            try:
                found[reference] = client.images.get(reference).id
            except docker.errors.ImageNotFound:
                found[reference] = None
    return found


@contextmanager
def put_back_on_error(client: docker.DockerClient, references: Sequence[str]) -> Iterator[None]:
    """Tags moved inside the block return to what they named before it when it raises:
    an image whose push the registry refused (an X.Y.Z tag it holds for another image,
    BP14) is not left under its tags here, as if it had been published."""
    previous = current_ids(client, references)
    try:
        yield
    except BaseException:
        restore_tags(client, previous)
        raise


def apply_tags(client: docker.DockerClient, image_id: str, references: Sequence[str]) -> tuple[str, ...]:
    """Point each reference at ``image_id``; on any failure restore the previous state."""
    previous: dict[str, str | None] = {}
    with engine_errors(f"tag {image_id}"):
        image = client.images.get(image_id)
        try:
            for reference in references:
                name, tag = split_reference(reference)
                previous.update(current_ids(client, [reference]))
                if not image.tag(name, tag):
                    raise SpecError(f"the engine refused tag {reference!r}")
        except BaseException:
            restore_tags(client, previous)
            raise
    return tuple(references)


def restore_tags(client: docker.DockerClient, previous: dict[str, str | None]) -> None:
    """Each reference back on the image it named before (none: the tag removed). The image
    they were moved to goes when no tag names it any more (a build whose push was refused):
    nobody's then, it would stay in the engine's store for ever; its layers stay in
    BuildKit's cache, so a rebuild of it costs nothing."""
    try:
        moved = set(current_ids(client, list(previous)).values()) - {None, *previous.values()}
    except Exception:  # noqa: BLE001 - the engine's trouble: the error being raised says so
        moved = set()
    for reference, old_id in previous.items():
        try:
            if old_id is None:
                client.images.remove(reference, noprune=True)
            else:
                name, tag = split_reference(reference)
                client.images.get(old_id).tag(name, tag)
        except Exception:  # noqa: BLE001 - best effort while another error propagates
            pass
    for image_id in sorted(i for i in moved if i):
        remove_image(image_id, only_untagged=True, client=client)
