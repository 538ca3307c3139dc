"""What a test's runs may leave behind. In the engine: the images whose tags a later build
of the same spec took. They are nobody's then (untagged), and each run of the suite left a
few hundred of them; a test removes its own, found by the title label its specs give them
(org.opencontainers.image.title: the spec's name), never anyone else's. On the machine:
a build step's processes, which must end with the run that started them."""

from __future__ import annotations

import subprocess
from pathlib import Path

TITLE = "org.opencontainers.image.title"


def untagged(*prefixes: str) -> list[str]:
    """The IDs of the untagged images whose title starts with one of ``prefixes``."""
    listed = _docker("images", "-q", "--no-trunc", "--filter", "dangling=true", "--filter", f"label={TITLE}").split()
    if not listed:
        return []
    shown = _docker("image", "inspect", "--format", f'{{{{.Id}}}} {{{{index .Config.Labels "{TITLE}"}}}}',
                    *dict.fromkeys(listed))
    return [line.split(" ", 1)[0] for line in shown.splitlines()
            if " " in line and line.split(" ", 1)[1].startswith(prefixes)]


def remove_untagged(*prefixes: str) -> None:
    """Remove the untagged images whose title starts with one of ``prefixes`` (without
    force: one a container still uses stays)."""
    mine = untagged(*prefixes)
    if mine:
        _docker("rmi", *mine)


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False).stdout


def processes_with(marker: str) -> list[int]:
    """The PIDs of the processes whose command line holds ``marker`` (a build step's shell
    runs on the host, in BuildKit's namespaces, so /proc shows it)."""
    hits = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    hits.append(int(entry.name))
            except OSError:  # ended while listed
                continue
    return hits
