"""`imagespec import` (no engine) on the users and groups a Dockerfile creates, USER,
ADD's flags and stage names: final.user from the RUN that creates the runtime user, or
a comment saying why not (never a spec whose build fails on imagespec's own useradd)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from imagespec.adopt.dockerfile_stage import Report
from imagespec.adopt.dockerfile_user import read_account
from imagespec.adopt.import_dockerfile import import_dockerfile


def imported(tmp_path: Path, text: str) -> tuple[dict, str, Report]:
    (tmp_path / "Dockerfile").write_text(text, encoding="utf-8")
    result = import_dockerfile(tmp_path / "Dockerfile", Path("-"))
    return yaml.safe_load(result.text), result.text, result.report


def runs(data: dict) -> list[str]:
    return [run for stage in data.get("stages", {}).values() for run in stage.get("run", [])]


DEBIAN = """FROM debian:bookworm-slim
RUN groupadd -g 10001 app && useradd -u 10001 -g app -m app
COPY app.sh /usr/local/bin/app.sh
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/app.sh"]
"""


def test_the_run_that_creates_the_runtime_user_becomes_final_user(tmp_path: Path) -> None:
    data, _, report = imported(tmp_path, DEBIAN)
    assert data["final"]["from"] == "debian-slim" and "stages" not in data  # no RUN is left: no build stage
    assert data["final"]["user"] == {"uid": 10001, "gid": 10001, "name": "app"}
    assert any("`groupadd -g 10001 app && useradd -u 10001 -g app -m app` is final.user {uid: 10001, gid: 10001, "
               "name: app}" in d for d in report.differences)
    assert not report.comments


def test_busybox_forms_on_alpine_and_the_rest_of_the_run_is_kept(tmp_path: Path) -> None:
    data, _, report = imported(tmp_path, """FROM alpine:3.20
RUN apk add --no-cache curl && addgroup -S -g 10001 app && adduser -S -u 10001 -G app app && mkdir /data
USER 10001:10001
CMD ["curl", "--version"]
""")
    assert data["final"]["user"] == {"uid": 10001, "gid": 10001, "name": "app"}
    assert runs(data) == ["mkdir /data"] and data["stages"]["stage0"]["packages"] == ["curl"]
    assert any("the user also gets the home" not in d and "is final.user" in d for d in report.differences)


def test_docker_inits_adduser_with_an_arg_uid_maps(tmp_path: Path) -> None:
    # what `docker init` writes: Debian's adduser, a home that is never made, the uid from an ARG
    data, _, report = imported(tmp_path, """FROM debian:bookworm-slim
ARG UID=10001
RUN adduser \\
    --disabled-password \\
    --gecos "" \\
    --home "/nonexistent" \\
    --shell "/sbin/nologin" \\
    --no-create-home \\
    --uid "${UID}" \\
    appuser
USER appuser
CMD ["true"]
""")
    assert data["final"]["user"] == {"uid": 10001, "gid": 10001, "name": "appuser"} and not runs(data)
    assert any(d.startswith('Dockerfile:3: `adduser --disabled-password --gecos "" --home "/nonexistent"') and
               d.endswith("the user also gets the home /home/appuser (HOME)") for d in report.differences)


@pytest.mark.parametrize(("run", "user", "expected"), [
    ("useradd -r -u 10001 -m app", "app", {"uid": 10001, "gid": 10001, "name": "app"}),  # its own group: uid's number
    ("useradd -rm -u10001 --shell=/usr/sbin/nologin app", "10001", {"uid": 10001, "gid": 10001, "name": "app"}),
    ("useradd -u 10001 -g 0 app", "10001:0", {"uid": 10001, "gid": 0, "name": "app"}),  # the root group, joined
    ("adduser --system --uid 10001 --group app", "app:app", {"uid": 10001, "gid": 10001, "name": "app"}),
    # no uid given (the tool takes the first free one): the USER's number, else imagespec's default
    ("useradd -m app", "10001", {"uid": 10001, "gid": 10001, "name": "app"}),
    ("useradd -m app", "app", {"uid": 65532, "gid": 65532, "name": "app"}),
])
def test_each_tool_form_maps(tmp_path: Path, run: str, user: str, expected: dict) -> None:
    data, _, _ = imported(tmp_path, f'FROM debian:bookworm-slim\nRUN {run}\nUSER {user}\nCMD ["true"]\n')
    assert data["final"]["user"] == expected and not runs(data)


@pytest.mark.parametrize(("run", "why"), [
    ("groupadd -g 1000 app && useradd -u 1000 -g app app", "it creates app (uid 1000), not the user USER 10001"),
    ("useradd -u 10001 -d /opt/app -m app", "its home is /opt/app"),
    ("useradd -u 10001 -m -s /bin/bash app", "its login shell is /bin/bash"),
    ("useradd -u 10001 -G sudo app", "useradd -G: an option import does not read"),
    ("useradd -u 10001 -g users app", "its group users is the base image's"),
    ("adduser --disabled-password --gecos '' --uid 10001 app", "its login shell is /bin/bash"),
])
def test_a_user_it_cannot_map_is_not_expressed_and_the_spec_still_builds_its_own(tmp_path: Path, run: str,
                                                                                 why: str) -> None:
    data, text, report = imported(tmp_path, f'FROM debian:bookworm-slim\nRUN {run} && mkdir /data\nUSER 10001\n'
                                            'CMD ["true"]\n')
    assert data["final"]["user"]["uid"] == 10001 and "name" not in data["final"]["user"]
    assert [c[0] for c in report.comments] == [2] and why in report.comments[0][2]
    assert "# Dockerfile:2: " in text and "(not expressed: " in text
    left = " ".join(runs(data))
    assert "mkdir /data" in left and not any(tool in left for tool in ("useradd", "groupadd", "adduser"))


@pytest.mark.parametrize(("flags", "expected"), [
    # busybox's adduser: no -G makes a group of the user's name; -S puts the user in nogroup
    ("-D -u 10001", {"uid": 10001, "gid": 10001, "name": "app"}),
    ("-S -D -u 10001", None),
])
def test_busybox_adduser_without_a_group(tmp_path: Path, flags: str, expected: dict | None) -> None:
    """Was: "its group None is the base image's" for both (QA)."""
    data, _, report = imported(tmp_path, f'FROM alpine:3.20\nRUN adduser {flags} app\nUSER app\nCMD ["true"]\n')
    if expected:
        assert data["final"]["user"] == expected and not report.comments
    else:
        assert "its group nogroup is the base image's" in report.comments[0][2]
        assert "None" not in report.comments[0][2]


def test_a_gid_left_to_groupadd_is_the_uid_and_chown_by_name_is_written_with_ids(tmp_path: Path) -> None:
    """Was: not expressed (the gid left to the tool), the image fell back to user 65532,
    and `chown -R app:app` stayed in a stage where imagespec had not yet made app: the
    imported spec failed to build at that chown (QA)."""
    data, _, report = imported(tmp_path, """FROM debian:bookworm-slim
RUN groupadd -r app && useradd -r -g app -u 10001 app
RUN mkdir /data && chown -R app:app /data && chgrp app /data && chown app /data && chown 0:app /data
RUN chown -R appx:app_other /data || true
USER app
CMD ["true"]
""")
    assert data["final"]["user"] == {"uid": 10001, "gid": 10001, "name": "app"}
    assert runs(data) == ["mkdir /data && chown -R 10001:10001 /data && chgrp 10001 /data && chown 10001 /data "
                          "&& chown 0:10001 /data", "chown -R appx:app_other /data || true"]
    assert any(d.endswith("its group gets gid 10001, the uid (the Dockerfile left the gid to the tool)")
               for d in report.differences)
    # the report says what each became (QA: it said 10001:10001 where the spec has `chown 10001`)
    assert "Dockerfile:3: chown/chgrp of app written with its ids (`chown -R app:app` → `chown -R 10001:10001`, " \
        "`chgrp app` → `chgrp 10001`, `chown app` → `chown 10001`, `chown 0:app` → `chown 0:10001`): imagespec " \
        "creates the user after the stage's commands" in report.differences
    assert not any(d.startswith("Dockerfile:4:") for d in report.differences) and not report.comments


def test_a_run_that_only_creates_an_unmapped_user_is_a_comment_alone(tmp_path: Path) -> None:
    data, _, report = imported(tmp_path, 'FROM debian:bookworm-slim\nRUN useradd -u 1000 app\nUSER 10001\n'
                                         'CMD ["true"]\n')
    assert "stages" not in data and (2, "RUN") not in report.expressed and report.comments[0][0] == 2


@pytest.mark.parametrize("user", ["", "USER root\n"])
def test_an_image_that_runs_as_root_keeps_its_users_in_the_run(tmp_path: Path, user: str) -> None:
    data, _, _ = imported(tmp_path, f'FROM debian:bookworm-slim\nRUN useradd -u 1000 app\n{user}CMD ["true"]\n')
    assert runs(data) == ["useradd -u 1000 app"]


def test_a_build_stage_keeps_its_users_and_the_final_maps_its_own(tmp_path: Path) -> None:
    data, _, _ = imported(tmp_path, """FROM debian:bookworm-slim AS build
RUN useradd -u 10001 builder && echo built > /out
FROM debian:bookworm-slim
RUN groupadd -g 10001 app && useradd -u 10001 -g app app
COPY --from=build /out /out
USER 10001:10001
CMD ["cat", "/out"]
""")
    assert data["stages"]["build"]["run"] == ["useradd -u 10001 builder && echo built > /out"]
    assert data["final"]["user"] == {"uid": 10001, "gid": 10001, "name": "app"}


def test_a_user_created_in_the_stage_the_final_is_built_from_is_mapped(tmp_path: Path) -> None:
    data, _, _ = imported(tmp_path, """FROM debian:bookworm-slim AS base
RUN groupadd -g 10001 app && useradd -u 10001 -g app app && mkdir /data
FROM base
RUN echo hi > /data/hi
USER app:app
CMD ["cat", "/data/hi"]
""")
    assert data["final"]["user"] == {"uid": 10001, "gid": 10001, "name": "app"}
    assert runs(data) == ["mkdir /data", "echo hi > /data/hi"]


def test_a_user_created_in_a_form_import_does_not_take_apart_is_said(tmp_path: Path) -> None:
    _, _, report = imported(tmp_path, 'FROM debian:bookworm-slim\nRUN set -eux; useradd -u 10001 app\nUSER 10001\n'
                                      'CMD ["true"]\n')
    assert any(d.startswith("Dockerfile:2: this RUN creates a user or group in a form import does not take apart")
               for d in report.differences)


@pytest.mark.parametrize(("item", "name", "uid", "why"), [
    ("useradd -u 10001 -m app", "app", 10001, None),
    ("/usr/sbin/useradd --uid=7 x", "x", 7, None),
    ("useradd -u 10001 -mZ app", "", None, "useradd -mZ: an option import does not read"),
    ("useradd -u $UID app", "app", 4242, None),  # the ARG's value, as the build reads it
    ("useradd -u abc app", "app", None, "its id 'abc' is not a number"),
    ("addgroup app wheel", "app", None, "busybox addgroup with 2 names (two add a user to a group)"),
])
def test_read_account(item: str, name: str, uid: int | None, why: str | None) -> None:
    account = read_account(item, "apk" if "addgroup" in item else "apt", lambda w: w.replace("$UID", "4242"))
    assert account is not None and (account.name, account.id, account.why_not) == (name, uid, why)
    assert read_account("echo useradd", "apt", str) is None


def test_user_with_no_group_says_the_gid_differs(tmp_path: Path) -> None:
    data, _, report = imported(tmp_path, 'FROM debian:bookworm-slim\nUSER 1000\nCMD ["true"]\n')
    assert data["final"]["user"] == {"uid": 1000}
    assert any(d.startswith("Dockerfile:2: USER 1000 names no group: docker runs it with the group of the user's "
                            "passwd entry, or gid 0 without one; the spec's user runs with gid 1000")
               for d in report.differences)


def test_add_checksum_names_add(tmp_path: Path) -> None:
    _, _, report = imported(tmp_path, 'FROM debian:bookworm-slim\nADD --checksum=sha256:00 a.txt /a.txt\n'
                                      'CMD ["true"]\n')
    assert report.comments[0][2] == "ADD --checksum cannot be written in a spec"


def test_from_x_as_x_is_the_image_and_a_later_from_x_the_stage(tmp_path: Path) -> None:
    data, _, report = imported(tmp_path, 'FROM a AS a\nRUN echo one > /one\nFROM a\nRUN cat /one\nCMD ["true"]\n')
    assert data["stages"]["a"]["from"] == {"image": "a", "family": "debian"}
    assert data["stages"]["stage1"]["from"] == "a" and not report.comments


def test_a_duplicate_stage_name_means_the_latest_stage_of_that_name_as_in_buildkit(tmp_path: Path) -> None:
    # docker build: `FROM b AS b` builds on the first b, the last FROM b on the second (DuplicateStageName)
    data, _, report = imported(tmp_path, """FROM debian:bookworm-slim AS b
RUN echo one > /one
FROM b AS b
RUN echo two > /two
FROM b
RUN ls /one /two
CMD ["true"]
""")
    stages = data["stages"]
    assert stages["b"]["from"] == "debian-slim" and stages["b-1"]["from"] == "b" and stages["stage2"]["from"] == "b-1"
    assert not report.comments  # no stage dropped
    assert any(d.startswith("Dockerfile:3: a stage named b is on line 1 too (BuildKit warns DuplicateStageName)")
               for d in report.differences)


@pytest.mark.parametrize("before", ["USER 0\n", ""])
def test_a_user_import_cannot_read_is_still_the_last_user_not_an_earlier_root(tmp_path: Path, before: str) -> None:
    """Was: `USER 0 … USER $APP_UID` (a value the base image sets) imported as root, with
    the reason "the Dockerfile runs as root (USER 0)", or "has no USER" without it (QA)."""
    data, _, report = imported(tmp_path, f'FROM debian:bookworm-slim\n{before}RUN true\nUSER $APP_UID\n'
                                         'CMD ["true"]\n')
    assert "user" not in data["final"]  # imagespec's non-root 65532 (BP8)
    line = 3 + bool(before)
    assert any(d.startswith(f"Dockerfile:{line}: USER $APP_UID becomes imagespec's non-root user 65532")
               for d in report.differences)
    assert [c[0] for c in report.comments] == [line]
    assert not any("has no USER" in d for d in report.differences)


@pytest.mark.parametrize(("base", "workdir", "said"), [
    ("golang:1.22-alpine", "/go", "and golang:1.22-alpine sets /go (by its name)"),
    ("mycorp/base:1", "/", "which is / unless the image sets one"),
])
def test_a_stage_without_workdir_runs_in_the_base_images_and_the_guess_is_said(tmp_path: Path, base: str,
                                                                               workdir: str, said: str) -> None:
    """Was: `workdir: /` written silently, over the golang image's /go: `go build -o app`
    then wrote /app, and the final's COPY --from of /go/app failed (QA)."""
    data, _, report = imported(tmp_path, f'FROM {base} AS build\nCOPY . .\nRUN go build -o app .\n'
                                         f'FROM scratch\nCOPY --from=build {workdir.rstrip("/")}/app /app\n'
                                         'ENTRYPOINT ["/app"]\n')
    assert data["stages"]["build"]["workdir"] == workdir
    assert data["stages"]["build"]["artifacts"] == [f"{workdir.rstrip('/')}/app"]
    assert any(g.startswith(f"workdir {workdir} for stage build: the Dockerfile sets none") and said in g
               for g in report.guessed)


@pytest.mark.parametrize(("base", "said"), [
    ("gcr.io/distroless/cc-debian12:nonroot", False),  # the catalog: it runs as 65532 already
    ("debian:bookworm-slim", True),  # root
])
def test_no_user_on_a_base_that_runs_as_its_non_root_user_is_no_difference(tmp_path: Path, base: str,
                                                                            said: bool) -> None:
    """Was: "differs: the image runs as the non-root user 65532 (the Dockerfile has no USER:
    root)" for a distroless :nonroot base, which ran as 65532 already (stranger QA); a stage
    built FROM it runs as it too."""
    for text in (f'FROM {base}\nCOPY app /app\nCMD ["/app"]\n',
                 f'FROM {base} AS b\nFROM b\nCOPY app /app\nCMD ["/app"]\n'):
        data, _, report = imported(tmp_path, text)
        assert "user" not in data["final"]
        assert any("has no USER" in d for d in report.differences) is said, report.differences


def test_run_security_sandbox_is_the_default_and_is_dropped(tmp_path: Path) -> None:
    """QA: `RUN --security=sandbox …` stayed a comment; sandbox is what every RUN gets."""
    data, text, report = imported(tmp_path, "FROM debian:bookworm-slim AS build\n"
                                            "RUN --security=sandbox mkdir /out && touch /out/x\n"
                                            "FROM debian:bookworm-slim\nCOPY --from=build /out/x /x\nCMD [\"true\"]\n")
    assert runs(data) == ["mkdir /out && touch /out/x"] and "--security" not in "".join(runs(data))
    assert not report.comments
    assert any("--security=sandbox dropped: the sandbox is BuildKit's default" in d for d in report.differences), \
        report.differences
    data, _, report = imported(tmp_path, "FROM debian:bookworm-slim\nRUN --security=insecure mkdir /x\n"
                                         "CMD [\"true\"]\n")
    assert report.comments  # insecure needs an entitlement a spec cannot grant


def test_a_relative_workdir_names_the_base_workdir_it_assumes(tmp_path: Path) -> None:
    """QA: `FROM golang…` + `WORKDIR app` became /go/app without saying it assumed the
    official image's WORKDIR /go; an unknown base's is / and said so too."""
    data, _, report = imported(tmp_path, "FROM golang:1.22 AS build\nWORKDIR app\nRUN go build -o /out/x .\n"
                                         "FROM debian:bookworm-slim\nWORKDIR srv\nCOPY --from=build /out/x /x\n"
                                         "CMD [\"/x\"]\n")
    assert data["stages"]["build"]["workdir"] == "/go/app" and data["final"]["workdir"] == "/srv"
    assert any(g.startswith("workdir /go/app: WORKDIR app on Dockerfile:2 is relative to golang:1.22's WORKDIR, /go "
                            "by the image's name") for g in report.guessed), report.guessed
    assert any(g.startswith("workdir /srv: WORKDIR srv on Dockerfile:5 is relative to debian:bookworm-slim's "
                            "WORKDIR, / unless the image sets one") for g in report.guessed)


def test_an_env_pair_naming_an_earlier_pair_of_the_same_env_says_what_docker_reads(tmp_path: Path) -> None:
    """QA: `ENV A=1 B="$A-x"`: BuildKit reads $A from before the instruction (B=-x here),
    which the report now says instead of leaving the reader to think B=1-x was meant."""
    data, _, report = imported(tmp_path, 'FROM debian:bookworm-slim\nENV A=1 B="$A-x"\nCMD ["/x"]\n')
    assert data["final"]["env"] == {"A": "1"}
    assert any(why.endswith("the A this ENV sets is not it: BuildKit expands each of an ENV's values with the "
                            "variables from before the instruction") for _, _, why in report.comments), report.comments


@pytest.mark.parametrize("later", ["RUN chown -R app:app /var/app", "RUN chgrp app /var/app",
                                   "RUN mkdir -p /home/app/.cache"])
def test_a_user_it_cannot_map_stays_in_its_run_when_a_later_command_names_it(tmp_path: Path, later: str) -> None:
    """QA (jenkins' Dockerfile): the useradd was taken out as not expressed while a later
    `chown -R app:app` stayed, so the generated Dockerfile failed at that chown."""
    data, _, report = imported(tmp_path, "FROM debian:bookworm-slim\nRUN groupadd -g 1000 app && useradd -d /var/app "
                                         f"-u 1000 -g 1000 -m app\n{later}\nUSER app\nCMD [\"sleep\", \"infinity\"]\n")
    assert runs(data)[0] == "groupadd -g 1000 app && useradd -d /var/app -u 1000 -g 1000 -m app"
    assert any(d.startswith("Dockerfile:2: its users and groups stay in this RUN, since a later command names them")
               for d in report.differences)
    assert not report.comments


def test_a_numeric_user_with_a_named_group_keeps_its_uid(tmp_path: Path) -> None:
    """QA: `USER 1000:abc` became imagespec's 65532, the uid thrown away with the group's name."""
    data, _, report = imported(tmp_path, 'FROM debian:bookworm-slim\nUSER 1000:abc\nCMD ["x"]\n')
    assert data["final"]["user"] == {"uid": 1000}
    assert any(d.startswith("Dockerfile:2: USER 1000:abc names its group by name") for d in report.differences)
