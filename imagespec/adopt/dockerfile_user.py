"""The RUN commands that create users and groups (shadow's useradd and groupadd, busybox's
adduser and addgroup on apk bases, Debian's adduser and addgroup on the others), read
for what they make, and matched against the final USER.

imagespec's final stage creates the runtime user itself (`final.user`, BP8), so a
Dockerfile's own `groupadd -g 10001 app && useradd -u 10001 -g app app` left in a RUN
makes the build fail (`GID '10001' already exists`). The commands are taken out of the
RUN here; where they make exactly the user the image runs as, with nothing imagespec's
user would mean otherwise, they become `final.user: {uid, gid, name}`; else the import
says why they are not expressed.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from imagespec.adopt.dockerfile_run import split_and
from imagespec.spec.model import NONROOT_UID, User

#: option -> (what it sets, whether it takes a value); "" is an option that changes
#: nothing imagespec's user means (a system account, a comment, no password)
_Options = dict[str, tuple[str, bool]]
_USERADD: _Options = {
    "-u": ("uid", True), "--uid": ("uid", True), "-g": ("group", True), "--gid": ("group", True),
    "-d": ("home", True), "--home-dir": ("home", True), "-s": ("shell", True), "--shell": ("shell", True),
    "-m": ("make_home", False), "--create-home": ("make_home", False), "-M": ("", False),
    "--no-create-home": ("", False), "-r": ("", False), "--system": ("", False), "-l": ("", False),
    "--no-log-init": ("", False), "-c": ("", True), "--comment": ("", True), "-U": ("", False),
    "--user-group": ("", False), "-N": ("no_own_group", False), "--no-user-group": ("no_own_group", False)}
_GROUPADD: _Options = {"-g": ("gid", True), "--gid": ("gid", True), "-r": ("", False), "--system": ("", False),
                       "-f": ("", False), "--force": ("", False)}
_BUSYBOX_ADDUSER: _Options = {
    "-u": ("uid", True), "--uid": ("uid", True), "-G": ("group", True), "--ingroup": ("group", True),
    "-h": ("home", True), "--home": ("home", True), "-s": ("shell", True), "--shell": ("shell", True),
    "-H": ("no_home", False), "--no-create-home": ("no_home", False), "-S": ("system", False),
    "--system": ("system", False),
    "-D": ("", False), "--disabled-password": ("", False), "-g": ("", True), "--gecos": ("", True)}
_BUSYBOX_ADDGROUP: _Options = {"-g": ("gid", True), "--gid": ("gid", True), "-S": ("", False),
                               "--system": ("", False)}
_DEBIAN_ADDUSER: _Options = {
    "--system": ("system", False), "--uid": ("uid", True), "--gid": ("group", True), "--ingroup": ("group", True),
    "--group": ("own_group", False), "--home": ("home", True), "--shell": ("shell", True),
    "--no-create-home": ("no_home", False), "--disabled-password": ("", False), "--disabled-login": ("", False),
    "--gecos": ("", True), "--comment": ("", True), "--quiet": ("", False), "-q": ("", False)}
_DEBIAN_ADDGROUP: _Options = {"--system": ("", False), "--gid": ("gid", True), "--quiet": ("", False),
                              "-q": ("", False)}
#: login shells that are none: imagespec's user has /usr/sbin/nologin (/sbin/nologin on apk)
_NO_LOGIN = frozenset({"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"})
_TOOL = re.compile(r"(^|[\s;&|(])(\S*/)?(useradd|groupadd|adduser|addgroup)(\s|$)")


@dataclass(frozen=True)
class Account:
    """One user or group a command creates."""

    text: str  # the command as written
    kind: str  # "user" | "group"
    name: str
    id: int | None  # the uid or gid it gives; None: the tool picks one
    group: str | None = None  # a user's primary group as given (name or number)
    own_group: bool = False  # a user's group of its own name, numbered as the uid (where free) or `group`
    home_made: bool = True
    why_not: str | None = None  # what imagespec's user would mean otherwise


def _dialect(tool: str, manager: str | None) -> tuple[str, _Options]:
    if tool in ("useradd", "groupadd"):
        return tool, _USERADD if tool == "useradd" else _GROUPADD
    if manager == "apk":
        return f"busybox {tool}", _BUSYBOX_ADDUSER if tool == "adduser" else _BUSYBOX_ADDGROUP
    return f"Debian's {tool}", _DEBIAN_ADDUSER if tool == "adduser" else _DEBIAN_ADDGROUP


def _options(words: list[str], table: _Options) -> tuple[dict[str, str], list[str], str | None]:
    """(what each option sets, the operands, an option this reader does not know)."""
    found: dict[str, str] = {}
    operands: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-") or word == "-":
            operands.append(word)
            continue
        option, eq, value = word.partition("=") if word.startswith("--") else (word[:2], "", word[2:])
        if option not in table:
            return found, operands, option
        key, takes = table[option]
        if takes and not (eq or value):
            if i == len(words):
                return found, operands, option
            value, i = words[i], i + 1
        elif not takes and value:  # short flags run together: `-rm`
            if any(f"-{flag}" not in table or table[f"-{flag}"][1] for flag in value):
                return found, operands, word
            for flag in option[1] + value:
                found[table[f"-{flag}"][0]] = ""
            continue
        found[key] = value
    return found, operands, None


def read_account(item: str, manager: str | None, expand: Callable[[str], str]) -> Account | None:
    """The account one command (an item of an `&&` chain) creates, or None when the
    command creates none. `expand` reads a word's `$VAR` as the build would."""
    try:
        words = shlex.split(item)
    except ValueError:
        return None
    tool = posixpath.basename(words[0]) if words else ""
    if tool not in ("useradd", "groupadd", "adduser", "addgroup"):
        return None
    kind = "user" if tool in ("useradd", "adduser") else "group"
    dialect, table = _dialect(tool, manager)
    try:
        found, operands, unknown = _options([expand(word) for word in words[1:]], table)
    except ValueError as exc:
        return Account(item, kind, "", None, why_not=str(exc))
    name = operands[0] if operands else ""
    if unknown or len(operands) != 1:
        why = f"{dialect} {unknown}: an option import does not read" if unknown else \
            f"{dialect} with {len(operands)} names (two add a user to a group)"
        return Account(item, kind, name, None, why_not=why)
    number = found.get("uid" if kind == "user" else "gid")
    if number is not None and not number.isdigit():
        return Account(item, kind, name, None, why_not=f"its id {number!r} is not a number")
    account = Account(item, kind, name, int(number) if number is not None else None)
    return _user(account, found, dialect) if kind == "user" else account


def _user(account: Account, found: dict[str, str], dialect: str) -> Account:
    name, group = account.name, found.get("group")
    home, shell = found.get("home"), found.get("shell")
    system = "system" in found
    if dialect.startswith("busybox"):
        # busybox's adduser: no -G makes a group of the user's own name, but -S puts a
        # system user in nogroup (loginutils/adduser.c)
        made, own = "no_home" not in found, group is None and not system
        group = group if group is not None or own else "nogroup"
    elif dialect.startswith("Debian"):
        made, own = not system and "no_home" not in found, "own_group" in found or not system
        group = group if group is not None or own else "nogroup"  # where --system puts a user by default
        shell = shell if shell is not None or system else "/bin/bash"  # its default for a user who logs in
    else:
        made, own = "make_home" in found, group is None
    why = None
    # a home that is not made is no path the app can use: imagespec's /home/NAME means the same
    if made and home is not None and posixpath.normpath(home) != f"/home/{name}":
        why = f"its home is {home} (imagespec's user's is /home/{name})"
    elif shell is not None and shell not in _NO_LOGIN:
        why = f"its login shell is {shell} (imagespec's user has none: nologin)"
    elif "no_own_group" in found and group is None:
        why = "-N: its group is useradd's default group, not one of its own"
    return Account(account.text, "user", name, account.id, group, own, made, why)


def take_accounts(text: str, manager: str | None, expand: Callable[[str], str]) -> tuple[list[Account], str]:
    """The accounts the `&&` items of a RUN create, and the RUN's other items (as written,
    joined again with &&; "" when none is left)."""
    items = split_and(text)
    if not items:
        return [], text
    accounts = [read_account(item, manager, expand) for item in items]
    if not any(accounts):
        return [], text
    return [a for a in accounts if a], " && ".join(item for item, a in zip(items, accounts, strict=True) if a is None)


def creates_accounts(text: str) -> bool:
    """The text calls a user or group tool (read or not)."""
    return bool(_TOOL.search(text))


def runtime_user(user: str, accounts: list[Account], later: list[str]) -> tuple[dict[str, Any], list[str]] | str:
    """`final.user` and what it changes, or why the accounts cannot be it. `user` is the
    USER value (`10001`, `app:app`); `later`, the commands that run after the accounts
    are made (imagespec makes them after all the stage's commands)."""
    refused = next((a for a in accounts if a.why_not), None)
    if refused:
        return f"`{refused.text}`: {refused.why_not}" if len(accounts) > 1 else str(refused.why_not)
    users = [a for a in accounts if a.kind == "user"]
    groups = [a for a in accounts if a.kind == "group"]
    if len(users) != 1 or len(groups) > 1:
        return (f"it creates {len(users)} user(s) and {len(groups)} group(s); imagespec creates one, the user the "
                "image runs as, with a group of its own")
    account = users[0]
    name, _, group_part = user.partition(":")
    notes: list[str] = []
    if account.id is None:  # the tool takes the first free uid (1000 on most bases): the USER's number, or ours
        uid = int(name) if name.isdigit() else NONROOT_UID
        whose = "" if name.isdigit() else " (imagespec's default)"
        notes.append(f"its uid is {uid}{whose}: the Dockerfile left it to the tool, which takes the first free one "
                     "(1000 on most bases); set final.user.uid if files outside the image expect another")
        account = dataclasses.replace(account, id=uid)
    if name not in (account.name, str(account.id)):
        return f"it creates {account.name} (uid {account.id}), not the user USER {user} runs as"
    primary = _primary_group(account, groups)
    if isinstance(primary, str):
        return primary
    gid, group_name = primary
    if group_part and group_part not in (str(gid), group_name):
        return f"USER {user}'s group is not {account.name}'s ({group_name}, gid {gid})"
    if groups and groups[0].name != group_name:
        return f"it creates the group {groups[0].name}, which is not {account.name}'s"
    try:
        User(uid=account.id, gid=gid, name=account.name)
    except ValidationError as exc:
        return f"a spec's user cannot be it: {exc.errors()[0]['msg']}"
    notes += [] if account.home_made else [f"the user also gets the home /home/{account.name} (HOME)"]
    if group_name not in (account.name, "root"):
        notes.append(f"its group {gid} is named {account.name}, not {group_name}")
    if any(group.name == group_name and group.id is None for group in groups):
        notes.append(f"its group gets gid {gid}, the uid (the Dockerfile left the gid to the tool)")
    return {"uid": account.id, "gid": gid, "name": account.name}, notes


def _primary_group(account: Account, groups: list[Account]) -> tuple[int, str] | str:
    if account.own_group:
        return (int(account.group) if account.group and account.group.isdigit() else account.id or 0), account.name
    if account.group in ("0", "root"):
        return 0, "root"  # joined, as imagespec joins it (the OpenShift way)
    made = next((g for g in groups if account.group in (g.name, str(g.id))), None)
    if made is None:
        return f"its group {account.group} is the base image's; imagespec's user gets a group of its own"
    # a gid left to groupadd is whichever was free: the uid's number is as good a choice
    return (account.id if made.id is None else made.id) or 0, made.name


#: a chown or chgrp and the owner it names (import_user reports each it rewrites)
CHOWN = re.compile(r"\b(chown|chgrp)\s+(?:-\S+\s+)*([^\s:.]*)(?:[:.](\S*))?")


def by_ids(command: str, users: dict[str, int], groups: dict[str, int]) -> str:
    """``command`` with every chown or chgrp that names one of the accounts written with
    its ids: imagespec creates final.user after the stage's commands, where a name has no
    entry yet and a number needs none (`chown -R app:app /srv` → `chown -R 10001:10001 /srv`)."""
    def ids(match: re.Match[str]) -> str:
        tool, first, second = match.groups()
        owner = (users if tool == "chown" else groups).get(first, first) if first else first
        group = groups.get(second, second) if second and tool == "chown" else second
        text = match.group(0)
        start = match.start()
        spans = [(match.span(2), owner)] + ([(match.span(3), group)] if second else [])
        for (begin, end), value in reversed(spans):
            text = text[:begin - start] + str(value) + text[end - start:]
        return text
    return CHOWN.sub(ids, command)
