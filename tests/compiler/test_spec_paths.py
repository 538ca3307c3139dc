"""A LoadedSpec makes its folder, context, Dockerfile and ignore-file paths as text
(spec/read_spec.py): they must be the paths pathlib gives, link for link and dot for dot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imagespec.spec.read_spec import _lexical, load_spec

RELATIVE = ["Dockerfile", "a//b", "./x", "x/", ".", "./", "a/./b", "..", "sub/../Dockerfile", "a\\b", ".//x//", "a/.."]


@pytest.mark.parametrize("folder", ["/", "/a", "/a/b"])
@pytest.mark.parametrize("relative", RELATIVE)
def test_a_path_joined_as_text_is_pathlibs(folder: str, relative: str) -> None:
    assert _lexical(folder, relative) == str(Path(folder) / relative)


@pytest.mark.parametrize(("dockerfile", "context"), [
    ("Dockerfile", "."), ("./Dockerfile", "."), ("build/Dockerfile", "."), ("api.Dockerfile", "."),
    ("Dockerfile", "app"), ("app/Dockerfile", "app"), ("app//Dockerfile", "./app/"), ("app/../Dockerfile", "."),
    ("linked/Dockerfile", "linked"), ("Dockerfile", "linked"),
])
def test_the_spec_paths_are_pathlibs(tmp_path: Path, dockerfile: str, context: str) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "app")
    spec = tmp_path / "imagespec.yaml"
    spec.write_text(f"name: paths\ncontext: {context}\ndockerfile: {dockerfile}\nfinal:\n  from: debian-slim\n"
                    "  copy: [{src: app/, dest: /app/}]\n  cmd: [/app/run]\n", encoding="utf-8")
    loaded = load_spec(spec)
    # what the paths were made with before they were made as text (pathlib throughout)
    folder = spec.parent.resolve()
    real_context = (folder / context).resolve()
    dockerfile_path = folder / dockerfile
    ignore = (real_context / ".dockerignore" if str(dockerfile_path) == os.path.join(real_context, "Dockerfile")
              else dockerfile_path.with_name(dockerfile_path.name + ".dockerignore"))
    assert (loaded.folder, loaded.context, loaded.dockerfile_path, loaded.dockerignore_path) == \
        (folder, real_context, dockerfile_path, ignore)
    assert (str(loaded.dockerfile_path), str(loaded.dockerignore_path)) == (str(dockerfile_path), str(ignore))
