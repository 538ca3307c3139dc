"""One RUN instruction read for what a spec can say about it: the OS packages at the
head of its `&&` chain (the spec's `packages`, installed by imagespec's own step), its
cache and bind mounts (`cache`, dependency manifests), and the commands that remain.

Packages are taken only from the head of the chain and only when every word is a plain
package name: `apt-get install -t backports x`, `apk add --virtual .deps …`, a name
holding `$` or a glob stay commands, since the spec's install step could not mean the same.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from imagespec.spec.values import mount_target, package_name, package_version

#: package manager -> (its install verbs, options it takes that change what is installed)
_INSTALL = {
    "apt": ({("apt-get", "install"), ("apt", "install")}, {"-t", "--target-release", "--default-release"}),
    "apk": ({("apk", "add")}, {"-t", "--virtual", "-X", "--repository", "--allow-untrusted", "--root", "-p"}),
    "dnf": ({("dnf", "install"), ("microdnf", "install")}, {"--enablerepo", "--disablerepo", "--repo", "--releasever"}),
    "yum": ({("yum", "install")}, {"--enablerepo", "--disablerepo", "--releasever"}),
}
#: options that take a separate value word
_VALUE_OPTIONS = {"-o", "-c", "--option", "-t", "--target-release", "--virtual", "-X", "--repository",
                  "--setopt", "-p", "--root"}
_HOUSEKEEPING = (  # steps imagespec's install step does itself: dropped, said so
    re.compile(r"(apt-get|apt)( -[-a-zA-Z]+)* update( -[-a-zA-Z]+)*"),
    re.compile(r"(apt-get|apt)( -[-a-zA-Z]+)* (clean|autoclean)"),
    re.compile(r"apk( --no-cache| -U| --update)* update"),
    re.compile(r"(dnf|yum|microdnf)( -y)? (clean all|makecache)( -y)?"),
    re.compile(r"rm -(rf|fr|r -f|f -r) (/var/lib/apt/lists/\*|/var/cache/apk/\*|/var/cache/(dnf|yum)(/\*)?)"
               r"( /var/lib/apt/lists/\*| /var/cache/apt/\*| /var/cache/apt/archives/\*| /tmp/\*| /var/tmp/\*)*"),
)
_UNSPLITTABLE = re.compile(r"[\n`(){}#]|\$\(|<<")
_BRACED_VARIABLE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")  # `${UID}`: a word, not a `{ …; }` group


@dataclass
class Mounts:
    cache: list[str] = field(default_factory=list)
    binds: list[tuple[str, str]] = field(default_factory=list)  # (source, target)
    refused: list[str] = field(default_factory=list)  # why a mount cannot be said in a spec
    notes: list[str] = field(default_factory=list)


@dataclass
class RunRead:
    manager: str | None = None
    packages: dict[str, str | None] = field(default_factory=dict)
    housekeeping: list[str] = field(default_factory=list)
    rest: str | None = None  # the commands left, as shell text; None when nothing is left


def read_mounts(flags: tuple[str, ...]) -> Mounts:
    mounts = Mounts()
    for flag in flags:
        key, _, value = flag.partition("=")
        if key == "--mount":
            _one_mount(value, mounts)
        elif key == "--network":
            mounts.notes.append(f"{flag} dropped: imagespec builds with the build's network")
        elif flag == "--security=sandbox":  # `insecure` needs an entitlement a spec cannot grant: refused below
            mounts.notes.append(f"{flag} dropped: the sandbox is BuildKit's default")
        else:
            mounts.refused.append(f"RUN {flag} cannot be written in a spec")
    return mounts


def _one_mount(value: str, mounts: Mounts) -> None:
    options = dict(part.partition("=")[::2] for part in value.split(",") if part)
    kind = options.pop("type", "bind")
    target = options.pop("target", options.pop("dst", options.pop("destination", "")))
    if kind == "cache":
        try:
            mounts.cache.append(mount_target(target))
        except ValueError as exc:
            mounts.refused.append(f"cache mount {value!r}: {exc}")
            return
        if options:
            mounts.notes.append(f"cache mount {target}: options {', '.join(sorted(options))} dropped")
    elif kind == "bind" and "from" not in options:
        source = options.pop("source", options.pop("src", ""))
        mounts.binds.append((source, target))
    else:
        mounts.refused.append(f"--mount=type={kind} cannot be written in a spec (only cache mounts, and manifests"
                              " bound for a dependency step)")


def split_and(text: str) -> list[str] | None:
    """The top-level `a && b && c` items of a shell command, or None when the text has
    syntax this reader does not follow (a newline, subshell, heredoc, substitution)."""
    if _UNSPLITTABLE.search(_BRACED_VARIABLE.sub("", text)):
        return None
    items, current, quote, i = [], [], "", 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"' and i + 1 < len(text):
                current.append(text[i:i + 2])
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "\\" and i + 1 < len(text):
            current.append(text[i:i + 2])
            i += 2
            continue
        elif text.startswith("&&", i):
            items.append("".join(current).strip())
            current, i = [], i + 2
            continue
        current.append(ch)
        i += 1
    if quote:
        return None
    items.append("".join(current).strip())
    return items if all(items) else None


def _install(item: str) -> tuple[str, dict[str, str | None]] | None:
    try:
        words = shlex.split(item)
    except ValueError:
        return None
    for manager, (verbs, refused) in _INSTALL.items():
        verb = next((v for v in verbs if _verb_at(words, v)), None)
        if verb is None:
            continue
        packages = _package_words(words[_verb_index(words, verb) + 1:], manager, refused)
        return (manager, packages) if packages else None
    return None


def _verb_at(words: list[str], verb: tuple[str, str]) -> bool:
    return len(words) >= 2 and words[0] == verb[0] and verb[1] in words[1:] and _verb_index(words, verb) > 0


def _verb_index(words: list[str], verb: tuple[str, str]) -> int:
    # options may stand between the tool and its verb: `apt-get -y install`, `apk --no-cache add`
    for i, word in enumerate(words[1:], 1):
        if word == verb[1]:
            return i
        if not word.startswith("-"):
            return -1
    return -1


def _package_words(words: list[str], manager: str, refused: set[str]) -> dict[str, str | None] | None:
    packages: dict[str, str | None] = {}
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        option = word.split("=", 1)[0]
        if word.startswith("-"):
            if option in refused:
                return None
            skip = word in _VALUE_OPTIONS
            continue
        name, _, version = word.partition("=") if manager in ("apt", "apk") else (word, "", "")
        try:
            packages[package_name(name)] = package_version(version) if version else None
        except ValueError:
            return None
    return packages or None


def housekeeping(item: str) -> bool:
    return any(pattern.fullmatch(" ".join(item.split())) for pattern in _HOUSEKEEPING)


def only_housekeeping(text: str) -> bool:
    """A RUN of nothing but what imagespec's install step does itself (`RUN apt-get
    update` on its own line, before the `RUN apt-get install` it serves)."""
    items = split_and(text)
    return bool(items) and all(housekeeping(item) for item in items or ())


def read_run(text: str, manager: str | None) -> RunRead:
    """The packages at the head of the chain (for `manager`, the base image's), the
    housekeeping around them, and what remains."""
    read = RunRead()
    items = split_and(text) if manager else None
    if not items:
        read.rest = text
        return read
    taken = 0
    for item in items:
        install = _install(item)
        if install and install[0] == manager:
            read.manager = manager
            read.packages.update(install[1])
        elif housekeeping(item):
            read.housekeeping.append(item)
        else:
            break
        taken += 1
    if not read.packages:
        return RunRead(rest=text)
    rest = [item for item in items[taken:] if not housekeeping(item)]
    read.housekeeping += [item for item in items[taken:] if housekeeping(item)]
    read.rest = " && ".join(rest) if rest else None
    return read
