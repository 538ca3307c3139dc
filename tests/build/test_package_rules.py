"""imagespec.build's own rules: what it may import, and its public surface."""

from __future__ import annotations

import ast
import io
import sys
from pathlib import Path

import imagespec.build
from imagespec.build.verify_model import CheckResult, Report

PACKAGE = Path(imagespec.build.__file__).parent
ALLOWED_THIRD_PARTY = {"docker", "rich", "requests"}
ALLOWED_OWN = ("imagespec.errors", "imagespec.reference", "imagespec.build")  # reference: the grammar of tags


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


def test_imports_point_one_way_and_the_sdk_is_lazy() -> None:
    problems = []
    for path in sorted(PACKAGE.glob("*.py")):
        for module, top_level in imports(path):
            root = module.split(".")[0]
            if root == "imagespec":
                if not module.startswith(ALLOWED_OWN):
                    problems.append(f"{path.name}: imports {module} (only imagespec.errors, imagespec.reference and imagespec.build)")
            elif root in ALLOWED_THIRD_PARTY:
                if top_level:
                    problems.append(f"{path.name}: imports {module} at module level (must be lazy)")
            elif root not in sys.stdlib_module_names and root != "__future__":
                problems.append(f"{path.name}: imports {module} (not stdlib, docker or rich)")
    assert problems == []


def test_every_module_says_its_role_and_imports() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert "May import" in doc, path.name


def test_public_api_is_sorted_and_complete() -> None:
    names = imagespec.build.__all__
    assert names == sorted(names)
    assert set(names) >= {
        "BuildOptions", "BuildResult", "Secret", "BuildEvent", "get_backend", "connect", "tags_for", "oci_labels",
        "git_short_sha", "push_tags", "Expectations", "verify", "Report", "CheckResult",
    }
    assert all(hasattr(imagespec.build, name) for name in names)


def test_report_renders_a_table_with_the_verdict() -> None:
    report = Report("team/app:1.0.0", [CheckResult("stop-graceful", False, "took 10.1s", "BP2"),
                                       CheckResult("no-shell", True, "no shell", "BP6")], 1.25)
    out = io.StringIO()
    report.render(out)
    text = out.getvalue()
    assert "stop-graceful" in text and "FAIL" in text and "BP2" in text and "took 10.1s" in text
    assert text.rstrip().endswith("2 checks in 1.2s: FAILED: stop-graceful")
