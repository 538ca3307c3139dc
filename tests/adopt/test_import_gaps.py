"""`imagespec import` (no engine): ARG defaults written into WORKDIR, USER, EXPOSE, COPY and
STOPSIGNAL are said, as ENV's and LABEL's are; a base image outside the catalog is not
claimed to run as root; the Dockerfile's ignore file is carried into `ignore:`; heredoc
COPY and RUN mean what BuildKit made of them, or are said not to."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from imagespec.adopt.dockerfile_stage import Report
from imagespec.adopt.import_dockerfile import import_dockerfile


def imported(tmp_path: Path, text: str) -> tuple[dict, str, Report]:
    (tmp_path / "Dockerfile").write_text(text, encoding="utf-8")
    result = import_dockerfile(tmp_path / "Dockerfile", Path("-"))
    return yaml.safe_load(result.text), result.text, result.report


def written_args(report: Report) -> list[str]:
    return [d for d in report.differences if "no longer changes it" in d]


def test_an_arg_default_written_into_workdir_user_expose_copy_and_stopsignal_is_said(tmp_path: Path) -> None:
    """Was: said for ENV and LABEL only; `WORKDIR ${APP_DIR}` became `/srv/app` silently,
    and `--build-arg APP_DIR=…` no longer moved it (task: import gaps)."""
    data, _, report = imported(tmp_path, 'FROM debian:bookworm-slim\nARG APP_DIR=/srv/app PORT=8080 UID=1000 SRC=build '
                                         'SIG=SIGINT\nWORKDIR ${APP_DIR}\nCOPY $SRC/ ./\nEXPOSE ${PORT} 9090\n'
                                         'STOPSIGNAL $SIG\nUSER $UID:$UID\nCMD ["/srv/app/run"]\n')
    assert data["final"]["workdir"] == "/srv/app" and data["final"]["ports"] == ["8080/tcp", "9090/tcp"]
    assert data["final"]["user"] == {"uid": 1000, "gid": 1000} and data["final"]["stop_signal"] == "SIGINT"

    def said(line: int, what: str, arg: str, default: str) -> str:
        return (f"Dockerfile:{line}: {what}: the ARG {arg}'s default ({default}) is written into the value; "
                f"`--build-arg {arg}=…` no longer changes it")

    assert written_args(report) == [
        said(3, "WORKDIR ${APP_DIR}", "APP_DIR", "/srv/app"), said(4, "COPY $SRC/ ./", "SRC", "build"),
        said(5, "EXPOSE ${PORT}", "PORT", "8080"), said(6, "STOPSIGNAL $SIG", "SIG", "SIGINT"),
        said(7, "USER $UID:$UID", "UID", "1000")]


def test_an_arg_reached_through_an_env_and_in_copy_from_flags_is_said_once_per_instruction(tmp_path: Path) -> None:
    _, _, report = imported(tmp_path, 'FROM debian:bookworm-slim AS build\nRUN true\n'
                                      'FROM debian:bookworm-slim\nARG DIR=/opt/x\nENV HOME_DIR=$DIR\n'
                                      'COPY --from=build ${HOME_DIR}/a ${DIR}/b\nWORKDIR /plain\nCMD ["x"]\n')
    assert written_args(report) == [
        "Dockerfile:5: ENV HOME_DIR: the ARG DIR's default (/opt/x) is written into the value; "
        "`--build-arg DIR=…` no longer changes it",
        "Dockerfile:6: COPY --from=build ${HOME_DIR}/a ${DIR}/b: the ARG DIR's default (/opt/x) is written into the "
        "value; `--build-arg DIR=…` no longer changes it"]


@pytest.mark.parametrize("base", ["gcr.io/distroless/static:nonroot", "mycorp/base:1", "cgr.dev/acme/app:nonroot"])
def test_no_user_on_a_base_outside_the_catalog_is_not_claimed_to_be_root(tmp_path: Path, base: str) -> None:
    """Was: "the image runs as the non-root user 65532 (the Dockerfile has no USER: root)"
    for any image the catalog does not know, `:nonroot` ones too; and a distroless
    `:nonroot` one outside the catalog was exit 2 (its user "must be prepared in another
    stage"): its user 65532 is now a guess, said."""
    _, text, report = imported(tmp_path, f'FROM {base}\nCOPY app /app\nCMD ["/app"]\n')
    assert not any("has no USER: root" in d for d in report.differences), report.differences
    if "distroless" in base:
        assert yaml.safe_load(text)["final"]["from"] == {"image": base, "family": "distroless", "user": 65532}
        assert any(g.startswith(f"user 65532 for {base}: distroless's `:nonroot` images run as 65532") for g in
                   report.guessed)
        assert not any("65532" in d for d in report.differences)
    else:
        assert [d for d in report.differences if "65532" in d] == [
            f"the image runs as the non-root user 65532 (BP8); the Dockerfile has no USER, so it ran as {base}'s own "
            f"user, which imagespec does not know (`docker image inspect -f '{{{{.Config.User}}}}' {base}` shows it; "
            "root if it is empty; an image that runs as another non-root user: set final.user, or add the image to "
            "the catalog with its `user`)"]


def test_a_catalog_base_without_user_is_still_said_to_run_as_root(tmp_path: Path) -> None:
    _, _, report = imported(tmp_path, 'FROM debian:bookworm-slim\nCOPY app /app\nCMD ["/app"]\n')
    assert "the image runs as the non-root user 65532 (the Dockerfile has no USER: root) (BP8)" in report.differences


def import_to_file(folder: Path, text: str, files: dict[str, str] | None = None) -> tuple[dict, str, Report]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(text, encoding="utf-8")
    for name, content in (files or {}).items():
        (folder / name).write_text(content, encoding="utf-8", newline="")
    result = import_dockerfile(folder / "Dockerfile", folder / "imagespec.yaml")
    return yaml.safe_load(result.text), result.text, result.report


IGNORE = "# build output\nnode_modules\n/dist/\n\n  !dist/keep.txt \n*.md\n!README*.md\n #odd\n./a/../b\n# tail\r\n"


def test_the_dockerignore_beside_the_dockerfile_is_carried_into_ignore_with_its_comments(tmp_path: Path) -> None:
    """Was: not carried; `imagespec build` reads only the spec's ignore file, so the build
    sent what the Dockerfile's never saw, or stopped at each pattern (hand_ignore)."""
    data, text, report = import_to_file(tmp_path / "app", 'FROM debian:bookworm-slim\nCOPY . /app\nCMD ["/app/r"]\n',
                                        {".dockerignore": IGNORE})
    # as the engine reads them (trimmed, cleaned, relative); ` #odd` is a pattern, escaped
    assert data["ignore"] == ["node_modules", "dist", "!dist/keep.txt", "*.md", "!README*.md", "[#]odd", "b"]
    assert "ignore:\n# build output\n- node_modules\n" in text and "- b\n# tail\nfinal:" in text
    assert any(d.endswith(".dockerignore: its 7 patterns are the spec's `ignore:`, after imagespec's own, which "
                          "keep .git, .env and other credential files out too (BP15); `imagespec generate` replaces "
                          "a hand-written ignore file at the spec's ignore file's path only with --force")
               for d in report.differences)


def test_the_carried_patterns_keep_out_what_the_dockerfiles_build_kept_out(tmp_path: Path) -> None:
    """The spec's ignore file, read by docker's own matcher over a context: every file the
    original .dockerignore kept out stays out, and only those (nothing here is imagespec's)."""
    from docker.utils.build import PatternMatcher

    from imagespec.compiler import compile_spec
    from imagespec.spec.config import load_config
    from imagespec.spec.read_spec import load_spec

    folder = tmp_path / "ctx"
    for name in ("app.py", "README.md", "README-dev.md", "notes.md", "dist/x.js", "dist/keep.txt", "b/y",
                 "#odd", "node_modules/m/i.js", "src/node_modules/n.js", "sub/c.md"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("x", encoding="utf-8")
    import_to_file(folder, 'FROM debian:bookworm-slim\nCOPY . /app\nCMD ["/app/r"]\n', {".dockerignore": IGNORE})
    config = load_config(start=folder)
    plan = compile_spec(load_spec(folder / "imagespec.yaml", config), config).plan
    ours = {*PatternMatcher(list(plan.dockerignore)).walk(str(folder))}
    theirs = {*PatternMatcher([p.strip() for p in IGNORE.splitlines() if p.strip() and not p.startswith("#")])
              .walk(str(folder))}
    mine = {"imagespec.yaml", "Dockerfile", ".dockerignore"}
    assert ours - mine == theirs - mine - {"src/node_modules", "src/node_modules/n.js"}  # BP6: never node_modules
    assert "#odd" not in ours and "dist/keep.txt" in ours and "README-dev.md" in ours


def test_a_dockerfile_specific_ignore_file_wins_as_in_buildkit(tmp_path: Path) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "Dockerfile.dockerignore").write_text("only-this\n", encoding="utf-8")
    data, _, _ = import_to_file(folder, 'FROM debian:bookworm-slim\nCOPY . /app\nCMD ["/app/r"]\n',
                                {".dockerignore": "not-this\n"})
    assert data["ignore"] == ["only-this"]


def test_without_an_ignore_file_or_with_comments_only_nothing_is_carried(tmp_path: Path) -> None:
    data, _, _ = import_to_file(tmp_path / "a", 'FROM debian:bookworm-slim\nCOPY . /app\nCMD ["/app/r"]\n')
    assert "ignore" not in data
    data, _, _ = import_to_file(tmp_path / "b", 'FROM debian:bookworm-slim\nCOPY . /app\nCMD ["/app/r"]\n',
                                {".dockerignore": "# nothing\n\n"})
    assert "ignore" not in data


HEREDOC_RUNS = """FROM debian:bookworm-slim
RUN <<'EOT'
echo one
EOT
RUN <<-EOT
\techo two
\tEOT
RUN <<"EOT"
echo three
echo four
EOT
RUN cat <<EOT > /x
$HOME
EOT
RUN <<EOT
#!/usr/bin/env python3
print("five")
EOT
CMD ["x"]
"""


def test_a_heredoc_run_is_its_script_whatever_its_word_and_a_shebang_one_is_said(tmp_path: Path) -> None:
    """Was: `RUN <<'EOT'` and `RUN <<-EOT` became `<<'EOT' … EOT` in the spec's run, a heredoc
    with no command, which the shell skips: `echo one` never ran; a `#!` script ran as sh."""
    data, _, report = imported(tmp_path, HEREDOC_RUNS)
    assert data["stages"]["stage0"]["run"] == [
        "echo one", "echo two", "(\nset +eu\necho three\necho four\n)", "(\nset +eu\ncat <<EOT > /x\n$HOME\nEOT\n)"]
    assert report.comments == [(15, HEREDOC_RUNS.split("\n", 14)[14].split("CMD")[0], report.comments[0][2])]
    assert report.comments[0][2].startswith("a heredoc script with a `#!` line, which BuildKit runs as a file")


COPY_HEREDOCS = """FROM debian:bookworm-slim AS build
COPY <<'EOF' <<B /etc/demo/
$literal
EOF
b
B
COPY --chmod=755 <<-EOF /usr/local/bin/hi
\t#!/bin/sh
\techo hi
\tEOF
RUN /usr/local/bin/hi
FROM debian:bookworm-slim
COPY --from=build /etc/demo /etc/demo
COPY <<EOF /etc/app.conf
a=1
EOF
COPY <<EOF /etc/expanded.conf
home=$HOME
EOF
CMD ["x"]
"""


def test_a_heredoc_copy_is_a_context_file_written_by_import_and_copied(tmp_path: Path) -> None:
    """Was: every heredoc COPY a comment, so the image lacked its files."""
    folder = tmp_path / "hd"
    data, text, report = import_to_file(folder, COPY_HEREDOCS)
    written = sorted(str(p.relative_to(folder)) for p in (folder / "dockerfile-heredocs").rglob("*") if p.is_file())
    assert written == ["dockerfile-heredocs/14/EOF", "dockerfile-heredocs/2/B", "dockerfile-heredocs/2/EOF",
                       "dockerfile-heredocs/7/EOF"]
    assert (folder / "dockerfile-heredocs/2/EOF").read_text() == "$literal\n"  # quoted: not expanded
    assert (folder / "dockerfile-heredocs/7/EOF").read_text() == "#!/bin/sh\necho hi\n"  # <<-: tabs chomped
    assert (folder / "dockerfile-heredocs/7/EOF").stat().st_mode & 0o777 == 0o755
    assert (folder / "dockerfile-heredocs/14/EOF").stat().st_mode & 0o777 == 0o644
    stage = data["stages"]["build"]
    assert stage["copy"] == [{"src": "dockerfile-heredocs/2/EOF", "dest": "/etc/demo/"},
                             {"src": "dockerfile-heredocs/2/B", "dest": "/etc/demo/"},
                             {"src": "dockerfile-heredocs/7/EOF", "dest": "/usr/local/bin/hi"}]
    assert {"src": "dockerfile-heredocs/14/EOF", "dest": "/etc/app.conf"} in data["final"]["copy"]
    assert any(d.startswith("Dockerfile:14: the text of its heredoc is the context file dockerfile-heredocs/14/EOF, "
                            "written by import") for d in report.differences)
    # an unquoted word's `$` is expanded by BuildKit: said, not guessed
    assert [c[0] for c in report.comments] == [17] and "which BuildKit expands" in report.comments[0][2]
    assert "# Dockerfile:17: COPY <<EOF /etc/expanded.conf … (not expressed: the text of <<EOF has `$`" in text


def test_a_heredoc_copy_printed_with_dash_o_writes_nothing_and_is_said(tmp_path: Path) -> None:
    _, _, report = imported(tmp_path, 'FROM debian:bookworm-slim\nCOPY <<EOF /a\nx\nEOF\nCMD ["x"]\n')
    assert not (tmp_path / "dockerfile-heredocs").exists()
    assert report.comments[0][0] == 2 and "not with -o -" in report.comments[0][2]


def test_a_heredoc_file_is_never_written_over_and_a_kept_out_one_is_let_in(tmp_path: Path) -> None:
    folder = tmp_path / "hd"
    (folder / "dockerfile-heredocs/2").mkdir(parents=True)
    (folder / "dockerfile-heredocs/2/EOF").write_text("mine\n", encoding="utf-8")
    _, _, report = import_to_file(folder, 'FROM debian:bookworm-slim\nCOPY <<EOF /a\nx\nEOF\nCMD ["x"]\n')
    assert (folder / "dockerfile-heredocs/2/EOF").read_text() == "mine\n"
    assert "exists already with other content" in report.comments[0][2]
    other = tmp_path / "ignored"
    data, _, _ = import_to_file(other, 'FROM debian:bookworm-slim\nCOPY . /app\nCOPY <<EOF /a\nx\nEOF\nCMD ["x"]\n',
                                {".dockerignore": "*\n!app.py\n"})
    assert data["ignore"] == ["*", "!app.py", "!dockerfile-heredocs/3/EOF"]


@pytest.mark.parametrize("folder", ["node", "rust"])
def test_a_folder_named_like_an_image_it_builds_from_names_the_spec_name_app(tmp_path: Path, folder: str) -> None:
    """Was: exit 2 for a `node/` folder's `FROM node:${V}-slim`: the spec named `node`
    built FROM its own image (found importing real-world Dockerfiles)."""
    text = f'ARG V=1\nFROM {folder}:${{V}}-slim AS b\nRUN true\nFROM debian:bookworm-slim\nCOPY --from=b /x /x\nCMD ["/x"]\n'
    data, _, report = import_to_file(tmp_path / folder, text)
    assert data["name"] == f"{folder}-app"
    assert report.guessed[0] == f"name {folder}-app: the Dockerfile's folder, with -app: {folder}:1-slim is an image it builds FROM"


@pytest.mark.parametrize(("labels", "fields", "kept", "said"), [
    ('org.opencontainers.image.source="https://github.com/x/y" org.opencontainers.image.description="A tool" '
     'org.opencontainers.image.licenses="Apache-2.0" org.opencontainers.image.version="2.1.0" com.example.team=pay',
     {"source": "https://github.com/x/y", "description": "A tool", "license": "Apache-2.0", "version": "2.1.0"},
     {"com.example.team": "pay"}, []),
    ("org.opencontainers.image.revision=abc org.opencontainers.image.title=t io.imagespec.base=x",
     {"version": "0.1.0"}, None, ["image.revision is not carried", "image.title is not carried: imagespec sets it "
                                  "from `name:`", "io.imagespec.base is not carried"]),
    ("org.opencontainers.image.source=github.com/x org.opencontainers.image.version=v2", {"version": "0.1.0"}, None,
     ["'github.com/x' is not a source repository URL", "'v2' is not a semantic version"]),
])
def test_imagespecs_own_labels_in_a_dockerfile(tmp_path: Path, labels: str, fields: dict, kept: dict | None,
                                              said: list[str]) -> None:
    """Was: exit 2, the imported spec did not compile (`labels:` may not name a label the
    build sets, contract.DERIVED_LABELS), for the common `LABEL org.opencontainers.image.source=…`.
    Those a spec field sets move to it; the rest are said, as is a value the field refuses."""
    data, _, report = imported(tmp_path, f'FROM debian:bookworm-slim\nLABEL {labels}\nCMD ["true"]\n')
    assert {key: data[key] for key in ("source", "description", "license", "version") if key in data} == fields
    assert data["final"].get("labels") == kept
    for text in said:
        assert any(text in line for line in report.differences), (text, report.differences)
    assert any(g.startswith("version 0.1.0") for g in report.guessed) == (fields["version"] == "0.1.0")


@pytest.mark.parametrize(("base", "written"), [
    ("gcr.io/distroless/static-debian12", "static"),  # the catalog's `:nonroot` tag of the image
    ("gcr.io/distroless/static-debian12:latest", "static"),
    ("gcr.io/distroless/cc-debian12", "cc"),
    ("gcr.io/distroless/base-debian12", {"image": "gcr.io/distroless/base-debian12", "family": "distroless",
                                         "user": 65532}),
    ("cgr.dev/chainguard/static:latest", {"image": "cgr.dev/chainguard/static:latest", "family": "distroless",
                                          "user": 65532}),
])
def test_a_distroless_base_without_its_nonroot_tag_imports_to_a_spec_that_compiles(tmp_path: Path, base: str,
                                                                                   written: object) -> None:
    """Was: exit 2 at `generate` ("the final image has no shell, so the user 65532 must be
    prepared in another stage"): a distroless image written without `:nonroot` (the same
    files, run as root) and no build stage. Its user nonroot is in every tag (BP8)."""
    from imagespec.compiler import compile_spec
    from imagespec.spec.config import load_config
    from imagespec.spec.read_spec import load_spec

    folder = tmp_path / "svc"
    data, _, report = import_to_file(folder, f'FROM {base}\nCOPY app /app\nENTRYPOINT ["/app"]\n', {"app": "x"})
    assert data["final"]["from"] == written and "user" not in data["final"]
    assert any(base in g and "65532" in g and "BP8" in g for g in report.guessed), report.guessed
    config = load_config(start=folder)
    dockerfile = compile_spec(load_spec(folder / "imagespec.yaml", config), config).dockerfile
    assert "\nUSER 65532:65532\n" in dockerfile and 'ENTRYPOINT ["/app"]' in dockerfile, dockerfile


@pytest.mark.parametrize(("run", "written"), [
    # `.` an argument, not the shell's `source`: was `( CGO_ENABLED=0 go build -o /app . )`
    ("CGO_ENABLED=0 go build -o /app .", "CGO_ENABLED=0 go build -o /app ."),
    ("pip install --no-deps .", "pip install --no-deps ."),
    ("find / -name '*.pyc' -exec rm {} +", "find / -name '*.pyc' -exec rm {} +"),
    # the shell's own state changed: the commands merged after it must not see it
    ("make && \\\n    cd /tmp && ls", "( make &&     cd /tmp && ls )"),
    ("if cd /opt/app; then make; fi", "( if cd /opt/app; then make; fi )"),
    (". /opt/venv/bin/activate && pip list", "( . /opt/venv/bin/activate && pip list )"),
])
def test_a_run_is_a_subshell_only_when_it_changes_the_shell(tmp_path: Path, run: str, written: str) -> None:
    """Merged with the stage's other RUN steps, a command that changes the shell (`cd`,
    `.`, `export`) runs in a subshell; one that only names `.` as an argument does not
    (stranger QA: the import of `RUN CGO_ENABLED=0 go build -o /app .`). One test of it
    for import and the generated RUN (render.serialize.changes_shell_state)."""
    data, _, _ = imported(tmp_path, f"FROM debian:bookworm-slim AS build\nRUN {run}\nRUN echo done\n"
                                    "FROM debian:bookworm-slim\nCOPY --from=build /etc/hostname /x\nCMD [\"/x\"]\n")
    assert data["stages"]["build"]["run"] == [written, "echo done"]


def test_a_manifest_copy_with_chown_is_still_the_dependency_step(tmp_path: Path) -> None:
    """Stranger QA: Node's own guide writes `COPY --chown=node:node package*.json ./` before
    `RUN npm ci`; the --chown made it a copy like any other, so the install was a stage part
    of its own, re-run on every source change (BP4). The owner is dropped, as for every
    copy of a stage, and said."""
    data, _, report = imported(tmp_path, "FROM node:20-bookworm-slim\nWORKDIR /app\n"
                                         "COPY --chown=node:node package*.json ./\nRUN npm ci --omit=dev\n"
                                         "COPY --chown=node:node . .\nUSER node\nCMD [\"node\", \"index.js\"]\n")
    stage = next(iter(data["stages"].values()))
    assert len(data["stages"]) == 1, data["stages"]
    assert stage["dependencies"] == {"copy": ["package*.json"], "run": "npm ci --omit=dev"}
    assert stage["copy"] == ["."] and "run" not in stage
    owned = [d for d in report.differences if "owned by root" in d]
    assert [d.split(":", 2)[1] for d in owned] == ["3", "5"], report.differences


RELEASE = """\
FROM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /app .
FROM scratch AS release
COPY --from=build /app /app
ENTRYPOINT ["/app"]
FROM release
"""


def test_a_last_stage_from_a_stage_that_gathers_files_starts_with_its_instructions(tmp_path: Path) -> None:
    """QA: `FROM scratch AS release` + `COPY --from=build` + `FROM release` imported, generated
    and linted clean as a scratch image without /app: the COPY --from of a build stage was a
    comment and the build stage was said not to be part of the image."""
    data, text, report = imported(tmp_path, RELEASE)
    assert data["final"] == {"from": "scratch", "copy": [{"from": "build", "src": "/app", "dest": "/app"}],
                             "entrypoint": ["/app"]}
    assert data["stages"]["build"]["artifacts"] == ["/app"]
    assert any(d.startswith("Dockerfile:8: FROM release: the last stage starts with the instructions of stage "
                            "'release' (lines 5-7), FROM scratch") for d in report.differences)
    assert [c[0] for c in report.comments] == [5] and "start the last stage's" in report.comments[0][2]
    # a chain of them, the first named by its number
    chained = RELEASE.replace("FROM release\n", "FROM release AS tagged\nLABEL team=core\nFROM tagged\n")
    data, _, _ = imported(tmp_path, chained)
    assert data["final"]["from"] == "scratch" and data["final"]["labels"] == {"team": "core"}
    data, _, _ = imported(tmp_path, RELEASE.replace("FROM release", "FROM 1"))
    assert data["final"]["from"] == "scratch" and data["final"]["copy"][0]["from"] == "build"


BINARIES = """\
FROM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN go build -o /out/app . && go build -o /out/tools/ctl ./ctl
FROM scratch AS binaries
COPY --from=build /out/app /app
COPY --from=build /out/tools /tools/
FROM alpine:3.20
COPY --from=binaries /app /usr/bin/app
COPY --from=binaries /tools/ctl /usr/bin/
ENTRYPOINT ["/usr/bin/app"]
"""


def test_a_copy_from_a_stage_that_gathers_files_copies_from_where_it_gathered_them(tmp_path: Path) -> None:
    """QA: the `binaries` pattern: the final's `COPY --from=binaries` copied from a stage whose
    own `COPY --from=build` was a comment (the build failed at that COPY), and stage build was
    said not to be part of the image."""
    data, _, report = imported(tmp_path, BINARIES)
    assert "binaries" not in data["stages"]
    assert data["final"]["copy"] == [{"from": "build", "src": "/out/app", "dest": "/usr/bin/app"},
                                     {"from": "build", "src": "/out/tools/ctl", "dest": "/usr/bin/"}]
    assert any(d.startswith("Dockerfile:9: COPY --from=binaries /app /usr/bin/app: copies /out/app of stage 'build' "
                            "instead, where stage 'binaries' (line 5) gathered it from") for d in report.differences)
    assert [c[0] for c in report.comments] == [5] and "copies from where it gathered" in report.comments[0][2]
    # the whole stage: each gathered file to its place under the destination
    data, _, _ = imported(tmp_path, BINARIES.replace("COPY --from=binaries /app /usr/bin/app\n"
                                                     "COPY --from=binaries /tools/ctl /usr/bin/\n",
                                                     "COPY --from=binaries / /opt/\n"))
    assert data["final"]["copy"] == [{"from": "build", "src": "/out/app", "dest": "/opt/app"},
                                     {"from": "build", "src": "/out/tools", "dest": "/opt/tools/"}]


@pytest.mark.parametrize("change", [("COPY --from=build /out/app /app", "COPY --from=build --chown=1:1 /out/app /app"),
                                    ("COPY --from=build /out/app /app", "COPY --from=build /out/a* /app"),
                                    ("COPY --from=binaries /app /usr/bin/app", "COPY --from=binaries /nope /usr/bin/app"),
                                    ("FROM scratch AS binaries", "FROM alpine:3.20 AS binaries\nRUN true")])
def test_a_gathering_stage_that_does_not_map_one_to_one_is_left_as_it_was(tmp_path: Path,
                                                                          change: tuple[str, str]) -> None:
    data, _, report = imported(tmp_path, BINARIES.replace(*change))
    assert data["final"]["copy"][0]["from"] == "binaries"  # as before, and said: the build fails there
    said = [d for d in report.differences if ": COPY --from=binaries /" in d and "gathers files" in d]
    if "alpine:3.20 AS binaries" in change[1]:  # a stage that runs steps may make the path itself: not said
        assert not said, report.differences
    else:
        assert said and all("if it did, the build fails at this COPY" in d for d in said), report.differences


GATHERED = """\
FROM golang:1.22 AS build
RUN mkdir -p /out/share /out/x && echo a > /out/share/a && echo b > /out/x/a && go build -o /out/app .
FROM scratch AS binaries
{gathering}
FROM alpine:3.20
{last}
ENTRYPOINT ["/usr/bin/app"]
"""


@pytest.mark.parametrize(("gathering", "last", "copies"), [
    # QA: a later COPY over a gathered folder was lost (the image held the earlier file)
    ("COPY --from=build /out/share /share\nCOPY --from=build /out/x/a /share/a", "COPY --from=binaries /share /s",
     [("/out/share", "/s"), ("/out/x/a", "/s/a")]),
    # QA: a folder the stage filled from several COPYs was left to an empty stage (build failed)
    ("COPY --from=build /out/app /bin/app\nCOPY --from=build /out/x /bin/x/", "COPY --from=binaries /bin /opt/bin",
     [("/out/app", "/opt/bin/app"), ("/out/x", "/opt/bin/x/")]),
    ("COPY --from=build /out/share /share/", "COPY --from=binaries /share /usr/share/x", [("/out/share", "/usr/share/x/")]),
    ("COPY --from=build /out/app /bin/", "COPY --from=binaries /bin/app /usr/bin/app", [("/out/app", "/usr/bin/app")]),
])
def test_a_gathered_path_is_copied_from_each_copy_that_filled_it_in_order(tmp_path: Path, gathering: str, last: str,
                                                                            copies: list[tuple[str, str]]) -> None:
    data, _, _ = imported(tmp_path, GATHERED.format(gathering=gathering, last=last))
    assert [(c["from"], c["src"], c["dest"]) for c in data["final"]["copy"]] == [("build", s, d) for s, d in copies]


def test_a_chain_of_gathering_stages_and_their_chmod_are_read_through(tmp_path: Path) -> None:
    text = GATHERED.format(gathering="COPY --from=build --chmod=755 /out/app /app\nFROM scratch AS again\n"
                                     "COPY --from=binaries /app /app2", last="COPY --from=again /app2 /usr/bin/app")
    data, _, report = imported(tmp_path, text)
    assert data["final"]["copy"] == [{"from": "build", "src": "/out/app", "dest": "/usr/bin/app", "mode": "0755"}]
    assert [c[0] for c in report.comments] == [3, 5], report.comments  # both gathering stages, said


def test_a_stage_that_runs_something_is_not_folded(tmp_path: Path) -> None:
    ran = RELEASE.replace("FROM scratch AS release", "FROM debian:bookworm-slim AS release").replace(
        'ENTRYPOINT ["/app"]', 'RUN mkdir /data\nENTRYPOINT ["/app"]')
    data, _, report = imported(tmp_path, ran)
    assert data["final"]["from"] == "release" and not any("starts with the instructions" in d
                                                          for d in report.differences)


def test_a_known_base_images_command_is_kept_when_the_last_stage_runs_steps(tmp_path: Path) -> None:
    """QA: `FROM nginx` + RUN + no CMD was exit 2 ("names no CMD"): the stage split for its RUN
    was looked up as the base, not nginx."""
    data, _, report = imported(tmp_path, "FROM nginx:1.27-alpine\nRUN echo hi > /x\nEXPOSE 8080\n")
    assert data["final"]["from"] == "stage0" and data["final"]["cmd"] == ["nginx", "-g", "daemon off;"]
    assert any(g.startswith("cmd ['nginx'") for g in report.guessed)


@pytest.mark.parametrize("output", ["../outside.yaml", ".git/spec.yaml", "out/../../elsewhere.yaml", "link/spec.yaml"])
def test_import_never_writes_outside_the_dockerfiles_repository(tmp_path: Path, output: str) -> None:
    """QA: `-o /tmp/x.yaml` and `-o ../x.yaml` were written (generate's rule holds for import too)."""
    from imagespec.errors import SpecError

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "out").mkdir()
    (tmp_path / "else").mkdir()
    (repo / "link").symlink_to(tmp_path / "else")
    (repo / "Dockerfile").write_text('FROM debian:bookworm-slim\nCMD ["true"]\n', encoding="utf-8")
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(SpecError, match="-o: import would write .*(outside the repository it reads|inside .git)"):
        import_dockerfile(repo / "Dockerfile", repo / output)
    assert sorted(tmp_path.rglob("*")) == before
    import_dockerfile(repo / "Dockerfile", repo / "out" / "spec.yaml")  # a folder of its own repository: fine
    assert yaml.safe_load((repo / "out/spec.yaml").read_text())["context"] == ".."


def test_a_heredoc_is_never_written_through_a_linked_folder(tmp_path: Path) -> None:
    """QA: a committed `dockerfile-heredocs -> /elsewhere` link made import write there."""
    (tmp_path / "else").mkdir()
    folder = tmp_path / "hd"
    folder.mkdir()
    (folder / "dockerfile-heredocs").symlink_to(tmp_path / "else")
    _, _, report = import_to_file(folder, 'FROM debian:bookworm-slim\nCOPY <<EOF /a\nx\nEOF\nCMD ["x"]\n')
    assert list((tmp_path / "else").iterdir()) == []
    assert report.comments[0][0] == 2 and "outside the Dockerfile's folder" in report.comments[0][2]


def test_buildkits_platform_arguments_in_from_are_said_as_such(tmp_path: Path) -> None:
    """QA (moby/buildkit's, docker/buildx's Dockerfiles): `FROM binaries-$TARGETOS` was "not
    set by the Dockerfile" with the hint to give the ARG a default, which BuildKit owns."""
    from imagespec.errors import SpecError

    with pytest.raises(SpecError) as raised:
        imported(tmp_path, 'FROM scratch AS binaries-linux\nCOPY x /x\nFROM binaries-$TARGETOS\nCMD ["/x"]\n')
    assert str(raised.value.location) == f"{tmp_path / 'Dockerfile'}:3:1"
    assert "$TARGETOS is BuildKit's own platform argument" in raised.value.message
    assert raised.value.hint and "`platforms:`" in raised.value.hint and "default" not in raised.value.hint


@pytest.mark.parametrize("value", ["A=$1x", 'C="cost: $5"', "B=a$$b", 'P="$?"', "L=$10"])
def test_a_shells_special_parameter_is_what_buildkit_makes_of_it(tmp_path: Path, value: str) -> None:
    """QA: `$1`, `$5`, `$$` were written as literal text; BuildKit's lexer reads them as a
    shell's parameters and expands them to nothing (`he$1x` is `hex` in its own tests)."""
    data, _, report = imported(tmp_path, f'FROM debian:bookworm-slim\nENV {value} KEEP=\\$5\nCMD ["/x"]\n')
    assert data["final"]["env"] == {"KEEP": "$5"}  # an escaped dollar is one
    assert [c[0] for c in report.comments] == [2] and "special parameter to BuildKit" in report.comments[0][2]


@pytest.mark.parametrize(("start", "final"), [
    ('CMD ["sh", "-c", "exec sleep infinity"]', {"cmd": ["sleep", "infinity"]}),
    ('ENTRYPOINT ["/bin/sh", "-c", "exec myapp --port $PORT"]\nCMD ["--verbose"]',
     {"shell": True, "entrypoint": "myapp --port $PORT"}),
])
def test_a_json_sh_c_start_is_read_as_the_shell_form_it_is(tmp_path: Path, start: str, final: dict) -> None:
    """QA: `CMD ["sh", "-c", …]` was kept as written, and the imported spec failed its own
    lint (IS014: the shell is PID 1). A CMD after `["sh", "-c", TEXT]` became TEXT's $0, which
    TEXT never names: it is not kept, as for the shell form."""
    data, _, report = imported(tmp_path, f"FROM debian:bookworm-slim\n{start}\n")
    assert {k: v for k, v in data["final"].items() if k in ("cmd", "entrypoint", "shell")} == final
    if "--verbose" in start:
        assert any("CMD is not kept" in d for d in report.differences)


@pytest.mark.parametrize("base", ["mcr.microsoft.com/windows/nanoserver:ltsc2022",
                                  "mcr.microsoft.com/windows/servercore:ltsc2022", "golang:1.22-windowsservercore"])
def test_a_windows_base_is_exit_2_at_its_from(tmp_path: Path, base: str) -> None:
    """QA (caddy's windows Dockerfiles): guessed `family: debian`, and the spec made its user
    with groupadd and useradd; `WORKDIR C:\\app` became `/C:\\app`."""
    from imagespec.errors import SpecError

    with pytest.raises(SpecError, match="a Windows image: imagespec builds Linux images") as raised:
        imported(tmp_path, f'FROM {base}\nWORKDIR C:\\\\app\nCMD ["app.exe"]\n')
    assert raised.value.location.line == 1 and "Linux version" in (raised.value.hint or "")
