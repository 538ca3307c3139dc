"""Mutation testing of the compiler's passes and of `imagespec test`'s checks, with
cosmic-ray (PyPI): each mutant is one small bug; a test must fail for it.

    python bench/mutation.py                          # every group (~1-2 h on 2 busy cores)
    python bench/mutation.py passes dockerignore      # some groups
    python bench/mutation.py --report                 # summarise the runs in --workdir (also partial ones)
    python bench/mutation.py --resume passes          # finish an interrupted run; re-judge its
                                                      # survivors with the current tests

Needs cosmic-ray in this interpreter's environment: `pip install 'cosmic-ray>=8.7'`.
Not in CI. Each group mutates its modules in a private copy of the checkout (git's
tracked files, plus bases/catalog.local.yaml when present), under
$TMPDIR/imagespec-mutation/<group>, so the working tree is never touched, and runs only
the tests that speak for those modules. Golden-file comparisons are left out on
purpose: a mutant counts as killed only when a test of behaviour or meaning fails
(test_golden.py and the example Dockerfiles pin text; issue #19). Results:
bench/results/mutation-<group>.json (per mutant) and a summary on stdout; the
survivors are discussed in docs/mutation.md.

Why cosmic-ray and not mutmut 3: mutmut's trampolines need the package importable from
its `mutants/` copy and its config in pyproject.toml; here its workers hung before the
first mutant. cosmic-ray mutates a copy in place and runs a plain command, one per group.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sqlite3
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
TOOL_BIN = Path(sys.executable).parent

# The compiler tests that judge meaning (no golden text, no CLI start-up timing, no
# randomized whole-spec properties that would take minutes per mutant).
COMPILER_TESTS = [
    "tests/compiler/test_pass_meaning.py", "tests/compiler/test_lower_meaning.py", "tests/compiler/test_run_semantics.py",
    "tests/compiler/test_dockerfile_parse.py", "tests/compiler/test_lint_rules.py",
    "tests/compiler/test_bases.py", "tests/compiler/test_extends.py", "tests/compiler/test_frozen.py",
    "tests/compiler/test_locked_presets.py", "tests/compiler/test_precompiled.py", "tests/compiler/test_invalid.py",
]

GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "passes": (["imagespec/plan/passes"], COMPILER_TESTS),
    "dockerignore": (["imagespec/plan/dockerignore.py"], COMPILER_TESTS),
    "verify-checks": (["imagespec/verify/checks.py"], ["tests/images/test_verify_checks.py"]),
    "lower": (["imagespec/plan/lower.py"], COMPILER_TESTS),
}

# One mutant per operator, not ten: `a + b` -> `a ** b` or `a >> b` on strings and
# tuples is a TypeError any test kills, and `str | None` annotations are never
# evaluated (postponed annotations), so BitOr mutants there are equivalent by construction.
KEEP_BINARY = ("Add_Sub", "Sub_Add", "Mul_Div", "Div_Mul")
KEEP_COMPARISON = ("Eq_NotEq", "NotEq_Eq", "Lt_LtE", "LtE_Lt", "Gt_GtE", "GtE_Gt", "Lt_Gt", "Gt_Lt",
                   "In_NotIn", "NotIn_In", "Is_IsNot", "IsNot_Is")
EXCLUDE = [
    rf"core/ReplaceBinaryOperator_(?!{'|'.join(KEEP_BINARY)}$).*",
    rf"core/ReplaceComparisonOperator_(?!{'|'.join(KEEP_COMPARISON)}$).*",
]


def _copy_checkout(work: Path) -> None:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    untracked = subprocess.run(["git", "ls-files", "-z", "--others", "--exclude-standard"], cwd=ROOT,
                               capture_output=True, check=True).stdout  # new tests not committed yet
    for name in {*files.split(b"\0"), *untracked.split(b"\0")} - {b""}:
        source = ROOT / name.decode()
        if source.is_file():
            (work / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, work / name.decode())
    catalog = ROOT / "bases" / "catalog.local.yaml"  # git-ignored; the [local] test cases need it
    if catalog.exists():
        shutil.copy2(catalog, work / "bases" / catalog.name)


def _config(modules: list[str], tests: list[str]) -> str:
    # `python -m pytest` from the copy: its imagespec comes first on sys.path
    command = [PYTHON, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    return "\n".join([
        "[cosmic-ray]",
        f"module-path = {json.dumps(modules)}",
        "timeout = 300.0",
        "excluded-modules = []",
        f"test-command = {json.dumps(' '.join(command))}",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "[cosmic-ray.filters.operators-filter]",
        f"exclude-operators = {json.dumps(EXCLUDE)}",
        "",
    ])


def _requeue_survivors(work: Path) -> None:
    """Tests written since the run: copy them in and judge the survivors again
    (a mutant with no result is pending for `cosmic-ray exec`)."""
    shutil.copytree(ROOT / "tests", work / "tests", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    with sqlite3.connect(work / "session.sqlite") as db:
        db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")


def run_group(name: str, base: Path, *, resume: bool = False) -> Path:
    modules, tests = GROUPS[name]
    work = base / name
    env = {**os.environ, "PATH": f"{TOOL_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("IMAGESPEC_CONFIG", None)

    def cosmic(*args: str) -> None:
        subprocess.run([str(TOOL_BIN / args[0]), *args[1:]], cwd=work, env=env, check=True)

    if resume and (work / "session.sqlite").exists():
        # only valid while the mutated modules are unchanged: positions come from `init`
        _requeue_survivors(work)
        (work / "cr.toml").write_text(_config(modules, tests))  # today's test selection
        cosmic("cosmic-ray", "baseline", "cr.toml")
    else:
        _copy_checkout(work)
        (work / "cr.toml").write_text(_config(modules, tests))
        cosmic("cosmic-ray", "init", "cr.toml", "session.sqlite")
        cosmic("cr-filter-operators", "session.sqlite", "cr.toml")
        cosmic("cosmic-ray", "baseline", "cr.toml")  # the tests pass unmutated, or nothing counts
    cosmic("cosmic-ray", "exec", "cr.toml", "session.sqlite")
    return dump_group(name, work)


def dump_group(name: str, work: Path) -> Path:
    """The session's outcomes, one row per mutant, into bench/results/mutation-<group>.json
    (also for a run that was stopped: its unjudged mutants count as not run)."""
    dump = subprocess.run([str(TOOL_BIN / "cosmic-ray"), "dump", "session.sqlite"], cwd=work,
                          capture_output=True, text=True, check=True).stdout
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"mutation-{name}.json"
    out.write_text(json.dumps([_row(json.loads(line), work) for line in dump.splitlines() if line.strip()], indent=1))
    return out


def _row(item: list, work: Path) -> dict:
    work_item, result = item
    mutation = work_item["mutations"][0]
    line = mutation["start_pos"][0]
    path = work / mutation["module_path"]
    source = path.read_text().splitlines()[line - 1].strip() if path.exists() else ""
    return {"module": mutation["module_path"], "line": line, "operator": mutation["operator_name"],
            "occurrence": mutation["occurrence"], "source": source,
            "outcome": (result or {}).get("test_outcome") or ("skipped" if (result or {}).get("worker_outcome") == "skipped"
                                                             else "pending"),
            "worker": (result or {}).get("worker_outcome"), "diff": (result or {}).get("diff", "")}


def report(names: list[str], workdir: Path) -> int:
    survivors = 0
    for name in names:
        if (workdir / name / "session.sqlite").exists():
            dump_group(name, workdir / name)
        path = RESULTS / f"mutation-{name}.json"
        if not path.exists():
            print(f"{name}: not run yet (python bench/mutation.py {name})")
            continue
        rows = json.loads(path.read_text())
        counts = Counter(r["outcome"] for r in rows)
        judged = counts["killed"] + counts["survived"]
        score = f"{100 * counts['killed'] / judged:.1f}%" if judged else "n/a"
        print(f"{name}: {judged} mutants judged, {counts['killed']} killed, {counts['survived']} survived "
              f"({score} killed); {counts['incompetent']} incompetent, {counts['skipped']} filtered out, "
              f"{counts['pending']} not run")
        for row in rows:
            if row["outcome"] == "survived":
                survivors += 1
                print(f"  survived {row['module']}:{row['line']} {row['operator'].removeprefix('core/')}: {row['source']}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", help=f"default: all ({', '.join(GROUPS)})")
    parser.add_argument("--report", action="store_true", help="only summarise bench/results/mutation-*.json")
    parser.add_argument("--resume", action="store_true",
                        help="continue the group's session in --workdir, re-judging survivors with the current tests")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "imagespec-mutation")
    args = parser.parse_args()
    if not (TOOL_BIN / "cosmic-ray").exists():
        parser.error(f"cosmic-ray is not installed next to {sys.executable}: pip install 'cosmic-ray>=8.7'")
    names = args.groups or list(GROUPS)
    unknown = sorted(set(names) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group {', '.join(unknown)}; groups: {', '.join(GROUPS)}")
    if not args.report:
        for name in names:
            print(f"== {name}: {', '.join(GROUPS[name][0])}", flush=True)
            run_group(name, args.workdir, resume=args.resume)
    return report(names, args.workdir)


if __name__ == "__main__":
    sys.exit(main())
