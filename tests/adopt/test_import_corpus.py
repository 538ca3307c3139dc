"""`imagespec import` on public Dockerfiles (tests/adopt/corpus): each imports without a
traceback, every spec it writes compiles, and the README's table is what the import does."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagespec.adopt import import_dockerfile
from imagespec.compiler import compile_spec
from imagespec.errors import SpecError
from imagespec.spec.config import load_config
from imagespec.spec.read_spec import load_spec
from tests.adopt.corpus_table import README, corpus, with_table


def test_corpus_has_15_to_30_dockerfiles_each_citing_its_source() -> None:
    files = corpus()
    assert 15 <= len(files) <= 30
    for path in files:
        assert "# imagespec corpus: https://github.com/" in path.read_text(encoding="utf-8")[:600], path.name


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_each_import_compiles(path: Path, tmp_path: Path) -> None:
    # beside a copy: the spec's context is the Dockerfile's folder, which must be in the
    # spec's repository (outside git: the spec's folder)
    copied = tmp_path / path.name
    copied.write_bytes(path.read_bytes())
    target = tmp_path / "imagespec.yaml"
    try:
        result = import_dockerfile(copied, target)
    except SpecError as exc:  # only the refusal the table records (a file that names no command)
        assert exc.location is not None and "names no CMD" in exc.message
        assert not target.exists()
        return
    config = load_config(start=tmp_path)
    assert compile_spec(load_spec(target, config), config).dockerfile.startswith("#")
    assert result.report.expressed


def test_readme_table_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert with_table(text) == text, "run: python -m tests.adopt.corpus_table"
