"""The table in tests/adopt/corpus/README.md: per public Dockerfile, what `imagespec
import` expressed and what it left as comments. `python -m tests.adopt.corpus_table`
rewrites it; tests/adopt/test_import_corpus.py fails when it is stale."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from imagespec.adopt import import_dockerfile
from imagespec.errors import SpecError

CORPUS = Path(__file__).resolve().parent / "corpus"
README = CORPUS / "README.md"
BEGIN, END = "<!-- table: python -m tests.adopt.corpus_table -->", "<!-- end of table -->"


def corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.Dockerfile"))


def row(path: Path) -> str:
    with tempfile.TemporaryDirectory() as folder:
        try:
            copy = Path(folder) / path.name  # -o stays in the Dockerfile's repository: import it there
            copy.write_bytes(path.read_bytes())
            result = import_dockerfile(copy, Path(folder) / "imagespec.yaml")
        except SpecError as exc:
            return f"| {path.name} | not imported | — | {exc.message} |"
    report = result.report
    expressed = Counter(kind for _, kind in report.expressed)
    left = Counter(text.split(None, 1)[0].upper() for _, text, _ in report.comments)
    said = ", ".join(f"{kind} {n}" for kind, n in sorted(expressed.items()))
    kept = ", ".join(f"{kind} {n}" for kind, n in sorted(left.items())) or "—"
    return f"| {path.name} | {said} | {kept} | {len(report.differences)} differences reported |"


def table() -> str:
    lines = ["| Dockerfile | expressed (instructions) | left as comments | notes |", "|---|---|---|---|"]
    return "\n".join([*lines, *(row(path) for path in corpus())]) + "\n"


def with_table(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table()}{END}{tail}"


if __name__ == "__main__":
    README.write_text(with_table(README.read_text(encoding="utf-8")), encoding="utf-8")
