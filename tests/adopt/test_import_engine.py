"""`imagespec import` on Dockerfiles that build here (on the local bases): the original
and the imported spec's image both build, print the same when run, expose the same
ports, and the imported one runs as a non-root user where the original ran as root."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.integration.conftest import LOCAL_CONFIG, docker, imagespec

GO_MAIN = """package main

import (
\t"fmt"
\t"os"
)

func main() {
\tfmt.Println("hello from an imported Go app")
\tfmt.Printf("uid %d\\n", os.Getuid())
}
"""
GO_DOCKERFILE = """FROM imagespec-test/golang:bookworm AS build
WORKDIR /src
COPY go.mod ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/hello .

FROM imagespec-test/debian:bookworm-slim
COPY --from=build /out/hello /usr/local/bin/hello
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/hello"]
"""
PY_APP = """import os, subprocess
print("hello from an imported Python app")
print(subprocess.run(["jq", "-n", "1+1"], capture_output=True, text=True).stdout.strip())
print("uid", os.getuid())
"""
PY_DOCKERFILE = """FROM imagespec-test/python-slim:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY app.py .
EXPOSE 8000 9000/udp
CMD python3 app.py
"""
SCRIPT_APP = """import os
print(os.environ["GREETING"])
print(open("/app/marker").read().strip(), open("/app/note").read().strip(), os.getcwd())
print("uid", os.getuid())
"""
# a RUN before the WORKDIR and COPY it prepares, a heredoc script whose `cd` must not leak
# into the next RUN, an ENV value with quotes and `$`, and a shell-form CMD
SCRIPT_DOCKERFILE = """FROM imagespec-test/python-slim:bookworm
RUN mkdir /app && echo built > /app/marker
RUN <<EOF
cd /app
echo "from a heredoc" > note
EOF
RUN test ! -e note
ENV GREETING="hello \\"quoted\\" $ world"
WORKDIR /app
COPY app.py .
CMD python3 app.py
"""
# QA: the gathering stage's COPY --from was a comment, and the image an empty scratch one
RELEASE_DOCKERFILE = """FROM imagespec-test/golang:bookworm AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/hello .

FROM scratch AS release
COPY --from=build /out/hello /hello
ENTRYPOINT ["/hello"]

FROM release
"""
# QA: the final's COPY --from a gathering stage copied nothing it had gathered (build failed)
BINARIES_DOCKERFILE = """FROM imagespec-test/golang:bookworm AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/hello .

FROM scratch AS binaries
COPY --from=build /out/hello /hello

FROM imagespec-test/debian:bookworm-slim
COPY --from=binaries /hello /usr/local/bin/hello
ENTRYPOINT ["/usr/local/bin/hello"]
"""
APPS = {
    "go": {"Dockerfile": GO_DOCKERFILE, "go.mod": "module example.com/hello\n\ngo 1.19\n", "main.go": GO_MAIN},
    "release": {"Dockerfile": RELEASE_DOCKERFILE, "go.mod": "module example.com/hello\n\ngo 1.19\n",
                "main.go": GO_MAIN},
    "binaries": {"Dockerfile": BINARIES_DOCKERFILE, "go.mod": "module example.com/hello\n\ngo 1.19\n",
                 "main.go": GO_MAIN},
    "python": {"Dockerfile": PY_DOCKERFILE, "app.py": PY_APP},
    "script": {"Dockerfile": SCRIPT_DOCKERFILE, "app.py": SCRIPT_APP},
}


def _run(image: str) -> list[str]:
    done = docker("run", "--rm", "--network", "none", image, timeout=120)
    return done.stdout.splitlines()


def _config(image: str) -> dict:
    return json.loads(docker("image", "inspect", image).stdout)[0]["Config"]


@pytest.mark.engine
@pytest.mark.parametrize("app", sorted(APPS))
def test_imported_spec_builds_the_same_program_as_the_dockerfile(tmp_path: Path, built, app: str) -> None:
    folder = tmp_path / f"imagespec-importtest-{app}"
    folder.mkdir()
    for name, text in APPS[app].items():
        (folder / name).write_text(text, encoding="utf-8")
    original = f"imagespec-importtest-{app}-original:latest"
    done = docker("build", "--network", "host", "-t", original, str(folder), check=False, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    try:
        imported = imagespec("import", "--config", str(LOCAL_CONFIG), str(folder / "Dockerfile"))
        assert imported.returncode == 0, imported.stderr
        shutil.move(folder / "Dockerfile", tmp_path / f"{app}.Dockerfile")  # what builds now is the spec
        summary = built(folder / "imagespec.yaml")
        image = summary["tags"][0]
        before, after = _run(original), _run(image)
        assert before[:-1] == after[:-1] and before[-1] == "uid 0"  # the same program, the same output
        assert after[-1] == "uid 65532"  # … now as the non-root user (BP8)
        assert _config(image).get("ExposedPorts") == _config(original).get("ExposedPorts")
        assert _config(image)["User"] == "65532:65532" and _config(original)["User"] in ("", "0", "root")
    finally:
        docker("rmi", original, check=False)


# the user the image runs as, created by the Dockerfile itself: imagespec creates it (BP8),
# so import maps the RUN to final.user (was: a second groupadd, `GID '10001' already exists`)
USER_DOCKERFILE = """FROM debian:bookworm-slim
RUN groupadd -g 10001 app && useradd -u 10001 -g app -m app
COPY app.sh /usr/local/bin/app.sh
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/app.sh"]
"""


@pytest.mark.engine
@pytest.mark.parametrize(("options", "said", "name"), [
    ("-m", "is final.user {uid: 10001, gid: 10001, name: app}", "app"),
    # a login shell imagespec's user has not: not expressed, and imagespec's own user 10001 still builds
    ("-m -s /bin/bash", "its login shell is /bin/bash", "nonroot"),
])
def test_a_dockerfile_that_creates_its_user_imports_to_a_spec_that_builds_and_runs_as_it(
        tmp_path: Path, built, options: str, said: str, name: str) -> None:
    # a tag of each case's own: both cases' images had one tag, and one worker's clean-up
    # removed it under the other's `docker run` (CI: "Unable to find image", exit 125)
    folder = tmp_path / f"imagespec-importtest-user-{name}"
    folder.mkdir()
    (folder / "Dockerfile").write_text(USER_DOCKERFILE.replace("-m", options), encoding="utf-8")
    (folder / "app.sh").write_text("#!/bin/sh\nid -u\nid -g\nid -un\necho ~\n", encoding="utf-8")
    (folder / "app.sh").chmod(0o755)
    imported = imagespec("import", "--config", str(LOCAL_CONFIG), str(folder / "Dockerfile"))
    assert imported.returncode == 0, imported.stderr
    assert said in imported.stderr
    shutil.move(folder / "Dockerfile", tmp_path / "user.Dockerfile")
    image = built(folder / "imagespec.yaml")["tags"][0]
    assert _run(image) == ["10001", "10001", name, f"/home/{name}"]
    assert _config(image)["User"] == "10001:10001"


@pytest.mark.engine
def test_a_user_made_without_ids_and_chowned_by_name_imports_to_a_spec_that_builds(tmp_path: Path, built) -> None:
    """Was: the uid or gid left to useradd/groupadd made the user not expressed, and the
    `chown -R app:app` left in the stage failed the build (`invalid user`) (QA)."""
    folder = tmp_path / "imagespec-importtest-chown"
    folder.mkdir()
    (folder / "Dockerfile").write_text("""FROM debian:bookworm-slim
RUN mkdir /data && groupadd -r app && useradd -r -g app app && chown -R app:app /data
COPY app.sh /usr/local/bin/app.sh
USER app
ENTRYPOINT ["/usr/local/bin/app.sh"]
""", encoding="utf-8")
    (folder / "app.sh").write_text("#!/bin/sh\nid -un\ntouch /data/written && stat -c %U:%G /data/written\n",
                                   encoding="utf-8")
    (folder / "app.sh").chmod(0o755)
    imported = imagespec("import", "--config", str(LOCAL_CONFIG), str(folder / "Dockerfile"))
    assert imported.returncode == 0, imported.stderr
    assert "chown/chgrp of app written with its ids (`chown -R app:app` → `chown -R 65532:65532`)" in imported.stderr
    shutil.move(folder / "Dockerfile", tmp_path / "chown.Dockerfile")
    image = built(folder / "imagespec.yaml")["tags"][0]
    assert _run(image) == ["app", "app:app"]


@pytest.mark.engine
def test_a_run_after_a_copy_from_of_what_it_uses_imports_to_a_spec_that_builds(tmp_path: Path, built) -> None:
    """Was: the last stage's `chmod +x` of a file a COPY --from put there ran before the
    spec's final copied it: `chmod: cannot access '/usr/bin/tini'` (QA)."""
    folder = tmp_path / "imagespec-importtest-order"
    folder.mkdir()
    (folder / "Dockerfile").write_text("""FROM debian:bookworm-slim AS bin
RUN printf '#!/bin/sh\\necho tool ran\\n' > /tool
FROM debian:bookworm-slim
COPY --from=bin /tool /usr/local/bin/tool
COPY app.sh /usr/local/bin/app.sh
RUN chmod +x /usr/local/bin/tool /usr/local/bin/app.sh
ENTRYPOINT ["/usr/local/bin/app.sh"]
""", encoding="utf-8")
    (folder / "app.sh").write_text("#!/bin/sh\n/usr/local/bin/tool\n", encoding="utf-8")
    imported = imagespec("import", "--config", str(LOCAL_CONFIG), str(folder / "Dockerfile"))
    assert imported.returncode == 0, imported.stderr
    shutil.move(folder / "Dockerfile", tmp_path / "order.Dockerfile")
    image = built(folder / "imagespec.yaml")["tags"][0]
    assert _run(image) == ["tool ran"]


# Python's venv pattern: `$PATH` is the base's, which a spec cannot reference
VENV_DOCKERFILE = """FROM imagespec-test/python:bookworm AS build
RUN python3 -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY app.py .

FROM imagespec-test/python-slim:bookworm
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
ENV PATH="/opt/venv/bin:${PATH}"
WORKDIR /app
CMD ["python", "app.py"]
"""


@pytest.mark.engine
def test_the_venv_pattern_imports_to_a_spec_whose_pip_and_python_are_the_venvs(tmp_path: Path, built) -> None:
    """Was: both `ENV PATH=/opt/venv/bin:$PATH` not expressed ($PATH is the base's), so
    the system pip ran and failed (externally-managed-environment) (stranger QA)."""
    folder = tmp_path / "imagespec-importtest-venv"
    folder.mkdir()
    (folder / "Dockerfile").write_text(VENV_DOCKERFILE, encoding="utf-8")
    (folder / "requirements.txt").write_text("# nothing to download: no network here\n", encoding="utf-8")
    (folder / "app.py").write_text("import shutil, sys\nprint(sys.prefix)\nprint(shutil.which('pip') or 'no pip')\n",
                                   encoding="utf-8")
    imported = imagespec("import", "--config", str(LOCAL_CONFIG), str(folder / "Dockerfile"))
    assert imported.returncode == 0, imported.stderr
    assert "written as Debian's default" in imported.stderr  # a guess, said
    shutil.move(folder / "Dockerfile", tmp_path / "venv.Dockerfile")
    image = built(folder / "imagespec.yaml")["tags"][0]
    assert _run(image) == ["/opt/venv", "/opt/venv/bin/pip"]


@pytest.mark.engine
def test_a_shell_form_cmd_with_a_variable_imports_to_a_program_that_is_pid_1(tmp_path: Path, built) -> None:
    """`CMD /app.sh $GREETING`: the spec's `entrypoint` with `shell: true` expands the
    variable and execs the program (was: `cmd: [/bin/sh, -c, …]`, lint IS014) (stranger QA)."""
    dockerfile = "FROM debian:bookworm-slim\nENV GREETING=hello\nCOPY app.sh /app.sh\nCMD /app.sh $GREETING\n"
    assert _imported_app_says(tmp_path / "imagespec-importtest-shellcmd", dockerfile,
                              '#!/bin/sh\necho "$1 from pid $$"\n', built) == ["hello from pid 1"]


@pytest.mark.engine
@pytest.mark.parametrize(("name", "start"), [
    ("after", 'ENTRYPOINT /app.sh --flag\nCMD ["--default"]\n'),
    ("before", 'CMD ["--default"]\nENTRYPOINT /app.sh --flag\n'),
])
def test_a_cmd_a_shell_form_entrypoint_never_passed_on_is_not_passed_by_the_spec(
        tmp_path: Path, built, name: str, start: str) -> None:
    """`ENTRYPOINT /app.sh --flag` with `CMD ["--default"]`: the shell form runs `sh -c
    '/app.sh --flag' --default`, where --default is the shell's $0, never the program's.
    Was (stranger QA): the spec's exec form entrypoint plus that cmd gave the program
    `--default` as a second argument."""
    dockerfile = f"FROM debian:bookworm-slim\nCOPY app.sh /app.sh\n{start}"
    said = _imported_app_says(tmp_path / f"imagespec-importtest-shellentry-{name}", dockerfile,
                              '#!/bin/sh\necho "args: $*"\n', built)
    assert said == ["args: --flag"]


@pytest.mark.engine
def test_a_copy_chown_to_a_named_user_imports_to_files_the_user_owns(tmp_path: Path, built) -> None:
    """`USER node` with `COPY --chown=node:node`: the user is 65532, and so is the owner
    of its files (was: `owner: node:node`, which fails where the base has no node) (stranger QA)."""
    dockerfile = "FROM debian:bookworm-slim\nUSER node\nCOPY --chown=node:node app.sh /app/app.sh\nCMD [\"/app/app.sh\"]\n"
    assert _imported_app_says(tmp_path / "imagespec-importtest-copychown", dockerfile,
                              "#!/bin/sh\nid -u\nstat -c %u:%g /app/app.sh\n", built) == ["65532", "65532:65532"]


def _imported_app_says(folder: Path, dockerfile: str, app_sh: str, built) -> list[str]:  # type: ignore[no-untyped-def]  # the fixture's builder
    """Import `dockerfile` (beside an executable app.sh), build the spec with the
    Dockerfile moved away (generate writes its own), and run the image: its output lines."""
    folder.mkdir()
    (folder / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    (folder / "app.sh").write_text(app_sh, encoding="utf-8")
    (folder / "app.sh").chmod(0o755)
    imported = imagespec("import", "--config", str(LOCAL_CONFIG), str(folder / "Dockerfile"))
    assert imported.returncode == 0, imported.stderr
    shutil.move(folder / "Dockerfile", folder.parent / f"{folder.name}.Dockerfile")
    return _run(built(folder / "imagespec.yaml")["tags"][0])


# heredocs BuildKit runs and writes, and an ignore file that keeps a secret out: the spec's
# image must have the same files (modes too) and still lack the secret
HEREDOC_DOCKERFILE = """FROM imagespec-test/debian:bookworm-slim
RUN <<'EOT'
echo quoted > /ran-quoted
EOT
RUN <<-EOT
\techo chomped > /ran-chomped
\tEOT
COPY --chmod=755 <<'EOF' /usr/local/bin/app.sh
#!/bin/sh
cat /ran-quoted /ran-chomped /etc/app.conf
stat -c %a /etc/app.conf /usr/local/bin/app.sh
ls /ctx
EOF
COPY <<EOF /etc/app.conf
greeting=hi
EOF
COPY . /ctx
ENTRYPOINT ["/usr/local/bin/app.sh"]
"""


@pytest.mark.engine
def test_heredocs_and_the_ignore_file_import_to_an_image_with_the_same_files(tmp_path: Path, built) -> None:
    """Was: `RUN <<'EOT'` imported as a heredoc the shell skipped, each COPY heredoc a
    comment (the image lacked its files), the .dockerignore left behind (task: import gaps)."""
    folder = tmp_path / "dvi-import-heredoc"
    folder.mkdir()
    (folder / "Dockerfile").write_text(HEREDOC_DOCKERFILE, encoding="utf-8")
    (folder / "kept.txt").write_text("k\n", encoding="utf-8")
    (folder / "secret.env").write_text("TOKEN=x\n", encoding="utf-8")
    (folder / ".dockerignore").write_text("# credentials\nsecret.env\nDockerfile\n.dockerignore\n", encoding="utf-8")
    original = "dvi-import-heredoc-original:latest"
    done = docker("build", "--network", "host", "-t", original, str(folder), check=False, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    try:
        imported = imagespec("import", "--config", str(LOCAL_CONFIG), str(folder / "Dockerfile"))
        assert imported.returncode == 0, imported.stderr
        shutil.move(folder / "Dockerfile", tmp_path / "heredoc.Dockerfile")
        (folder / ".dockerignore").unlink()  # generate writes the spec's own (it does not replace a hand-written one)
        image = built(folder / "imagespec.yaml")["tags"][0]
        before, after = _run(original), _run(image)
        assert before == ["quoted", "chomped", "greeting=hi", "644", "755", "kept.txt"]
        # the spec's context also holds the heredocs' files and the spec itself is kept out
        assert after == before[:-1] + ["dockerfile-heredocs", "kept.txt"]
    finally:
        docker("rmi", original, check=False)


HELLO_C = """#include <stdio.h>
#include <unistd.h>
int main(void) { printf("hello from scratch\\nuid %d\\n", (int)getuid()); return 0; }
"""


@pytest.mark.engine
@pytest.mark.parametrize(("user", "uid", "name"), [("", "65532", "default"), ("USER 10001\n", "10001", "own")])
def test_a_one_stage_scratch_image_imports_and_runs_the_same_program_as_non_root(
        tmp_path: Path, built, user: str, uid: str, name: str) -> None:
    """The goreleaser shape: FROM scratch, COPY a static binary, (USER,) ENTRYPOINT. Import
    keeps scratch; the passwd for the non-root user (BP8) is made in a helper stage on the
    catalog's debian-slim: both images print the same, the imported one as its user."""
    import io
    import subprocess
    import tarfile

    from tests import tools

    folder = tmp_path / f"imagespec-importtest-scratch-{name}"
    folder.mkdir()
    (folder / "hello.c").write_text(HELLO_C, encoding="utf-8")
    cc = tools.require("gcc")
    subprocess.run([cc, "-static", "-O2", "-o", str(folder / "app"), str(folder / "hello.c")], check=True,
                   capture_output=True, timeout=120)
    (folder / "Dockerfile").write_text(f'FROM scratch\nCOPY app /app\n{user}ENTRYPOINT ["/app"]\n', encoding="utf-8")
    original = f"imagespec-importtest-scratch-{name}-original:latest"
    done = docker("build", "-t", original, str(folder), check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    try:
        imported = imagespec("import", "--config", str(LOCAL_CONFIG), str(folder / "Dockerfile"))
        assert imported.returncode == 0, imported.stderr
        shutil.move(folder / "Dockerfile", tmp_path / "scratch.Dockerfile")  # what builds now is the spec
        generated = imagespec("generate", "-o", "-", "--config", str(LOCAL_CONFIG), str(folder / "imagespec.yaml"))
        assert "FROM scratch AS final" in generated.stdout, generated.stdout + generated.stderr
        image = built(folder / "imagespec.yaml")["tags"][0]
        assert _run(original) == ["hello from scratch", f"uid {uid if user else 0}"]
        assert _run(image) == ["hello from scratch", f"uid {uid}"]  # … as the non-root user (BP8)
        assert _config(image)["User"] == f"{uid}:{uid}"
        files = docker("create", image).stdout.strip()
        try:  # scratch: the binary and the user's files, nothing of the helper's debian-slim
            exported = subprocess.run(["docker", "export", files], capture_output=True, check=True, timeout=120)
        finally:
            docker("rm", files, check=False)
        listed = tarfile.open(fileobj=io.BytesIO(exported.stdout)).getnames()
        assert not [path for path in listed if path.startswith(("bin", "usr/bin", "var/lib/dpkg"))], listed
        assert "app" in listed and "etc/passwd" in listed
    finally:
        docker("rmi", original, check=False)
