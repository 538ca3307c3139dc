"""The one exception tree of imagespec.

May import: nothing of imagespec (every layer may raise these).
Exit codes are part of the CLI contract (CI reads them):
0 ok, 1 a check failed (diff, lint error, build or verify failure, tag conflict),
2 bad input (spec, options, policy), 3 engine trouble, 130 interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Location:
    """A place in a source file; line and col are 1-based, 0 when unknown."""

    file: str
    line: int = 0
    col: int = 0
    # A mapping key's location also says where its scalar value starts (0: not a scalar, or
    # unknown): an error about the value points there (`name: café` at 1:7, not 1:1), one
    # about the key at the key. Not compared: it is the same place in the file.
    value_line: int = field(default=0, compare=False, repr=False)
    value_col: int = field(default=0, compare=False, repr=False)

    def __init__(self, file: str, line: int = 0, col: int = 0, value_line: int = 0, value_col: int = 0) -> None:
        # the loader makes one per YAML node: written into the instance dict directly,
        # not through object.__setattr__ per field as a frozen dataclass's __init__ does
        # (plan/frozen.py has the same reason; BENCHMARKS.md has the measurement)
        values = self.__dict__
        values["file"], values["line"], values["col"] = file, line, col
        values["value_line"], values["value_col"] = value_line, value_col

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.col or 1}"

    def of_value(self) -> Location:
        """Where the scalar value of the key written here starts; the key's own location
        when it has none (a mapping or list value, a list item, a document)."""
        return Location(self.file, self.value_line, self.value_col) if self.value_line else self


class ImageSpecError(Exception):
    """Base of every error imagespec reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "error": type(self).__name__,
            "message": self.message,
            "location": str(self.location) if self.location else None,
            "hint": self.hint,
            "exit_code": self.exit_code,
        }


class SpecError(ImageSpecError, ValueError):
    """The input (spec, template, catalog, option) is wrong; nothing was written."""

    exit_code = 2


class SpecErrors(SpecError):
    """Several problems found in one pass over a spec, reported together so the author
    fixes them in one go. Reads as its first error where one error is expected."""

    def __init__(self, errors: list[SpecError], *, more: int = 0) -> None:
        first = errors[0]
        super().__init__(first.message, location=first.location, hint=first.hint)
        self.errors = tuple(errors)
        self.more = more  # errors found beyond the reported ones

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "errors": [e.to_dict() for e in self.errors], "more": self.more}


class PolicyError(SpecError):
    """A spec breaks a rule set by a template or the configuration."""


class CheckFailed(ImageSpecError):
    """A check ran and found a problem (stale Dockerfile, lint error, failed verification)."""

    exit_code = 1


class EngineError(ImageSpecError, ConnectionError):
    """The container engine cannot be reached or misbehaves."""

    exit_code = 3


class SourceUnreachable(ImageSpecError, ConnectionError):
    """A package mirror (or another source of a build) does not answer: the machine's
    trouble, not the spec's, so it shares the engine's exit code."""

    exit_code = 3


class BuildFailed(ImageSpecError):
    """A build step failed; the message names the instruction and its spec location."""

    exit_code = 1


class TagConflict(ImageSpecError):
    """An immutable tag (X.Y.Z, BP14) would move to a different digest."""

    exit_code = 1


class Interrupted(ImageSpecError):
    exit_code = 130


class BuildStepFailed(BuildFailed):
    """A build step failed. ``instruction`` is the Dockerfile instruction (``RUN go build
    ./...``), ``step`` its line in the Dockerfile when BuildKit said (``Dockerfile:12``) —
    the CLI maps it back to the spec location — and ``log_tail`` its last output lines."""

    def __init__(
        self,
        message: str,
        *,
        instruction: str | None = None,
        step: int | None = None,
        log_tail: tuple[str, ...] = (),
        location: Location | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, location=location, hint=hint)
        self.instruction = instruction
        self.step = step
        self.log_tail = tuple(log_tail)

    def to_dict(self) -> dict[str, object]:
        return {
            **super().to_dict(),
            "instruction": self.instruction,
            "step": self.step,
            "log_tail": list(self.log_tail),
        }


class SpecPathError(SpecError):
    """Raised by the pure compiler core, which knows spec paths but not file
    positions; the compile entry point turns `path` into a location."""

    def __init__(self, message: str, *, path: tuple[str | int, ...], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


def one_line(text: str) -> str:
    """Text quoted from the user's files, made one inert line: a newline or a terminal
    escape in a value must neither end a message line (CI greps them) nor a YAML comment."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
