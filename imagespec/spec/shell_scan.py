"""Where a template's `${{ name }}` lands in shell text, and whether quoting protects it there.

imagespec writes a `with:` value into a shell command as one single-quoted word
(parameters.shell_word): one inert word wherever the shell reads words. In these places
the quotes protect nothing, so a placeholder there is refused (each seen run in dash and
bash with `a $(touch /P1) \\`touch /P2\\``-like values):
- inside the command's own quotes: the value's quotes close the author's;
- in a heredoc body or its delimiter: an unquoted body runs `$( )` and backquotes and
  keeps quotes as text; a quoted body (`<<'EOF'`) keeps all of it as text, quotes too;
- inside backquotes: a backquote in the value ends them (`echo 'a` ; touch /x ; `'`);
- inside `$(( ))` (or bash's `(( ))` and `$[ ]`): `$( )` in the expression runs whatever its quotes;
- as code the shell parses again: the arguments of `eval`, `trap` and `let`, and the
  command string of `sh -c` (bash, dash, zsh, ksh; `su -c`, `runuser -c`), a `$( )` in
  one too (its output is that code);
- after a backslash: `\\${{ x }}` escapes the value's opening quote.
A `case` pattern, a `${VAR:-…}` word and a `$( )` (inside double quotes too) read the
quoted word as one literal word: allowed. A command that reads shell code from elsewhere
(`… | sh`, `ssh host …`, bash's `[[ $x -eq 1 ]]`) cannot be told from the text: the
template's author owns those.
Pure: text in, the first exposed placeholder out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

PLACEHOLDER = re.compile(r"\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

# what each context does to a quoted value, and how a template says the same safely
QUOTES, HEREDOC, BACKQUOTES, ARITHMETIC, EVAL, SHELL_C, ESCAPED = (
    "quotes", "heredoc", "backquotes", "arithmetic", "eval", "shell -c", "escaped")
WHY = {
    QUOTES: "stands inside quotes of a shell command: its value is quoted as one word there, and its quotes would "
            "end these",
    HEREDOC: "stands in a heredoc: quoting means nothing there (an unquoted body runs the value's `$( )` and "
             "backquotes, a quoted one keeps its quotes as text)",
    BACKQUOTES: "stands inside backquotes: a backquote in its value would end them, whatever its quotes",
    ARITHMETIC: "stands inside an arithmetic expression `$(( ))` (or bash's `$[ ]`): the shell runs a `$( )` there "
                "whatever its quotes",
    EVAL: "is an argument of `eval`, `trap` or `let` (or of a `$( )` in one): the shell parses its value again as "
          "code",
    ESCAPED: "follows a backslash: it would escape the value's opening quote, and the shell would read the value as "
             "code",
    SHELL_C: "is the command string of a shell's `-c`: the shell runs its value as a command",
}
FIX = {
    QUOTES: "write ${{ %s }} without quotes: imagespec quotes the value as one word (a `shell` value is written as "
            "it is)",
    HEREDOC: "write the line with `printf '%%s\\n' ${{ %s }} >>FILE` instead, or put the value in the stage's `env:` "
             "and write \"$VAR\" in the heredoc (a variable's value is not parsed again)",
    BACKQUOTES: "use `$( )` instead of backquotes: inside it ${{ %s }} stays one quoted word",
    ARITHMETIC: "assign it first (`N=${{ %s }}`) and give the parameter `pattern: '[0-9]+'`: bash evaluates a "
                "variable's text as an expression too",
    EVAL: "pass ${{ %s }} as data the code reads (an argument or a variable: \"$1\", \"$VAR\"), not as code",
    ESCAPED: "remove the backslash before ${{ %s }}: imagespec quotes the value as one word",
    SHELL_C: "pass it as an argument after the command string: `sh -c 'run \"$1\"' sh ${{ %s }}`",
}

_COMMAND_FRAMES = ("top", "$(", "(", "`")
_QUOTE_FRAMES = ("'", "$'", '"')
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "su", "runuser"})
_EVALUATING = frozenset({"eval", "trap", "let"})
# words before the command's name that leave it in command position
_PREFIXES = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time", "command", "builtin"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_QUOTED = "\x01"  # stands in a word for text the scanner does not keep (quoted parts, substitutions)


class Exposed(NamedTuple):
    """A placeholder whose quoted value the shell would not take as one inert word."""

    name: str
    context: str  # a key of WHY and FIX
    offset: int  # where it starts in the scanned text

    def message(self) -> str:
        return f"${{{{ {self.name} }}}} {WHY[self.context]}"

    def hint(self) -> str:
        return FIX[self.context] % self.name


@dataclass
class _Frame:
    kind: str  # a command frame (_COMMAND_FRAMES), a quote (_QUOTE_FRAMES), "$((" or "$[" (arithmetic)
    words: list[str] = field(default_factory=list)  # the current simple command's words so far
    word: list[str] | None = None  # the word being read; None between words
    depth: int = 0  # arithmetic: parentheses open inside it


def exposed_placeholder(script: str) -> Exposed | None:
    """The first `${{ }}` of `script` where its quoted value is not one inert word."""
    return next(_Scanner(script).exposed(), None)


def list_operator(script: str) -> str | None:
    """The first operator that makes `script` a list of commands at its top level (`&&`,
    `||`, `;`, `|`, `&`, a newline) or a `#` that starts a comment there, else None; inside
    quotes, `$( )` or a heredoc they belong to one command."""
    scanner = _Scanner(script)
    for _ in scanner.exposed():
        pass
    return scanner.lists[0] if scanner.lists else None


class _Scanner:
    """A walk through the shell's states (quotes, substitutions, heredocs, words of the
    current command): not a pattern, which cannot tell `"$(cat ${{ f }})"` (one word)
    from `"${{ f }}"` (inside quotes)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.stack = [_Frame("top")]
        self.heredocs: list[tuple[str, bool]] = []  # delimiters waiting for the next line; strip tabs
        self.lists: list[str] = []  # the operators that join commands at the top level, in order

    def exposed(self) -> Iterator[Exposed]:
        text = self.text
        while self.i < len(text):
            match = PLACEHOLDER.match(text, self.i) if text.startswith("${{", self.i) else None
            if match is not None:
                context = self._context()
                if context is not None:
                    yield Exposed(match.group(1), context, match.start())
                self._add(_QUOTED)
                self.i = match.end()
                continue
            top = self.stack[-1]
            if text[self.i] == "\\" and top.kind != "'" and text.startswith("${{", self.i + 1):
                escaped = PLACEHOLDER.match(text, self.i + 1)
                if escaped is not None:  # QA: `echo \${{ x }}` gave `echo \'…'`: the quote escaped
                    yield Exposed(escaped.group(1), ESCAPED, escaped.start())
            if top.kind in _QUOTE_FRAMES:
                self._quoted(top)
            elif top.kind in ("$((", "$["):
                self._arithmetic(top)
            else:
                yield from self._command(top)

    # -- what protects a placeholder ----------------------------------------------------

    def _context(self) -> str | None:
        top = self.stack[-1]
        if top.kind in _QUOTE_FRAMES:
            return QUOTES
        kinds = {frame.kind for frame in self.stack}
        if "`" in kinds:
            return BACKQUOTES
        if "$((" in kinds or "$[" in kinds:
            return ARITHMETIC
        # this command, and each command a `$( )` holding it is an argument of (QA: `trap
        # "$(echo ${{ x }})" EXIT` ran the value): the nearest one that parses its words again
        for frame in reversed([f for f in self.stack if f.kind in _COMMAND_FRAMES]):
            words = frame.words  # before the word the placeholder (or its substitution) is in
            named = [w for w in words if not _ASSIGNMENT.match(w)]
            while named and named[0] in _PREFIXES:
                named.pop(0)
            if named and named[0] in _EVALUATING:
                return EVAL
            if _is_command_string(words, frame.word):
                return SHELL_C
        return None

    # -- the states ---------------------------------------------------------------------

    def _add(self, char: str) -> None:
        """A character of the word being read, in the nearest command frame."""
        frame = next(f for f in reversed(self.stack) if f.kind in _COMMAND_FRAMES)
        if frame is self.stack[-1] or self.stack[-1].kind in _QUOTE_FRAMES:
            if frame.word is None:
                frame.word = []
            frame.word.append(char)

    def _quoted(self, top: _Frame) -> None:
        text, char = self.text, self.text[self.i]
        if top.kind != "'" and char == "\\":
            self._add(text[self.i + 1:self.i + 2])
            self.i += 2
            return
        if char == ("'" if top.kind in ("'", "$'") else '"'):
            self.stack.pop()
        elif top.kind == '"' and char in "$`" and self._substitution():
            return
        else:
            self._add(char)
        self.i += 1

    def _substitution(self) -> bool:
        """`$((`, `$(` or a backquote at the position: its frame is pushed."""
        text, i = self.text, self.i
        if text.startswith("$((", i):
            self.stack.append(_Frame("$(("))
            self.i += 3
        elif text.startswith("$[", i):  # bash's old arithmetic
            self.stack.append(_Frame("$["))
            self.i += 2
        elif text.startswith("$(", i):
            self.stack.append(_Frame("$("))
            self.i += 2
        elif text[i] == "`":
            self.stack.append(_Frame("`"))
            self.i += 1
        else:
            return False
        return True

    def _arithmetic(self, top: _Frame) -> None:
        text, char = self.text, self.text[self.i]
        if top.kind == "$[" and char == "]" and top.depth == 0:
            self.stack.pop()
            self.i += 1
            return
        if top.kind == "$((" and char == ")" and top.depth == 0 and text.startswith("))", self.i):
            self.stack.pop()
            self.i += 2
            return
        if char in "$`" and not text.startswith("$((", self.i) and self._substitution():
            return
        top.depth += {"(": 1, ")": -1}.get(char, 0)
        self.i += 1

    def _command(self, top: _Frame) -> Iterator[Exposed]:
        text, i = self.text, self.i
        char = text[i]
        if char == "\\":
            if text[i + 1:i + 2] != "\n":  # a backslash-newline joins the lines
                self._add(text[i + 1:i + 2])
            self.i += 2
            return
        if char == "#" and top.word is None:
            self._joins(top, "#")
            end = text.find("\n", i)
            self.i = len(text) if end < 0 else end
            return
        if char == "`" and top.kind == "`":
            self._end_command(top)
            self.stack.pop()
            self.i += 1
            return
        if char in "'\"" or text.startswith("$'", i):
            self._add(_QUOTED)
            self.stack.append(_Frame("$'" if char == "$" else char))
            self.i += 2 if char == "$" else 1
            return
        if char in "$`" and self._substitution():
            self._add_to(top, _QUOTED)
            return
        if char == "(" and top.word is None:
            arithmetic = not top.words and text.startswith("((", i)  # bash's (( )) command
            self._end_command(top)
            self.stack.append(_Frame("$((" if arithmetic else "("))
            self.i += 2 if arithmetic else 1
            return
        if char == ")" and top.kind in ("$(", "("):
            self._end_command(top)
            self.stack.pop()
            self.i += 1
            return
        if text.startswith("<<<", i):  # bash's here-string: a word follows, quoted as anywhere
            self._end_word(top)
            self.i += 3
            return
        if text.startswith("<<", i):
            yield from self._heredoc_operator(top)
            return
        if char in " \t":
            self._end_word(top)
        elif char == "\n":
            self._joins(top, "a newline")
            self._end_command(top)
            self.i += 1
            yield from self._heredoc_bodies()
            return
        elif char in ";&|" and not self._redirection(i):
            operator = char + text[i + 1] if text[i + 1:i + 2] == char else char  # && || ;;
            self._joins(top, operator)
            self._end_command(top)
            self.i += len(operator)
            return
        elif char in ";&|<>":
            self._end_word(top)
        else:
            self._add(char)
        self.i += 1

    def _redirection(self, i: int) -> bool:
        """`&` or `|` as part of a redirection (`2>&1`, `<&0`, `&>log`, `>|log`), not a list."""
        text = self.text
        return text[i - 1:i] in ("<", ">") or (text[i] == "&" and text[i + 1:i + 2] == ">")

    def _joins(self, top: _Frame, operator: str) -> None:
        if top.kind == "top":
            self.lists.append(operator)

    def _add_to(self, frame: _Frame, char: str) -> None:
        if frame.word is None:
            frame.word = []
        frame.word.append(char)

    def _end_word(self, frame: _Frame) -> None:
        if frame.word is not None:
            frame.words.append("".join(frame.word))
            frame.word = None

    def _end_command(self, frame: _Frame) -> None:
        frame.words, frame.word = [], None

    # -- heredocs -----------------------------------------------------------------------

    def _heredoc_operator(self, top: _Frame) -> Iterator[Exposed]:
        """`<<[-] WORD`: the delimiter (quotes removed) waits for the end of the line."""
        self._end_word(top)
        text = self.text
        i = self.i + 2
        strip = text[i:i + 1] == "-"
        i += strip
        while i < len(text) and text[i] in " \t":
            i += 1
        delimiter, quote = [], ""
        while i < len(text) and (quote or text[i] not in " \t\n;&|<>()"):
            match = PLACEHOLDER.match(text, i) if text.startswith("${{", i) else None
            if match is not None:
                yield Exposed(match.group(1), HEREDOC, i)
                i = match.end()
                continue
            char = text[i]
            if quote and char == quote or not quote and char in "'\"":
                quote = "" if quote else char
            elif char == "\\" and quote != "'":
                delimiter.append(text[i + 1:i + 2])
                i += 1
            else:
                delimiter.append(char)
            i += 1
        self.heredocs.append(("".join(delimiter), strip))
        self.i = i

    def _heredoc_bodies(self) -> Iterator[Exposed]:
        """The lines after a line with `<<`: each body up to its delimiter's line."""
        text = self.text
        for delimiter, strip in self.heredocs:
            while self.i < len(text):
                end = text.find("\n", self.i)
                end = len(text) if end < 0 else end
                line = text[self.i:end]
                start, self.i = self.i, end + 1
                if (line.lstrip("\t") if strip else line) == delimiter:
                    break
                for match in PLACEHOLDER.finditer(line):
                    yield Exposed(match.group(1), HEREDOC, start + match.start())
        self.heredocs = []


def _is_command_string(words: list[str], current: list[str] | None) -> bool:
    """Whether the word after `words` (begun as `current`) is the code a shell's `-c` runs:
    a shell's name earlier, then a `-c` option (`-c`, `-ec`, `--command`), and only
    options between it and the word."""
    word = "".join(current or ())
    if word.startswith("--command="):
        return any(w.rsplit("/", 1)[-1] in _SHELLS for w in words)
    for k, name in enumerate(words):
        if name.rsplit("/", 1)[-1] not in _SHELLS:
            continue
        options = words[k + 1:]
        for j, option in enumerate(options):
            if _is_c_option(option) and all(w.startswith("-") for w in options[j + 1:]):
                return True
    return False


def _is_c_option(word: str) -> bool:
    return word == "--command" or (word.startswith("-") and not word.startswith("--") and "c" in word[1:])
