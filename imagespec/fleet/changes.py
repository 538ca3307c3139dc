"""`--changed-since REV`: the specs whose inputs changed since a git revision.

A spec's inputs are what its compile read or probed — the spec, what it extends,
presets and templates, the configuration and catalogs — as the result cache records
them (imagespec.spec.files notes every look; imagespec.fleet.model keeps them per
target), plus the files of its build context that its ignore file lets in (not the
Dockerfile or ignore file imagespec writes there). The changed files are git's: committed
since REV, changed in the work tree, and untracked ones git does not ignore. A target
on a selected target (it builds FROM its image) is selected too, with that as reason.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from imagespec.errors import SpecError, one_line
from imagespec.fleet.model import Fleet, Target
from imagespec.notes import OnNote, ignore
from imagespec.plan.dockerignore import generated_name


@dataclass(frozen=True)
class Reason:
    """Why a target was selected: ``kind`` is spec, input, config, context or upstream."""

    kind: str
    path: str  # the changed file (relative to the repository), or the upstream target

    def __str__(self) -> str:
        words = {"spec": "its spec changed", "input": "an input of its spec changed (extends, preset, template)",
                 "config": "its configuration or catalog changed", "context": "a file of its build context changed",
                 "upstream": "it builds FROM the image of selected target"}
        return f"{words[self.kind]}: {self.path}"


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise SpecError(f"--changed-since needs git: {exc.strerror}", hint="install git") from None


def changed_files(revision: str, start: Path) -> tuple[Path, frozenset[str]]:
    """(repository root, the real paths of every file changed since ``revision``): the
    commits since it, the work tree's changes and untracked files (not ignored ones).
    An unknown revision, or a folder outside git, is bad input (exit 2)."""
    top = _git(["rev-parse", "--show-toplevel"], start)
    if top.returncode != 0:
        raise SpecError(f"--changed-since {revision}: {start} is not in a git repository",
                        hint="run it in the repository that holds the specs")
    root = Path(os.path.realpath(top.stdout.strip()))  # the changed paths are real: so is the root they are shown from
    if revision.startswith("-") or _git(["rev-parse", "--verify", "--quiet", "--end-of-options",
                                         f"{revision}^{{commit}}"], root).returncode != 0:
        raise SpecError(f"--changed-since {revision!r}: not a git revision (commit) of {root}",
                        hint="a commit, branch or tag: e.g. origin/main, HEAD~1, v1.2.0 (fetch it first in a "
                             "shallow clone)")
    diff = _git(["diff", "--name-only", "--no-renames", "-z", revision, "--"], root)
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], root)
    for done in (diff, untracked):
        if done.returncode != 0:
            raise SpecError(f"--changed-since {revision}: git failed: {done.stderr.strip()}")
    names = [n for n in (diff.stdout + untracked.stdout).split("\0") if n]
    return root, frozenset(os.path.realpath(root / name) for name in names)


def _by_folder(changed: frozenset[str]) -> dict[str, list[str]]:
    """Each folder that holds a changed file (at any depth) -> those files: a target's
    context is then one look, not a scan of every change (10,000 targets, a large diff)."""
    under: dict[str, list[str]] = {}
    for path in sorted(changed):
        folder = os.path.dirname(path)
        while True:
            under.setdefault(folder, []).append(path)
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return under


def reasons(fleet: Fleet, changed: frozenset[str], root: Path) -> dict[str, list[Reason]]:
    """Target name -> why it is selected, for the selected targets only (build order)."""
    def shown(path: str) -> str:
        try:
            return Path(path).relative_to(root).as_posix()
        except ValueError:
            return path

    chosen: dict[str, list[Reason]] = {}
    under = _by_folder(changed)
    # a submodule or a nested repository: git names its folder, not the files changed in it
    folders = tuple(sorted(path for path in changed if os.path.isdir(path)))
    for target in fleet:  # build order: a target's parents were decided before it
        found: list[Reason] = []
        own = str(target.real)
        for path, at in sorted(_changed_inputs(target.inputs, changed, folders)):
            kind = "spec" if path == own else "config" if path in target.config_inputs else "input"
            found.append(Reason(kind, shown(path) if at == path else f"{shown(path)} (in {shown(at)})"))
        inputs = target.inputs
        in_context = [path for path in under.get(str(target.context), ()) if path not in inputs]
        if in_context:  # the matcher (and the SDK it comes from) only where a context file changed
            sent = _sent(target)
            found += [Reason("context", shown(path)) for path in in_context if sent(path)]
        context = str(target.context)
        found += [Reason("context", shown(folder)) for folder in folders
                  if _within(context, folder) or _within(folder, context)]
        found += [Reason("upstream", parent) for parent in target.parents if parent in chosen]
        if found:
            chosen[target.name] = found
    return chosen


def _sent(target: Target) -> Callable[[str], bool]:
    """Whether a changed file of the target's context folder reaches the build: not one
    its ignore file keeps out (docker's own .dockerignore matcher, from the docker SDK),
    nor one of the files imagespec writes beside a spec (the Dockerfile, the ignore file:
    instructions for the build, never part of it, BP6)."""
    from docker.utils.build import PatternMatcher  # lazy: the SDK is imported only here

    kept_out = PatternMatcher(list(target.build.ignore))
    context = str(target.context)

    def sent(path: str) -> bool:
        relative = os.path.relpath(path, context)
        return not kept_out.matches(relative) and not generated_name(relative)

    return sent


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _changed_inputs(inputs: frozenset[str], changed: frozenset[str],
                    folders: tuple[str, ...]) -> list[tuple[str, str]]:
    """(input, the change that names it): the input itself, or a changed folder holding it
    (a folder the compile looked at is not a changed input: only a file inside it is)."""
    found = [(path, path) for path in inputs & changed]
    for path in inputs - changed if folders else ():
        holder = next((folder for folder in folders if _within(path, folder)), None)
        if holder is not None and os.path.isdir(path):
            continue
        if holder is not None:
            found.append((path, holder))
    return found


def select_changed(fleet: Fleet, revision: str, *, folders: Sequence[Path] = (),
                   on_note: OnNote = ignore) -> tuple[Fleet, dict[str, list[Reason]]]:
    """The part of ``fleet`` whose inputs changed since ``revision`` (with its dependants),
    and why each target is in it. A spec deleted since then from one of the ``folders``
    searched is said (``on_note``): it selects nothing, but its target leaves the bake file."""
    start = fleet.root if fleet.root.is_dir() else Path.cwd()
    try:
        root, changed = changed_files(revision, start)
    except SpecError:
        _refuse_several_repositories(fleet, revision)
        raise
    for gone in deleted_specs(changed, folders):
        on_note(f"{one_line(os.path.relpath(gone))}: deleted since {revision}; its target is no longer in the fleet "
                "(`imagespec bake` takes it out of the bake file, `check --bake` says so; its images stay)")
    why = reasons(fleet, changed, root)
    return fleet.subset(why), why


def deleted_specs(changed: frozenset[str], folders: Sequence[Path]) -> list[str]:
    """The changed paths that are gone and that searching ``folders`` would have found."""
    from imagespec.fleet.discover import searched_for

    real = [os.path.realpath(folder) for folder in folders]
    return sorted(path for path in changed if not os.path.lexists(path)
                  and any(searched_for(path, folder) for folder in real))


def _refuse_several_repositories(fleet: Fleet, revision: str) -> None:
    """Specs of two repositories given together: their common folder is in neither, and a
    revision names a commit of one repository only. Said as that, not as "not in git"."""
    tops = set()
    for target in fleet:
        folder = Path(target.real).parent
        top = next((f for f in (folder, *folder.parents) if (f / ".git").exists()), None)
        if top is not None:
            tops.add(top)
    if len(tops) > 1:
        shown = sorted(map(str, tops))
        raise SpecError(f"--changed-since {revision}: the specs are in {len(shown)} git repositories "
                        f"({', '.join(shown[:3])}{', …' if len(shown) > 3 else ''}), and a revision is a commit "
                        "of one of them", hint="run it once per repository, with that repository's specs")


def explain_lines(fleet: Fleet, why: dict[str, list[Reason]]) -> list[str]:
    """``TARGET (SPEC): REASON`` per reason, the `--explain` text."""
    return [f"{name} ({fleet.targets[name].spec}): {reason}" for name, found in why.items() for reason in found]


__all__ = ["Reason", "changed_files", "deleted_specs", "explain_lines", "reasons", "select_changed"]
