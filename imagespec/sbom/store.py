"""An app image's SBOM on the engine: made from its file system, stored in it, read back.

Role: ``image_document`` exports a local image (``docker export`` of a created, never
started container) and scans it in one pass; ``sbom_layer`` lays out the build context
and Dockerfile of the one-layer image that stores the document where the bases store
theirs (``SBOM_DIR``, named by the ``LABEL_SBOM`` label); ``stored`` reads it back.

Why a layer on top: the SBOM describes the built file system, so it can only exist after
the build; writing it into the image afterwards without a new layer would mean editing
a layer (and its digest) in place, which the classic docker image store cannot do. The
extra layer is a few kB, its content is deterministic (so BuildKit's cache reuses it
when nothing changed), and the tags go to the image that has it, all or nothing.

May import: the standard library, ``imagespec.errors``, ``imagespec.engine`` and its
own package; ``docker`` only inside functions.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import re
import tarfile
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagespec.contract import LABEL_OCI_LICENSES, LABEL_OCI_TITLE, LABEL_OCI_VERSION, LABEL_SBOM, SBOM_DIR
from imagespec.engine.client import connect, engine_errors, remove_container
from imagespec.errors import SpecError
from imagespec.sbom.component import Component
from imagespec.sbom.document import FORMATS, SUFFIX, App, document
from imagespec.sbom.dpkg import Package, Rootfs, _installed, stanzas
from imagespec.sbom.executable import Executable
from imagespec.sbom.scan import SCANNERS, Scan, Visit, scan_rootfs
from imagespec.sbom.spdx import CONTAINER_LABEL, export_with
from imagespec.verify.files import write_whole

if TYPE_CHECKING:  # pragma: no cover
    import docker

#: the image's own fields, for an image imagespec did not build (imagespec sbom IMAGE)
_TITLE, _VERSION, _LICENSES = LABEL_OCI_TITLE, LABEL_OCI_VERSION, LABEL_OCI_LICENSES


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise SpecError(f"unknown SBOM format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    return fmt


def scan_image(image: str, *, client: docker.DockerClient | None = None, visit: Visit | None = None) -> Scan:
    """Every package ``image``'s file system records (EngineError for engine trouble);
    ``visit`` sees each member of the same pass (scan.scan_rootfs)."""
    return export_with(image, lambda stream: scan_rootfs(stream, visit), client=client)


def layers_of(image: str, *, client: docker.DockerClient | None = None) -> list[str]:
    """The image's layer diff IDs: hashes of their content, what its file system is made of."""
    return list(_attrs(image, client).get("RootFS", {}).get("Layers") or [])


def scan_cached(image: str, cache: Path | None, *, client: docker.DockerClient | None = None,
                visit: Visit | None = None) -> Scan:
    """``scan_image``, remembered under ``cache`` by the image's layers (their diff IDs
    are hashes of their content): a rebuild that changed only metadata (a label, ENV)
    has the same file system, and reads it in a few milliseconds instead of exporting it.
    With ``visit`` the image is read (and the scan remembered again): its caller wants
    every member."""
    if cache is None:
        return scan_image(image, client=client, visit=visit)
    key = hashlib.sha256(json.dumps([SCANNERS, layers_of(image, client=client)]).encode()).hexdigest()
    path = cache / f"{key}.json"
    if visit is None:
        try:
            return _scan_from(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError):
            pass  # absent, or written by another version: read the image
    scan = scan_image(image, client=client, visit=visit)
    write_whole(path, json.dumps({"components": [asdict(c) for c in scan.components()], "notes": scan.notes,
                                  "executables": [asdict(e) for e in scan.executables]}))
    return scan


def _scan_from(data: dict[str, Any]) -> Scan:
    found = [Component(**{**c, "licenses": tuple(c["licenses"])}) for c in data["components"]]
    return Scan(found=found, notes=list(data["notes"]),
                executables=[Executable(**e) for e in data["executables"]])


def created_time(image: str, epoch: str | int | None = None, *, client: docker.DockerClient | None = None) -> str:
    """SOURCE_DATE_EPOCH when set, else the image's own creation time, as RFC 3339 UTC."""
    if epoch is not None and str(epoch).isdigit():
        return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(_attrs(image, client).get("Created", ""))[:19] + "Z"


def image_document(image: str, app: App, fmt: str = "spdx", *, created: str | None = None,
                   extra: Sequence[Component] = (), client: docker.DockerClient | None = None) -> dict[str, Any]:
    """The SBOM of a local image: its packages plus ``extra`` (records the image cannot
    hold, such as the crates of the Cargo.lock a Rust binary was built from)."""
    scan = scan_image(image, client=client)
    return document(check_format(fmt), app, [*scan.components(), *extra],
                    created=created or created_time(image, client=client), notes=scan.notes)


def app_of_image(image: str, *, client: docker.DockerClient | None = None) -> App:
    """The described package of an image from its OCI labels (title, version, licences),
    else its reference."""
    labels = _attrs(image, client).get("Config", {}).get("Labels") or {}
    name = labels.get(_TITLE) or image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
    return App(name, labels.get(_VERSION, ""), labels.get(_LICENSES, ""), image)


def file_name(name: str, fmt: str) -> str:
    return f"{name}{SUFFIX[fmt]}"


def path_in_image(name: str, fmt: str) -> str:
    """Where an app image named ``name`` keeps its own SBOM (the ``LABEL_SBOM`` label's value)."""
    return f"{SBOM_DIR}/{file_name(name, fmt)}"


def sbom_layer(context: Path, base: str, name: str, text: str, fmt: str, epoch: int | None) -> tuple[str, str]:
    """Write the SBOM into ``context`` (as it will sit in the image) and return the
    Dockerfile that adds it on ``base``, and the path in the image."""
    in_image = path_in_image(name, fmt)
    target = context / in_image.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    mtime = epoch or 0  # the same mtimes every time: the same layer from the same SBOM
    for path in [target, *target.parents]:
        if path == context:
            break
        os.utime(path, (mtime, mtime))
    dockerfile = (f"# The SBOM of {name} (BP16), made from the built image's file system by imagespec build\n"
                  f"FROM {base}\nCOPY usr/ /usr/\n")
    return dockerfile, in_image


def stored(image: str, *, client: docker.DockerClient | None = None) -> tuple[str, str] | None:
    """(path, text) of the SBOM an image carries (its ``LABEL_SBOM`` label); None without."""
    labels = _attrs(image, client).get("Config", {}).get("Labels") or {}
    path = labels.get(LABEL_SBOM)
    if not path:
        return None
    client = client or connect()
    with engine_errors(f"read {path} from {image}"):
        container = client.containers.create(image, entrypoint=["/imagespec-never-runs"], network_mode="none")
        try:
            chunks, _ = container.get_archive(path)
            with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
                member = archive.next()
                handle = archive.extractfile(member) if member else None
                return path, handle.read().decode("utf-8") if handle else ""
        finally:
            remove_container(container)


def format_of(text: str) -> str:
    return "cyclonedx" if '"bomFormat"' in text[:4096] or '"CycloneDX"' in text else "spdx"


def _own(image: str, path: str, client: docker.DockerClient | None) -> bool:
    """Whether the stored SBOM is the image's own: a label inherited from a base names the
    base's file (both are named after the image's title), which describes the base only."""
    labels = _attrs(image, client).get("Config", {}).get("Labels") or {}
    title = labels.get(_TITLE)
    # the whole path: a spec named ``team/app`` stores ``…/sbom/team/app.spdx.json``
    return not title or path in (path_in_image(title, f) for f in FORMATS)


def _attrs(image: str, client: docker.DockerClient | None) -> dict[str, Any]:
    client = client or connect()
    with engine_errors(f"inspect {image}"):  # a missing image is a SpecError (exit 2)
        return dict(client.images.get(image).attrs)


def image_argument(text: str) -> str:
    """``text`` when it names a local image (a reference, or an image ID ``sha256:…``);
    SpecError (exit 2) otherwise, before the engine is asked."""
    from imagespec import reference

    if re.fullmatch(r"(sha256:)?[a-f0-9]{12,64}", text):
        return text
    try:
        reference.parse(text)
    except reference.Invalid as error:
        raise SpecError(str(error), hint=error.hint or "name a local image: NAME[:TAG], or its ID") from None
    return text


def document_of(image: str, fmt: str | None = None, *,
                client: docker.DockerClient | None = None) -> tuple[dict[str, Any], bool]:
    """(the SBOM of ``image``, whether it was the one stored in it). The stored one when
    the image carries one (in ``fmt``, when given); otherwise one made from its file
    system now, named after its OCI labels. SpecError when the image does not exist."""
    image_argument(image)
    found = stored(image, client=client)
    if found is not None and _own(image, found[0], client) and (fmt is None or format_of(found[1]) == fmt):
        return json.loads(found[1]), True
    return image_document(image, app_of_image(image, client=client), fmt or "spdx", client=client), False


def image_packages(image: str, names: Sequence[str], cache: Path | None = None, *,
                   client: docker.DockerClient | None = None) -> tuple[Package, ...] | None:
    """The Debian packages ``names`` as a local image's dpkg status records them, with the
    licences of their copyright files (two small files read from a created, never started
    container, not the whole file system; remembered under ``cache`` by the image's ID);
    None when the engine has no such image (a build stage's image that BuildKit pulled
    into its own store only)."""
    try:
        identity = str(_attrs(image, client).get("Id", ""))
    except SpecError:
        return None
    path = cache / f"packages-{hashlib.sha256(json.dumps([SCANNERS, identity, sorted(names)]).encode()).hexdigest()}.json" \
        if cache else None
    try:
        if path is not None:
            return tuple(Package(**{**p, "licenses": tuple(p["licenses"])})
                         for p in json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError):
        pass  # absent, or written by another version: read the image
    found = _read_packages(image, names, client)
    if path is not None and found is not None:
        write_whole(path, json.dumps([asdict(p) for p in found]))
    return found


def _read_packages(image: str, names: Sequence[str], client: docker.DockerClient | None) -> tuple[Package, ...] | None:
    import docker.errors

    client = client or connect()
    try:
        container = client.containers.create(image, entrypoint=["/imagespec-never-runs"], network_mode="none",
                                             labels={CONTAINER_LABEL: "1"})
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as error:
        if error.status_code == 404:  # the engine names a missing image in words, not in a type
            return None
        raise
    try:
        with engine_errors(f"read the dpkg status of {image}"):
            rootfs = Rootfs(records=[s for s in stanzas(_file(container, "/var/lib/dpkg/status") or "")
                                     if s.get("package") in names and _installed(s.get("status", ""))])
            for record in rootfs.records:
                path = f"usr/share/doc/{record['package']}/copyright"
                text = _file(container, f"/{path}")
                if text is not None:
                    rootfs.copyrights[path] = text
    finally:
        with engine_errors(f"remove the container of {image}"):
            remove_container(container)
    return tuple(rootfs.packages())


def _file(container: Any, path: str) -> str | None:
    """The text of one file in a container (symlinks followed), None when it is not there."""
    import docker.errors

    try:
        chunks, _ = container.get_archive(path)
        data = b"".join(chunks)
    except docker.errors.NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        member = archive.next()
        if member is not None and member.issym():  # the archive holds the link itself
            target = posixpath.normpath(posixpath.join(posixpath.dirname(path), member.linkname))
            return _file(container, target) if target != path else None
        handle = archive.extractfile(member) if member else None
        return handle.read(4 << 20).decode("utf-8", "replace") if handle else None
