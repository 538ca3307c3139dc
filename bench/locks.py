"""`imagespec lock` and `imagespec outdated` on a fleet: N specs on B bases in the local
registry (127.0.0.1:5000): wall time and registry requests of each, before and after one base
moves. Writes the "Locks" section of BENCHMARKS.md (--markdown FILE: elsewhere).

    python bench/locks.py [--specs 500] [--bases 20]

Needs the engine, the local bases (scripts/make-bases.sh) and the registry
(scripts/start-registry.sh). Pushes B tags of one small image under REPOSITORY-RUNID
(--repository; the layers are the local python-slim base's, pushed once), removes its local
tags after.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from markdown_block import replace_block  # noqa: E402

BASE = "imagespec-test/python-slim:bookworm"
ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(args, capture_output=True, text=True, input=stdin, timeout=900, check=False)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(args[:3])}…: exit {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def imagespec(*args: str) -> tuple[float, dict]:
    start = time.perf_counter()
    out = run(sys.executable, "-m", "imagespec", *args, "--format", "json")
    return time.perf_counter() - start, json.loads(out)


def push(reference: str, marker: str) -> None:
    with tempfile.TemporaryDirectory() as context:
        Path(context, "marker").write_text(marker)
        Path(context, "Dockerfile").write_text(f"FROM {BASE}\nCOPY marker /etc/marker\n")
        run("docker", "build", "-q", "--network", "host", "-t", reference, context)
    run("docker", "push", "-q", reference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=500)
    parser.add_argument("--bases", type=int, default=20)
    parser.add_argument("--repository", default="127.0.0.1:5000/imagespec-bench/locks")
    parser.add_argument("--markdown", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    repository = f"{args.repository}-{secrets.token_hex(3)}"
    bases = [f"{repository}:b{i}" for i in range(args.bases)]
    try:
        for base in bases:
            push(base, "v1")
        with tempfile.TemporaryDirectory() as folder:
            specs = []
            for i in range(args.specs):
                spec = Path(folder, f"s{i:04d}", "imagespec.yaml")
                spec.parent.mkdir()
                spec.write_text(f"name: bench/s{i}\ntags: {{git_sha: false}}\nfinal:\n"
                                f"  from: {{image: \"{bases[i % args.bases]}\", family: debian}}\n"
                                "  entrypoint: [/app]\n")
                specs.append(str(spec))
            rows = []
            seconds, report = imagespec("lock", *specs)
            rows.append(("lock (every base new)", seconds, report["requests"], len(report["written"])))
            seconds, report = imagespec("outdated", *specs)
            rows.append(("outdated (nothing moved)", seconds, report["requests"], len(report["stale"])))
            push(bases[0], "v2")
            seconds, report = imagespec("outdated", *specs)
            rows.append(("outdated (one base moved)", seconds, report["requests"], len(report["stale"])))
            seconds, report = imagespec("lock", "--update", *specs)
            rows.append(("lock --update", seconds, report["requests"], len(report["written"])))
    finally:
        for base in bases:
            subprocess.run(["docker", "rmi", "-f", base], capture_output=True, check=False)
    table = [f"{args.specs} specs on {args.bases} bases in the local registry, 2-core machine, whole command "
             "(start-up and compiling every spec included):", "",
             "| command | seconds | registry requests | specs written / stale |", "|---|---|---|---|"]
    table += [f"| `{name}` | {seconds:.1f} | {requests} | {count} |" for name, seconds, requests, count in rows]
    print("\n".join(table))
    begin, end = "<!-- BEGIN locks (bench/locks.py) -->", "<!-- END locks -->"
    replace_block(args.markdown, begin, end, "\n".join([begin, *table, end]),
                  "## Locks (`bench/locks.py`, issue 15)")


if __name__ == "__main__":
    main()
