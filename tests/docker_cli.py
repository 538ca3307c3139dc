"""The docker CLI as the tests call it: its output captured, and a failure that says the
engine's own words (an exit status alone, 125, says nothing of why)."""

from __future__ import annotations

import subprocess


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=timeout)
    assert not check or done.returncode == 0, f"docker {' '.join(args)}: exit {done.returncode}: {done.stderr[-2000:]}"
    return done
