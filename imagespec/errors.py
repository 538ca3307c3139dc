"""The one exception tree of imagespec.

May import: nothing of imagespec (every layer may raise these).
Exit codes are part of the CLI contract (CI reads them):
0 ok, 1 a check failed (diff, lint error, build or verify failure, tag conflict),
2 bad input (spec, options, policy), 3 engine trouble, 130 interrupted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import FrozenInstanceError
from typing import NamedTuple, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_ERRORS = 20  # enough to fix a whole spec (or a fleet) in one go; more is noise from one mistake


class Location(NamedTuple):
    """A place in a source file; line and col are 1-based, 0 when unknown.

    Behaves as the frozen, ordered dataclass it was (equal, ordered and hashed by file,
    line and col; immutable; its repr): the loader makes one per YAML node, and a tuple is
    made by one C call where a class instance needs a dict and a write per field
    (BENCHMARKS.md, issue 13's fifth pass, has the measurement)."""

    file: str
    line: int = 0
    col: int = 0
    # A mapping key's location also says where its scalar value starts (0: not a scalar, or
    # unknown): an error about the value points there (`name: café` at 1:7, not 1:1), one
    # about the key at the key. Not compared: it is the same place in the file.
    value_line: int = 0
    value_col: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.col or 1}"

    def __repr__(self) -> str:
        return f"Location(file={self.file!r}, line={self.line!r}, col={self.col!r})"

    def of_value(self) -> Location:
        """Where the scalar value of the key written here starts; the key's own location
        when it has none (a mapping or list value, a list item, a document)."""
        return Location(self.file, self.value_line, self.value_col) if self.value_line else self

    # Compared as the dataclass compared: by (file, line, col), and only with another
    # Location (never equal to a plain tuple, which a tuple's own comparison would allow).
    def __eq__(self, other: object) -> bool:
        return type(other) is Location and self[:3] == other[:3]

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self[:3])

    def __lt__(self, other: object) -> bool:
        return self[:3] < _key(other)

    def __le__(self, other: object) -> bool:
        return self[:3] <= _key(other)

    def __gt__(self, other: object) -> bool:
        return self[:3] > _key(other)

    def __ge__(self, other: object) -> bool:
        return self[:3] >= _key(other)

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


def _key(other: object) -> tuple[str, int, int]:
    if type(other) is not Location:
        raise TypeError(f"a Location is ordered against another Location, not {type(other).__name__}")
    return other[:3]


class ImageSpecError(Exception):
    """Base of every error imagespec reports to a user."""

    exit_code = 1
    #: already written to the user as the last event of a JSON progress stream: the CLI
    #: does not print it a second time (one error per stream)
    reported = False

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


def raise_together(errors: Iterable[SpecError], *, together: type[SpecErrors] = SpecErrors) -> None:
    """Raise the problems of several specs as one report, so that fixing a template's
    fallout across many specs takes one run, not one per spec; returns when there are none.
    One problem is raised as it is; a problem several specs share (a broken configuration
    or template under each) is said once; a SpecErrors is flattened into its errors; up to
    MAX_ERRORS are shown, the rest counted in ``more``. ``together``: the class of a report
    of several (PolicyErrors, so that callers catching PolicyError catch it too)."""
    # keyed by everything said: identical reports are the same problem met again
    unique = list({tuple((str(one), one.hint) for one in _each(error)): error for error in errors}.values())
    if len(unique) == 1:
        raise unique[0]
    each = [one for error in unique for one in _each(error)]
    if each:
        more = sum(error.more for error in unique if isinstance(error, SpecErrors))
        raise together(each[:MAX_ERRORS], more=more + max(0, len(each) - MAX_ERRORS))


def each_or_together(items: Iterable[T], do: Callable[[T], R]) -> list[R]:
    """``do`` of every item, in order; the SpecErrors of all the items that fail are raised
    together after the last one (``raise_together``). Any other error (the engine's, an
    interrupt) stops at once: it is not the input's fault, and the next item would meet it too."""
    done: list[R] = []
    broken: list[SpecError] = []
    for item in items:
        try:
            done.append(do(item))
        except SpecError as error:
            broken.append(error)
    raise_together(broken)
    return done


def _each(error: SpecError) -> tuple[SpecError, ...]:
    return error.errors if isinstance(error, SpecErrors) else (error,)


class ImageMissing(SpecError):
    """An image the command reads is not in the engine (not built yet, or a wrong name)."""


class PolicyError(SpecError):
    """A spec breaks a rule set by a template or the configuration."""


class PolicyErrors(SpecErrors, PolicyError):
    """A spec breaks several rules: each reported at its own place (raise_together)."""


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
    """A build step failed; the message names the instruction and its spec location.
    In a fleet, ``targets`` names every target that failed (CI reads them from the JSON),
    and ``exit_code`` is 3 when each of them failed for the engine's or a registry's
    trouble (exit 3 alone): CI retries on 3, which would not mend a failed build."""

    exit_code = 1

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None,
                 targets: tuple[str, ...] = (), exit_code: int = 1) -> None:
        super().__init__(message, location=location, hint=hint)
        self.targets = targets
        self.exit_code = exit_code

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), **({"targets": list(self.targets)} if self.targets else {})}


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

    def __init__(self, message: str, *, path: tuple[str | int, ...], hint: str | None = None,
                 or_at: tuple[tuple[str | int, ...], ...] = ()) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        # other keys the error is as much about: it is reported at the first of path, *or_at that
        # the spec's own file writes (not a template it extends), else at path
        self.or_at = or_at


def one_line(text: str) -> str:
    """Text quoted from the user's files, made one inert line: a newline or a terminal
    escape in a value must neither end a message line (CI greps them) nor a YAML comment."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
