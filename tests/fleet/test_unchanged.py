"""What a fleet target's bake build reads, hashed (fleet.unchanged, #14): the images a
Dockerfile names, every file of the context, and the hash on the real engine (the local
`static` base): any input that changes changes it, the `created` label does not, and an
image the engine lacks gives no hash (bake runs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imagespec.fleet import unchanged

DOCKERFILE = """\
FROM imagespec-test/debian:bookworm-slim AS make
RUN --mount=type=cache,target=/root/.cache,from=tools-image:1 make
FROM make AS more
FROM scratch AS empty
FROM imagespec-test/static:nonroot AS final
COPY --from=make /out /out
COPY --from=other-image:2 /x /x
COPY --from=parent /y /y
"""


def test_every_image_the_build_reads_and_no_stage() -> None:
    entry = {"contexts": {"parent": "docker-image://team/parent:1.0.0"}}
    assert unchanged._images(DOCKERFILE, entry) == [
        "imagespec-test/debian:bookworm-slim", "imagespec-test/static:nonroot", "other-image:2",
        "team/parent:1.0.0", "tools-image:1"]


def test_the_context_tree_sees_content_mode_links_and_new_files(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    first = unchanged._tree(tmp_path)
    assert first == unchanged._tree(tmp_path)
    seen = [first]
    (tmp_path / "src" / "main.c").write_text("int main(void) { return 1; }\n")
    seen.append(unchanged._tree(tmp_path))
    (tmp_path / "src" / "main.c").chmod(0o755)
    seen.append(unchanged._tree(tmp_path))
    os.symlink("src/main.c", tmp_path / "link")
    seen.append(unchanged._tree(tmp_path))
    (tmp_path / "link").unlink()
    os.symlink("src", tmp_path / "link")
    seen.append(unchanged._tree(tmp_path))
    (tmp_path / ".dockerignore").write_text("unused\n")  # read whatever it says: BuildKit decides what it skips
    seen.append(unchanged._tree(tmp_path))
    assert len({repr(tree) for tree in seen}) == len(seen)
    monkeypatch.setattr(unchanged, "MAX_FILES", 2)
    assert unchanged._tree(tmp_path) is None  # past the limits: not hashed, bake runs


@pytest.mark.engine
def test_the_hash_follows_every_input_but_the_created_label(engine, tmp_path: Path) -> None:
    from imagespec.engine import connect

    client = connect()
    dockerfile = "FROM imagespec-test/static:nonroot\nCOPY note.txt /note.txt\n"
    (tmp_path / "note.txt").write_text("one\n")
    entry = {"context": ".", "dockerfile": "/tmp/x/Dockerfile",
             "labels": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z", "a": "1"}}

    def hashed(**changes: object) -> str | None:
        given = {"entry": entry, "dockerfile": dockerfile, "dockerignore": None, "facts": "f", **changes}
        return unchanged.inputs_hash(given["entry"], given["dockerfile"], given["dockerignore"], given["facts"],
                                     folder=tmp_path, builder="default", client=client)

    first = hashed()
    assert first is not None and hashed() == first
    later = {**entry, "dockerfile": "/tmp/y/Dockerfile",
             "labels": {**entry["labels"], "org.opencontainers.image.created": "2026-02-02T00:00:00Z"}}
    assert hashed(entry=later) == first  # where the run wrote the Dockerfile, and when: not what is built
    others = [hashed(entry={**entry, "labels": {"a": "2"}}), hashed(entry={**entry, "args": {"X": "1"}}),
              hashed(dockerfile=dockerfile + "USER 65532\n"), hashed(dockerignore="*.md\n"), hashed(facts="g")]
    (tmp_path / "note.txt").write_text("two\n")
    others.append(hashed())
    assert None not in others and len({first, *others}) == len(others) + 1
    assert hashed(dockerfile="FROM isx14-no-such-image:1\n") is None  # bake decides (a pull, an error)
    assert hashed(dockerfile=dockerfile + "ADD https://example.invalid/x /x\n") is None  # fetched every build
