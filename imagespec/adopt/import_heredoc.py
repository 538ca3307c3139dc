"""Heredocs (`RUN <<EOF`, `COPY <<EOF /path`) as BuildKit runs them, in what a spec can say.

`RUN <<EOF` alone (`<<'EOF'`, `<<"EOF"`, `<<-EOF` too) runs the heredoc's text as the
shell script; with a `#!` line BuildKit runs it as a file with that interpreter, which a
spec's `run` (shell) cannot say. Any other RUN with heredocs hands its whole text to the
shell, which reads the heredocs itself.

`COPY <<EOF /path` makes a file of the heredoc's text. A spec copies files of the build
context, so import writes that text as a file of the context,
`dockerfile-heredocs/LINE/NAME` beside the Dockerfile (the name a folder destination
gives it), and the spec copies it (said). It never writes over a file with other text,
and writes nothing when the spec is only printed (`-o -`): then the COPY stays a comment.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import dockerfile

from imagespec.errors import Location, SpecError
from imagespec.spec import values as v

FOLDER = "dockerfile-heredocs"
#: `<<EOF`, `<<-EOF`, `<<'EOF'`, `<<"EOF"`: the heredoc word as the parser keeps it
_WORD = re.compile(r"<<(?P<chomp>-?)(?P<quote>['\"]?)(?P<name>[^'\"\s]+)(?P=quote)")


class HeredocRefused(ValueError):
    """A heredoc a spec cannot say; the message is why."""


def chomp(text: str) -> str:
    """`<<-`: leading tabs go from every line (BuildKit's ChompHeredocContent)."""
    return re.sub(r"(?m)^\t+", "", text)


def run_script(command: dockerfile.Command, text: str) -> str | None:
    """The script a `RUN <<EOF` alone runs, or None for another RUN."""
    word = _WORD.fullmatch(text.strip())
    if len(command.heredocs) != 1 or word is None or word["name"] != command.heredocs[0].name:
        return None
    content = command.heredocs[0].content
    if word["chomp"]:
        content = chomp(content)
    if content.startswith("#!"):
        raise HeredocRefused("a heredoc script with a `#!` line, which BuildKit runs as a file with that interpreter "
                             "(a spec's `run` is shell): write it as a file of the context and run that")
    return content.rstrip("\n")


@dataclass
class HeredocFiles:
    """The context files COPY heredocs become: `folder` is the context (the Dockerfile's
    folder); `write` False when the spec is only printed."""

    folder: Path
    write: bool
    texts: dict[str, str] = field(default_factory=dict)  # context-relative path -> text
    modes: dict[str, int] = field(default_factory=dict)

    def sources(self, command: dockerfile.Command, words: list[str], mode: int = 0o644) -> list[str]:
        """The context paths holding the heredocs that `words` (the COPY's sources) name;
        `mode`: the file's (the COPY's --chmod, which a spec stage's copy cannot say: the
        context file keeps it)."""
        if not self.write:
            raise HeredocRefused("a heredoc COPY: the spec copies files of the build context, and import writes the "
                                 "heredoc's text as one only when it writes the spec (not with -o -)")
        by_name = {heredoc.name: heredoc for heredoc in command.heredocs}
        paths = []
        for word in words:
            match = _WORD.fullmatch(word)
            heredoc = by_name.get(match["name"]) if match else None
            if match is None or heredoc is None:
                raise HeredocRefused("a COPY of heredocs and context files together: copy the files in a COPY of "
                                     "their own")
            text = chomp(heredoc.content) if match["chomp"] else heredoc.content
            if not match["quote"] and "$" in text:
                raise HeredocRefused(f"the text of <<{heredoc.name} has `$`, which BuildKit expands (its word is not "
                                     f"quoted): quote it (<<'{heredoc.name}') where the text is meant as it is")
            paths.append(self._keep(f"{FOLDER}/{command.start_line}/{heredoc.name}", text, mode))
        return paths

    def _keep(self, path: str, text: str, mode: int) -> str:
        v.context_path(path)
        there = self.folder / path
        if not Path(os.path.realpath(there)).is_relative_to(os.path.realpath(self.folder)):  # a linked folder on the way
            raise HeredocRefused(f"{path} would lie outside the Dockerfile's folder (a link on its way): import "
                                 "writes only beside the Dockerfile")
        if there.is_symlink() or there.exists() and not (there.is_file() and _same_text(there, text)):
            raise HeredocRefused(f"{path} exists already with other content; import never writes over a file")
        self.texts[path] = text
        self.modes[path] = mode
        return path

    def write_all(self, file: str) -> list[Path]:
        """Write each text that is not there yet (mode 0644, as BuildKit makes a COPY heredoc's
        file, or its --chmod); the paths written, for taking back when the spec cannot be written."""
        written: list[Path] = []
        for path, text in self.texts.items():
            there = self.folder / path
            if there.exists():
                continue  # the same text, checked when it was read
            try:
                there.parent.mkdir(parents=True, exist_ok=True)
                with open(there, "x", encoding="utf-8", newline="") as handle:
                    handle.write(text)
                os.chmod(there, self.modes[path])
            except OSError as exc:
                remove(written)
                raise SpecError(f"cannot write {path}: {exc.strerror or exc}", location=Location(file),
                                hint="import into a folder you can write") from None
            written.append(there)
        return written


def _same_text(path: Path, text: str) -> bool:
    try:
        return path.read_bytes() == text.encode("utf-8")
    except OSError:
        return False


def remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
