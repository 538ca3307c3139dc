"""How long each hostile input takes to be refused, and the peak memory it costs
(issue 11: within 2 s and 200 MB, exit 2). Not a test: tests never time things.

    python bench/input_bounds.py            # every case through `imagespec generate` and `base check`

Each row is one new process (`/usr/bin/time`-style figures from the child's rusage):
the wall time includes the interpreter's start (~0.3-0.5 s), the memory is the
process's peak RSS. The cases are those of tests/compiler/test_input_bounds.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "compiler"))

from test_input_bounds import BAD, BASE, SPEC  # noqa: E402


def _measure(args: list[str], cwd: Path) -> tuple[int, float, float, float]:
    """(exit code, wall seconds, CPU seconds, peak MB) of one imagespec process. CPU time
    is what a busy shared machine does not inflate."""
    script = Path(sys.executable).with_name("imagespec")
    env = {**os.environ, "IMAGESPEC_NO_CACHE": "1"}
    env.pop("IMAGESPEC_CONFIG", None)
    start = time.perf_counter()
    child = subprocess.Popen([str(script), *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    return os.waitstatus_to_exitcode(status), seconds, cpu, usage.ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    print(f"{'case':<22} {'command':<12} {'exit':>4} {'wall (s)':>8} {'CPU (s)':>7} {'peak (MB)':>9}")
    worst_time = worst_memory = 0.0
    for case, (make, _message) in sorted(BAD.items()):
        for command, first, name, other in (("generate", "name: hello", "app.yaml", ("base.yaml", BASE)),
                                            ("base check", "base: tiny", "base.yaml", ("app.yaml", SPEC))):
            with tempfile.TemporaryDirectory() as folder:
                here = Path(folder)
                (here / ".git").mkdir()
                (here / other[0]).write_text(other[1], encoding="utf-8")
                (here / name).write_text(make(first), encoding="utf-8")
                code, seconds, cpu, memory = _measure([*command.split(), name], here)
            worst_time, worst_memory = max(worst_time, seconds), max(worst_memory, memory)
            print(f"{case:<22} {command:<12} {code:>4} {seconds:>8.2f} {cpu:>7.2f} {memory:>9.1f}")
    print(f"worst: {worst_time:.2f} s, {worst_memory:.0f} MB "
          f"(target: 2 s, 200 MB; machine load {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
