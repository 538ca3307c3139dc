"""The result cache of `generate` and `check` (imagespec.cache): a hit is served without
the compiler, and any change to what the compiler looked at (the spec, a template, a
configuration or catalog file, a file that appears earlier in a search, a re-pointed
symbolic link, IMAGESPEC_CONFIG) is a miss that compiles afresh. Each case compares the
cached answer with `--no-cache` on the same files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from compiler_helpers import EXAMPLES, REPO
from imagespec import cache
from imagespec.jobs import compiling
from imagespec.cli import main

TEMPLATE = "final:\n  from: debian-slim\n  cmd: [sleep, infinity]\n"
CATALOG = "images:\n  debian-slim: {image: \"registry.example.com/base/debian:12-slim\", family: debian}\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose app extends a project template (repo/templates/svc.yaml)."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    write(root / "templates" / "svc.yaml", TEMPLATE)
    write(root / "app" / "imagespec.yaml", "extends: svc\nname: app\n")
    return root


@pytest.fixture
def cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("IMAGESPEC_CACHE_DIR", str(folder))
    return folder


def generate(capsys: pytest.CaptureFixture[str], spec: Path, *extra: str) -> str:
    code = main(["generate", "-o", "-", *extra, str(spec)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def entries(folder: Path) -> list[Path]:
    """The cache's entries (not the code fingerprint's hash notes, in code-vN/)."""
    found = folder.rglob("*.json") if folder.exists() else []
    return sorted(p for p in found if not p.relative_to(folder).parts[0].startswith("code-"))


def _edit_spec(repo: Path) -> None:
    write(repo / "app" / "imagespec.yaml", "extends: svc\nname: app\nfinal:\n  cmd: [sleep, '1']\n")


def _edit_template(repo: Path) -> None:
    write(repo / "templates" / "svc.yaml", TEMPLATE.replace("infinity", "'2'"))


def _config_appears_in_a_parent(repo: Path) -> None:
    write(repo / ".imagespec.yaml", CATALOG)


def _nearer_template_appears(repo: Path) -> None:
    write(repo / "app" / "templates" / "svc.yaml", TEMPLATE.replace("infinity", "'3'"))


def _configured_template_folder(repo: Path) -> None:
    write(repo.parent / "shared" / "svc.yaml", TEMPLATE.replace("infinity", "'4'"))
    write(repo / ".imagespec.yaml", "templates: [../shared]\n")


def _catalog_file_edited(repo: Path) -> None:
    write(repo / "catalog.yaml", CATALOG)
    write(repo / ".imagespec.yaml", "catalog: catalog.yaml\n")
    main(["generate", "-o", "-", str(repo / "app" / "imagespec.yaml")])  # cached with this catalog ...
    write(repo / "catalog.yaml", CATALOG.replace("12-slim", "12.9-slim"))  # ... which then changes


@pytest.mark.parametrize("change", [_edit_spec, _edit_template, _config_appears_in_a_parent, _catalog_file_edited],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_change_to_any_input_is_a_miss(change: Callable[[Path], None], repo: Path, cache_dir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    spec = repo / "app" / "imagespec.yaml"
    before = generate(capsys, spec)
    assert generate(capsys, spec) == before  # a hit
    change(repo)
    capsys.readouterr()
    after = generate(capsys, spec)
    assert after != before, "the change should have changed the Dockerfile"
    assert after == generate(capsys, spec, "--no-cache")


@pytest.mark.parametrize("change", [_nearer_template_appears, _configured_template_folder],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_second_template_of_the_name_is_a_miss_and_refused(change: Callable[[Path], None], repo: Path,
                                                             cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file of the template's name earlier in the search was once the template; now
    it is refused (spec.templates): a hit would still answer with the old Dockerfile."""
    spec = repo / "app" / "imagespec.yaml"
    generate(capsys, spec)
    change(repo)
    assert main(["generate", "-o", "-", str(spec)]) == 2
    assert "has the same name" in capsys.readouterr().err


def test_imagespec_config_is_part_of_the_key(repo: Path, cache_dir: Path, capsys, monkeypatch) -> None:
    spec = repo / "app" / "imagespec.yaml"
    before = generate(capsys, spec)
    monkeypatch.setenv("IMAGESPEC_CONFIG", str(write(repo.parent / "company.yaml", CATALOG)))
    assert "registry.example.com/base/debian:12-slim" in generate(capsys, spec)
    monkeypatch.delenv("IMAGESPEC_CONFIG")
    assert generate(capsys, spec) == before


def test_a_re_pointed_link_is_a_miss(repo: Path, tmp_path: Path, cache_dir: Path, capsys) -> None:
    other = tmp_path / "other"
    (other / ".git").mkdir(parents=True)
    write(other / "templates" / "svc.yaml", TEMPLATE.replace("infinity", "'5'"))
    write(other / "app" / "imagespec.yaml", (repo / "app" / "imagespec.yaml").read_text())
    link = tmp_path / "current"
    link.symlink_to(repo / "app")
    first = generate(capsys, link / "imagespec.yaml")
    link.unlink()
    link.symlink_to(other / "app")
    second = generate(capsys, link / "imagespec.yaml")
    assert second != first and 'CMD ["sleep", "5"]' in second


def test_a_hit_does_not_run_the_compiler(repo: Path, cache_dir: Path, capsys, monkeypatch) -> None:
    spec = repo / "app" / "imagespec.yaml"
    first = generate(capsys, spec)
    assert len(entries(cache_dir)) == 1

    def no_compiler(*args: object, **kwargs: object) -> None:
        raise AssertionError("the compiler ran on a hit")

    monkeypatch.setattr(compiling, "compile_one", no_compiler)  # where `generated` looks it up
    assert generate(capsys, spec) == first
    code = main(["check", str(spec)])  # the files were never written: check compares from the cache too
    assert code == 1 and "(committed)" in capsys.readouterr().out


def test_generate_and_check_from_the_cache_behave_as_without_it(repo: Path, cache_dir: Path, capsys) -> None:
    spec = repo / "app" / "imagespec.yaml"
    outputs = []
    for extra in (["--no-cache"], [], []):  # without the cache, then a miss that stores, then a hit
        for name in ("Dockerfile", ".dockerignore"):
            (repo / "app" / name).unlink(missing_ok=True)
        runs = [(main(["generate", *extra, str(spec)]), capsys.readouterr()),
                (main(["check", *extra, str(spec)]), capsys.readouterr()),
                (main(["check", "--format", "json", *extra, str(spec)]), capsys.readouterr())]
        write(repo / "app" / "Dockerfile", "FROM scratch\n")
        runs.append((main(["check", *extra, str(spec)]), capsys.readouterr()))
        outputs.append(runs)
    assert outputs[0] == outputs[1] == outputs[2]
    assert [code for code, _ in outputs[0]] == [0, 0, 0, 1]


def test_a_corrupt_or_foreign_entry_is_a_miss(repo: Path, cache_dir: Path, capsys) -> None:
    spec = repo / "app" / "imagespec.yaml"
    expected = generate(capsys, spec)
    (entry,) = entries(cache_dir)
    data = json.loads(entry.read_text())
    data["result"]["dockerfile"] = "FROM evil\n"
    data["code"] = "another installation"
    entry.write_text(json.dumps(data))
    assert generate(capsys, spec) == expected
    entry.write_text("{not json")
    assert generate(capsys, spec) == expected


def test_failures_are_never_stored(repo: Path, cache_dir: Path, capsys) -> None:
    spec = write(repo / "app" / "imagespec.yaml", "extends: svc\nname: app\nfinal:\n  ports: [99999]\n")
    for _ in range(2):
        assert main(["generate", "-o", "-", str(spec)]) == 2
        assert ":4:" in capsys.readouterr().err
    assert entries(cache_dir) == []


@pytest.mark.parametrize("how", ["--no-cache", "IMAGESPEC_NO_CACHE"])
def test_the_cache_can_be_switched_off(how: str, repo: Path, cache_dir: Path, capsys, monkeypatch) -> None:
    extra = [how] if how.startswith("--") else []
    if not extra:
        monkeypatch.setenv("IMAGESPEC_NO_CACHE", "1")
    generate(capsys, repo / "app" / "imagespec.yaml", *extra)
    assert entries(cache_dir) == []


def test_an_unusable_cache_folder_is_no_error(repo: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    blocker = write(tmp_path / "not-a-folder", "")
    monkeypatch.setenv("IMAGESPEC_CACHE_DIR", str(blocker))
    assert generate(capsys, repo / "app" / "imagespec.yaml").startswith("# Generated by imagespec")


def test_every_example_is_served_identically_from_the_cache(cache_dir: Path, capsys) -> None:
    for spec in EXAMPLES:
        assert generate(capsys, spec) == generate(capsys, spec) == generate(capsys, spec, "--no-cache")
        assert cache.lookup(cache_dir, spec, None, None) is not None


def test_a_hit_imports_neither_pydantic_nor_yaml_nor_jinja(repo: Path, cache_dir: Path) -> None:
    """What makes a cached `generate` start fast, checked on a real process (the time
    itself is a benchmark: BENCHMARKS.md)."""
    command = [sys.executable, "-X", "importtime", "-m", "imagespec", "generate", "-o", "-",
               str(repo / "app" / "imagespec.yaml")]
    env = {**os.environ, "IMAGESPEC_CACHE_DIR": str(cache_dir)}
    runs = [subprocess.run(command, capture_output=True, text=True, env=env, cwd=repo, timeout=60) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0] and runs[0].stdout == runs[1].stdout

    def imported(run: subprocess.CompletedProcess[str]) -> set[str]:
        return {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}

    heavy = {"pydantic", "yaml", "jinja2", "docker"}
    assert heavy & imported(runs[0]) >= {"pydantic", "yaml", "jinja2"}  # the miss compiled
    assert heavy & imported(runs[1]) == set()
    # nor the fleet side, without --changed-since: the specs are only discovered (issue 13)
    assert {"imagespec.jobs.fleets", "imagespec.fleet.commands", "imagespec.fleet.model"} & imported(runs[1]) == set()


def _same_size_same_mtime(path: Path, old: bytes, new: bytes) -> None:
    """Replace `old` by `new` (as long) in place, then put the mtime back: what a checkout,
    a copy keeping times or a quick fix within the clock's resolution can leave."""
    assert len(old) == len(new)
    stat = path.stat()
    body = path.read_bytes()
    assert body.count(old) >= 1, (path, old)
    with path.open("r+b") as handle:  # in place: the same inode
        handle.write(body.replace(old, new, 1))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def test_an_edit_to_imagespec_itself_changes_the_fingerprint() -> None:
    """Entries are valid only for the code and templates that wrote them, by content: an
    edit that keeps the size and the mtime changes the fingerprint too."""
    original = cache.code_fingerprint()
    for path in (Path(cache.__file__), cache.templates_dir() / "dockerfile" / "Dockerfile.j2"):
        body = path.read_bytes()
        try:
            _same_size_same_mtime(path, b"# ", b"#!")
            cache.code_fingerprint.cache_clear()
            assert cache.code_fingerprint() != original, path
        finally:
            stat = path.stat()
            path.write_bytes(body)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            cache.code_fingerprint.cache_clear()
    assert cache.code_fingerprint() == original


def _installation_copy(tmp_path: Path) -> list[str]:
    """A copy of imagespec's code and templates, and its files as code_fingerprint lists them."""
    shutil.copytree(REPO / "imagespec", tmp_path / "imagespec", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    files = cache._code_files()
    copied = [str(tmp_path / Path(f).relative_to(REPO)) for f in files]
    assert all(os.path.isfile(f) for f in copied) and len(copied) > 100
    return copied


@pytest.mark.parametrize("module", ["imagespec/render/dockerfile.py", "imagespec/plan/passes/__init__.py",
                                    "imagespec/spec/yaml_source.py", "templates/dockerfile/Dockerfile.j2"])
def test_hash_notes_never_hide_an_edit_to_the_compiler(module: str, tmp_path: Path) -> None:
    """The fingerprint takes a file's content hash from the notes while the file's status
    (inode, size, mtime, ctime) is unchanged. An edit keeping the size, the mtime and the
    inode still changes the ctime: the edited module is read again and the fingerprint
    changes, run after run, while the notes of every other file are used."""
    files = _installation_copy(tmp_path / "install")
    notes = tmp_path / "cache" / "code.json"
    by_content = cache._fingerprint(files, None)
    first = cache._fingerprint(files, notes, racy=0.0)  # trust what was just copied (tests only)
    assert first == by_content
    noted = json.loads(notes.read_text(encoding="utf-8"))
    assert sorted(noted) == sorted(files)
    assert cache._fingerprint(files, notes, racy=0.0) == first  # from the notes now
    time.sleep(0.05)  # past the filesystem clock's tick: the edit's ctime differs from the copy's
    _same_size_same_mtime(tmp_path / "install" / module, b"# ", b"#!")
    edited = cache._fingerprint(files, notes, racy=0.0)
    assert edited != first and edited == cache._fingerprint(files, None)
    assert cache._fingerprint(files, notes, racy=0.0) == edited


def test_files_written_just_before_hashing_are_not_noted(tmp_path: Path) -> None:
    """A same-size rewrite within one tick of the clock keeps every stat: a file changed in the
    last RACY_SECONDS is hashed on every run until it is older (git's racily-clean files)."""
    files = _installation_copy(tmp_path / "install")
    notes = tmp_path / "cache" / "code.json"
    cache._fingerprint(files, notes)  # all just copied
    assert not notes.exists()
    old = time.time() - 3600
    for f in files[:-1]:
        os.utime(f, (old, old))  # the ctime stays recent: still not noted
    cache._fingerprint(files, notes)
    assert not notes.exists()


def test_corrupt_or_lying_hash_notes_are_harmless(tmp_path: Path) -> None:
    """Unreadable notes are no notes; a note whose status no longer matches is not used."""
    files = _installation_copy(tmp_path / "install")
    notes = tmp_path / "cache" / "code.json"
    notes.parent.mkdir()
    truth = cache._fingerprint(files, None)
    for text in ("{", "[]", json.dumps({files[0]: ["x"]}), json.dumps({f: [0, 0, 0, 0, "0" * 64] for f in files})):
        notes.write_text(text, encoding="utf-8")
        assert cache._fingerprint(files, notes, racy=0.0) == truth


@pytest.mark.parametrize(("installed", "old", "new"), [
    ("templates/dockerfile/Dockerfile.j2", b"Do not edit by hand", b"Do not edit by HAND"),
    ("templates/catalog.yaml", b"bookworm-slim", b"forky-13-slim"),
])
def test_an_installation_edited_in_place_is_a_miss(installed: str, old: bytes, new: bytes, repo: Path,
                                                  tmp_path: Path) -> None:
    """A copy of imagespec (its code and templates) runs the app spec and caches the answer;
    one of its files is then edited keeping size and mtime. The next run must answer what
    --no-cache answers, not the stale Dockerfile."""
    copy = tmp_path / "install"
    shutil.copytree(REPO / "imagespec", copy / "imagespec", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "templates", copy / "templates")
    env = {**os.environ, "PYTHONPATH": str(copy), "IMAGESPEC_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("IMAGESPEC_NO_CACHE", None)

    def generate(*extra: str) -> str:
        done = subprocess.run([sys.executable, "-m", "imagespec", "generate", "-o", "-", *extra,
                               str(repo / "app" / "imagespec.yaml")], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    before = generate()
    assert entries(tmp_path / "cache")
    _same_size_same_mtime(copy / installed, old, new)
    after = generate()
    assert after == generate("--no-cache")
    assert after != before and new.decode() in after


def test_two_installations_keep_their_own_entries_and_stale_ones_go(repo: Path, cache_dir: Path, capsys,
                                                                     monkeypatch) -> None:
    """A project's venv and a pre-commit hook's share ~/.cache/imagespec: neither evicts the
    other, and the folder of code unused for two weeks is removed when a new one starts."""
    spec = repo / "app" / "imagespec.yaml"
    stale = cache_dir / f"compile-v{cache.FORMAT}" / "0123456789abcdef"
    (stale / "x").mkdir(parents=True)
    os.utime(stale, (0, 0))
    recent = cache_dir / f"compile-v{cache.FORMAT}" / "fedcba9876543210"
    recent.mkdir()
    for installation in ("a", "b"):
        monkeypatch.setattr(cache, "code_fingerprint", lambda root=None, name=installation: name * 64)
        generate(capsys, spec)
    assert sorted(p.parent.name for p in entries(cache_dir)) == ["a" * 16, "b" * 16]
    assert not stale.exists() and recent.exists()
    for installation in ("a", "b"):  # both still hit
        monkeypatch.setattr(cache, "code_fingerprint", lambda root=None, name=installation: name * 64)
        assert cache.lookup(cache_dir, spec, None, None) is not None
