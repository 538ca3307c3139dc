"""Mapping a build step name back to its Dockerfile line (for builders that don't say)."""

from __future__ import annotations

from imagespec.engine.dockerfile_lines import instruction_lines, instructions, locate

DOCKERFILE = """\
# escape=\\
# a comment
FROM imagespec-test/golang:bookworm AS build
WORKDIR /src
RUN go build \\
    # comment inside a continuation
    -o /app ./...

FROM scratch
COPY --from=build /app /app
RUN go build -o /app ./...
"""


def test_instruction_lines_skip_comments_and_continuations() -> None:
    assert instruction_lines(DOCKERFILE) == [3, 4, 5, 9, 10, 11]
    assert [i.stage_name for i in instructions(DOCKERFILE)] == ["build"] * 3 + ["stage-1"] * 3


def test_locate_by_stage_and_text() -> None:
    assert locate(DOCKERFILE, "[build 3/3] RUN go build -o /app ./...") == 5
    assert locate(DOCKERFILE, "[stage-1 3/3] RUN go build -o /app ./...") == 11
    assert locate(DOCKERFILE, "[stage-1 2/3] COPY --from=build /app /app") == 10


def test_ambiguous_or_unknown_steps_are_not_guessed() -> None:
    single = "FROM x\nRUN true\nRUN true\n"
    assert locate(single, "[2/3] RUN true") is None
    assert locate(single, "exporting to image") is None
    assert locate(single, "[2/3] RUN false") is None
