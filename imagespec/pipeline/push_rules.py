"""The rules a push keeps, checked before anything builds (BP14, BP15): every reference
it pushes goes to a registry the `push_registries` policy allows (a `--tag` too: the
spec's own `registry:` is checked when it compiles, plan.policy), and, under the
`clean_push` policy, it comes from a clean git checkout, so that the image traces to
a commit: nothing uncommitted, and no file in the build context that git does not track
(``untracked_sent``: a git-ignored file is no change to git, yet the context sends it into
the image). Without that policy such a push is said (``dirty_push_warning``), not refused. `imagespec base build --push` keeps the
configuration's rules by the same functions (imagespec.bases).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imagespec import reference as grammar
from imagespec.compiler import Compiled, EffectivePolicies, effective_policies
from imagespec.errors import Location, PolicyError, PolicyErrors, raise_together
from imagespec.pipeline.image import refuse_nowhere_to_push
from imagespec.plan.policy import registry_ok

if TYPE_CHECKING:
    from imagespec.spec.config import Config

#: uncommitted files a message names before it says how many more there are
_LISTED = 5


def refuse_push(compiled: Compiled, config: Config, tags: Sequence[str]) -> None:
    """--push of ``tags`` (the build's references: the spec's own and `--tag`'s): bad input
    (exit 2) when none names a registry, when one names a registry the policies do not
    let images be pushed to, or when `clean_push` holds and the checkout is not clean."""
    refuse_nowhere_to_push(compiled, tuple(tags))
    effective = effective_policies(compiled.loaded, config)
    # a name without a registry is a local tag, never pushed (publish.push); the spec's own
    # destination passed when it compiled, so what is refused here is a --tag's
    raise_together([PolicyError(f"--push --tag {tag}: not under {_allowed(effective)}", hint=_hint(effective, tag))
                    for tag in refused_destinations(effective, tags)], together=PolicyErrors)
    refuse_unclean(compiled.loaded.folder, effective, compiled.loaded.document.location(("name",)),
                   untracked_sent(compiled))


def untracked_sent(compiled: Compiled) -> tuple[str, ...]:
    """The files the build context sends (after the spec's ignore rules) that git does not
    track, ignored ones too, as git names them from its root: an ignored `local.go` enters
    the image though the checkout is clean. None outside git (the rule says so itself)."""
    from docker.utils.build import PatternMatcher  # lazy: the SDK is imported only here

    from imagespec.plan.dockerignore import generated_name
    from imagespec.publish.tags import untracked

    kept_out = PatternMatcher(list(compiled.plan.dockerignore))
    return tuple(sorted(name for path, name in untracked(compiled.loaded.context).items()
                        if not kept_out.matches(path) and not generated_name(path)))


def refused_destinations(effective: EffectivePolicies, references: Sequence[str]) -> list[str]:
    """The ``references`` that name a registry the `push_registries` policy does not allow."""
    allowed = effective.policies.push_registries
    return [ref for ref in references if allowed and grammar.parse(ref).domain and not registry_ok(ref, allowed)]


def refuse_base_destination(effective: EffectivePolicies, image: str, where: Location | None) -> None:
    """A base's `image:` (``where``) that `base build --push` may not push to: exit 2 there."""
    if refused_destinations(effective, [image]):
        raise PolicyError(f"--push: '{image}' is not under {_allowed(effective)}", location=where,
                          hint=_hint(effective, image, key="image"))


def _allowed(effective: EffectivePolicies) -> str:
    return (f"a registry the image may be pushed to ({', '.join(effective.policies.push_registries)}): policy "
            f"`push_registries` set at {effective.set_at(('policies', 'push_registries'))}")


def _hint(effective: EffectivePolicies, reference: str, *, key: str = "--tag") -> str:
    first = effective.policies.push_registries[0]
    name = reference.rsplit("/", 1)[-1]  # `host/team/app:1.0` -> `app:1.0`, kept under the allowed registry
    return (f"push to one of those: {key} {first}/{name}, or ask the rule's owner to allow "
            f"'{grammar.parse(reference).domain}'")


def refuse_unclean(folder: Path, effective: EffectivePolicies, where: Location | None,
                   sent: Sequence[str] = ()) -> None:
    """Under `clean_push`, a push from ``folder``'s checkout with uncommitted changes, or
    whose build context sends files git does not track (``sent``: untracked_sent), or from
    outside git: exit 2 at ``where`` (what is pushed), naming the files."""
    from imagespec.publish import git_short_sha

    if not effective.policies.clean_push:
        return
    head = git_short_sha(folder)
    if head is not None and not head.endswith("-dirty") and not sent:
        return
    set_at = effective.set_at(("policies", "clean_push"))
    if head is None:
        raise PolicyError(f"--push: {folder} is not in a git checkout, so the image would trace to no commit "
                          f"(BP14): policy `clean_push` set at {set_at}", location=where,
                          hint="build and push from a clone of the repository, with everything committed")
    raise PolicyError(f"--push: {_unclean(folder, head, sent)}, so the image would not be the commit it records "
                      f"({head}, BP14): policy `clean_push` set at {set_at}",
                      location=where, hint=_CLEAN_HINT)


# a .gitignore entry makes git stop listing a file, not the build context stop sending it
_CLEAN_HINT = ("commit first what belongs in the image, and delete what does not or keep it out of the build "
               "context with the spec's `ignore:` (a .gitignore entry alone still sends it into the image); then "
               "build and push again; `git status --ignored` shows what is not committed")


def _unclean(folder: Path, head: str, sent: Sequence[str]) -> str:
    """What makes the checkout not the commit: its uncommitted changes, the context's untracked files."""
    said = []
    if head.endswith("-dirty"):
        said.append(f"the checkout has uncommitted changes ({_listed(folder)})")
    if sent:
        said.append(f"the build context sends files git does not track ({_names(sent)})")
    return " and ".join(said)


def dirty_push_warning(folder: Path, sent: Sequence[str] = ()) -> str | None:
    """What a push from ``folder``'s checkout with uncommitted changes, or whose build
    context sends files git does not track (``sent``: untracked_sent), says where
    `clean_push` does not refuse it: the image records HEAD's commit, yet holds what is
    not committed."""
    from imagespec.publish import git_short_sha

    head = git_short_sha(folder)
    if head is None or not (head.endswith("-dirty") or sent):
        return None
    dirty = f"with uncommitted changes ({_listed(folder)})" if head.endswith("-dirty") else ""
    untracked = f"whose build context sends files git does not track ({_names(sent)})" if sent else ""
    return (f"warning: pushing from a checkout {' and '.join(filter(None, (dirty, untracked)))}: the image does "
            f"not trace to a commit ({head}, BP14); commit first (the policy `clean_push: true` refuses such a push)")


def _listed(folder: Path) -> str:
    from imagespec.publish.tags import uncommitted

    files = uncommitted(folder)
    return _names(files) if files else "git status lists them"


def _names(files: Sequence[str]) -> str:
    more = f", and {len(files) - _LISTED} more" if len(files) > _LISTED else ""
    return ", ".join(files[:_LISTED]) + more
