"""Java archives in an image: what their ``META-INF`` says they are.

Role: a jar's bytes in, Components out. ``META-INF/maven/GROUP/ARTIFACT/pom.properties``
names a Maven artifact exactly (a shaded jar holds several); without one, the manifest's
``Implementation-Title``/``-Version`` or ``Bundle-SymbolicName``/``Bundle-Version`` name
it. Jars nested in a jar (Spring Boot's ``BOOT-INF/lib``, a war's ``WEB-INF/lib``) are
read too, one level down. Pure. May import: the standard library and its own package.
"""

from __future__ import annotations

import io
import re
import zipfile

from imagespec.sbom.component import Component
from imagespec.sbom.spdx_license import expression

ARCHIVE = re.compile(r".+\.(?:jar|war|ear)")
_POM = re.compile(r"META-INF/maven/[^/]+/[^/]+/pom\.properties")
_NESTED = re.compile(r"(?:BOOT-INF|WEB-INF)/lib/[^/]+\.jar")
_ARTIFACT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: a nested jar bigger than this is skipped rather than held in memory
_MAX_NESTED = 64 << 20


def is_archive(path: str) -> bool:
    return ARCHIVE.fullmatch(path) is not None


def archives(data: bytes, location: str, *, depth: int = 0) -> list[Component]:
    """The artifacts a jar (war, ear) declares; [] when it is not a zip or declares none."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        return []
    with archive:
        names = archive.namelist()
        found = [c for name in sorted(names) if _POM.fullmatch(name)
                 for c in [_from_pom(_text(archive, name), location)] if c]
        manifest = _manifest(_text(archive, "META-INF/MANIFEST.MF")) if "META-INF/MANIFEST.MF" in names else {}
        if not found:
            from_manifest = _from_manifest(manifest, location)
            found += [from_manifest] if from_manifest else []
        elif manifest.get("bundle-license"):
            licences = _licenses(manifest)
            found = [_with_licenses(c, licences) for c in found]
        if depth == 0:
            for name in sorted(n for n in names if _NESTED.fullmatch(n)):
                info = archive.getinfo(name)
                if info.file_size <= _MAX_NESTED:
                    found += archives(archive.read(name), f"{location}!/{name}", depth=1)
    return found


def _text(archive: zipfile.ZipFile, name: str) -> str:
    return archive.read(name).decode("utf-8", "replace")


def _from_pom(text: str, location: str) -> Component | None:
    fields = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            fields[key.strip()] = value.strip()
    group, artifact, version = fields.get("groupId"), fields.get("artifactId"), fields.get("version")
    if not group or not artifact or not version:
        return None
    return Component("maven", artifact, version, location=location, group=group)


def _manifest(text: str) -> dict[str, str]:
    """MANIFEST.MF's main section: names lower-cased, 72-byte continuation lines joined."""
    fields: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            break  # the main section ends at the first blank line
        if line.startswith(" ") and last:
            fields[last] += line[1:]
        elif ":" in line:
            key, _, value = line.partition(":")
            last = key.strip().lower()
            fields[last] = value.strip()
    return fields


def _from_manifest(fields: dict[str, str], location: str) -> Component | None:
    name = fields.get("bundle-symbolicname", "").split(";")[0].strip() or fields.get("implementation-title", "")
    version = fields.get("implementation-version") or fields.get("bundle-version")
    if not name or not version:
        return None
    if not _ARTIFACT.fullmatch(name):  # a title in words ("Java Runtime Environment"): the file's name says more
        name = re.sub(r"-\d[^/]*$", "", location.rsplit("/", 1)[-1].removesuffix(".jar"))
    group = fields.get("implementation-vendor-id", "")
    return Component("maven", name, version, _licenses(fields), location=location, group=group)


def _licenses(fields: dict[str, str]) -> tuple[str, ...]:
    # Bundle-License is a list of licences, each maybe with ;link=… attributes, or a URL
    raw = fields.get("bundle-license", "")
    names = [part.split(";")[0].strip() for part in raw.split(",")]
    found = [expression(n) for n in names if n and "://" not in n]
    return tuple(sorted({f for f in found if f}))


def _with_licenses(component: Component, licences: tuple[str, ...]) -> Component:
    from dataclasses import replace

    return replace(component, licenses=licences)
