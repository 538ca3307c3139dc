"""`--changed-since REV` (and `--explain`) in a git repository: the inputs the compile read
(the result cache's notes), the build context, and the graph's dependants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagespec.cli import main
from imagespec.errors import SpecError
from imagespec.fleet import load_fleet
from imagespec.fleet.changes import select_changed

from tests.fleet.conftest import CATALOG, Write, git

TEMPLATE = """\
# the platform team's standard for shell-less apps
license: Apache-2.0
final:
  from: static
  labels: {com.example.owner: platform-team}
"""


def app(name: str) -> str:
    return (f"extends: company-app\nname: {name}\nversion: 1.0.0\nfinal:\n  copy: [{{src: {name}, dest: /{name}}}]\n"
            f"  entrypoint: [/{name}]\n")


@pytest.fixture
def fleet_repo(repo: Path, write: Write) -> Path:
    """Two apps on the company template, one without it, a base and an app FROM it; committed."""
    write(".imagespec.yaml", f"catalog: {CATALOG}\n")
    write("templates/company-app.yaml", TEMPLATE)
    for name in ("billing", "search"):
        write(f"apps/{name}/imagespec.yaml", app(name))
        write(f"apps/{name}/{name}", "binary\n")
    write("apps/other/imagespec.yaml", "name: other\nversion: 1.0.0\nfinal: {from: static, copy: [{src: o, "
                                       "dest: /o}], entrypoint: [/o]}\n")
    write("apps/other/o", "binary\n")
    write("base/imagespec.yaml", "name: isx14a-base\nversion: 2.0.0\nfinal: {from: debian-slim, copy: [{src: m, "
                                 "dest: /m}], entrypoint: [/bin/cat, /m]}\n")
    write("base/m", "motd\n")
    write("on-base/imagespec.yaml", "name: isx14a-on-base\nversion: 1.0.0\nfinal: {from: {image: "
                                    "'isx14a-base:2.0', family: debian, user: 65532}, entrypoint: [/bin/true]}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "fleet")
    return repo


def selected(revision: str = "HEAD") -> dict[str, list[str]]:
    _, why = select_changed(load_fleet([Path(".")]), revision)
    return {name: [str(reason) for reason in reasons] for name, reasons in why.items()}


def test_nothing_changed_selects_nothing(fleet_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert selected() == {}
    assert main(["check", ".", "--changed-since", "HEAD"]) == 0
    assert "no spec changed since HEAD" in capsys.readouterr().err



@pytest.mark.parametrize("command", ["build", "check", "lint", "test"])
def test_nothing_changed_is_still_one_json_document_on_stdout(fleet_repo: Path, capsys: pytest.CaptureFixture[str],
                                                              command: str) -> None:
    # was: `build --format json` printed nothing at all (`> build.json` left an empty file,
    # not JSON), while check, lint and test printed their empty report
    assert main([command, ".", "--changed-since", "HEAD", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) is not None and "no spec changed since HEAD" in err, (out, err)
    if command == "build":
        assert json.loads(out)["targets"] == [] and json.loads(out)["built"] == 0, out

def test_nothing_changed_still_asks_for_the_builder_flag(fleet_repo: Path, capsys: pytest.CaptureFixture[str],
                                                        engine: object) -> None:
    # was: `build --changed-since HEAD --builder typo` passed while nothing changed, and the
    # typo failed the first CI run that had something to build
    assert main(["build", ".", "--changed-since", "HEAD", "--builder", "isx14a-no-such-builder"]) == 2
    assert "unknown builder 'isx14a-no-such-builder'" in capsys.readouterr().err
    assert main(["build", ".", "--changed-since", "HEAD", "--builder", "default", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["builder"] == "default"


def test_nothing_changed_still_asks_for_the_configured_builder(fleet_repo: Path, write: Write,
                                                              capsys: pytest.CaptureFixture[str], engine: object) -> None:
    # QA: a misspelt `build.builder` passed every run that selected nothing (the flag was asked)
    write(".imagespec.yaml", f"catalog: {CATALOG}\nbuild:\n  builder: isx14a-no-such-builder\n")
    git(fleet_repo, "commit", "-qam", "builder")
    assert main(["build", ".", "--changed-since", "HEAD", "--explain"]) == 2
    err = capsys.readouterr().err
    assert f"{fleet_repo / '.imagespec.yaml'}:3:12: unknown builder 'isx14a-no-such-builder'" in err, err


def test_a_spec_deleted_since_the_revision_is_said_where_its_folder_was_searched(
        fleet_repo: Path, write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    # was: nothing said; the bake file kept the deleted spec's target until `check --bake`
    git(fleet_repo, "rm", "-q", "apps/search/imagespec.yaml", "apps/other/imagespec.yaml")
    write("node_modules/x/imagespec.yaml", "name: x\n")  # never searched, so never said
    git(fleet_repo, "add", "-f", "node_modules")
    git(fleet_repo, "commit", "-qm", "gone")
    git(fleet_repo, "rm", "-q", "node_modules/x/imagespec.yaml")
    git(fleet_repo, "commit", "-qm", "gone too")
    assert main(["check", ".", "--changed-since", "HEAD~2", "--explain"]) == 0
    err = capsys.readouterr().err
    for gone in ("apps/other/imagespec.yaml", "apps/search/imagespec.yaml"):
        assert f"{gone}: deleted since HEAD~2; its target is no longer in the fleet" in err, err
    assert "node_modules" not in err, err
    # named files, not a folder searched: nothing was asked of the deleted ones
    assert main(["check", "apps/billing/imagespec.yaml", "base", "--changed-since", "HEAD~2"]) == 0
    assert "deleted since" not in capsys.readouterr().err


def test_a_deleted_specs_path_is_one_line_of_the_note(fleet_repo: Path, write: Write,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # a folder name with a newline made the note two lines, the second one a fake note
    odd = "x\nimagespec: note: fake"
    write(f"{odd}/imagespec.yaml", "name: odd\n")
    git(fleet_repo, "add", "-A")
    git(fleet_repo, "commit", "-qm", "odd")
    git(fleet_repo, "rm", "-q", f"{odd}/imagespec.yaml")
    git(fleet_repo, "commit", "-qm", "gone")
    assert main(["check", ".", "--changed-since", "HEAD~1"]) == 0
    err = capsys.readouterr().err
    assert "x\\nimagespec: note: fake/imagespec.yaml: deleted since HEAD~1" in err, err
    assert not any(line.startswith("imagespec: note: fake") for line in err.splitlines()), err


def test_a_company_template_change_selects_every_spec_on_it(fleet_repo: Path, write: Write,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    write("templates/company-app.yaml", TEMPLATE.replace("platform-team", "platform"))
    git(fleet_repo, "commit", "-qam", "template")
    assert selected("HEAD~1") == {
        "apps-billing": ["an input of its spec changed (extends, preset, template): templates/company-app.yaml"],
        "apps-search": ["an input of its spec changed (extends, preset, template): templates/company-app.yaml"],
    }
    assert main(["lint", ".", "--changed-since", "HEAD~1", "--explain"]) == 0
    err = capsys.readouterr().err
    assert ("apps-billing (apps/billing/imagespec.yaml): an input of its spec changed (extends, preset, template): "
            "templates/company-app.yaml") in err
    assert "apps-other" not in err and "base" not in err


def test_a_file_its_ignore_file_keeps_out_of_the_context_selects_nothing(fleet_repo: Path, write: Write) -> None:
    # was: every file under the spec's folder selected it (and all built on it), the
    # generated Dockerfile and ignore file too, though none reaches the build
    assert main(["generate", "."]) == 0
    git(fleet_repo, "add", "-A")
    git(fleet_repo, "commit", "-qm", "generated")
    write("base/NOTES.md", "not copied: the allow-list keeps it out\n")
    write("base/Dockerfile", (fleet_repo / "base" / "Dockerfile").read_text() + "# edited\n")
    write("base/.dockerignore", (fleet_repo / "base" / ".dockerignore").read_text() + "# edited\n")
    assert selected() == {}
    assert selected("HEAD~1") == {}  # the generated files added since: not inputs either
    write("base/m", "copied: it is sent\n")
    assert list(selected()) == ["base", "on-base"]


def test_a_base_specs_context_change_selects_its_dependants(fleet_repo: Path, write: Write) -> None:
    write("base/m", "new motd\n")  # uncommitted: the work tree counts
    assert selected() == {"base": ["a file of its build context changed: base/m"],
                          "on-base": ["it builds FROM the image of selected target: base"]}


def test_the_configuration_and_an_untracked_spec_are_inputs(fleet_repo: Path, write: Write) -> None:
    write(".imagespec.yaml", f"catalog: {CATALOG}\n# a comment changes the file\n")
    write("apps/new/imagespec.yaml", app("new"))
    write("apps/new/new", "x\n")
    chosen = selected()
    assert sorted(chosen) == ["apps-billing", "apps-new", "apps-other", "apps-search", "base", "on-base"]
    assert "its configuration or catalog changed: .imagespec.yaml" in chosen["apps-other"]
    assert "its spec changed: apps/new/imagespec.yaml" in chosen["apps-new"]


def test_generate_with_changed_since_writes_only_the_selected(fleet_repo: Path, write: Write) -> None:
    write("apps/search/imagespec.yaml", app("search").replace("1.0.0", "1.0.1"))
    assert main(["generate", ".", "--changed-since", "HEAD"]) == 0
    assert (fleet_repo / "apps/search/Dockerfile").is_file()
    assert not (fleet_repo / "apps/billing/Dockerfile").exists()


@pytest.mark.parametrize("revision", ["no-such-branch", "HEAD~5", "--output=x", "0" * 40])
def test_an_unknown_revision_is_exit_2_with_a_clear_message(fleet_repo: Path, revision: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bake", ".", "--changed-since", revision, "-o", "changed.json"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"imagespec: --changed-since {revision!r}: not a git revision (commit) of ")
    assert err[1].startswith("  hint: a commit, branch or tag")
    assert not (fleet_repo / "changed.json").exists()


def test_outside_git_changed_since_is_bad_input(tmp_path: Path, write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "plain"
    (outside / "a").mkdir(parents=True)
    (outside / "a" / "imagespec.yaml").write_text("name: a\nversion: 1.0.0\nfinal: {from: static, copy: [{src: a, "
                                                  "dest: /a}], entrypoint: [/a]}\n")
    monkeypatch.chdir(outside)
    with pytest.raises(SpecError, match="not in a git repository"):
        select_changed(load_fleet([Path("a")]), "HEAD")


def test_specs_of_two_repositories_are_said_to_be_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Their common folder is in neither repository; "/tmp/… is not in a git repository"
    was true but no help: a revision is a commit of one repository."""
    for name in ("one", "two"):
        (tmp_path / name / "a").mkdir(parents=True)
        (tmp_path / name / "a" / "imagespec.yaml").write_text(f"name: {name}\nversion: 1.0.0\nfinal: {{from: static, "
                                                             f"copy: [{{src: a, dest: /a}}], entrypoint: [/a]}}\n")
        git(tmp_path / name, "init", "-q")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match=r"the specs are in 2 git repositories \(.*one, .*two\)") as info:
        select_changed(load_fleet([Path("one"), Path("two")]), "HEAD")
    assert info.value.hint == "run it once per repository, with that repository's specs"


def test_explain_needs_changed_since(fleet_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", ".", "--explain"]) == 2
    assert "--explain needs --changed-since REV" in capsys.readouterr().err


def test_a_fleet_from_the_result_cache_is_the_fleet_compiled_and_a_change_is_a_miss(
        fleet_repo: Path, write: Write) -> None:
    from imagespec.fleet.bake import bake_text

    compiled = load_fleet([Path(".")])
    assert all("_compiled" in target.__dict__ for target in compiled)  # compiled, facts stored
    cached = load_fleet([Path(".")])
    assert not any("_compiled" in target.__dict__ for target in cached)  # every spec's facts from the cache
    assert bake_text(cached, Path("docker-bake.json")) == bake_text(compiled, Path("docker-bake.json"))
    assert [t.inputs for t in cached] == [t.inputs for t in compiled]
    write("templates/company-app.yaml", TEMPLATE.replace("Apache-2.0", "MIT"))
    changed = load_fleet([Path(".")])
    again = {t.name for t in changed if "_compiled" in t.__dict__}
    assert again == {"apps-billing", "apps-search"}  # the specs on the template, and only they, compile again
    assert ("org.opencontainers.image.licenses", "MIT") in changed.targets["apps-search"].build.labels
    assert cached.targets["apps-other"].compiled.loaded.spec.name == "other"  # compiled on demand


def test_a_partial_bake_file_needs_its_own_name_and_leaves_unchanged_parents_to_the_registry(
        fleet_repo: Path, write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    write("on-base/imagespec.yaml", (fleet_repo / "on-base/imagespec.yaml").read_text().replace("1.0.0", "1.0.1"))
    assert main(["bake", ".", "--changed-since", "HEAD"]) == 2
    assert "name it with -o FILE" in capsys.readouterr().err
    assert not (fleet_repo / "docker-bake.json").exists()
    assert main(["bake", ".", "--changed-since", "HEAD", "--explain", "-o", "changed.json"]) == 0
    assert "on-base (on-base/imagespec.yaml): its spec changed: on-base/imagespec.yaml" in capsys.readouterr().err
    document = json.loads((fleet_repo / "changed.json").read_text())
    assert list(document["target"]) == ["on-base"]
    assert "contexts" not in document["target"]["on-base"]  # base did not change: FROM its pushed image


def test_a_template_in_a_submodule_selects_its_specs_when_the_submodule_moves(
        repo: Path, write: Write, tmp_path: Path) -> None:
    # was: git names the submodule's folder, not its files: "no spec changed", though the
    # company template the apps extend had changed (README: a template change selects them)
    company = tmp_path / "company"
    (company / "templates").mkdir(parents=True)
    (company / "templates" / "company-app.yaml").write_text(TEMPLATE, encoding="utf-8")
    git(company, "init", "-q", "-b", "main")
    git(company, "add", "-A")
    git(company, "commit", "-qm", "template")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(company), "company")
    write(".imagespec.yaml", f"catalog: {CATALOG}\ntemplates: [company/templates]\n")
    write("apps/billing/imagespec.yaml", app("billing"))
    write("apps/billing/billing", "binary\n")
    write("apps/other/imagespec.yaml", "name: other\nversion: 1.0.0\nfinal: {from: static, copy: [{src: o, "
                                       "dest: /o}], entrypoint: [/o]}\n")
    write("apps/other/o", "binary\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "fleet")
    assert selected() == {}
    template = repo / "company" / "templates" / "company-app.yaml"
    template.write_text(TEMPLATE.replace("platform-team", "platform"), encoding="utf-8")  # the work tree
    assert "apps-billing" in selected() and "apps-other" not in selected()
    git(repo / "company", "commit", "-qam", "owner")  # a new commit of the submodule
    assert selected()["apps-billing"][-1] == ("an input of its spec changed (extends, preset, template): "
                                              "company/templates/company-app.yaml (in company)")
    assert "apps-other" not in selected()
