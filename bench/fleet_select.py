"""Fleet bookkeeping at scale (issue 14): how long imagespec takes to load a fleet of N
specs (discover, compile, link), write its bake file, and select the specs changed since
a git revision (`--changed-since REV`, after a company-template change), in one process
as `imagespec bake` and `--changed-since` run. No engine.

    python bench/fleet_select.py [--sizes 100,500,1000,2000] [--runs 3] [--no-markdown]

The fleet: N specs in a temporary git repository, in folders of 50; a fifth extend a
company template, one spec in 25 is a base that the next 4 build FROM (graph edges), the
rest are plain apps on the catalog's static image. 10,000 specs are extrapolated from the
measured growth (a least-squares line through the sizes measured: the work is per spec).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
from markdown_block import replace_block  # noqa: E402

MARKDOWN = ROOT / "BENCHMARKS.md"
BEGIN, END = "<!-- BEGIN fleet-select -->", "<!-- END fleet-select -->"
HEADING = "## Fleet (issue 14)"
CATALOG = ROOT / "bases" / "catalog.local.yaml"
TEMPLATE = "license: Apache-2.0\nfinal:\n  from: static\n  labels: {com.example.owner: platform-team}\n"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.invalid", *args], cwd=root, check=True,
                   capture_output=True)


def make_fleet(root: Path, count: int) -> None:
    (root / "templates").mkdir(parents=True)
    (root / "templates" / "company-app.yaml").write_text(TEMPLATE)
    # the catalog committed with the fleet: a found configuration names catalogs in its repository only
    (root / "catalog.yaml").write_text(CATALOG.read_text())
    (root / ".imagespec.yaml").write_text("catalog: catalog.yaml\nbuild: {network: host}\n")
    for index in range(count):
        folder = root / f"team{index // 50:03d}" / f"app{index:05d}"
        folder.mkdir(parents=True)
        (folder / "bin").write_text("binary\n")
        name = f"fleet-app{index:05d}"
        if index % 25 == 0:
            text = f"name: {name}\nversion: 1.0.0\nfinal: {{from: debian-slim, copy: [{{src: bin, dest: /bin1}}], " \
                   "entrypoint: [/bin1]}\n"
        elif index % 25 < 5:
            base = f"fleet-app{index - index % 25:05d}:1.0.0"
            text = f"name: {name}\nversion: 1.0.0\nfinal: {{from: {{image: '{base}', family: debian, user: 65532}}, " \
                   "copy: [{src: bin, dest: /bin1}], entrypoint: [/bin1]}\n"
        elif index % 5 == 0:
            text = f"extends: company-app\nname: {name}\nversion: 1.0.0\nfinal:\n  copy: [{{src: bin, dest: /b}}]\n" \
                   "  entrypoint: [/b]\n"
        else:
            text = f"name: {name}\nversion: 1.0.0\nfinal: {{from: static, copy: [{{src: bin, dest: /b}}], " \
                   "entrypoint: [/b]}\n"
        (folder / "imagespec.yaml").write_text(text)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "fleet")


def _timed(action):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = action()
    return value, time.perf_counter() - start


def measure(count: int) -> dict[str, float | int]:
    """Cold (no result cache: every spec compiled), then the cache filled, then a company
    template changed (not committed) and the fleet loaded again: the specs on the
    template compile afresh, the others come from the cache."""
    from imagespec.fleet import load_fleet
    from imagespec.fleet.bake import bake_text
    from imagespec.fleet.changes import select_changed

    with tempfile.TemporaryDirectory(prefix="isx14a-fleet-") as tmp:
        root, here = Path(tmp) / "repo", os.getcwd()
        make_fleet(root, count)
        os.environ["IMAGESPEC_CACHE_DIR"] = str(Path(tmp) / "cache")
        os.chdir(root)
        try:
            fleet, cold = _timed(lambda: load_fleet([Path(".")], use_cache=False))
            text, bake = _timed(lambda: bake_text(fleet, Path("docker-bake.json")))
            _, store = _timed(lambda: load_fleet([Path(".")]))
            _, warm = _timed(lambda: load_fleet([Path(".")]))
            (root / "templates" / "company-app.yaml").write_text(TEMPLATE.replace("platform-team", "platform"))
            changed, after_change = _timed(lambda: load_fleet([Path(".")]))
            (chosen, _why), select = _timed(lambda: select_changed(changed, "HEAD"))
        finally:
            os.chdir(here)
            del os.environ["IMAGESPEC_CACHE_DIR"]
    return {"specs": count, "load_cold_s": cold, "bake_s": bake, "load_store_s": store, "load_warm_s": warm,
            "load_after_change_s": after_change, "select_s": select, "edges": sum(len(t.parents) for t in fleet),
            "selected": len(chosen), "bake_kb": len(text) / 1024}


def _fit(rows: list[dict], key: str, at: int) -> float:
    xs, ys = [r["specs"] for r in rows], [r[key] for r in rows]
    slope = statistics.covariance(xs, ys) / statistics.variance(xs)
    return statistics.mean(ys) + slope * (at - statistics.mean(xs))


def _loads(rows: list[dict]) -> str:
    return ", ".join(f"{r['load_average']:.1f}" if "load_average" in r else "?" for r in rows)


COLUMNS = (("load_cold_s", "cold load"), ("load_store_s", "first load (fills the cache)"), ("bake_s", "bake file"),
           ("load_warm_s", "warm load"), ("load_after_change_s", "load after the change"), ("select_s", "select"))


def markdown(rows: list[dict], runs: int) -> str:
    lines = [BEGIN, "",
             f"`python bench/fleet_select.py` on {platform.machine()} ({os.cpu_count()} cores, shared: load average "
             f"{_loads(rows)} after each size), the minimum of {runs} runs, Python "
             f"{platform.python_version()}, one process, after imagespec's imports; seconds. *cold load*: discover, "
             "compile every spec and link the graph without the result cache (IMAGESPEC_NO_CACHE); *first load*: "
             "the same, storing each spec's facts in the cache (what the CLI does on a CI runner's first run); "
             "*bake file*: the bake file's text from the loaded fleet; *warm load*: the load when the cache holds "
             "every spec's facts and nothing changed; *load after the change*: after a change to the company "
             "template (a fifth of the specs compile afresh); *select*: `--changed-since HEAD` on that fleet (git "
             "diff, the recorded inputs, the graph's dependants). `imagespec bake` costs a load + bake file, "
             "`--changed-since` a load + select.", "",
             "| specs | graph edges | " + " | ".join(title for _, title in COLUMNS) + " | selected | bake file (KiB) |",
             "|---:|---:|" + "---:|" * len(COLUMNS) + "---:|---:|"]
    for r in rows:
        lines.append(f"| {r['specs']:,} | {r['edges']} | " + " | ".join(f"{r[key]:.2f}" for key, _ in COLUMNS) +
                     f" | {r['selected']} | {r['bake_kb']:.0f} |")
    if len(rows) >= 2:
        lines.append("| 10,000 (linear fit) | | " + " | ".join(f"{_fit(rows, key, 10_000):.1f}" for key, _ in COLUMNS)
                     + " | | |")
    lines += ["", END]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,500,1000,2000")
    parser.add_argument("--runs", type=int, default=3, help="each size this often; the table shows each figure's "
                                                             "minimum (the machine is shared: the least disturbed run)")
    parser.add_argument("--no-markdown", action="store_true")
    parser.add_argument("--report", type=Path, default=None, help="rewrite the block from a results file, no run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fleet_select.json")
    args = parser.parse_args()
    import imagespec.fleet.bake  # noqa: F401  the imports are not what is measured
    import imagespec.compiler  # noqa: F401

    if args.report is not None:
        replace_block(MARKDOWN, BEGIN, END, markdown(json.loads(args.report.read_text()), args.runs), HEADING)
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        runs = [measure(size) for _ in range(args.runs)]
        row = {key: min(run[key] for run in runs) for key in runs[0]}
        row["load_average"] = os.getloadavg()[0]
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
        rows.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    if not args.no_markdown:
        replace_block(MARKDOWN, BEGIN, END, markdown(rows, args.runs), HEADING)


if __name__ == "__main__":
    main()
