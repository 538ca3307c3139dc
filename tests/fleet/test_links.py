"""The one graph of specs built on specs (imagespec.fleet.links), without an engine: what the
fleet and the locks both follow, and the one place they differ (a digest-pinned FROM)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from imagespec.fleet import links

DIGEST = "sha256:" + "b" * 64
# company tags two names of one image (docker's short and long spelling); runtime is built on it
TAGS = {"company": ["isx13s/company:1", "docker.io/isx13s/company:1"], "runtime": ["r.example.com/runtime:2"]}


def test_tags_and_froms_are_compared_as_buildkit_names_them() -> None:
    assert links.name("debian") == "docker.io/library/debian:latest"
    assert links.name(f"isx13s/company:1@{DIGEST}") == "docker.io/isx13s/company:1"
    assert links.name("not a reference") == "not a reference"  # compared as it is
    made = links.producers(TAGS)
    assert made["docker.io/isx13s/company:1"] == ["company"]  # one producer, though tagged twice
    assert links.makers("index.docker.io/isx13s/company:1", made) == ["company"]


def test_a_pinned_from_is_no_edge_for_the_fleet_but_followed_for_the_locks() -> None:
    made = links.producers(TAGS)
    pinned = f"isx13s/company:1@{DIGEST}"
    assert links.key(pinned) is None and links.makers(pinned, made) == []  # the registry's image (fleet)
    assert links.key(pinned, follow_pinned=True) == "docker.io/isx13s/company:1"
    assert links.makers(pinned, made, follow_pinned=True) == ["company"]  # locked on company's tag (lock)
    assert links.makers("isx13s/company:1", made) == links.makers("isx13s/company:1", made, follow_pinned=True)
    assert links.makers("isx13s/other:1", made, follow_pinned=True) == []


def test_two_specs_tagging_one_image_are_both_named_in_the_order_given() -> None:
    made = links.producers({"b": ["isx13s/x:1"], "a": ["isx13s/x:1"]})
    assert links.makers("isx13s/x:1", made) == ["b", "a"]  # ambiguous: the caller refuses or settles


def test_descendants_carry_the_shortest_chain_from_a_root() -> None:
    parents = {"company": [], "runtime": ["company"], "app": ["runtime", "company"], "tool": ["app"], "other": []}
    assert links.descendants(["company"], parents) == {
        "company": ["company"], "runtime": ["company", "runtime"], "app": ["company", "app"],
        "tool": ["company", "app", "tool"]}
    assert links.descendants(["other"], parents) == {"other": ["other"]}


def test_order_puts_parents_first_the_smallest_name_first_and_cycles_last() -> None:
    parents = {"z": [], "a": ["z"], "b": [], "c": ["outside"]}  # a parent outside counts as built
    assert links.order(parents) == (["b", "c", "z", "a"], [])
    looped = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"], "e": []}
    assert links.order(looped) == (["e"], ["a", "b", "c", "d"])
    assert links.cycle({name: looped[name] for name in links.order(looped)[1]}) == ["a", "b", "c", "a"]
    assert links.cycle({"a": ["b"], "b": ["b"]}) == ["b", "b"]  # from the smallest name, its way into a cycle of one


def test_the_graph_is_pure_and_stands_on_the_reference_grammar_alone() -> None:
    """Its docstring's rule: names in, names out (no disk, engine or compiler), so that the
    locks and the fleet can both ask it without loading the other."""
    tree = ast.parse(Path(links.__file__).read_text(encoding="utf-8"))
    found = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    found |= {f"{node.module}.{alias.name}" if node.module == "imagespec" else node.module or ""
              for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    own = {name for name in found if name.split(".")[0] == "imagespec"}
    assert own == {"imagespec.reference"}
    assert {name.split(".")[0] for name in found - own} <= set(sys.stdlib_module_names) | {"__future__"}
