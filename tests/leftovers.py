"""What a test's rebuilds leave in the engine: the images whose tags a later build of the
same spec took. They are nobody's then (untagged), and each run of the suite left a few
hundred of them; a test removes its own, found by the title label its specs give them
(org.opencontainers.image.title: the spec's name), never anyone else's."""

from __future__ import annotations

import subprocess

TITLE = "org.opencontainers.image.title"


def remove_untagged(*prefixes: str) -> None:
    """Remove the untagged images whose title starts with one of ``prefixes`` (without
    force: one a container still uses stays)."""
    listed = _docker("images", "-q", "--no-trunc", "--filter", "dangling=true", "--filter", f"label={TITLE}").split()
    if not listed:
        return
    shown = _docker("image", "inspect", "--format", f'{{{{.Id}}}} {{{{index .Config.Labels "{TITLE}"}}}}',
                    *dict.fromkeys(listed))
    mine = [line.split(" ", 1)[0] for line in shown.splitlines()
            if " " in line and line.split(" ", 1)[1].startswith(prefixes)]
    if mine:
        _docker("rmi", *mine)


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False).stdout
