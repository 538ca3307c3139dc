"""The diff `check` shows (imagespec.output.stale_diff): difflib's unified format, as small
as the change even where difflib's autojunk would junk a file's common lines."""

from __future__ import annotations

import difflib
import random

from imagespec.output import stale_diff


def test_the_text_is_difflibs_where_autojunk_does_not_apply() -> None:
    generator = random.Random(7)
    for _ in range(500):
        committed = [generator.choice("abcde") + "\n" for _ in range(generator.randint(0, 40))]
        expected = list(committed)
        for _ in range(generator.randint(0, 5)):
            at = generator.randint(0, len(expected))
            if generator.random() < 0.5 or not expected:
                expected.insert(at, generator.choice("abxyz") + "\n")
            else:
                del expected[min(at, len(expected) - 1)]
        want = "".join(difflib.unified_diff(committed, expected, "old", "new"))
        assert stale_diff("".join(committed), "".join(expected), "old", "new") == want


def test_a_line_common_in_a_long_file_is_not_shown_removed_and_added_again() -> None:
    block = ['    "x": {\n', '      "network": "host",\n', '      "tags": [\n', '        "v1"\n', "      ]\n", "    },\n"]
    committed = "".join(block * 40)
    expected = committed.replace('"v1"', '"v2"', 1)
    changed = [line for line in stale_diff(committed, expected, "a", "b").splitlines()[2:] if line[:1] in "+-"]
    assert changed == ['-        "v1"', '+        "v2"']
