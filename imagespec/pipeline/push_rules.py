"""The rules a push keeps, checked before anything builds (BP14, BP15): every tag it
pushes goes to a registry the `push_registries` policy allows (a `--tag` too: the
spec's own `registry:` is checked when it compiles, plan.policy), and, under the
`clean_push` policy, it comes from a clean git checkout, so that the image traces to
a commit. Without that policy a push from a checkout with uncommitted changes is said
(``dirty_push_warning``), not refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from imagespec import reference as grammar
from imagespec.compiler import Compiled, EffectivePolicies, effective_policies
from imagespec.errors import PolicyError, PolicyErrors, raise_together
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
    _refuse_destinations(effective, tags)
    _refuse_unclean(compiled, effective)


def _refuse_destinations(effective: EffectivePolicies, tags: Sequence[str]) -> None:
    allowed = effective.policies.push_registries
    if not allowed:
        return
    rule = ("policies", "push_registries")
    # a name without a registry is a local tag, never pushed (publish.push); the spec's own
    # destination passed when it compiled, so what is refused here is a --tag's
    refused = [tag for tag in tags if grammar.parse(tag).domain and not registry_ok(tag, allowed)]
    raise_together([PolicyError(f"--push --tag {tag}: not under a registry the image may be pushed to "
                                f"({', '.join(allowed)}): policy `push_registries` set at {effective.set_at(rule)}",
                                hint=f"push to one of those: --tag {allowed[0]}/{_name(tag)}, or ask the rule's "
                                     f"owner to allow '{grammar.parse(tag).domain}'")
                    for tag in refused], together=PolicyErrors)


def _name(tag: str) -> str:
    """`host/team/app:1.0` -> `app:1.0`: the part a --tag under another registry keeps."""
    return tag.rsplit("/", 1)[-1]


def _refuse_unclean(compiled: Compiled, effective: EffectivePolicies) -> None:
    from imagespec.publish import git_short_sha

    if not effective.policies.clean_push:
        return
    head = git_short_sha(compiled.loaded.folder)
    if head is not None and not head.endswith("-dirty"):
        return
    set_at = effective.set_at(("policies", "clean_push"))
    where = compiled.loaded.document.location(("name",))
    if head is None:
        raise PolicyError(f"--push: the spec is not in a git checkout, so the image would trace to no commit "
                          f"(BP14): policy `clean_push` set at {set_at}", location=where,
                          hint="build and push from a clone of the repository, with everything committed")
    raise PolicyError(f"--push: the checkout has uncommitted changes ({_listed(compiled)}), so the image would not "
                      f"be the commit it names (its tag would be {head}, BP14): policy `clean_push` set at {set_at}",
                      location=where,
                      hint="commit first (untracked files count: commit them, or list them in .gitignore), then "
                           "build and push again; `git status` shows what is not committed")


def dirty_push_warning(compiled: Compiled) -> str | None:
    """What a push from a checkout with uncommitted changes says, where `clean_push` does
    not refuse it: the image records HEAD's commit, yet holds what is not committed."""
    from imagespec.publish import git_short_sha

    head = git_short_sha(compiled.loaded.folder)
    if head is None or not head.endswith("-dirty"):
        return None
    return (f"warning: pushing from a checkout with uncommitted changes ({_listed(compiled)}): the image does not "
            f"trace to a commit (its tag {head}, BP14); commit first (the policy `clean_push: true` refuses such a "
            "push)")


def _listed(compiled: Compiled) -> str:
    from imagespec.publish.tags import uncommitted

    files = uncommitted(compiled.loaded.folder)
    more = f", and {len(files) - _LISTED} more" if len(files) > _LISTED else ""
    return ", ".join(files[:_LISTED]) + more if files else "git status lists them"
