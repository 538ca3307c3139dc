"""Which images a spec is locked on, and what a lock does to the generated Dockerfile
(compile only: no registry)."""

from __future__ import annotations

from pathlib import Path

from imagespec import jobs
from imagespec.lock.bases import bases_of
from imagespec.lock.file import LOCK_FORMAT, LockedBase, LockFile, render_lock

DIGEST = "sha256:" + "d" * 64


def _spec(folder: Path, text: str, name: str = "imagespec.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".git").mkdir(exist_ok=True)  # the repository root: no configuration above it
    path = folder / name
    path.write_text(text)
    return path


def test_every_base_is_found_with_the_keys_that_name_it(tmp_path: Path) -> None:
    path = _spec(tmp_path, """name: isx15a/app
stages:
  build: {from: go-build, run: [go build -o /out/app .], artifacts: [/out/app]}
  tools: {from: {image: "r.example.com/tools:2", family: debian}, run: [make], artifacts: [/out/t]}
final:
  from: static
  init: true
  copy: [{from: build, src: /out/app, dest: /app}, {from: tools, src: /out/t, dest: /t}]
  entrypoint: [/app]
""")
    compiled, _ = jobs.compile_one(path, locked=False)
    uses = {use.image: (use.keys, use.catalog) for use in bases_of(compiled)}
    assert uses == {
        "golang:1.22-bookworm": (("stages.build.from",), "go-build"),
        "r.example.com/tools:2": (("stages.tools.from",), None),
        "gcr.io/distroless/static-debian12:nonroot": (("final.from",), "static"),
        "debian:bookworm-slim": (("final.init",), None),  # the static tini's helper stage
    }


def test_a_lock_pins_from_keeps_the_tag_and_keeps_itself_out_of_the_context(tmp_path: Path) -> None:
    path = _spec(tmp_path, 'name: isx15a/app\nfinal:\n  from: {image: "r.example.com/base:1", family: debian}\n'
                 "  copy: [{src: ., dest: /app}]\n  entrypoint: [/app/run]\n", "api.imagespec.yaml")
    unlocked, _ = jobs.compile_one(path)
    lock = LockFile(lock=LOCK_FORMAT, spec="api.imagespec.yaml", inputs=unlocked.lock_inputs,
                    bases=[LockedBase(image="r.example.com/base:1", digest=DIGEST, media_type="a/b")])
    (tmp_path / "api.imagespec.lock.yaml").write_text(render_lock(lock, generator="imagespec lock"))
    locked, _ = jobs.compile_one(path)
    assert f"FROM r.example.com/base:1@{DIGEST} AS final" in locked.dockerfile
    assert "FROM r.example.com/base:1 AS final" in unlocked.dockerfile
    assert locked.lock_inputs == unlocked.lock_inputs != locked.inputs_hash  # the lock's hash ignores the pins
    # `imagespec*.yaml` keeps imagespec.lock.yaml out; api.imagespec.lock.yaml is named (a lock bump re-runs no COPY)
    assert "\napi.imagespec.lock.yaml\n" in locked.dockerignore and "lock" not in unlocked.dockerignore
    assert jobs.check([path], use_cache=False).locks == ()
    path.write_text(path.read_text().replace("base:1", "base:2"))
    problems = jobs.check([path], use_cache=False).locks
    assert any("r.example.com/base:2 is not locked" in p for p in problems), problems
    assert any("made for other inputs" in p for p in problems), problems
