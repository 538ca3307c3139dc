"""Validators for the small value types of a spec: image references, ports, signals,
paths, durations and strings that must not break the Dockerfile they land in.

Each raises Invalid (a ValueError) with a message for the spec's author, what is wrong,
and a hint, what to write instead; the model turns those into located SpecErrors.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Sequence
from functools import lru_cache, wraps
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from imagespec import platform as platforms
from imagespec import reference as grammar
from imagespec.contract import (DERIVED_LABELS, IMAGESPEC_LABEL_PREFIX, LABEL_WRITABLE, WRITABLE_SEPARATOR,
                                imagespecs_own_label)
from imagespec.contract import PRIVILEGE_BITS, reads_as_json_array
from imagespec.reference import Invalid, InvalidPart
from imagespec.spec import shell_scan

_STAGE = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LABEL_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|ms|s|m|h))+")
_PORT = re.compile(r"(?P<port>[0-9]{1,5})(?:/(?P<proto>tcp|udp|sctp))?")
_MODE = re.compile(r"0?[0-7]{3,4}")
# apt, apk, dnf and yum names (`libc6:amd64`, `py3-pip`, `gcc-c++`, `pkg@edge`) and versions
# (`1:2.36-9+deb12u4`, `1.2~rc1`); nothing the shell would read as syntax or an option
_PACKAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+:@-]*")
# not ending with '-' or '+', which apt-get reads off the whole argument as "remove" and
# "install" (QA: `curl=7.88.1-10+deb12u5-` removed curl), nor ':' (an epoch without a version)
_PACKAGE_VERSION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._+:~^-]*[A-Za-z0-9._~^])?")
# Unicode's control characters (C0 but the tab, newlines included; DEL; C1, NEL among them)
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_OWNER = re.compile(r"(?:[0-9]+|[a-z_][a-z0-9_-]*)(?::(?:[0-9]+|[a-z_][a-z0-9_-]*))?")
RESERVED_STAGES = {"scratch", "context"}


# BuildKit reads a Dockerfile line by line and refuses a line over 64 KiB ("dockerfile line
# greater than max allowed size of 65535"), after a whole generate. A value is written on one
# line (each line of a multi-line command on its own), behind a key or flags, and escaping
# may double it (`"` is `\"` in ENV): a line of a value is held to a quarter of that.
MAX_VALUE_LINE_BYTES = 16 * 1024


def fits_a_line(value: str) -> str:
    if len(value) * 4 > MAX_VALUE_LINE_BYTES:  # else no line of it can be too long, whatever its characters
        longest = max(len(line.encode("utf-8", "surrogatepass")) for line in value.split("\n"))
        if longest > MAX_VALUE_LINE_BYTES:
            raise Invalid(f"{value[:40]!r}… has a line of {longest} bytes, more than the "
                          f"{MAX_VALUE_LINE_BYTES // 1024} KiB a value may have: a Dockerfile line holds at most "
                          "64 KiB, and the build would fail on it",
                          "ship long content as a file (`final.copy` from the context) and pass its path")
    return value


def _once(check: Callable[[str], str]) -> Callable[[str], str]:
    """A check of one string, run once per distinct value in a process: specs made from
    one preset or template repeat their paths, commands and names, and a check is a pure
    function of the text (a refused value raises again: errors are not kept). Every such
    value may reach the Dockerfile, so each is held to a Dockerfile line first."""
    def bounded(value: str) -> str:
        fits_a_line(value)
        return check(value)
    return lru_cache(maxsize=4096)(wraps(check)(bounded))


@_once
def image_reference(value: str) -> str:
    return value if value == "scratch" else grammar.reference(value)


@_once
def image_name(value: str) -> str:
    return grammar.path(value)


@_once
def stage_name(value: str) -> str:
    if not _STAGE.fullmatch(value):
        raise Invalid(f"'{value}' is not a valid stage name (lower-case letter first, then a-z 0-9 _ -)",
                      "a stage name is one word, e.g. build or deps (it becomes `FROM … AS NAME`)")
    if value in RESERVED_STAGES:
        raise Invalid(f"'{value}' is reserved by the Dockerfile syntax and cannot name a stage",
                      "name the stage after what it does, e.g. build or deps (`from: scratch` starts a stage "
                      "from the empty image)")
    if value == "final" or value.startswith("imagespec-"):
        raise Invalid(f"'{value}' is reserved for the stages imagespec writes itself",
                      "the runtime stage is the top-level `final:`; name a build stage after what it does, "
                      "e.g. build or deps")
    return value


@_once
def no_control_chars(value: str) -> str:
    """Single-line strings: a newline here would start a new Dockerfile instruction."""
    bad = CONTROL.search(value)
    if bad is not None:
        what = "a newline" if bad[0] in "\n\r\x85" else f"the control character {bad[0]!r}"
        raise Invalid(f"must be a single line without control characters (found {what})",
                      "a newline here would start another Dockerfile instruction; remove it (a YAML block "
                      "scalar `|` ends in one: use a plain or quoted string)" if what == "a newline" else
                      "control characters cannot be written into a Dockerfile faithfully; remove it")
    return value


@_once
def env_key(value: str) -> str:
    if not _ENV_KEY.fullmatch(value):
        raise Invalid(f"'{value}' is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)",
                      "a variable name is one word of letters, digits and '_', not starting with a digit")
    return value


@_once
def label_key(value: str) -> str:
    if not _LABEL_KEY.fullmatch(value):
        raise Invalid(f"'{value}' is not a valid label key (letters, digits, '.', '-', '/', '_')",
                      "use reverse-DNS keys such as com.example.team (OCI: org.opencontainers.image.*)")
    return value


@_once
def spec_label_key(value: str) -> str:
    """A label of the spec's own: none that imagespec sets itself (contract.DERIVED_LABELS)."""
    label_key(value)
    if not imagespecs_own_label(value):
        return value
    if value in DERIVED_LABELS:
        raise Invalid(f"the label '{value}' is imagespec's: it is set from {DERIVED_LABELS[value]}, and the build's "
                      "value would replace this one", f"set {DERIVED_LABELS[value]} instead, or use a label of "
                      "your own, e.g. com.example.NAME" if DERIVED_LABELS[value].startswith("`") else
                      "remove it: every build sets it; use a label of your own for anything else, e.g. com.example.NAME")
    raise Invalid(f"the label '{value}' is imagespec's ({IMAGESPEC_LABEL_PREFIX}*): the build and `imagespec test` "
                  "read them as imagespec wrote them",
                  "remove it; `final.writable` declares writable directories; use a label of your own for "
                  "anything else, e.g. com.example.NAME")


@_once
def duration(value: str) -> str:
    if not _DURATION.fullmatch(value):
        raise Invalid(f"'{value}' is not a duration",
                      _trim_first(value, "a number and a unit (ns, us, ms, s, m, h), e.g. 30s, 1m30s or 500ms"))
    # every duration of a spec is a HEALTHCHECK flag, which BuildKit reads with Go's
    # time.ParseDuration and then refuses below 1ms unless it is 0 (the default)
    nanoseconds = _go_nanoseconds(value)
    if nanoseconds is None:
        raise Invalid(f"'{value}' is too long for the engine (a Go time.Duration ends at 2562047h47m)",
                      "a health check's durations are seconds or minutes, e.g. 30s or 5m")
    if 0 < nanoseconds < _MILLISECOND:
        raise Invalid(f"'{value}' is shorter than 1ms, the least the engine takes for a health check duration",
                      "write 1ms or more (e.g. 500ms, 30s), or 0s for the engine's default")
    return value


_UNIT_NANOSECONDS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"([0-9]+)(?:\.([0-9]+))?(ns|us|ms|s|m|h)")
_MILLISECOND = 10**6
_GO_LIMIT = 1 << 63  # Go's time.Duration is an int64 of nanoseconds


def _go_nanoseconds(value: str) -> int | None:
    """The nanoseconds Go's time.ParseDuration makes of a duration _DURATION matched, None
    where it fails as out of range; a port of its arithmetic (a fraction goes through a
    float64 and is truncated), so that 0.9999999999999999999ms is what the engine says."""
    total = 0
    for whole, fraction, unit in _DURATION_PART.findall(value):
        scale, nanoseconds = _UNIT_NANOSECONDS[unit], int(whole)
        if nanoseconds > _GO_LIMIT // scale:
            return None
        nanoseconds *= scale
        digits, tenths = 0, 1.0
        for digit in fraction:  # Go ignores the digits past the ones an int64 holds
            if digits > (_GO_LIMIT - 1) // 10 or digits * 10 + int(digit) > _GO_LIMIT:
                break
            digits, tenths = digits * 10 + int(digit), tenths * 10
        nanoseconds += int(float(digits) * (float(scale) / tenths))
        total += nanoseconds
        if nanoseconds > _GO_LIMIT or total > _GO_LIMIT:
            return None
    return total if total < _GO_LIMIT else None


def as_written(value: object) -> str:
    """A YAML scalar as the author most likely wrote it (`true`, not Python's 'True')."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def port(value: int | str) -> str:
    """'8080', 8080, '53/udp' -> '8080/tcp' or '53/udp'."""
    match = _PORT.fullmatch(as_written(value).lower())
    if not match or not 1 <= int(match["port"]) <= 65535:
        raise Invalid(f"'{as_written(value)}' is not a port",
                      _trim_first(value, "a number 1-65535, optionally with /tcp, /udp or /sctp, "
                                         "e.g. `ports: [8080, 53/udp]`"))
    return f"{int(match['port'])}/{match['proto'] or 'tcp'}"


# The names moby's signal.ParseSignal knows on Linux (moby/sys signal_linux.go), which
# BuildKit's STOPSIGNAL and the daemon's `docker stop` both use: anything else builds
# nowhere. SIGKILL and SIGSTOP are left out on purpose: the application cannot handle
# them, so `docker stop` could never let it shut down cleanly (BP2).
_SIGNAL_NAMES = frozenset({
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "PIPE",
    "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU",
    "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX",
    *(f"RTMIN+{n}" for n in range(1, 16)), *(f"RTMAX-{n}" for n in range(1, 15)),
})
# numbers: ParseSignal takes any; Linux has 64 (a higher one is never delivered, so
# `docker stop` would wait out its timeout and kill); 9 and 19 are SIGKILL and SIGSTOP
_SIGNAL_NUMBERS = frozenset(range(1, 65)) - {9, 19}


def stop_signal(value: str | int) -> str:
    text = str(value).upper()
    if re.fullmatch(r"[1-9][0-9]?", text):
        if int(text) in _SIGNAL_NUMBERS:
            return text
    elif text.removeprefix("SIG") in _SIGNAL_NAMES:
        return "SIG" + text.removeprefix("SIG")
    raise Invalid(f"'{as_written(value)}' is not a signal a container can be stopped with",
                  "the engine knows SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, ... SIGRTMIN+1 to +15, SIGRTMAX-14 "
                  "to -1, or a number 1-64; not SIGKILL or SIGSTOP (9, 19), which the application cannot "
                  "handle (BP2)")


def mode(value: str | int) -> str:
    text = str(value)
    if not _MODE.fullmatch(text):
        raise Invalid(f"'{as_written(value)}' is not an octal file mode",
                      _trim_first(value, 'three or four octal digits, quoted so that YAML keeps the leading 0: '
                                         '`mode: "0755"`'))
    if int(text, 8) & PRIVILEGE_BITS:
        # Refused always, not under `non_root` alone: the app needs no privilege its user
        # lacks, and a setuid-root file undoes the non-root USER for anyone who runs it.
        raise Invalid(f"'{as_written(value)}' sets the set-user-ID or set-group-ID bit (04000, 02000): the file "
                      "would run as its owner, root by default, whatever user the image runs as (BP8)",
                      f"drop the leading digit: `mode: \"0{text[-3:]}\"`; a program that needs a privilege "
                      "gets it from the runtime (a capability), not from the image")
    return text.rjust(4, "0")


@_once
def package_name(value: str) -> str:
    """Package names reach the install command as words: anything else would be shell."""
    if not _PACKAGE.fullmatch(value):
        name, equals, version = value.partition("=")
        if equals and _PACKAGE.fullmatch(name) and _PACKAGE_VERSION.fullmatch(version):
            # apt's and apk's NAME=VERSION: the pin has a form of its own, checked as a version
            raise Invalid(f"'{value}' is a package with a version pin: a list item names the package alone",
                          f"pin it in the mapping form: `packages: {{{name}: \"{version}\"}}` (every item then a "
                          "`name: version` entry; `name: null` leaves one unpinned)")
        raise Invalid(f"'{value}' is not a package name (letters, digits, '.', '_', '+', ':', '@', '-')",
                      "one package per item, as the package manager names it; commands go in `run:`")
    return value


# Debian's name grammar (Policy 5.6.7: lower case, at least two characters), with apt's
# `:ARCH` multiarch qualifier: what apt-get installs by name. Anything else apt may read as
# a glob or a regular expression, or dpkg refuses.
_DEBIAN_PACKAGE = re.compile(r"(?P<name>[a-z0-9][a-z0-9+.-]+)(?::(?P<arch>[a-z0-9][a-z0-9-]*))?")


def debian_package_name(value: str) -> str:
    """A package name apt-get takes as one name and nothing else (the apt family's rule;
    `package_name` is every family's)."""
    if value.endswith("-"):
        # Policy allows it, but apt-get reads `NAME-` as "remove NAME" when no package has
        # that exact name: an item meant to add a package took one out of the image.
        raise Invalid(f"'{value}' ends with '-', which apt-get reads as \"remove {value[:-1]}\"",
                      "write the package's name alone; to keep a package out, leave it out (the base's own: "
                      "a `forbidden_packages` policy finds it, BP6)")
    if not _DEBIAN_PACKAGE.fullmatch(value):
        raise Invalid(f"'{value}' is not a Debian package name (lower-case letters, digits, '+', '.', '-', at least "
                      "two characters, optionally `:ARCH`)",
                      "the name as `apt-cache show` prints it, e.g. `ca-certificates` or `libc6:amd64`; a version "
                      "goes in the mapping form, `packages: {curl: 7.88.1-10+deb12u5}`")
    return value


def package_identity(value: str) -> str:
    """The package a name means, whatever qualifies it: apt's `NAME:ARCH`, `NAME=VERSION` and
    `NAME/RELEASE`, apk's `NAME@TAG` and `NAME=VERSION`, in any case: what a
    `forbidden_packages` entry and a package are compared as (BP6), so `curl:amd64` is `curl`."""
    return re.split(r"[:=/@<>~]", value.strip(), maxsplit=1)[0].lower()


@_once
def package_version(value: str) -> str:
    if not _PACKAGE_VERSION.fullmatch(value):
        raise Invalid(f"'{value}' is not a package version (letters, digits, '.', '_', '+', ':', '~', '^', '-'; "
                      "not ending with '-', '+' or ':', which apt-get would read as remove or install)",
                      "the version exactly as the package manager prints it, e.g. 7.88.1-10+deb12u5")
    return value


def owner(value: str | int) -> str:
    text = str(value)
    if not _OWNER.fullmatch(text):
        raise Invalid(f"'{as_written(value)}' is not an owner",
                      _trim_first(value, "a user id or name, optionally with :group, e.g. `owner: 65532:65532` "
                                         "or `owner: app:app`"))
    return text


def _trim_first(value: str | int, how: str) -> str:
    """The hint for a value that is wrong only for the blanks around it (a YAML block
    scalar ends in a newline): the value without them; else ``how`` to write one."""
    text = str(value)
    return f"remove the blank or newline around it: {text.strip()!r}" if text.strip() != text and text.strip() else how


def _no_surrounding_space(value: str, *, on_disk: bool = False) -> None:
    # BuildKit's parser trims any Unicode space at both ends of a line, and an unquoted
    # path can end one (WORKDIR, COPY's destination): the path would silently change
    if value != value.strip():
        trimmed = value.strip()
        # a file's name may really start with a blank: the trimmed name is another file's
        # (a block scalar's newline at the end is no part of a name: the trimmed one is meant)
        other = on_disk and value.rstrip("\n") != trimmed
        raise Invalid(f"{value!r} must not start or end with a space",
                      f"BuildKit trims blanks at the ends of a line, so COPY would look for {trimmed!r} instead: "
                      "a name that starts or ends with a blank cannot be named in COPY, so rename it, or copy the "
                      f"folder that holds it (or write {trimmed!r}, if that is the one meant)" if other else
                      f"BuildKit trims blanks at the ends of a line, so the path would silently change: "
                      f"write {trimmed!r}")


# WORKDIR and COPY run their arguments through BuildKit's word processing, which expands
# `$`, removes quotes and consumes backslashes: a path holding one would silently change
_WORD_SPECIALS = re.compile(r"[\\$\"']")
_WORD_HINT = ("WORKDIR and COPY expand '$', remove quotes and read a backslash as an escape, so the path would "
              "silently change: write the path as it is on disk, unquoted (a space needs no quotes), with '/'")


@_once
def absolute_path(value: str) -> str:
    no_control_chars(value)
    _no_surrounding_space(value)
    if not value.startswith("/"):
        raise Invalid(f"'{value}' must be an absolute path", _from_the_root(value))
    if ".." in value.split("/"):
        # compared as text (an artifact must lie under what its stage declares): no way back up
        raise Invalid(f"'{value}' must not contain '..'", f"write the path it leads to: '{posixpath.normpath(value)}'")
    if _WORD_SPECIALS.search(value):
        raise Invalid(f"'{value}' must not contain '$', quotes or backslashes", _WORD_HINT)
    return value


def _from_the_root(value: str) -> str:
    """The hint for a relative path: the absolute one it most likely means (`../app` is
    /app), when that one is valid; else how to write one."""
    meant = posixpath.normpath("/" + value) + ("/" if value.endswith("/") else "")  # a folder stays one
    try:
        valid = meant.strip("/") != "" and absolute_path(meant) == meant
    except Invalid:
        valid = False
    return f"start it at the root: '{meant}'" if valid else "write the path from the root, e.g. '/app'"


_HEREDOC_HINT = "COPY would take the lines after it as a file's text: rename the file, or copy the folder that holds it"


@_once
def context_path(value: str) -> str:
    """A path inside the build context: relative, no '..' escape (the engine cannot see it)."""
    no_control_chars(value)
    if not value.strip():
        raise Invalid("a path must not be empty", "name a file or folder of the build context, e.g. `app`; "
                                                  "`.` is the whole context")
    _no_surrounding_space(value, on_disk=True)
    if reads_as_json_array(value):  # the first COPY source: COPY would read its JSON form
        raise Invalid(f"'{value}' would be read as COPY's JSON form", f"start it with './': './{value}'")
    if value.startswith("/") or value.startswith("~"):
        raise Invalid(f"'{value}' must be relative to the build context",
                      f"name it from the context's top: '{value.lstrip('/~') or '.'}'")
    # COPY reads its arguments with the shell lexer: a backslash is an escape there, and
    # one at the end of the line would continue the instruction onto the next line
    if "\\" in value:
        raise Invalid(f"'{value}' holds a backslash, which is an escape in the Dockerfile",
                      f"write paths with '/': '{value.replace(chr(92), '/')}'")
    if ".." in value.split("/"):
        inside = posixpath.normpath(value)
        if inside != ".." and not inside.startswith("../"):  # the COPY would work, but say it plainly
            inside += "/" if value.endswith("/") and inside != "." else ""  # a folder stays one
            raise Invalid(f"'{value}': '..' is not allowed in a context path",
                          f"write the path it stands for, '{inside}'")
        raise Invalid(f"'{value}' points outside the build context",
                      "a build sees only its context: move the file into it, or set `context:` (relative to the "
                      "spec) to a folder that holds both")
    if any(c in value for c in "\"'$`"):
        raise Invalid(f"'{value}': quotes, '$' and backquotes are not allowed in context paths",
                      "COPY would expand or remove them and copy another file: rename the file, or copy the "
                      "folder that holds it (a space needs no quotes)")
    if value.startswith("!"):  # BuildKit sends the context's files by pattern, and `!` starts an exclusion
        raise Invalid(f"'{value}': a leading '!' makes BuildKit read the path as an exclusion pattern, and the build "
                      "finds no such file", "rename the file, or copy the folder that holds it")
    if value.startswith("-"):  # COPY would read it as a flag (`--from=…`, `--chmod=…`)
        raise Invalid(f"'{value}' would be read as a COPY flag", f"start it with './': './{value}'")
    if "<<" in value:  # COPY reads `<<WORD` as a heredoc and takes the following lines
        raise Invalid(f"'{value}': '<<' starts a heredoc in COPY", _HEREDOC_HINT)
    return value


@_once
def copy_destination(value: str) -> str:
    """Where a source copy lands, relative to the workdir or absolute."""
    no_control_chars(value)
    if not value.strip():
        raise Invalid("a destination must not be empty", "name where it lands: `./` (the workdir) or a path, "
                                                         "e.g. `/app/`")
    _no_surrounding_space(value)
    if _WORD_SPECIALS.search(value):
        raise Invalid(f"'{value}' must not contain '$', quotes or backslashes", _WORD_HINT)
    if value.startswith("-"):
        raise Invalid(f"'{value}' would be read as a COPY flag", f"start it with './': './{value}'")
    if "<<" in value:
        raise Invalid(f"'{value}': '<<' starts a heredoc in COPY", _HEREDOC_HINT)
    return value


def _relative_to_spec(example: str) -> Callable[[str], str]:
    """The check of the spec's own context or Dockerfile: relative to the spec file, so the
    spec means the same on every machine and `generate` never writes outside the checkout.
    ``example``: what the hint suggests, in the key's own words."""
    @_once
    def relative_path(value: str) -> str:
        no_control_chars(value)
        if not value.strip():
            raise Invalid("a path must not be empty", f"name it from the spec's folder, e.g. {example}")
        if value.startswith("/") or value.startswith("~") or re.match(r"[A-Za-z]:[\\/]", value):
            raise Invalid(f"'{value}' must be relative to the spec file (an absolute path differs on every machine)",
                          f"name it from the spec's folder, e.g. {example}")
        return value
    return relative_path


context_folder = _relative_to_spec("`context: .` or `context: ../app`")
_dockerfile_place = _relative_to_spec("`dockerfile: Dockerfile` (beside the spec) or `dockerfile: build/Dockerfile`")
#: file names another tool (or imagespec) reads for something else: a Dockerfile written
#: there breaks it (QA: `dockerfile: .imagespec.yaml` made every later run read it as settings)
_READ_ELSEWHERE = frozenset({".imagespec.yaml", ".dockerignore", ".gitignore", ".gitattributes", ".gitmodules"})


def read_elsewhere(name: str) -> bool:
    """Whether a file of this name is read as something else: settings, ignore patterns,
    git's attributes. No generated file (a Dockerfile, a bake file) may be written there."""
    return name in _READ_ELSEWHERE or name.endswith(".dockerignore")


def dockerfile_path(value: str) -> str:
    value = _dockerfile_place(value)
    name = value.rstrip("/").rsplit("/", 1)[-1]
    if value.endswith("/") or name in (".", ".."):
        raise Invalid(f"'{value}' names a folder: `dockerfile` is the file generate writes",
                      "name the file too, e.g. `dockerfile: build/Dockerfile`")
    if read_elsewhere(name):
        raise Invalid(f"'{value}': {name} is read as another file (settings or ignore patterns), not a Dockerfile",
                      "name it Dockerfile, or NAME.Dockerfile beside the spec")
    return value


_MOUNT_SPECIALS = re.compile(r"[\s,\"']")


@_once
def mount_target(value: str) -> str:
    """A cache mount target: written into `--mount=type=cache,target=…`, where a comma
    starts another mount option and a space ends the flag."""
    no_control_chars(value)
    _no_surrounding_space(value)
    # before the path's own checks: in `/root/.cache,id=../../etc` the comma is what is
    # wrong, and the folder before it is what was meant
    if _MOUNT_SPECIALS.search(value):
        folder = _MOUNT_SPECIALS.split(value)[0]
        if not folder.startswith("/") or ".." in folder.split("/"):
            folder = "/root/.cache"
        raise Invalid(f"'{value}': a cache path cannot hold spaces, commas or quotes (it becomes a --mount option)",
                      f"give the folder alone, e.g. '{folder}': the mount takes BuildKit's defaults (its id is the "
                      "folder, sharing=shared)")
    absolute_path(value)
    return value


# Folders of the system that stay root's: a writable directory is made the runtime user's
# (and a VOLUME), so `/` would leave the container nothing to start from and `/etc` would let
# the app rewrite /etc/passwd. A path equal to one, or above one (`/usr` holds /usr/bin), is
# refused; the app's own folders below them (/var/cache/app, /run/app, /home/app) are not.
_SYSTEM_DIRS = frozenset({
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run", "/sbin",
    "/sys", "/usr", "/usr/bin", "/usr/lib", "/usr/libexec", "/usr/local/bin", "/usr/local/lib", "/usr/local/sbin",
    "/usr/sbin", "/var", "/var/lib", "/var/run", "/var/lock",  # the last two: Debian's links to /run, /run/lock
})


def _system_dir_within(path: str) -> str | None:
    """The system folder `path` is or holds (its own path as written normalised), else None."""
    folder = _folder(path)
    inside = "/" if folder == "/" else folder + "/"
    return folder if folder in _SYSTEM_DIRS else next((d for d in sorted(_SYSTEM_DIRS) if d.startswith(inside)), None)


def _folder(path: str) -> str:
    """An absolute path as the file system reads it: `//usr/` is /usr."""
    return posixpath.normpath(re.sub("/+", "/", path))


def writable_dir(value: str) -> str:
    """A directory the app writes under a read-only root (BP9): an absolute path without
    a comma, which the image's label `io.imagespec.writable` separates them by (contract),
    and none of the system's own folders, which the runtime user would then own."""
    absolute_path(value)
    if WRITABLE_SEPARATOR in value:
        raise Invalid(f"'{value}': a writable directory cannot hold a comma (the image's label "
                      f"{LABEL_WRITABLE} lists them separated by commas)",
                      "rename the directory, or declare the one above it")
    system = _system_dir_within(value)
    if system is not None:
        what = "is" if _folder(value) == system else "holds"
        raise Invalid(f"'{value}' {what} the system folder {system}, which must stay root's: a writable "
                      "directory is made the app user's own (BP8, BP9)",
                      "name the app's own folder, e.g. `writable: [/var/cache/app]`, `/app/data` or `/tmp`")
    if _folder(value) != value:  # QA: `/tmp/` passed the `/tmp` exception and made /tmp 0755, the app's
        raise Invalid(f"'{value}' is written '{_folder(value)}' by the file system: write it so",
                      "one spelling per folder: the VOLUME, the label and the checks compare them as written")
    return value


def a_command(value: object) -> object:
    """A command is text: YAML reads `42` or `true` as a number or boolean, which would
    otherwise become the command `42` (`&& 42` in a merged RUN)."""
    if not isinstance(value, str):
        raise Invalid(f"every command must be a string, not {as_written(value)!r}",
                      f"quote it if it is meant: \"{as_written(value)}\"; else remove the item")
    return value


@_once
def command_line(value: str) -> str:
    """A shell command; rejected only when it could not be rendered safely."""
    if not value.strip():
        raise Invalid("a command must not be empty", "write the command, or remove the item")
    if "\x00" in value:
        raise Invalid("a command must not contain NUL bytes", "remove the \\0 / \\x00 escape")
    ends_in = unfinished(value)
    if ends_in:
        raise Invalid(f"the command ends in `{ends_in}`, so the shell reads the next command as its rest: "
                      "merged with the next item (BP3) it would run another command than written, and alone "
                      "it is a syntax error",
                      "finish the command within its item, or write the whole pipeline or `&&` chain as one item")
    return value.strip("\n")  # YAML block scalars end in a newline that means nothing


def unfinished(command: str) -> str:
    """The operator an unfinished command ends in (a pipe, `&&`, `||`, a line continuation
    by an odd number of backslashes), '' for a whole one. Its last line with a comment is
    left alone: the operator may be the comment's."""
    last = command.rstrip().rsplit("\n", 1)[-1]
    if "#" in last:
        return ""
    if _escaped(last, len(last)):
        return "\\"
    op = next((op for op in ("&&", "||", "|") if last.endswith(op)), "")
    return "" if op and _escaped(last, len(last) - len(op)) else op  # `echo a\|` prints a pipe


def _escaped(text: str, end: int) -> bool:
    """Whether an odd number of backslashes ends ``text[:end]``: the character after them
    is taken literally (at the end of the text: the line goes on)."""
    head = text[:end]
    return (len(head) - len(head.rstrip("\\"))) % 2 == 1


# `version` becomes the X.Y.Z, X.Y and X tags (BP14), so anything else would fail only when
# the image is tagged, after a whole build; `registry` and tags likewise
semantic_version = grammar.semantic_version
docker_tag = grammar.tag
registry = grammar.registry


@lru_cache(maxsize=256)  # shlex is slow, and a spec's entrypoint is split when validated and again when lowered
def _shell_split(value: str) -> tuple[str, ...]:
    return tuple(shlex.split(value))


def argv(value: str | list[str]) -> tuple[str, ...]:
    """A string is split as a POSIX shell would split it (BP2: always exec form)."""
    parts: Sequence[str]
    if isinstance(value, str):
        try:
            parts = _shell_split(value)
        except ValueError as exc:
            raise Invalid(f"cannot split '{value}' into arguments: {str(exc).lower()}",
                          "close the quote, or write the arguments as a list: `[/app, --name, my name]` "
                          "(an item needs no quotes for its spaces)") from None
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:  # QA: `cmd: true` was a traceback, and a mapping's keys became the arguments
        raise Invalid("must be a list of arguments or a string, not "
                      + ("a mapping" if isinstance(value, dict) else repr(as_written(value))),
                      "give the program and its arguments, e.g. `[/app, --health]`")
    if not parts:
        raise Invalid("must name a program to run", "give the program and its arguments, e.g. `[/app, --port, '8080']`")
    for part in parts:
        if not isinstance(part, str):
            raise Invalid("every argument must be a string", "quote numbers and true/false: `[/app, --port, '8080']`")
        if "\x00" in part:
            raise Invalid("arguments must not contain NUL bytes", "remove the \\0 / \\x00 escape")
        fits_a_line(part)
    fits_a_line(" ".join(parts).replace("\n", " "))  # exec form writes them all on one line
    return tuple(parts)


#: what only a shell does: exec form (BP2) would hand these to the program as arguments
_OPERATORS = set("|&;<>()")
_EXPANSION = re.compile(r"\$[A-Za-z_{(]")
#: a variable reference as a shell or the Dockerfile writes it: `$NAME`, `${NAME}`, `${NAME:-default}`;
#: group 1 or 2 is the name. Exec form and spec values expand none of them (what lint says).
VARIABLE = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?+=-][^}]*)?\})")


def variables(text: str) -> list[str]:
    """The names `text` refers to as variables, in order, each once."""
    return list(dict.fromkeys(m.group(1) or m.group(2) for m in VARIABLE.finditer(text)))


def _shell_syntax(value: str) -> str | None:
    """The first shell-only construct of a command string, as a shell reads quoting: an
    operator (`>`, `&&`, `|`, `;`) outside quotes, or an expansion (`$VAR`, `$(…)`, a
    backquote) outside single quotes; None when the string is plain words."""
    quote, escaped = "", False
    for i, char in enumerate(value):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote == "'":
            quote = "" if char == "'" else quote
        elif char == "`" or _EXPANSION.match(value, i):
            return value[i:i + 2] if char == "$" else char
        elif quote == '"':
            quote = "" if char == '"' else quote
        elif char in "'\"":
            quote = char
        elif char in _OPERATORS:
            end = i
            while end < len(value) and value[end] in _OPERATORS:
                end += 1
            return value[i:end]  # the whole operator: `&&`, `||`, `>&`
    return None


def exec_argv(value: str | list[str], *, program: bool = True) -> tuple[str, ...]:
    """A command the image runs in exec form (BP2): as ``argv``, and a string must not rely
    on a shell, which exec form does not start (`a > log` would pass '>' to the program).
    ``program``: its first word is the program (a `cmd` after an entrypoint is arguments)."""
    parts = argv(value)
    if program and not parts[0].strip():
        raise InvalidPart("must name a program to run: the first item is empty",
                          "give the program first, then its arguments, e.g. `[/app, --port, '8080']`", at=(0,))
    found = _shell_syntax(value) if isinstance(value, str) else None
    if found is not None:
        raise Invalid(f"'{value}' uses shell syntax ({found!r}), and exec form (BP2) starts no shell: "
                      "the program would get it as an argument",
                      hint="write the arguments as a list; where a shell is meant, say so: `[sh, -c, '…']` on a base "
                           "with a shell, or `shell: true` for the entrypoint")
    if isinstance(value, list) and parts[0] in ("CMD-SHELL", "CMD", "NONE"):
        raise Invalid(f"'{parts[0]}' is Compose's and the Dockerfile's marker, not a program: the list is "
                      "the probe's own arguments",
                      hint="write `cmd: [program, arg]`; `disable: true` turns the base's health check off")
    return parts


def shell_entrypoint(value: str | list[str]) -> tuple[str, ...]:
    """The entrypoint under `shell: true`: one command, run as `exec COMMAND "$@"` (BP2).
    A list of commands (`a && b`, `a; b`) would exec the first and drop the rest and the
    cmd's arguments; a comment would swallow the "$@" written after it."""
    parts = argv(value)
    found = shell_scan.list_operator(value.strip()) if isinstance(value, str) else None
    if found is not None:
        if found == "#":
            raise Invalid(f"'{value}' has a comment ('#'): the cmd's arguments (\"$@\"), written after it, would be "
                          "part of it", hint="write the comment in YAML, after the value: `entrypoint: /app --x  # why`")
        raise Invalid(f"'{value}' is a list of commands ({found!r}): it runs as `exec …`, which replaces the shell "
                      "with the first command, so the ones after it and the cmd's arguments never run",
                      hint="a `shell: true` entrypoint is one command, exec'd as PID 1 (BP2): set up with `workdir:` "
                           "and `env:`, or put the commands in a script that ends with `exec PROGRAM \"$@\"` and make "
                           "the script the entrypoint")
    return parts


# a buildx builder's name or a docker context's (buildx lists each context as a builder):
# what `--builder` and the configuration's `build.builder` may be; anything else would reach
# `docker buildx inspect` as it is (`--help` a flag there)
BUILDER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.+-]{0,127}")
BUILDER_HINT = ("a buildx builder or docker context name: letters, digits and `_.+-`, starting with a letter or "
                "digit (`docker buildx ls` lists them)")


@_once
def builder_name(value: str) -> str:
    if not BUILDER_NAME.fullmatch(value):
        raise Invalid(f"{value[:80]!r} is not a builder name", BUILDER_HINT)
    return value


ImageRef = Annotated[str, AfterValidator(image_reference)]
BuilderName = Annotated[str, AfterValidator(builder_name)]
ImageName = Annotated[str, AfterValidator(image_name)]
StageName = Annotated[str, AfterValidator(stage_name)]
#: an SPDX license or exception id, `+` for "or later", and the LicenseRef/DocumentRef forms
_SPDX_ID = re.compile(r"(?:DocumentRef-[A-Za-z0-9.-]+:)?(?:LicenseRef-)?[A-Za-z0-9.-]+\+?")
_SPDX_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def license_expression(value: str) -> str:
    """An SPDX license expression (BP16): ids joined by AND / OR, WITH an exception,
    parentheses. The syntax is checked, not the ids: a company's `LicenseRef-…` or
    `Proprietary` is the author's to name; `NOT A LICENSE(((` is no expression."""
    no_control_chars(value)
    tokens = _SPDX_TOKEN.findall(value)
    if not tokens or not _spdx_compound(tokens, 0, depth=0) == len(tokens):
        raise Invalid(f"{value[:120]!r} is not an SPDX license expression",
                      hint="an id such as MIT or Apache-2.0, joined by AND / OR, e.g. `MIT OR Apache-2.0` "
                           "(https://spdx.org/licenses/); LicenseRef-NAME for a license of your own")
    return value


def _spdx_compound(tokens: list[str], at: int, *, depth: int) -> int:
    """Where a compound expression starting at ``at`` ends; -1 when there is none."""
    at = _spdx_term(tokens, at, depth=depth)
    while at > 0 and at < len(tokens) and tokens[at].upper() in ("AND", "OR"):
        at = _spdx_term(tokens, at + 1, depth=depth)
    return at


def _spdx_term(tokens: list[str], at: int, *, depth: int) -> int:
    if at < 0 or at >= len(tokens) or depth > 32:
        return -1
    if tokens[at] == "(":
        end = _spdx_compound(tokens, at + 1, depth=depth + 1)
        return end + 1 if 0 < end < len(tokens) and tokens[end] == ")" else -1
    if tokens[at].upper() in ("AND", "OR", "WITH") or not _SPDX_ID.fullmatch(tokens[at]):
        return -1
    if at + 1 < len(tokens) and tokens[at + 1].upper() == "WITH":
        exception = at + 2
        ok = exception < len(tokens) and tokens[exception].upper() not in ("AND", "OR", "WITH") \
            and _SPDX_ID.fullmatch(tokens[exception])
        return exception + 1 if ok else -1
    return at + 1


#: where the source is: a URL git or a browser opens (https://, http://, ssh://, git://), or
#: git's scp-like `user@host:path`; no blank, so the label is one word a reviewer can follow
_SOURCE = re.compile(r"(?:(?:https?|ssh|git)://[^\s/@]+(?:@[^\s/]+)?|[\w.-]+@[\w.-]+:)[^\s]*")


def source_url(value: str) -> str:
    """`source:` (org.opencontainers.image.source, BP13): the repository an image traces to."""
    if not _SOURCE.fullmatch(value):
        raise Invalid(f"'{value}' is not a source repository URL",
                      "the repository's address, e.g. `source: https://git.example.com/team/app` "
                      "(https://, http://, ssh://, git:// or git@host:path)")
    return value


Line = Annotated[str, AfterValidator(no_control_chars)]
SourceUrl = Annotated[str, AfterValidator(no_control_chars), AfterValidator(source_url)]
License = Annotated[str, AfterValidator(license_expression)]
EnvKey = Annotated[str, AfterValidator(env_key)]
LabelKey = Annotated[str, AfterValidator(label_key)]
SpecLabelKey = Annotated[str, AfterValidator(spec_label_key)]
Duration = Annotated[str, AfterValidator(duration)]
# The JSON Schema describes what a spec may be written as (editors check specs against
# it), which for the values normalised by a BeforeValidator is more than the result type:
# `ports: [8080]`, `stop_signal: 15`, `run: make` (one command), `cmd: curl -f URL`.
STRING_OR_INTEGER = WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "integer"}]})
STRING_OR_LIST = WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})

Port = Annotated[str, BeforeValidator(port), STRING_OR_INTEGER]
Signal = Annotated[str, BeforeValidator(stop_signal), STRING_OR_INTEGER]
Mode = Annotated[str, BeforeValidator(mode), STRING_OR_INTEGER]
Owner = Annotated[str, BeforeValidator(owner), STRING_OR_INTEGER]
PackageName = Annotated[str, AfterValidator(package_name)]
#: a base spec's packages: apt installs or unpacks them, always (bootstrap, distroless)
DebianPackageName = Annotated[str, AfterValidator(package_name), AfterValidator(debian_package_name)]
PackageVersion = Annotated[str, AfterValidator(package_version)]
AbsPath = Annotated[str, AfterValidator(absolute_path)]
WritableDir = Annotated[str, AfterValidator(writable_dir)]
ContextPath = Annotated[str, AfterValidator(context_path)]
CopyDest = Annotated[str, AfterValidator(copy_destination)]
ContextFolder = Annotated[str, AfterValidator(context_folder)]
DockerfilePath = Annotated[str, AfterValidator(dockerfile_path)]
MountTarget = Annotated[str, AfterValidator(mount_target)]
Command = Annotated[str, BeforeValidator(a_command), AfterValidator(command_line)]
Argv = Annotated[tuple[str, ...], BeforeValidator(argv), STRING_OR_LIST]
ExecArgv = Annotated[tuple[str, ...], BeforeValidator(exec_argv), STRING_OR_LIST]
SemanticVersion = Annotated[str, AfterValidator(_once(semantic_version)),
                            WithJsonSchema({"type": "string", "pattern": grammar.SEMVER_PATTERN})]
Tag = Annotated[str, AfterValidator(_once(docker_tag)), WithJsonSchema({"type": "string", "pattern": grammar.TAG_PATTERN})]
Digest = Annotated[str, AfterValidator(_once(grammar.digest)), WithJsonSchema({"type": "string", "pattern": grammar.DIGEST_PATTERN})]
# a registry host[:port] with an optional path: where images are pushed, or come from
PlatformName = Annotated[str, AfterValidator(_once(platforms.platform)),
                         WithJsonSchema({"type": "string", "pattern": platforms.PLATFORM_PATTERN,
                                         "examples": list(platforms.KNOWN)})]
Platforms = Annotated[list[PlatformName], AfterValidator(platforms.platform_list)]
Registry = Annotated[str, AfterValidator(_once(registry)), WithJsonSchema({"type": "string", "pattern": grammar.REGISTRY_PATTERN})]
# a Debian mirror: a base spec's `bootstrap.mirror` and the configuration's `bases.mirror` (here,
# not in spec/base_model.py, so that reading a configuration does not make the base spec's models)
MirrorUrl = Annotated[str, Field(pattern=r"^(https?|file)://[^\s\"'\\]+$")]
