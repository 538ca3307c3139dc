"""The users and groups a Dockerfile's RUN steps create (adopt/dockerfile_user.py),
settled once every stage is read: in the stages the image is built on, with a non-root
USER, they are the runtime user `final.user` (imagespec creates it itself, BP8) or not
expressed, never left to clash with imagespec's own useradd, unless a later command names
them (`chown -R app /var/app`: it would fail without them), when they stay in their RUN
beside imagespec's user; elsewhere (a build stage, an image that runs as root) they stay
in their RUN, as written."""

from __future__ import annotations

from typing import Any

from imagespec.adopt.dockerfile_stage import Report, StageRead, Step
from imagespec.adopt.dockerfile_user import CHOWN, Account, by_ids, creates_accounts, runtime_user


def _chain(reads: dict[str, StageRead], last: str) -> list[str]:
    """The last stage and the stages it is built FROM, the first base first."""
    chain = [last]
    while isinstance(reads[chain[-1]].from_, str) and reads[chain[-1]].from_ in reads:
        chain.append(str(reads[chain[-1]].from_))
    return chain[::-1]


def _keep(step: Step) -> None:
    step.data["command"] = step.data.pop("with_accounts")
    del step.data["accounts"]


def settle_accounts(reads: dict[str, StageRead], last: str, reports: dict[str, Report]) -> None:
    chain = _chain(reads, last)
    runs = [(name, step) for name in chain for step in reads[name].steps if step.kind == "run"]
    making = [(name, step) for name, step in runs if "accounts" in step.data]
    user = reads[last].config.user
    for name, read in reads.items():
        for step in read.steps:
            if "accounts" in step.data and (name not in chain or user is None or _root(user[1])):
                _keep(step)
    if user is None or _root(user[1]):
        return
    for name, step in runs:
        if "accounts" not in step.data and creates_accounts(step.data["command"]):
            reports[name].differences.append(
                f"Dockerfile:{step.line}: this RUN creates a user or group in a form import does not take apart; "
                "imagespec creates final.user itself, so the build fails where the ids or names are the same: "
                "create the user with final.user instead")
    if not making:
        return
    first = runs.index(making[0])
    later = [step.data["command"] for _, step in runs[first:]]
    accounts = [a for _, step in making for a in step.data["accounts"]]
    found = runtime_user(user[1], accounts, later)
    if isinstance(found, str) and _named_later(later, {a.name for a in accounts}):
        for name, step in making:  # QA: its useradd taken out, `chown -R app /var/app` failed the build
            _keep(step)
            reports[name].differences.append(
                f"Dockerfile:{step.line}: its users and groups stay in this RUN, since a later command names them "
                f"(chown, their home): {found}; the image runs as imagespec's final.user, which does not own "
                "their files (set final.user to the user to run as it)")
        return
    for name, step in making:
        made = " && ".join(" ".join(account.text.split()) for account in step.data["accounts"])  # one line
        if isinstance(found, str):
            reports[name].comments.append((step.line, made, f"{found}; imagespec creates final.user instead"))
            if not step.data["command"]:  # the RUN did nothing else: a comment alone
                reports[name].expressed.remove((step.line, "RUN"))
        else:
            notes = "".join(f"; {note}" for note in found[1])
            described = ", ".join(f"{key}: {value}" for key, value in found[0].items())
            reports[name].differences.append(f"Dockerfile:{step.line}: `{made}` is final.user {{{described}}}: "
                                              f"imagespec creates the user in the final stage (BP8){notes}")
        del step.data["accounts"], step.data["with_accounts"]
        if not step.data["command"]:
            reads[name].steps.remove(step)
    if not isinstance(found, str):
        reads[last].created_user = found[0]
        _named_by_ids(runs[first:], found[0], [a for _, step in making for a in step.data.get("accounts", ())],
                      reports)


def _named_by_ids(later: list[tuple[str, Step]], user: dict[str, Any], accounts: list[Account],
                  reports: dict[str, Report]) -> None:
    """The stage's commands that name the user or its group (chown, chgrp) use its ids:
    imagespec creates it after them."""
    users = {user["name"]: user["uid"]}
    named = {user["name"]: user["gid"]} | {account.name: user["gid"] for account in accounts
                                           if account.kind == "group" and account.id in (None, user["gid"])}
    for name, step in later:
        command = step.data["command"]
        written = [by_ids(part, users, named) for part in command] if isinstance(command, list) else \
            by_ids(command, users, named)
        if written != command:
            step.data["command"] = written
            # each change as written: `chown app` names the user alone, so it becomes `chown 10001`
            changes = [f"`{before[0]}` → `{after[0]}`"
                       for old, new in zip(command if isinstance(command, list) else [command],
                                           written if isinstance(written, list) else [written], strict=True)
                       for before, after in zip(CHOWN.finditer(old), CHOWN.finditer(new), strict=True)
                       if before[0] != after[0]]
            reports[name].differences.append(
                f"Dockerfile:{step.line}: chown/chgrp of {user['name']} written with its ids "
                f"({', '.join(changes)}): imagespec creates the user after the stage's commands")


def _named_later(commands: list[Any], names: set[str]) -> bool:
    """Whether a later command names one of the accounts: a chown/chgrp of it, or its home."""
    for command in commands:
        text = " ".join(command) if isinstance(command, list) else str(command)
        if any(match[2] in names or (match[3] or "") in names for match in CHOWN.finditer(text)):
            return True
        if any(f"/home/{name}" in text for name in names):
            return True
    return False


def _root(user: str) -> bool:
    return user.split(":", 1)[0] in ("root", "0")
