"""The fleet's summary table (imagespec.fleet.records): what a reader of `imagespec build
DIR` sees at the end. Pure: records in, lines out."""

from __future__ import annotations

from imagespec.fleet.records import Record, summary_table


def test_the_count_line_tells_kept_images_from_built_ones() -> None:
    """A target whose image already recorded its inputs is a result of "built" (its tags
    are this run's) but was not built: the table says "up to date" and the count line
    counts it apart, so "3 built" never means two builds and one image kept."""
    records = [
        Record("base", "base/imagespec.yaml", "built", tags=("co/base:1.0.0",), up_to_date=True),
        Record("app1", "app1/imagespec.yaml", "built", 4.2, tags=("co/app1:1.0.0",)),
        Record("app2", "app2/imagespec.yaml", "skipped", upstream="app3"),
        Record("app3", "app3/imagespec.yaml", "failed", 1.0),
    ]
    lines = summary_table(records)
    assert lines[-1] == "1 built, 1 up to date, 1 failed, 1 skipped"
    rows = {line.split()[0]: line.split()[1:3] for line in lines[1:-1]}
    assert rows["base"] == ["up", "to"] and rows["app1"] == ["built", "4.2s"]
    assert "skipped: upstream app3 failed" in next(line for line in lines if line.startswith("app2"))


def test_the_count_line_gives_every_count_even_zero() -> None:
    records = [Record("app", "app/imagespec.yaml", "built", 2.0, tags=("co/app:1.0.0",))]
    assert summary_table(records)[-1] == "1 built, 0 up to date, 0 failed, 0 skipped"


def test_a_failed_target_shows_its_reason_not_the_tags_it_would_have_had() -> None:
    """A kept image whose push was refused is failed, not "up to date", and its row says
    why; the JSON counts are the table's."""
    import json

    from imagespec.errors import TagConflict
    from imagespec.fleet.records import summary_json

    refused = TagConflict("refusing to move an immutable version tag (BP14): r/base:1.0.0 is sha256:aa …")
    records = [
        Record("base", "base/imagespec.yaml", "failed", tags=(), up_to_date=True, failure=refused),
        Record("app", "app/imagespec.yaml", "built", tags=("r/app:1.0.0",), up_to_date=True),
        Record("web", "web/imagespec.yaml", "built", 2.0, tags=("r/web:1.0.0",)),
    ]
    lines = summary_table(records)
    row = next(line for line in lines if line.startswith("base "))
    assert row.split()[1] == "failed" and row.endswith("refusing to move an immutable version tag (BP14): "
                                                       "r/base:1.0.0 is sha256:aa …")
    assert lines[-1] == "1 built, 1 up to date, 1 failed, 0 skipped"
    counts = json.loads(summary_json(records, builder="default", jobs=2, duration_s=1.0))
    assert {k: counts[k] for k in ("built", "up_to_date", "failed", "skipped")} == {
        "built": 1, "up_to_date": 1, "failed": 1, "skipped": 0}
    # each target's result agrees with the counts (was "built" for a kept image)
    assert {t["target"]: t["result"] for t in counts["targets"]} == {"base": "failed", "app": "up_to_date",
                                                                     "web": "built"}
