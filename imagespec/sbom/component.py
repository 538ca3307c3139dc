"""One package found in an image, whatever its ecosystem, and its package URL.

Role: the record every scanner returns (Debian, PyPI, npm, Go, Cargo, Maven) and the
writers (SPDX, CycloneDX) and ``diff`` read. Pure. May import: the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

#: purl types (https://github.com/package-url/purl-spec) of the ecosystems read
ECOSYSTEMS = ("cargo", "deb", "golang", "maven", "npm", "pypi")


@dataclass(frozen=True)
class Component:
    """A package in an image. ``name`` is the ecosystem's own (``@scope/pkg``, a Go module
    path, ``markupsafe``); ``group`` is Maven's groupId; ``licenses`` are SPDX expressions
    (LicenseRef-… where the package's words are not an SPDX id); ``location`` is where in
    the image (or the build) it was read; ``note`` says anything a reader must know (a Go
    module replaced by a local directory); ``evidence`` is set when the record does not
    come from the image's file system alone, and says where it came from (a build stage's
    package database, the build plan): the writers mark such records."""

    ecosystem: str
    name: str
    version: str
    licenses: tuple[str, ...] = ()
    location: str = ""
    group: str = ""
    architecture: str = ""
    note: str = ""
    evidence: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What makes two records the same package for ``diff`` (the version aside)."""
        return (self.ecosystem, self.group, self.name, self.architecture)

    @property
    def display_name(self) -> str:
        return f"{self.group}:{self.name}" if self.group else self.name

    @property
    def purl(self) -> str:
        namespace, name = self.group, self.name
        if self.ecosystem == "deb":
            namespace = "debian"
        elif self.ecosystem == "npm" and name.startswith("@") and "/" in name:
            namespace, name = name.split("/", 1)
        elif self.ecosystem == "golang" and "/" in name:
            namespace, name = name.rsplit("/", 1)
        elif self.ecosystem == "pypi":
            name = normalize_python_name(name)
        text = f"pkg:{self.ecosystem}/"
        if namespace:
            text += "/".join(_quote(part) for part in namespace.split("/")) + "/"
        text += _quote(name)
        if self.version:
            text += f"@{_quote(self.version)}"
        if self.architecture:
            text += f"?arch={_quote(self.architecture)}"
        return text


def normalize_python_name(name: str) -> str:
    """PEP 503's normal form (``MarkupSafe`` and ``markup_safe`` are ``markupsafe``, ``markup-safe``)."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def _quote(value: str) -> str:
    # as the purl spec says: "+" encoded, ":" kept (Debian epochs)
    return quote(value, safe=":")
