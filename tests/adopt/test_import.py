"""`imagespec import` (no engine): what each instruction becomes, values read as BuildKit
reads them, comments with line numbers, and hostile Dockerfiles as a located exit 2
with nothing written."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import dockerfile
import pytest
import yaml

from imagespec.adopt.dockerfile_words import env_pairs, process_word
from imagespec.compiler import compile_spec
from imagespec.spec.config import load_config
from imagespec.spec.read_spec import load_spec

GO_APP = """\
# syntax=docker/dockerfile:1
ARG GO_IMAGE=golang:1.22-bookworm
FROM ${GO_IMAGE} AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends git=1:2.39.5-0+deb12u1 make \\
 && rm -rf /var/lib/apt/lists/*
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build --chown=65532:65532 /out/app /usr/local/bin/app
EXPOSE 8080 53/udp
USER 65532
HEALTHCHECK --interval=30s --retries=3 CMD ["/usr/local/bin/app", "-health"]
STOPSIGNAL SIGINT
LABEL org.opencontainers.image.vendor="ACME \\"Inc\\"" team=core
VOLUME /data
ENTRYPOINT ["/usr/local/bin/app"]
CMD serve --listen :8080
"""


def run_import(folder: Path, text: str | bytes, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Dockerfile"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    done = subprocess.run([sys.executable, "-m", "imagespec", "import", str(path), *args], capture_output=True,
                          text=True, timeout=120)
    return done, folder / "imagespec.yaml"


def test_each_instruction_maps_to_its_spec_key(tmp_path: Path) -> None:
    done, spec = run_import(tmp_path / "app", GO_APP, "--format", "json")
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    assert data["stages"] == {"build": {
        "from": "go-build", "packages": {"git": "1:2.39.5-0+deb12u1", "make": None}, "workdir": "/src",
        "dependencies": {"copy": ["go.mod", "go.sum"], "run": "go mod download"},
        "copy": ["."], "run": ["CGO_ENABLED=0 go build -o /out/app ./cmd/app"], "artifacts": ["/out/app"]}}
    assert data["final"] == {
        "from": "static", "copy": [{"from": "build", "src": "/out/app", "dest": "/usr/local/bin/app", "owner": "65532:65532"}],
        "user": {"uid": 65532}, "ports": ["8080/tcp", "53/udp"],
        "healthcheck": {"cmd": ["/usr/local/bin/app", "-health"], "interval": "30s", "retries": 3},
        "stop_signal": "SIGINT", "labels": {"org.opencontainers.image.vendor": 'ACME "Inc"', "team": "core"},
        "entrypoint": ["/usr/local/bin/app"], "cmd": ["serve", "--listen", ":8080"]}
    text = spec.read_text(encoding="utf-8")
    assert re.search(r"^# Dockerfile:19: VOLUME /data \(not expressed: .*final\.writable", text, re.MULTILINE)
    report = json.loads(done.stdout)
    assert report["not_expressed"] == [{"line": 19, "instruction": "VOLUME /data", "why": report["not_expressed"][0]["why"]}]
    assert any("exec form" in d for d in report["differences"])  # CMD --listen :8080 was shell form
    assert any("apt packages" in d for d in report["differences"])


def test_values_mean_what_buildkit_read(tmp_path: Path) -> None:
    """ENV values with quotes, `$` and backslashes: the generated Dockerfile, read back by
    BuildKit's parser and word rules, sets exactly what the original did."""
    # UNSET is declared (an ARG with no default), so the Dockerfile knows it unset; a name it does
    # not declare may be the base image's, and `${NAME:-…}` of it is not expressed
    original = ('FROM debian:bookworm-slim\nARG UNSET\nENV A="q\\"uote \\$x" B=\'$single\' C=${UNSET:-dflt} D=a\\ b '
                'E="back\\\\slash"\n'
                'ENV F="$A-$C"\nCMD ["true"]\n')
    done, spec = run_import(tmp_path / "values", original)
    assert done.returncode == 0, done.stderr
    expected: dict[str, str] = {}
    for command in dockerfile.parse_string(original):
        if command.cmd == "ENV":
            for key, raw in env_pairs(command.value):
                expected[key] = process_word(raw, expected)
    assert expected["A"] == 'q"uote $x' and expected["B"] == "$single" and expected["F"] == 'q"uote $x-dflt'
    config = load_config(start=spec.parent)
    generated = compile_spec(load_spec(spec, config), config).dockerfile
    got: dict[str, str] = {}
    for command in dockerfile.parse_string(generated):
        if command.cmd == "ENV":
            got |= {key: process_word(raw, {}) for key, raw in env_pairs(command.value)}
    assert {k: got[k] for k in expected} == expected


def test_a_base_images_path_in_env_path_is_written_out_and_said_to_be_a_guess(tmp_path: Path) -> None:
    """`ENV PATH=/opt/venv/bin:$PATH` (a venv, an app's bin): the base's PATH written out,
    as Debian's default (said). Was: not expressed, so the venv's pip was not the one
    that ran (stranger QA). Other variables of the base's stay a comment."""
    text = ('FROM debian:bookworm-slim\nENV PATH="/opt/venv/bin:$PATH"\nENV PATH=/opt/app/bin:${PATH}\n'
            'ENV CONFIG=$HOME/.config\nCMD ["x"]\n')
    done, spec = run_import(tmp_path / "path", text, "--format", "json")
    assert done.returncode == 0, done.stderr
    text = spec.read_text(encoding="utf-8")
    default = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert yaml.safe_load(text)["final"]["env"] == {"PATH": f"/opt/app/bin:/opt/venv/bin:{default}"}
    guessed = [g for g in json.loads(done.stdout)["guessed"] if g.startswith("PATH")]
    assert guessed == [f"PATH: $PATH in the ENV PATH on Dockerfile:2 is debian:bookworm-slim's PATH, written as "
                       f"Debian's default {default}; `docker image inspect -f '{{{{.Config.Env}}}}' "
                       "debian:bookworm-slim` shows the base's"]
    assert guessed[0] in text  # in the spec's header too
    assert "# Dockerfile:4: ENV CONFIG=$HOME/.config (not expressed: $HOME is not set by the Dockerfile" in text


def test_heredoc_continuations_and_escape_directive(tmp_path: Path) -> None:
    text = ("# escape=`\nFROM debian:bookworm-slim AS build\nRUN echo one `\n && echo two\nRUN <<EOF\ncd /tmp\n"
            "echo \"$HOME\" > /tmp/x\nEOF\nFROM build\nCMD [\"cat\", \"/tmp/x\"]\n")
    done, spec = run_import(tmp_path / "heredoc", text)
    assert done.returncode == 0, done.stderr
    runs = yaml.safe_load(spec.read_text(encoding="utf-8"))["stages"]["build"]["run"]
    assert runs[0] == "echo one  && echo two"
    # the script stays a script of its own: its `cd` cannot leak, and it runs without set -e as before
    assert runs[1] == '(\nset +eu\ncd /tmp\necho "$HOME" > /tmp/x\n)'


@pytest.mark.parametrize("start", ["CMD", "ENTRYPOINT"])
def test_a_simple_start_with_variable_assignments_sets_them_with_env(tmp_path: Path, start: str) -> None:
    """QA: `CMD NODE_ENV=production node server.js` became `[NODE_ENV=production, node,
    server.js]`, a program that does not exist; env sets them and execs node (PID 1)."""
    done, spec = run_import(tmp_path / "env", f"FROM debian:bookworm-slim\n{start} NODE_ENV=production node s.js\n")
    assert done.returncode == 0, done.stderr
    final = yaml.safe_load(spec.read_text(encoding="utf-8"))["final"]
    assert final[start.lower()] == ["env", "NODE_ENV=production", "node", "s.js"]


def test_shell_form_entrypoint_ignores_cmd_as_docker_does(tmp_path: Path) -> None:
    done, spec = run_import(tmp_path / "shell", 'FROM debian:bookworm-slim\nCMD ["ignored"]\nENTRYPOINT exec app --flag\n')
    assert done.returncode == 0, done.stderr
    final = yaml.safe_load(spec.read_text(encoding="utf-8"))["final"]
    assert final["entrypoint"] == ["app", "--flag"]  # the shell's `exec` is what exec form does
    assert "cmd" not in final


@pytest.mark.parametrize(("start", "expected"), [
    ("CMD java $JAVA_OPTS -jar app.jar", {"shell": True, "entrypoint": "java $JAVA_OPTS -jar app.jar"}),
    ("CMD exec java $JAVA_OPTS -jar app.jar", {"shell": True, "entrypoint": "java $JAVA_OPTS -jar app.jar"}),
    ("ENTRYPOINT app > /tmp/log", {"shell": True, "entrypoint": "app > /tmp/log"}),
    # `exec` before a list would run its first command alone: a shell of its own runs it
    ("CMD cd /srv && exec app", {"shell": True, "entrypoint": "/bin/sh -c 'cd /srv && exec app'"}),
    # so does a comment, which would swallow the "$@" after it (the values check refuses it)
    ("CMD app --x # why", {"shell": True, "entrypoint": "/bin/sh -c 'app --x # why'"}),
    ("CMD app 2>&1", {"shell": True, "entrypoint": "app 2>&1"}),  # a redirection is no list
    # QA: assignments before the program were taken for the program (`exec NODE_ENV=… node`)
    ("CMD JAVA_OPTS=$X java -jar app.jar", {"shell": True, "entrypoint": "env JAVA_OPTS=$X java -jar app.jar"}),
    # QA: imagespec adds "$@" itself (every argument went twice); other uses of them stay the text's own
    ('ENTRYPOINT exec /usr/bin/app "$@"', {"shell": True, "entrypoint": "/usr/bin/app"}),
    ('ENTRYPOINT exec "$0" "$@"', {"shell": True, "entrypoint": """/bin/sh -c 'exec "$0" "$@"'"""}),
    ("CMD app --port $1", {"shell": True, "entrypoint": "/bin/sh -c 'app --port $1'"}),
    # a shell-form CMD under an exec-form ENTRYPOINT is its arguments: kept as docker reads it
    ('ENTRYPOINT ["/app"]\nCMD serve $PORT', {"entrypoint": ["/app"], "cmd": ["/bin/sh", "-c", "serve $PORT"]}),
])
def test_a_shell_form_start_that_needs_a_shell_is_an_entrypoint_with_shell_true(
        tmp_path: Path, start: str, expected: dict) -> None:
    """Was: `cmd: [/bin/sh, -c, …]`, which imagespec's own lint refuses (IS014, the shell
    is PID 1) and `imagespec test` fails (config-exec-form) (stranger QA)."""
    done, spec = run_import(tmp_path / "start", f"FROM debian:bookworm-slim\n{start}\n")
    assert done.returncode == 0, done.stderr
    final = yaml.safe_load(spec.read_text(encoding="utf-8"))["final"]
    assert {key: final[key] for key in ("shell", "entrypoint", "cmd") if key in final} == expected
    if "shell" in expected:
        assert "in shell form is `entrypoint` with `shell: true`" in done.stderr
        linted = subprocess.run([sys.executable, "-m", "imagespec", "lint", str(spec)], capture_output=True, text=True,
                                timeout=120)
        assert linted.returncode == 0 and ": error:" not in linted.stdout + linted.stderr, linted.stdout


def test_a_copy_chown_to_the_user_by_name_follows_the_user_to_its_ids(tmp_path: Path) -> None:
    """`USER node` becomes 65532; a `COPY --chown=node:node` kept the name, so the app
    could not write its own files, or the build failed without a `node` user (stranger QA)."""
    text = ("FROM debian:bookworm-slim AS build\nRUN touch /out\nFROM debian:bookworm-slim\nUSER node\n"
            "COPY --chown=node:node src /app/\nCOPY --from=build --chown=node /out /out\n"
            "COPY --chown=1:staff x /x\nCMD [\"x\"]\n")
    done, spec = run_import(tmp_path / "chown", text)
    assert done.returncode == 0, done.stderr
    final = yaml.safe_load(spec.read_text(encoding="utf-8"))["final"]
    assert [item.get("owner") for item in final["copy"]] == ["65532:65532", "65532", "1:staff"]
    assert "COPY --chown=node:node is owner 65532:65532: final.user's ids" in done.stderr


HOSTILE = {
    "nul": (b"FROM debian:bookworm-slim\nCMD [\"a\"]\x00\nUSER 0\n", r":2:10: a NUL byte"),
    "not-utf8": (b"FROM debian:bookworm-slim\nCMD [\"\xff\"]\n", r":2:7: the Dockerfile is not UTF-8"),
    "unknown-instruction": ("FROM debian:bookworm-slim\nFROOM x\n", r":2:1: unknown instruction: FROOM"),
    "before-from": ("RUN true\n", r":1:1: RUN before the first FROM"),
    "empty": ("\n\n", r":1:1: BuildKit's parser refuses"),
    "from-without-image": ("FROM\nCMD [\"a\"]\n", r":1:1: FROM takes IMAGE"),
    "unterminated-heredoc": ("FROM debian:bookworm-slim\nRUN <<EOF\necho\n", r":2:5: .*unterminated heredoc"),
    "huge-line": ("FROM debian:bookworm-slim\nRUN echo " + "x" * 70000 + "\n", r":2:65535: .*max allowed size"),
    "from-unknown-arg": ("FROM ${NOPE}\nCMD [\"a\"]\n", r":1:1: FROM \$\{NOPE\}"),
    "no-command": ("FROM debian:bookworm-slim\nRUN true\n", r":1:1: the Dockerfile names no CMD"),
    "flag-on-cmd": ("FROM debian:bookworm-slim\nCMD --listen :8080\n", r":2:1: CMD has no flag --listen"),
    "bad-escape": ("# escape=x\nFROM debian:bookworm-slim\n", r":1:1: invalid escape directive"),
    # the parser's own messages name no line (were all at :1:1): the line it stops at
    "parser-env-comment": ("FROM golang:1.22\nWORKDIR /src\nRUN true\n\n# a comment\nRUN echo\nENV CGO_ENABLED=0 \\\n"
                           "    GOFLAGS=\"-mod=readonly\" # trailing comment\nCMD [\"x\"]\n",
                           r":8:29: BuildKit's parser refuses the Dockerfile: Syntax error - can't find = in \"#\""),
    "parser-label": ("FROM debian:bookworm-slim\nRUN true\nLABEL a\nCMD [\"x\"]\n", r":3:1: .*LABEL must have two"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_bad_dockerfiles_are_exit_2_at_a_location(tmp_path: Path, case: str) -> None:
    text, message = HOSTILE[case]
    done, spec = run_import(tmp_path / case, text)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    first, hint = done.stderr.splitlines()[:2]
    assert re.search(r"Dockerfile" + message, first), first
    assert hint.startswith("  hint: ")
    assert not spec.exists()


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"])
def test_a_line_ends_only_at_a_newline(tmp_path: Path, separator: str) -> None:
    """As BuildKit counts lines (Docker Engine 28: `ENV K=x<U+2028>y` refused at line 2).
    Was: str.splitlines() counted U+2028 and the others as line breaks, so the location
    was a line or more late (stranger QA)."""
    text = f"FROM debian:bookworm-slim\nLABEL a=\"x{separator * 3}y\"\nLABEL b\nCMD [\"x\"]\n"
    done, _ = run_import(tmp_path, text)
    assert done.returncode == 2 and re.search(r"Dockerfile:3:1: .*LABEL must have two", done.stderr), done.stderr
    if separator in "\u2028\u2029\x85\x0b\x0c":  # Go's unicode.IsSpace: the words split there
        done, _ = run_import(tmp_path, f"FROM debian:bookworm-slim\nENV K=x{separator}y\nCMD [\"x\"]\n")
        assert done.returncode == 2 and 'Dockerfile:2:9: BuildKit\'s parser refuses the Dockerfile: Syntax error - ' \
            'can\'t find = in "y"' in done.stderr, done.stderr


def test_a_dockerfile_that_is_no_regular_file_is_said_to_be_none_and_never_blocks(tmp_path: Path) -> None:
    """Was: "no such Dockerfile" for a FIFO or a device; a FIFO must not block the read."""
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "linked").symlink_to(tmp_path / "fifo")
    for path, kind in ((tmp_path / "fifo", "a FIFO"), (tmp_path / "linked", "a FIFO"),
                       (Path("/dev/null"), "a character device")):
        done = subprocess.run([sys.executable, "-m", "imagespec", "import", str(path), "-o", "-"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines()[0].endswith(f"the Dockerfile is not a regular file ({kind})"), done.stderr
        assert done.stderr.splitlines()[1].startswith("  hint: ")
    (tmp_path / "zero").symlink_to("/dev/zero")  # outside the folder (no git): refused as such, unread
    done = subprocess.run([sys.executable, "-m", "imagespec", "import", str(tmp_path / "zero"), "-o", "-"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "is a link to /dev/zero, outside its repository: not read" in done.stderr


def test_thousands_of_instructions_and_quoted_values(tmp_path: Path) -> None:
    lines = ["FROM debian:bookworm-slim"] + [f'ENV V{i}="a \\"{i}\\" $ b"' for i in range(3000)]
    lines += [f"RUN echo {i} 'it''s' \"$V{i}\"" for i in range(1000)] + ['CMD ["true"]']
    done, spec = run_import(tmp_path / "many", "\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    assert data["stages"]["stage0"]["env"]["V7"] == 'a "7" $ b'
    assert len(data["stages"]["stage0"]["run"]) == 1000


def test_never_overwrites(tmp_path: Path) -> None:
    folder = tmp_path / "exists"
    folder.mkdir()
    (folder / "imagespec.yaml").write_text("mine\n", encoding="utf-8")
    done, spec = run_import(folder, 'FROM debian:bookworm-slim\nCMD ["true"]\n')
    assert done.returncode == 2 and "never overwrites" in done.stderr
    assert spec.read_text(encoding="utf-8") == "mine\n"


def test_mutated_corpus_files_never_crash(tmp_path: Path) -> None:
    """Public Dockerfiles with random edits (quotes, `$`, escapes, heredocs, flags): an
    import either writes a spec or is a located error, never another exception. The two
    explicit edits once crashed it (a `-.` destination; COPY --from its own stage)."""
    from imagespec.adopt import import_dockerfile
    from imagespec.errors import ImageSpecError
    from tests.adopt.corpus_table import corpus

    rng = random.Random(11)
    texts = [path.read_text(encoding="utf-8") for path in corpus()]
    pieces = [*"$\"'\\`{}:=-/ \n\t#<>&|;*.", "ENV X=", "COPY --from=0 / /x", "USER 1000", "RUN <<EOF\nx\nEOF\n",
              "WORKDIR ../..", "EXPOSE 0", "ARG A", "${A:-", "\r\n", "\u2028", "é"]
    cases = ["FROM debian:bookworm-slim\nCOPY a -.\nCMD [\"a\"]\n", "FROM debian:bookworm-slim\nCOPY --from=0 / /x\nCMD [\"a\"]\n"]
    for _ in range(300):
        text = rng.choice(texts)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice(pieces) + text[at + rng.randint(0, 3):]
        cases.append(text)
    for i, text in enumerate(cases):
        path = tmp_path / f"{i}.Dockerfile"
        path.write_text(text, encoding="utf-8")
        try:
            import_dockerfile(path, tmp_path / f"{i}.yaml")
        except ImageSpecError as exc:
            assert exc.location is not None and exc.location.line, (i, exc)


def test_bind_mounts_become_dependencies_or_copies(tmp_path: Path) -> None:
    text = ("FROM node:20-bookworm-slim\nWORKDIR /app\n"
            "RUN --mount=type=bind,source=package.json,target=package.json --mount=type=cache,target=/root/.npm npm ci\n"
            "RUN --mount=type=bind,source=src,target=src npm run build\nRUN echo done\nCOPY . .\nCMD [\"node\", \"dist\"]\n")
    done, spec = run_import(tmp_path / "binds", text)
    assert done.returncode == 0, done.stderr
    stages = yaml.safe_load(spec.read_text(encoding="utf-8"))["stages"]
    assert stages["stage0-part1"]["dependencies"] == {"copy": ["package.json"], "run": "npm ci"}
    assert stages["stage0-part1"]["copy"] == [{"src": "src", "dest": "src"}]  # bound, now copied just before
    assert stages["stage0-part1"]["run"] == ["npm run build", "echo done"]
    assert stages["stage0"] == {"from": "stage0-part1", "workdir": "/app", "cache": ["/root/.npm"], "copy": ["."]}


def test_a_command_before_a_copy_keeps_its_place_and_globbed_manifests_are_a_dependency_step(tmp_path: Path) -> None:
    text = ("FROM node:20-bookworm-slim\nWORKDIR /app\nRUN npm install -g nodemon\nCOPY package*.json ./\n"
            "RUN npm ci\nCOPY . .\nCMD [\"node\", \"server.js\"]\n")
    done, spec = run_import(tmp_path / "order", text)
    assert done.returncode == 0, done.stderr
    stages = yaml.safe_load(spec.read_text(encoding="utf-8"))["stages"]
    assert list(stages) == ["stage0-part1", "stage0"]
    assert stages["stage0-part1"]["run"] == ["npm install -g nodemon"]
    assert stages["stage0"] == {"from": "stage0-part1", "workdir": "/app", "copy": ["."],
                                "dependencies": {"copy": ["package*.json"], "run": "npm ci"}}


@pytest.mark.parametrize(("user", "said"), [("root", False), ("0:0", False), ("app", True)])
def test_a_run_after_user_root_is_no_difference(tmp_path: Path, user: str, said: bool) -> None:
    """A spec stage runs as root: a RUN after `USER root` runs as it did. Was: reported as
    a difference ("this RUN ran as the USER set before it")."""
    text = f"FROM debian:bookworm-slim\nUSER {user}\nRUN echo hi > /tmp/x\nUSER 65532\nCMD [\"/bin/true\"]\n"
    done, _ = run_import(tmp_path, text)
    assert done.returncode == 0, done.stderr
    assert ("this RUN ran as the USER set before it" in done.stdout + done.stderr) == said, done.stdout + done.stderr


@pytest.mark.parametrize(("install", "taken"), [
    ("apt-get install -y --no-install-recommends curl ca-certificates", True),
    ("apt-get install -y -t bookworm-backports curl", False),  # stays a command: it needs the lists
])
def test_apt_get_update_in_a_run_of_its_own_goes_with_the_install_that_follows(
        tmp_path: Path, install: str, taken: bool) -> None:
    """`RUN apt-get update` then `RUN apt-get install …`, as people write them: the packages,
    with the update said to be done by imagespec's install step. An install that stays a
    command keeps the update before it. Was: both RUNs kept as commands, no packages."""
    text = f"FROM debian:bookworm-slim\nRUN apt-get update\nRUN {install}\nCOPY app.sh /app.sh\nCMD [\"/app.sh\"]\n"
    done, spec = run_import(tmp_path, text)
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    runs = [step for stage in data.get("stages", {}).values() for step in stage.get("run", [])]
    if taken:
        assert data["final"]["packages"] == ["ca-certificates", "curl"] and runs == []
        assert "Dockerfile:2: `apt-get update` is done by imagespec's install step" in done.stderr
    else:
        assert "packages" not in data["final"] and runs == ["apt-get update", install], data
        assert "is done by imagespec's install step" not in done.stderr


def test_dash_o_dash_prints_the_spec_and_writes_nothing(tmp_path: Path) -> None:
    """`-o -` is stdout, as for generate and bake (was: a file named '-')."""
    done, spec = run_import(tmp_path, GO_APP, "-o", "-")
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(done.stdout)["final"]["entrypoint"] == ["/usr/local/bin/app"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Dockerfile"]
    assert "printed the spec" in done.stderr


@pytest.mark.parametrize(("stage", "origin"), [
    ("", "0"),  # by index: the stage becomes stage0
    (" AS a.b", "a.b"),  # a name the spec refuses (a dot)
    (" AS imagespec-x", "imagespec-x"),  # imagespec's own prefix
    (" AS final", "final"),  # the spec's final stage's name, on a stage that is not the last
])
def test_copy_from_a_renamed_stage_names_its_spec_name(tmp_path: Path, stage: str, origin: str) -> None:
    """A stage whose name a spec cannot hold is renamed; `final.copy` copies from the new
    name. Was: KeyError 'stage0' (a traceback, exit 1)."""
    text = (f"FROM debian:bookworm-slim{stage}\nRUN mkdir -p /r/etc\nFROM scratch\nCOPY --from={origin} /r/ /\n"
            "CMD [\"/x\"]\n")
    done, spec = run_import(tmp_path, text)
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    assert list(data["stages"]) == ["stage0"]
    assert data["final"]["copy"] == [{"from": "stage0", "src": "/r", "dest": "/"}]


EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*/Dockerfile"))


@pytest.mark.parametrize("dockerfile", EXAMPLES, ids=[path.parent.name for path in EXAMPLES])
def test_every_committed_example_dockerfile_imports(tmp_path: Path, dockerfile: Path) -> None:
    """The Dockerfiles imagespec generated itself (`COPY --from=imagespec-rootfs`) read back:
    a spec, or a located exit 2, never a traceback. Was: KeyError 'stage0' for most."""
    (tmp_path / "Dockerfile").write_bytes(dockerfile.read_bytes())  # -o stays in the Dockerfile's repository
    done = subprocess.run([sys.executable, "-m", "imagespec", "import", str(tmp_path / "Dockerfile"), "-o",
                           str(tmp_path / "s.yaml")], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 2), done.stderr
    assert "Traceback" not in done.stderr
    if done.returncode == 2:
        assert re.match(r"\S+:\d+:\d+: ", done.stderr), done.stderr


def test_the_values_of_an_instruction_a_spec_can_hold_are_kept_and_the_others_stay_a_comment(tmp_path: Path) -> None:
    """One `$HOME` in an ENV, a port range in an EXPOSE, a bad key in a LABEL: the rest of
    the line is expressed, the value alone is a comment, and a later reference to a
    variable of that value names the line. Was: the whole line a comment, and
    `$APP_HOME/` then "not set by the Dockerfile"."""
    text = ("ARG VERSION=1.2\nFROM debian:bookworm-slim\nARG VERSION\n"
            "ENV APP_VERSION=${VERSION} APP_HOME=/opt/app CONFIG=$HOME/.config\nADD hello.txt $APP_HOME/\n"
            "EXPOSE 8080-8082 9090/udp\nLABEL \"bad key\"=v description=hi\nARG A=1 B=$NOPE\nENV X=$CONFIG\nCMD [\"/x\"]\n")
    done, spec = run_import(tmp_path, text, "--format", "json")
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    stage = data["stages"]["stage0"]
    assert stage["env"] == {"APP_VERSION": "1.2", "APP_HOME": "/opt/app"}
    assert stage["copy"] == [{"src": "hello.txt", "dest": "/opt/app/"}]
    assert stage["args"] == {"VERSION": "1.2", "A": "1"}
    assert data["final"]["ports"] == ["9090/udp"] and data["final"]["labels"] == {"description": "hi"}
    left = {item["line"]: (item["instruction"], item["why"]) for item in json.loads(done.stdout)["not_expressed"]}
    assert {line: instruction for line, (instruction, _) in left.items()} == {
        4: "ENV CONFIG=$HOME/.config", 6: "EXPOSE 8080-8082", 7: 'LABEL "bad key"=v', 8: "ARG B=$NOPE",
        9: "ENV X=$CONFIG"}
    assert left[9][1] == "$CONFIG is set by the ENV on line 4, which is not expressed"


def test_the_pairs_of_one_env_read_the_variables_from_before_it(tmp_path: Path) -> None:
    """`ENV A=2 B=$A` sets B to the A from before the line (BuildKit, checked on Docker
    Engine 28.5: the pairs of one ENV are expanded together), an ARG left to right."""
    text = "FROM debian:bookworm-slim\nARG C=0\nARG C=1 D=$C\nENV A=1\nENV A=2 B=$A E=$D\nCMD [\"/x\"]\n"
    done, spec = run_import(tmp_path, text)
    assert done.returncode == 0, done.stderr
    stage = yaml.safe_load(spec.read_text(encoding="utf-8"))["stages"]["stage0"]
    assert stage["env"] == {"A": "2", "B": "1", "E": "1"}


@pytest.mark.parametrize(("run", "expected"), [("RUN pip install flask\n", "python-build"), ("", "python-runtime")])
def test_of_two_catalog_names_for_one_image_a_stage_that_runs_commands_gets_the_build_one(
        tmp_path: Path, run: str, expected: str) -> None:
    """python-build and python-runtime are one public image, but a configuration may point
    python-runtime at an interpreter without pip. Was: the last stage got python-runtime
    even when it ran `pip install`."""
    done, spec = run_import(tmp_path, f"FROM python:3.11-slim-bookworm\n{run}CMD [\"python3\"]\n")
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    assert (data["stages"]["stage0"] if run else data["final"])["from"] == expected


def test_a_guess_is_said_once_and_an_arg_written_into_a_from_is_a_difference(tmp_path: Path) -> None:
    """Two stages FROM one image the catalog lacks: one guess (was: listed twice). An ARG
    before FROM whose default is written into the base: a difference (was: silent)."""
    text = ("ARG GO_VERSION=1.22\nFROM golang:${GO_VERSION}-bookworm AS build\nRUN go build -o /y\n"
            "FROM node:18-bookworm-slim AS a\nRUN touch /x\nFROM node:18-bookworm-slim\nCOPY --from=a /x /x\n"
            "COPY --from=build /y /y\nCMD [\"node\"]\n")
    done, _ = run_import(tmp_path, text, "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    families = [guess for guess in report["guessed"] if guess.startswith("family ")]
    assert sum("node:18-bookworm-slim" in guess for guess in families) == 1, report["guessed"]
    assert any(d.startswith("Dockerfile:2: FROM golang:${GO_VERSION}-bookworm: the ARG GO_VERSION's default (1.22)")
               for d in report["differences"]), report["differences"]


LEAKED = "FROM debian:bookworm-slim\nDB_PASSWORD=FAKEhunter2\n"


@pytest.mark.parametrize("git", [True, False])
def test_a_dockerfile_linked_out_of_its_repository_is_refused_unread(tmp_path: Path, git: bool) -> None:
    """The repository is the git root; outside git, the Dockerfile's folder. Was: the link
    followed, and the file's second line echoed as `unknown instruction: DB_PASSWORD=…`
    (a link to /etc/shadow printed its first line) (stranger QA)."""
    (tmp_path / "secret").write_text(LEAKED, encoding="utf-8")
    folder = tmp_path / "repo" / "app"
    folder.mkdir(parents=True)
    if git:
        (tmp_path / "repo" / ".git").mkdir()
    (folder / "Dockerfile").symlink_to(tmp_path / "secret")
    for fmt in ("text", "json"):
        done = subprocess.run([sys.executable, "-m", "imagespec", "import", str(folder / "Dockerfile"), "-o", "-",
                               "--format", fmt], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "FAKEhunter2" not in done.stdout + done.stderr and "DB_PASSWORD" not in done.stdout + done.stderr
        assert "is a link to " + str(tmp_path / "secret") + ", outside its repository: not read" in done.stderr


def test_a_dockerfile_linked_within_its_repository_is_imported(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile.real").write_text('FROM debian:bookworm-slim\nCMD ["true"]\n', encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").symlink_to(tmp_path / "docker" / "Dockerfile.real")
    done = subprocess.run([sys.executable, "-m", "imagespec", "import", str(tmp_path / "app" / "Dockerfile"), "-o", "-"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(done.stdout)["final"]["cmd"] == ["true"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_unknown_instruction_is_named_by_its_word_alone(tmp_path: Path, fmt: str) -> None:
    """Was: the whole line, `unknown instruction: DB_PASSWORD=FAKEhunter2` (stranger QA)."""
    text = LEAKED + "root:$6$saltsalt$FAKEHASHFAKEHASH:20228:0:99999:7:::\n"
    for content, word in ((text, "DB_PASSWORD"), ("FROM x\n" + text.split("\n")[2], "root:$6$saltsalt…"),
                           ("FROM x\nSECRET_TOKEN abc def\n", "SECRET_TOKEN")):
        done, _ = run_import(tmp_path / word[:4], content, "--format", fmt)
        assert done.returncode == 2, done.stderr
        said = json.loads(done.stderr)["message"] if fmt == "json" else done.stderr.splitlines()[0]
        assert said.endswith(f"unknown instruction: {word}"), said
        assert "FAKE" not in done.stderr and "abc" not in done.stderr


def test_an_env_or_label_value_that_used_an_arg_is_a_difference(tmp_path: Path) -> None:
    """The spec's value is literal: `--build-arg BUILD_ID=42` no longer changes it (docker
    build of the original gives 42). Was: silent (stranger QA). An ENV that reads such an
    ENV in a later stage, and an unset ARG's `${NAME:-word}`, depend on the ARG too; an ENV
    of the ARG's name hides it."""
    text = ("ARG BUILD_ID=dev\nFROM debian:bookworm-slim AS b\nARG BUILD_ID\nARG VERSION\n"
            "ENV BUILD_ID=${BUILD_ID} APP_VERSION=${VERSION:-0} PLAIN=1\nLABEL build=\"$BUILD_ID\" x=y\n"
            "FROM b\nENV Z=$BUILD_ID\nENV BUILD_ID=fixed\nENV W=$BUILD_ID\nCMD [\"x\"]\n")
    done, spec = run_import(tmp_path, text, "--format", "json")
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    assert data["stages"]["b"]["env"] == {"BUILD_ID": "dev", "APP_VERSION": "0", "PLAIN": "1"}
    said = [d for d in json.loads(done.stdout)["differences"] if "--build-arg" in d]
    assert said == [
        "Dockerfile:5: ENV BUILD_ID: the ARG BUILD_ID's default (dev) is written into the value; "
        "`--build-arg BUILD_ID=…` no longer changes it",
        "Dockerfile:5: ENV APP_VERSION: its value without the ARG VERSION (which has no default) is written in; "
        "`--build-arg VERSION=…` no longer changes it",
        "Dockerfile:6: LABEL build: the ARG BUILD_ID's default (dev) is written into the value; "
        "`--build-arg BUILD_ID=…` no longer changes it",
        "Dockerfile:8: ENV Z: the ARG BUILD_ID's default (dev) is written into the value; "
        "`--build-arg BUILD_ID=…` no longer changes it"], said


COPY_THEN_RUN = """FROM debian:bookworm-slim AS bin
RUN echo tini > /tini && echo cfg > /cfg
FROM debian:bookworm-slim
COPY --from=bin /tini /usr/bin/tini
COPY --from=bin /cfg /etc/app.cfg
COPY dockit /usr/bin/dockit
RUN chmod +x /usr/bin/tini /usr/bin/dockit && mkdir /data
RUN cat /etc/app.cfg > /data/cfg && apt-get update
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/dockit"]
"""


def test_a_run_that_uses_what_a_copy_from_put_before_it_is_not_left_to_fail_the_build(tmp_path: Path) -> None:
    """The spec's final stage copies artifacts after the stage's RUN steps. Was: `chmod +x
    /usr/bin/tini` kept before the copy of tini, and the build failed (`cannot access`) (QA)."""
    (tmp_path / "dockit").write_text("#!/bin/sh\n", encoding="utf-8")
    done, spec = run_import(tmp_path, COPY_THEN_RUN)
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    assert data["stages"]["stage1"]["run"] == ["chmod +x /usr/bin/dockit && mkdir /data", "apt-get update"]
    copies = {copy["dest"]: copy for copy in data["final"]["copy"]}
    assert copies["/usr/bin/tini"]["mode"] == "0755" and "mode" not in copies["/etc/app.cfg"]
    assert "copy-chmod" in data["features"]
    assert "Dockerfile:7: `chmod +x /usr/bin/tini /usr/bin/dockit` is `mode: \"0755\"`" in done.stderr
    assert "Dockerfile:8: cat /etc/app.cfg > /data/cfg (it uses /etc/app.cfg, which the COPY --from on line 5" \
        in done.stderr
    compile_spec(load_spec(spec), config=load_config(None, start=tmp_path))  # the spec compiles


@pytest.mark.parametrize(("flag", "expected", "said"), [
    ("--retries=0", None, "HEALTHCHECK --retries=0 is the engine's default (3): left out"),
    ("--retries=500", "absent", "a spec's healthcheck retries are 1 to 100"),
])
def test_healthcheck_retries_the_spec_cannot_hold_are_said_not_an_error_in_an_unwritten_file(
        tmp_path: Path, flag: str, expected: str | None, said: str) -> None:
    """QA: `--retries=0` (BuildKit's default) was exit 2 at `s.yaml:13:14`, a file never written."""
    done, spec = run_import(tmp_path / "hc", f'FROM debian:bookworm-slim\nHEALTHCHECK {flag} CMD ["/bin/true"]\n'
                                             'CMD ["app"]\n')
    assert done.returncode == 0, done.stderr
    assert said in done.stderr
    final = yaml.safe_load(spec.read_text(encoding="utf-8"))["final"]
    if expected == "absent":
        assert "healthcheck" not in final
    else:
        assert final["healthcheck"] == {"cmd": ["/bin/true"]}


def test_a_spec_that_would_not_compile_is_said_at_the_dockerfile_and_nothing_is_written(tmp_path: Path) -> None:
    """QA: such a Dockerfile was exit 2 at `imagespec.yaml:10:9`, a line of a spec that was
    never written. Here: a scratch image whose entrypoint no COPY puts there."""
    folder = tmp_path / "scratch"
    done, spec = run_import(folder, 'FROM scratch\nCOPY app /app\nUSER 10001:10001\nENTRYPOINT ["/bin/app"]\n')
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"{folder / 'Dockerfile'}:1:1: the spec for {spec} (not written) does not compile: "
                                  ), done.stderr
    assert "/bin/app" in done.stderr.splitlines()[0]
    assert "Traceback" not in done.stderr and not spec.exists()


@pytest.mark.parametrize(("user", "final_user", "written"), [
    ("", None, "USER 65532:65532"),
    ("USER 10001:10001\n", {"uid": 10001, "gid": 10001}, "USER 10001:10001"),
])
def test_a_one_stage_scratch_image_stays_on_scratch_with_its_user(
        tmp_path: Path, user: str, final_user: dict | None, written: str) -> None:
    """QA: the usual goreleaser Dockerfile (FROM scratch, COPY the binary, ENTRYPOINT) could
    not be imported: scratch has no /etc/passwd for the non-root user (BP8) and no stage had
    a shell to make one (it became the catalog's `static`, and with its own USER 10001 it
    was exit 2). The helper stage that writes passwd now starts from the catalog's
    debian-slim: the image is scratch, its binary and its user."""
    folder = tmp_path / "scratch"
    done, spec = run_import(folder, f'FROM scratch\nCOPY app /app\n{user}ENTRYPOINT ["/app"]\n')
    assert done.returncode == 0, done.stderr
    final = yaml.safe_load(spec.read_text(encoding="utf-8"))["final"]
    assert final == {"from": "scratch", "copy": [{"src": "app", "dest": "/app"}], "entrypoint": ["/app"],
                     **({"user": final_user} if final_user else {})}
    (folder / "app").write_text("")
    config = load_config(start=spec.parent)
    generated = compile_spec(load_spec(spec, config), config).dockerfile
    assert "FROM scratch AS final" in generated and " AS imagespec-rootfs" in generated
    assert written in generated and 'ENTRYPOINT ["/app"]' in generated


def test_the_header_names_the_spec_where_o_puts_it(tmp_path: Path) -> None:
    """QA: `-o x.yaml` still said `Next: imagespec generate imagespec.yaml`."""
    target = tmp_path / "spec dir" / "web.imagespec.yaml"
    target.parent.mkdir()
    (tmp_path / ".git").mkdir()  # one repository: -o stays inside the one it reads
    done, _ = run_import(tmp_path / "app", 'FROM debian:bookworm-slim\nCMD ["app"]\n', "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert f"# Next: imagespec generate '{target}' (it writes" in target.read_text(encoding="utf-8")


def test_a_copy_source_with_a_character_class_is_said_not_copied_as_a_file_of_that_name(tmp_path: Path) -> None:
    """QA: `COPY package.json yarn.loc[k] ./` (yarn.lock where it exists) became the source
    `yarn.loc[k]`, which the generated Dockerfile copies as a file named so: yarn.lock
    never reached the build, and nothing was said."""
    done, spec = run_import(tmp_path / "node", "FROM debian:bookworm-slim\nWORKDIR /app\n"
                                               "COPY package.json yarn.loc[k] ./\nCMD [\"node\", \"s.js\"]\n")
    assert done.returncode == 0, done.stderr
    assert "not expressed Dockerfile:3:" in done.stderr and "[...] pattern (yarn.loc[k]" in done.stderr
    assert "yarn.loc[k]" not in json.dumps(yaml.safe_load(spec.read_text(encoding="utf-8"))["final"])


def test_a_default_of_a_variable_the_base_image_may_set_is_not_taken_for_its_value(tmp_path: Path) -> None:
    """QA: `${GOPATH:-/usr/local/go-tools}` read GOPATH as unset and wrote the default,
    silently (golang's image sets GOPATH=/go); `$GOPATH` alone was rightly not expressed.
    An ARG without a default is known to be unset: its `${V:-dflt}` is read."""
    done, spec = run_import(tmp_path / "go", "FROM golang:1.22-bookworm\nARG V\n"
                                             "ENV TOOLS=${GOPATH:-/usr/local/go-tools}/bin W=${V:-dflt}\n"
                                             "ENV NODE=${NODE_VERSION:+node}\nCMD [\"app\"]\n")
    assert done.returncode == 0, done.stderr
    written = yaml.safe_load(spec.read_text(encoding="utf-8"))
    envs = [part["env"] for part in (written["final"], *written.get("stages", {}).values()) if "env" in part]
    assert envs == [{"W": "dflt"}], written
    assert "${GOPATH:-/usr/local/go-tools}: $GOPATH is not set by the Dockerfile" in done.stderr
    assert "${NODE_VERSION:+node}: $NODE_VERSION is not set by the Dockerfile" in done.stderr
