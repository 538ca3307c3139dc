"""The build half's own rules (engine, publish, verify, sbom, bootstrap): what each may import,
that the SDK is imported lazily, and their public surface."""

from __future__ import annotations

import ast
import io
import sys
from pathlib import Path

import pytest

import imagespec.engine
import imagespec.publish
import imagespec.verify
from imagespec.verify.model import CheckResult, Report

ROOT = Path(imagespec.engine.__file__).parent.parent
ALLOWED_THIRD_PARTY = {"docker", "rich", "requests"}
# the standard library, and typeshed's stub-only module of its protocols (imported under TYPE_CHECKING)
STDLIB = sys.stdlib_module_names | {"__future__", "_typeshed"}
_BOTTOM = ("imagespec.errors", "imagespec.reference", "imagespec.platform", "imagespec.contract")  # the grammars
# of tags (reference) and platforms (platform); contract: the names (labels, secret id, SBOM paths) every part agrees on
# each part of the build half, and what it may import of imagespec (the same rule as LAYER/ONLY in
# tests/compiler/test_architecture.py, written as module prefixes): the engine is the seam and sees none of
# the features; every feature may use the engine's connection
ALLOWED_OWN = {
    "engine": (*_BOTTOM, "imagespec.engine"),
    "publish": (*_BOTTOM, "imagespec.publish", "imagespec.engine"),
    "verify": (*_BOTTOM, "imagespec.verify", "imagespec.engine"),
    "sbom": (*_BOTTOM, "imagespec.sbom", "imagespec.verify", "imagespec.engine"),
    "bootstrap": (*_BOTTOM, "imagespec.bootstrap", "imagespec.engine"),
}


def imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at top level) for every import in a file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "imagespec":  # `from imagespec import reference`
            found += [(f"imagespec.{alias.name}", id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, id(node) in top))
    return found


@pytest.mark.parametrize("part", sorted(ALLOWED_OWN))
def test_imports_point_one_way_and_the_sdk_is_lazy(part: str) -> None:
    problems = []
    for path in sorted((ROOT / part).glob("*.py")):
        for module, top_level in imports(path):
            root = module.split(".")[0]
            if root == "imagespec":
                if not module.startswith(ALLOWED_OWN[part]):
                    problems.append(f"{path.name}: imports {module} (only {', '.join(ALLOWED_OWN[part])})")
            elif root in ALLOWED_THIRD_PARTY:
                if top_level:
                    problems.append(f"{path.name}: imports {module} at module level (must be lazy)")
            elif root not in STDLIB:
                problems.append(f"{path.name}: imports {module} (not stdlib, docker or rich)")
    assert problems == []


@pytest.mark.parametrize("part", sorted(ALLOWED_OWN))
def test_every_module_says_its_role_and_imports(part: str) -> None:
    for path in sorted((ROOT / part).glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert "May import" in doc, path.name


@pytest.mark.parametrize(("package", "expected"), [
    (imagespec.engine, {"BuildOptions", "BuildResult", "Secret", "BuildEvent", "get_backend", "connect"}),
    (imagespec.publish, {"tags_for", "oci_labels", "git_short_sha", "push_tags"}),
    (imagespec.verify, {"Expectations", "verify", "Report", "CheckResult"}),
], ids=lambda value: getattr(value, "__name__", ""))
def test_public_api_is_sorted_and_complete(package: object, expected: set[str]) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    assert names == sorted(names)
    assert set(names) >= expected
    assert all(hasattr(package, name) for name in names)


def test_report_renders_a_table_with_the_verdict() -> None:
    report = Report("team/app:1.0.0", [CheckResult("stop-graceful", False, "took 10.1s", "BP2"),
                                       CheckResult("no-shell", True, "no shell", "BP6")], 1.25)
    out = io.StringIO()
    report.render(out)
    text = out.getvalue()
    assert "stop-graceful" in text and "FAIL" in text and "BP2" in text and "took 10.1s" in text
    assert text.rstrip().endswith("2 checks in 1.2s: FAILED: stop-graceful")
