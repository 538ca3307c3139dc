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
