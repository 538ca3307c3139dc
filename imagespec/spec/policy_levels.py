"""Policies only tighten (BP15): a template may add rules to those of the templates it
extends, or make one stricter, never looser; so may a spec, against its templates and
the configuration. What "stricter" means, rule by rule, is this one table:

- `allowed_registries`, `push_registries` (allow-lists: of bases, of push destinations)
  narrow: each registry a level names must be one the level above allows, or lie under
  one (`registry.example.com/team` under `registry.example.com`); the narrower list is
  the rule from then on;
- `required_labels`, `forbidden_packages` (lists of demands) add up;
- `no_shell`, `non_root`, `clean_push` (switches) stay on once a level turns them on;
- `size_budget` (a limit) may only go down: the smallest holds.

A rule's default (`[]`, `false`, `null`) says nothing: the rule above stays as it is. A
value that would loosen a rule is an error at that value, naming where the rule it
loosens was set. The configuration and a template are written apart, neither above the
other: where both set a rule, the stricter holds without an error, and only what the
spec itself writes is checked against the configuration (compiler.effective_policies).

Works on parsed data and its locations (paths `("policies", rule[, index])`), before
validation: a value of the wrong type is passed on as written, for validation to report
at its line. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from imagespec.errors import Location, SpecError, raise_together
from imagespec.reference import Invalid, within
from imagespec.spec.model import size_in_bytes
from imagespec.spec.yaml_source import DataPath, Document

POLICIES = "policies"
Strict = Callable[[Location | None], bool]
Places = dict[DataPath, Location]
_HINT = "policies only tighten"


def written_policies(document: Document | None) -> tuple[Any, Places]:
    """A document's `policies` as written, and the locations of their parts."""
    if document is None or not isinstance(document.data, dict):
        return None, {}
    return document.data.get(POLICIES), {path: loc for path, loc in document.locations.items()
                                         if path[:1] == (POLICIES,)}


def _everywhere(_: Location | None) -> bool:
    return True


def tighten(above: Any, above_at: Mapping[DataPath, Location], below: Any, below_at: Mapping[DataPath, Location],
            *, strict: Strict = _everywhere) -> tuple[Any, Places]:
    """The rules of `above` made stricter by those of `below`, and where each part of the
    result was written (a rule where it was made as strict as it is). `strict(location)`:
    whether a looser value written there is an error (else the stricter rule holds)."""
    if below is None or (above is not None and not isinstance(above, dict)):
        return above, dict(above_at)  # a broken `above` is reported where it is written
    if above is None or not isinstance(below, dict):
        return below, dict(below_at)
    out, where = dict(above), dict(above_at)
    if (POLICIES,) in below_at:
        where.setdefault((POLICIES,), below_at[(POLICIES,)])
    errors: list[SpecError] = []
    for raw, value in below.items():
        # `rule+:` adds to the rule above as `rule:` does: every rule combines with the one above
        rule = raw[:-1] if isinstance(raw, str) and raw.endswith("+") else raw
        mine = {(POLICIES, rule, *p[2:]): loc for p, loc in below_at.items() if len(p) > 1 and p[1] == raw}
        theirs = {p: loc for p, loc in where.items() if len(p) > 1 and p[1] == rule}
        combine = RULES.get(rule, _replace) if isinstance(rule, str) else _replace
        merged, at = combine(rule, out.get(rule), theirs, value, mine, strict, errors)
        for p in theirs:
            del where[p]
        where.update(at)
        if merged is None:
            out.pop(rule, None)
        else:
            out[rule] = merged
    raise_together(errors)
    return out, where


Rule = Callable[[Any, Any, Places, Any, Places, Strict, list[SpecError]], tuple[Any, Places]]


def _replace(rule: Any, above: Any, above_at: Places, below: Any, below_at: Places, strict: Strict,
             errors: list[SpecError]) -> tuple[Any, Places]:
    """Not a rule (validation reports the key), or a value of the wrong type: as written."""
    return (above, above_at) if below is None else (below, below_at)


def _switch(rule: str, above: Any, above_at: Places, below: Any, below_at: Places, strict: Strict,
            errors: list[SpecError]) -> tuple[Any, Places]:
    # whatever `below` says (`false`, or "no", which validation would read as false)
    if above is True:
        return above, above_at
    return _replace(rule, above, above_at, below, below_at, strict, errors)


def _demands(rule: str, above: Any, above_at: Places, below: Any, below_at: Places, strict: Strict,
             errors: list[SpecError]) -> tuple[Any, Places]:
    if not isinstance(above, list) or not isinstance(below, list):
        return _replace(rule, above, above_at, below, below_at, strict, errors)
    out, at = list(above), dict(above_at)
    if (POLICIES, rule) in below_at:
        at.setdefault((POLICIES, rule), below_at[(POLICIES, rule)])
    for index, item in enumerate(below):
        if item not in out:
            if (POLICIES, rule, index) in below_at:  # each demand names the line that made it
                at[(POLICIES, rule, len(out))] = below_at[(POLICIES, rule, index)]
            out.append(item)
    return out, at


def _registry(item: Any) -> str | None:
    """A registry as validation will read it (a number is text: `5000`), None if not one."""
    return str(item) if isinstance(item, (str, int, float)) and not isinstance(item, bool) else None


def _allow(rule: str, above: Any, above_at: Places, below: Any, below_at: Places, strict: Strict,
           errors: list[SpecError]) -> tuple[Any, Places]:
    if not above or not isinstance(above, list) or not below or not isinstance(below, list):
        return (above, above_at) if below == [] else _replace(rule, above, above_at, below, below_at, strict, errors)
    key = (POLICIES, rule)
    allowed = [name for name in map(_registry, above) if name is not None]
    kept: list[Any] = []
    at: Places = {}
    refused = False
    for index, item in enumerate(below):
        name, loc = _registry(item), below_at.get((*key, index), below_at.get(key))
        if name is None or any(within(name, wider) for wider in allowed):
            _keep(kept, at, key, item, loc)
        elif strict(loc):
            refused = True
            errors.append(SpecError(
                f"registry '{name}' is not one the policy `{rule}` set at {above_at.get(key)} allows "
                f"({', '.join(allowed)})", location=loc,
                hint=f"{_HINT}: name only registries that rule allows, or ones under them "
                     f"(e.g. {allowed[0]}/team), or ask its owner to allow '{name}'"))
    narrowed = bool(kept)  # the rule is now the one written below
    # a registry allowed above that lies under one named below is allowed by both (met only
    # where the configuration and a template disagree, which `strict` lets pass)
    named = [name for name in map(_registry, below) if name is not None]
    for index, item in enumerate(above):
        name = _registry(item)
        if name is not None and any(within(name, narrower) for narrower in named) \
                and not any(within(name, str(k)) for k in kept):
            _keep(kept, at, key, item, above_at.get((*key, index)))
    if not kept and not refused:
        errors.append(SpecError(f"the policy `{rule}` here allows no registry that the one set at "
                                f"{above_at.get(key)} allows ({', '.join(allowed)})",
                                location=below_at.get(key), hint=f"{_HINT}: the two must share a registry"))
    where = below_at.get(key) if narrowed else above_at.get(key)
    if where is not None:
        at[key] = where
    return kept, at


def _keep(kept: list[Any], at: Places, key: DataPath, item: Any, loc: Location | None) -> None:
    if loc is not None:
        at[(*key, len(kept))] = loc
    kept.append(item)


def _limit(rule: str, above: Any, above_at: Places, below: Any, below_at: Places, strict: Strict,
           errors: list[SpecError]) -> tuple[Any, Places]:
    if above is None or below is None:
        return _replace(rule, above, above_at, below, below_at, strict, errors)
    try:
        limit = size_in_bytes(above)
    except Invalid:
        return above, above_at  # reported where it is written
    try:
        asked = size_in_bytes(below)
    except Invalid:
        return below, below_at
    if asked < limit:
        return below, below_at
    key = (POLICIES, rule)
    loc = below_at.get(key)
    if asked > limit and strict(loc):
        errors.append(SpecError(f"size_budget {below} is larger than the {above} set at {above_at.get(key)}",
                                location=loc.of_value() if loc else None,
                                hint=f"{_HINT}: a budget may be lowered, never raised; remove this one, or ask that "
                                     "rule's owner for a larger budget"))
    return above, above_at


RULES: dict[str, Rule] = {  # one per key of spec.model.Policies (a test checks)
    "allowed_registries": _allow,
    "push_registries": _allow,
    "required_labels": _demands,
    "forbidden_packages": _demands,
    "no_shell": _switch,
    "non_root": _switch,
    "clean_push": _switch,
    "size_budget": _limit,
}
