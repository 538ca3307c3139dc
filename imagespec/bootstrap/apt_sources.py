"""Where Debian packages come from: the mirror for a suite, and what it says about it.

The mirror is never hard-coded: CI and developer machines point at different ones.
Chosen in this order: the base spec, the configuration (`bases.mirror`),
$IMAGESPEC_MIRROR, then the machine's own apt sources (deb822 *.sources first, then
one-line *.list files). A suite the mirror does not have is the spec's mistake (exit 2);
a mirror that does not answer is the machine's trouble (exit 3).

May import: the standard library and ``imagespec.errors``.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

from imagespec.errors import SourceUnreachable, SpecError

ENV_VAR = "IMAGESPEC_MIRROR"
APT_DIR = Path("/etc/apt")
TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Release:
    """A suite's Release file, as the mirror serves it."""

    mirror: str
    suite: str
    codename: str
    date: int  # seconds since the epoch: a reproducible SOURCE_DATE_EPOCH for this mirror state
    components: tuple[str, ...]
    architectures: tuple[str, ...] = ()  # Debian's names (amd64, arm64): the packages the mirror has


def _deb822_sources(text: str) -> list[dict[str, str]]:
    paragraphs: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if current:
                paragraphs.append(current)
            current = {}
        elif not line.startswith("#") and ":" in line and not line[0].isspace():
            key, _, value = line.partition(":")
            current[key.strip().lower()] = value.strip()
    return paragraphs


def _from_deb822(text: str, suite: str) -> str | None:
    for source in _deb822_sources(text):
        if source.get("enabled", "yes").lower() == "no" or "deb" not in source.get("types", "").split():
            continue
        if suite in source.get("suites", "").split() and source.get("uris"):
            return source["uris"].split()[0]
    return None


def _from_list(text: str, suite: str) -> str | None:
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        rest = words[1:]
        if rest and rest[0].startswith("["):  # options: [arch=amd64 signed-by=...]
            while rest and not rest[0].endswith("]"):
                rest = rest[1:]
            rest = rest[1:]
        if len(rest) >= 2 and rest[1] == suite:
            return rest[0]
    return None


def machine_mirror(suite: str, apt_dir: Path = APT_DIR) -> str | None:
    """The URI this machine's apt sources use for `suite`, if any."""
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        found = _from_deb822(path.read_text(errors="replace"), suite)
        if found:
            return found.rstrip("/")
    for path in [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]:
        if path.is_file():
            found = _from_list(path.read_text(errors="replace"), suite)
            if found:
                return found.rstrip("/")
    return None


def choose_mirror(suite: str, *, spec: str | None, configured: str | None) -> str:
    # `configured`: the configuration's `bases.mirror`, else $IMAGESPEC_MIRROR (imagespec.settings)
    for chosen in (spec, configured):
        if chosen:
            return chosen.rstrip("/")
    # a machine on another release still names a Debian mirror, which serves every suite
    found = machine_mirror(suite) or _any_debian_mirror()
    if found is None:
        raise SpecError(f"no Debian mirror known for suite '{suite}'",
                        hint=f"set `mirror:` in the base spec, `bases.mirror` in the configuration, or ${ENV_VAR}")
    return found


def _any_debian_mirror() -> str | None:
    try:
        codename = next(line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
                        if line.startswith("VERSION_CODENAME="))
    except (OSError, StopIteration):
        return None
    return machine_mirror(codename)


def fetch_release(mirror: str, suite: str, *, timeout: float = TIMEOUT_S) -> Release:
    """Read dists/SUITE/InRelease (or Release): the suite exists, and its date."""
    text = None
    for name in ("InRelease", "Release"):
        url = f"{mirror}/dists/{suite}/{name}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http/file mirrors)
                text = response.read().decode("utf-8", "replace")
            break
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise SourceUnreachable(f"mirror {mirror} answered {exc.code} for {url}",
                                        hint="check the mirror, or choose another with `mirror:`") from None
        except FileNotFoundError:
            continue
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SourceUnreachable(f"mirror {mirror} cannot be reached: {reason}",
                                    hint=f"check the address and the network; set `mirror:` or ${ENV_VAR}") from None
    if text is None:
        raise SpecError(f"the mirror has no suite '{suite}' ({mirror}/dists/{suite}/InRelease: not found)",
                        hint="use a Debian release name (bookworm, trixie) or suite (stable, testing)")
    return _parse_release(mirror, suite, text)


def _parse_release(mirror: str, suite: str, text: str) -> Release:
    fields = dict(re.findall(r"^([A-Za-z-]+): *(.*)$", text, flags=re.MULTILINE))
    try:
        date = int(parsedate_to_datetime(fields["Date"]).timestamp())
    except (KeyError, TypeError, ValueError):
        raise SourceUnreachable(f"{mirror}/dists/{suite}: a Release file without a valid Date",
                                hint="the mirror may be broken or not a Debian archive") from None
    return Release(mirror, suite, fields.get("Codename", suite), date, tuple(fields.get("Components", "main").split()),
                   tuple(fields.get("Architectures", "").split()))
