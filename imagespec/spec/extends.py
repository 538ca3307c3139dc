"""`extends`: a spec builds on another spec or a named template, several levels deep.

Works on parsed documents (data + locations), before validation, so an error in an
inherited field points at the file that wrote it. Rules (documented in the README):
- maps merge deeply; a child's value replaces the parent's;
- lists replace by default; `key+: [...]` appends to the parent's list (`key` and
  `key+` in one mapping is an error);
- `key: null` removes an inherited key;
- `policies` only tighten (policy_levels.py): an app spec cannot switch off or loosen a
  rule its company template set (BP15), nor make one a `${{ parameter }}`;
- `${{ name }}` in any string is replaced by a `with: {name: value}` given along the
  chain (the nearest to the app wins) or the `parameters: {name: {type, default}}` some
  template declared; the value is checked against its type at its `with:` line and is
  one quoted word where it lands in a shell command (parameters.py), so a `${{ }}`
  where quotes protect nothing (a command's own quotes, a heredoc body, backquotes,
  `$(( ))`, `eval`, `sh -c`: shell_scan.py) is an error; a `with:` name no template declares, or
  that nothing uses any more, is an error. A parameter's type and pattern are those of
  its first declaration (a spec cannot make `binary` a `shell` parameter). A `with:`
  value is written as it is (a `${{ }}` in it is an error); a default may name other
  parameters. The `${{ }}` syntax cannot clash with the shell's `${VAR}`.
Pure: reading files is the caller's `read` function.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from imagespec.errors import Location, SpecError, SpecErrors
from imagespec.spec import parameters, policy_levels, shell_scan
from imagespec.spec.yaml_source import MAX_ALIASED_TEXT, DataPath, Document

_PARAM = parameters.PLACEHOLDER
_CONSUMED = ("extends", "with", "parameters")
MAX_DEPTH = 16

Resolver = Callable[[str, Document], Path]
Reader = Callable[[Path], Document]


class _PerTemplate:
    """What one pure function made of a parent document, kept while that document is: the
    reader shares one parse of a template among every spec that extends it (read_yaml's
    `shared`), so its checks run once per process, not once per spec. Keyed by identity and
    holding the document, so an id is never reused while its entry lives; a document read
    anew (not shared) is simply worked out again."""

    LIMIT = 256  # documents: more than the parses the reader shares (yaml_source._parse_shared)

    def __init__(self) -> None:
        self.made: dict[int, tuple[Document, Any]] = {}

    def __call__(self, doc: Document, make: Callable[[Document], Any]) -> Any:
        kept = self.made.get(id(doc))
        if kept is not None and kept[0] is doc:
            return kept[1]
        value = make(doc)  # raises as it would each time: errors are never kept
        if len(self.made) >= self.LIMIT:
            self.made.clear()
        self.made[id(doc)] = (doc, value)
        return value


_checked = _PerTemplate()
_declarations = _PerTemplate()


def _subtree(locations: dict[DataPath, Location], path: DataPath) -> dict[DataPath, Location]:
    if not path:
        return dict(locations)
    n, last = len(path), path[-1]
    # the last part first: it rules out nearly every other path without slicing it
    return {p: loc for p, loc in locations.items() if len(p) >= n and p[n - 1] == last and p[:n] == path}


def _drop(locations: dict[DataPath, Location], path: DataPath) -> None:
    for key in list(_subtree(locations, path)):
        del locations[key]


def _by_key(locations: dict[DataPath, Location], depth: int) -> dict[str | int, dict[DataPath, Location]]:
    """Locations that all lie under one path of length `depth`, grouped by the key that
    follows that path: each group is the subtree of that key, found in one pass."""
    groups: dict[str | int, dict[DataPath, Location]] = {}
    for p, loc in locations.items():
        if len(p) > depth:
            groups.setdefault(p[depth], {})[p] = loc
    return groups


def _merge(parent: Any, child: Any, path: DataPath, locs: dict[DataPath, Location],
           child_locs: dict[DataPath, Location]) -> Any:
    """`child_locs`: the child's locations at and under `path` (its subtree), so each
    level groups only its own part of them instead of scanning them all once per key."""
    if not (isinstance(parent, dict) and isinstance(child, dict)):
        _drop(locs, path)
        locs.update(child_locs)
        return child
    if path in child_locs:  # a mapping both write is where the nearer author (the app) wrote it
        locs[path] = child_locs[path]
    below = _by_key(child_locs, len(path))
    out = dict(parent)
    for raw_key, value in child.items():
        append = raw_key.endswith("+")
        key = raw_key[:-1] if append else raw_key
        here = (*path, key)
        written = below.get(raw_key, {})  # where the child wrote this key and what is under it
        if path == () and key == "policies":
            # a rule's location is where it was made as strict as it is: the file an app
            # developer has to ask about, not the spec that tried to relax it
            merged, where = policy_levels.tighten(parent.get(key), _subtree(locs, here), value, written)
            _drop(locs, here)
            locs.update(where)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
            continue
        if append:
            base = parent.get(key, [])
            if not isinstance(base, list) or not isinstance(value, list):
                raise SpecError(f"'{raw_key}' appends to a list, but '{key}' is not one here",
                                location=child_locs.get((*path, raw_key)), hint=f"write `{key}:` to replace it")
            out[key] = base + value
            offset = len(base)
            for p, loc in written.items():
                rest = p[len(path) + 1:]
                if rest and isinstance(rest[0], int):
                    locs[(*here, rest[0] + offset, *rest[1:])] = loc
                elif not rest:
                    locs[here] = loc
            continue
        if value is None:
            out.pop(key, None)
            _drop(locs, here)
            continue
        if key in parent:
            out[key] = _merge(parent[key], value, here, locs, written)
        else:
            out[key] = value
            locs.update(written)
    return out


class RejectedValues(SpecErrors):
    """Invalid `with:` values, and the merged spec with stand-ins for them (`document`), so
    the spec's other errors are reported with them: every invalid value at once."""

    def __init__(self, errors: list[SpecError], document: Document) -> None:
        super().__init__(errors)
        self.document = document


def _stand_in(parameter: parameters.Parameter, value: Any) -> str:
    """What fills a rejected value's places while the rest of the spec is checked: the
    template's default, else the text as given (errors at its places are the `with:` line's,
    which is reported already)."""
    if parameter.default is not None:
        return parameter.default
    return value.replace("${{", "$ {{") if isinstance(value, str) else str(value) if isinstance(value, int) else "x"


class _Filling:
    """The parameter values of one `extends` chain, and what substituting them found."""

    def __init__(self, chain: list[Document]) -> None:
        self.declared = _declared(chain)
        self.given_at: dict[str, Location] = {}  # the `with:` line each given value came from
        self.rejected: list[SpecError] = []  # invalid `with:` values
        raw = {name: p.default for name, p in self.declared.items() if p.default is not None}
        for doc in reversed(chain):  # the app's own `with` is applied last, so it wins
            given = doc.data.get("with") or {}
            if not isinstance(given, dict):
                raise SpecError("`with` maps template parameters to values", location=doc.location(("with",)),
                                hint="one value per parameter of the template, e.g. `with: {port: 8080}`")
            for name, value in given.items():
                where = doc.location(("with", name))
                if name not in self.declared:
                    close = difflib.get_close_matches(str(name), list(self.declared), n=1)
                    self.rejected.append(SpecError(f"no template in the chain has a parameter '{name}'", location=where,
                                                   hint=f"did you mean '{close[0]}'?" if close else
                                                   f"declared parameters: {', '.join(self.declared) or 'none'}"))
                    continue
                try:
                    raw[name] = self._given(name, value, where)
                except SpecError as error:
                    # reported with the spec's other errors (RejectedValues): the merged spec is still
                    # validated, the template's default (or the text as given) standing in for the value
                    self.rejected.append(error)
                    raw[name] = _stand_in(self.declared[name], value)
                self.given_at[name] = where
        self.refers = {name: set(_PARAM.findall(text)) for name, text in raw.items()}
        self.values = self._expanded(raw)
        for name, text in self.values.items():
            left = _PARAM.search(text)  # in a default: a name no template declares, or given no value
            if left is not None:
                missing = left.group(1)
                default_at = self.declared[name].declared_at
                raise SpecError(f"parameters.{name}.default names ${{{{ {missing} }}}}, which has no value",
                                location=default_at, hint=f"declare '{missing}' with a default in a template of the "
                                f"chain, or pass it with `with: {{{missing}: …}}`" if missing in self.declared else
                                f"no template in the chain declares '{missing}'")
        self.origins: dict[DataPath, Location] = {}
        self.filled: dict[DataPath, tuple[str, ...]] = {}
        self.used: set[str] = set()
        self.inserted = 0  # characters substitution added: bounded like text repeated by aliases

    def _given(self, name: str, value: Any, where: Location) -> str:
        text = parameters.check(self.declared[name], value, where)
        if "${{" in text:
            raise SpecError(f"with.{name}: a `with:` value is written as it is, and ${{{{ }}}} in it would "
                            "stay as text", location=where, hint="write the value itself (`./cmd/pay`, not "
                            "`./cmd/${{ binary }}`): only a template's defaults name other parameters")
        return text

    def _grow(self, name: str, value: str, where: Location) -> None:
        """A long value used in many places would make the output huge (a 30 KB value in
        3,000 fields: a 90 MB Dockerfile), as YAML aliases would: the same bound applies."""
        self.inserted += len(value)
        if self.inserted > MAX_ALIASED_TEXT:
            raise SpecError(f"template parameters add more than {MAX_ALIASED_TEXT // 1024} KiB of text"
                            f" ('{name}' is {len(value)} characters)", location=self.given_at.get(name, where),
                            hint="a parameter is a name, a path or a short command; put long text in a file")

    def _expanded(self, values: dict[str, str]) -> dict[str, str]:
        """A default may refer to another parameter (java's build command names main_class);
        into a `shell` value, the other is inserted as one quoted word. A `with:` value has
        no `${{ }}` (refused above): it is written as it is."""
        for _ in range(len(values)):
            expanded = {name: _PARAM.sub(functools.partial(self._inserted, into=name, values=values), text)
                        for name, text in values.items()}
            if expanded == values:
                break
            values = expanded
        return values

    def _inserted(self, match: re.Match[str], into: str, values: dict[str, str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)  # unknown names stay for the next round, or for the error
        if self.declared[into].type == "shell":
            return parameters.shell_word(self.declared[name], values[name])
        return values[name]

    def substitute(self, data: Any, path: DataPath, doc: Document) -> Any:
        # a copy of every mapping and list (the parents' parts are shared parses); a value
        # with nothing to fill in is taken as it is, without a call or a path of its own
        if isinstance(data, dict):
            return {k: self.substitute(v, (*path, k), doc)
                    if isinstance(v, (dict, list)) or isinstance(v, str) and "${{" in v else v
                    for k, v in data.items()}
        if isinstance(data, list):
            return [self.substitute(v, (*path, i), doc)
                    if isinstance(v, (dict, list)) or isinstance(v, str) and "${{" in v else v
                    for i, v in enumerate(data)]
        if isinstance(data, str) and "${{" in data:  # what the pattern needs; most strings have none
            if path[:1] == (policy_levels.POLICIES,):
                raise SpecError("a policy takes no `${{ parameter }}`: a `with:` value could loosen it",
                                location=doc.location(path), hint="write the rule as it is (policies only tighten)")
            shell = parameters.in_shell(path)

            def replace(match: re.Match[str]) -> str:
                name = match.group(1)
                if name not in self.values:
                    close = difflib.get_close_matches(name, list(self.declared), n=1)
                    raise SpecError(f"template parameter '{name}' has no value", location=doc.location(path),
                                    hint=f"did you mean '{close[0]}'?" if close and name not in self.declared else
                                    f"pass it with `with: {{{name}: …}}` in the spec that extends the template")
                self.used.add(name)
                self.filled[path] = (*self.filled.get(path, ()), name)
                if name in self.given_at:
                    self.origins.setdefault(path, self.given_at[name])
                value = self.values[name]
                self._grow(name, value, doc.location(path))
                return parameters.shell_word(self.declared[name], value) if shell else value
            return _PARAM.sub(replace, data)
        return data

    def check_all_used(self) -> None:
        """A `with:` value that lands nowhere (the field that used it was replaced) would
        silently mean nothing."""
        used, pending = set(), list(self.used)
        while pending:
            name = pending.pop()
            if name not in used:
                used.add(name)
                pending.extend(self.refers.get(name, ()))
        for name, where in self.given_at.items():
            if name not in used:
                raise SpecError(f"with.{name} is not used: nothing left in the merged spec says ${{{{ {name} }}}}",
                                location=where, hint="the field of the template that used it is replaced here "
                                "(or the template does not use it): remove it, or write the value where it goes")


def _declared(chain: list[Document]) -> dict[str, parameters.Parameter]:
    """Parameters declared along the chain. The first declaration (the template furthest
    up) owns a parameter's type and pattern: a later one may change its default or
    description, never how its value is checked and quoted, or an app spec could declare
    `binary` a `shell` parameter and paste a command into the template's RUN."""
    out: dict[str, parameters.Parameter] = {}
    first: dict[str, parameters.Parameter] = {}
    for doc in reversed(chain):
        for name, again in (_declarations(doc, _declared_in) if doc is not chain[0] else _declared_in(doc)).items():
            owner = first.setdefault(name, again)
            if (owner.type, _pattern(owner)) != (again.type, _pattern(again)):
                raise SpecError(f"parameter '{name}' is declared at {owner.declared_at} as {_kind(owner)}; "
                                f"it is redeclared here as {_kind(again)}", location=again.declared_at,
                                hint="a parameter's type and pattern are the template's that declares it first: "
                                     "remove this declaration (a default or description may be restated)")
            out[name] = again
    return out


def _pattern(parameter: parameters.Parameter) -> str | None:
    return None if parameter.pattern is None else parameter.pattern.pattern


def _kind(parameter: parameters.Parameter) -> str:
    pattern = _pattern(parameter)
    return f"`{parameter.type}`" + ("" if pattern is None else f" with pattern {pattern!r}")


def _declared_in(doc: Document) -> dict[str, parameters.Parameter]:
    declared = doc.data.get("parameters") or {}
    if not isinstance(declared, dict):
        raise SpecError("`parameters` maps names to {type, default, description}",
                        location=doc.location(("parameters",)),
                        hint='e.g. `parameters: {binary: {type: name, default: app, description: "…"}}`')
    return {str(name): parameters.declare(str(name), spec, _declaration_at(doc, name))
            for name, spec in declared.items()}


def _declaration_at(doc: Document, name: str | int) -> Callable[[str | None], Location]:
    """Where a parameter's declaration (key None) or one of its keys is written."""
    def at(key: str | None) -> Location:
        return doc.location(("parameters", name) if key is None else ("parameters", name, key))
    return at


def _chain(document: Document, resolver: Resolver, reader: Reader) -> list[Document]:
    """[the spec, its parent, its grandparent, …]."""
    chain = [document]
    seen = [document.file]
    while isinstance(chain[-1].data, dict) and chain[-1].data.get("extends") is not None:
        current = chain[-1]
        target = current.data["extends"]
        where = current.location(("extends",))
        if not isinstance(target, str):
            raise SpecError("`extends` takes one template name or spec path", location=where,
                            hint="e.g. `extends: python` (a template) or `extends: ../base.imagespec.yaml` (relative "
                                 "to this file); a list is not taken: a template may extend another")
        parent = reader(resolver(target, current))
        if parent.file in seen:
            cycle = " -> ".join([*seen, parent.file])
            raise SpecError(f"`extends` forms a cycle: {cycle}", location=where,
                            hint="a spec may not extend itself, directly or through others")
        if len(chain) > MAX_DEPTH:
            raise SpecError(f"`extends` goes more than {MAX_DEPTH} templates deep (from {seen[0]})", location=where,
                            hint="merge some of the templates: a chain is a few templates long")
        if not isinstance(parent.data, dict):
            raise SpecError("an extended spec must be a mapping", location=parent.location(()),
                            hint="`extends:` names a spec or template, a mapping of keys such as `final:`; check "
                                 "that it names the right file")
        seen.append(parent.file)
        chain.append(parent)
    return chain


def _has_both(data: Any) -> bool:
    """Whether some mapping in `data` has `key` and `key+`: a walk without the paths
    _check_appends keeps for its message, since nearly every document has neither."""
    pending = [data]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and key.endswith("+") and key[:-1] in node:
                    return True
                if isinstance(value, (dict, list)):
                    pending.append(value)
        elif isinstance(node, list):
            pending.extend(item for item in node if isinstance(item, (dict, list)))
    return False


def _check_appends(data: Any, path: DataPath, doc: Document) -> None:
    """`key` and `key+` in one mapping would each decide the list (one silently lost)."""
    if path == () and not _has_both(data):
        return
    if isinstance(data, list):
        for i, item in enumerate(data):
            _check_appends(item, (*path, i), doc)
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if isinstance(key, str) and key.endswith("+") and key[:-1] in data:
            first, second = sorted((doc.location((*path, key[:-1])), doc.location((*path, key))))
            raise SpecError(f"'{key[:-1]}' and '{key}' in one mapping: one of them would be silently lost",
                            location=second, hint=f"write either `{key[:-1]}:` (replace the inherited list) or "
                            f"`{key}:` (append to it), not both (the other is at line {first.line})")
        _check_appends(value, (*path, key), doc)


def _check_shell_contexts(doc: Document) -> None:
    """A `${{ }}` where quoting it as one word protects nothing (shell_scan.py): inside the
    command's own quotes its quotes would close the author's (`echo '${{ s }}'` with
    `s: "x'; id; '"`); in a heredoc body, backquotes, `$(( ))`, or after `eval` or `sh -c`
    the shell runs what the value says."""
    for items in parameters.shell_scripts(doc.data):
        if not any("${{" in command for _, command in items):
            continue
        exposed = shell_scan.exposed_placeholder("\n".join(command for _, command in items))
        if exposed is not None:
            raise SpecError(exposed.message(), location=doc.value_origin(_holding(items, exposed.offset)),
                            hint=exposed.hint())


def _holding(items: list[tuple[DataPath, str]], offset: int) -> DataPath:
    """The path of the item that holds `offset` of the items joined by newlines."""
    start = 0
    for path, command in items:
        if offset <= start + len(command):
            return path
        start += len(command) + 1
    return items[-1][0]


def _document_checked(doc: Document) -> bool:
    _check_appends(doc.data, (), doc)
    _check_shell_contexts(doc)
    return True


def resolve(document: Document, resolver: Resolver, reader: Reader) -> Document:
    """The document with its whole `extends` chain merged in (parent first)."""
    chain = _chain(document, resolver, reader)
    _document_checked(document)
    for parent in chain[1:]:
        _checked(parent, _document_checked)
    if len(chain) == 1 and not isinstance(document.data, dict):
        return document
    merged: Any = {k: v for k, v in chain[-1].data.items() if k not in _CONSUMED}
    locations = dict(chain[-1].locations)
    for child in reversed(chain[:-1]):
        merged = _merge(merged, {k: v for k, v in child.data.items() if k not in _CONSUMED},
                        (), locations, child.locations)  # at the root, every location is under the path
    for path in [p for p in locations if p and p[0] in _CONSUMED]:  # one pass for the three keys
        del locations[path]
    if ("extends",) in document.locations:  # where a failed step a template wrote is reported (pipeline/failures)
        locations[("extends",)] = document.locations[("extends",)]
    merged_doc = Document(data=merged, file=document.file, locations=locations)
    filling = _Filling(chain)
    data = filling.substitute(merged, (), merged_doc)
    filling.check_all_used()
    resolved = Document(data=data, file=document.file, locations=locations, origins=filling.origins,
                        parameters=filling.filled)
    if filling.rejected:
        raise RejectedValues(filling.rejected, resolved)
    return resolved
