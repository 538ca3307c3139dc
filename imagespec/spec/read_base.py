"""Base spec files -> LoadedBase, with located errors like app specs.

A file is a base spec when its top level has `base:` (is_base_document); the
`spec:` of a toolchain base is an ordinary spec, so it is loaded as one: its
`extends` chain merged, its errors located in the base file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from imagespec import reference as grammar
from imagespec.errors import SpecError
from imagespec.spec.base_model import BaseSpec
from imagespec.spec.config import Config
from imagespec.spec.read_spec import LoadedSpec, display, merge_extends
from imagespec.spec.yaml_source import DataPath, Document, read_yaml
from imagespec.spec.validate import validate

SPEC_KEY = "spec"


@dataclass(frozen=True)
class LoadedBase:
    base: BaseSpec
    document: Document
    path: Path

    @property
    def name(self) -> str:
        return self.base.base

    def app_spec(self) -> LoadedSpec:
        """The `spec:` of a toolchain base as an app spec (errors located in this file), for
        the base's `platforms:`: compiled as `imagespec build` compiles a spec of several."""
        assert self.base.spec is not None, "only `spec` bases have one"
        spec = self.base.spec
        if self.base.platforms:
            spec = spec.model_copy(update={"platforms": list(self.base.platforms)})
        return LoadedSpec(spec, sub_document(self.document, (SPEC_KEY,)), self.path)


def is_base_document(document: Document) -> bool:
    return isinstance(document.data, dict) and "base" in document.data


def sub_document(document: Document, prefix: DataPath) -> Document:
    """The part of `document` under `prefix`, its locations re-keyed, still in the same file."""
    node = document.data
    for key in prefix:
        node = node[key]
    width = len(prefix)
    locations = {path[width:]: where for path, where in document.locations.items() if path[:width] == prefix}
    return Document(node, document.file, locations)


def _with_default_name(document: Document) -> Document:
    """A toolchain's spec is named after the image it becomes, unless it says otherwise."""
    data = document.data
    inner = data.get(SPEC_KEY)
    if not isinstance(inner, dict) or "name" in inner or not isinstance(data.get("image"), str):
        return document
    try:
        name = grammar.parse(data["image"]).path
    except grammar.Invalid:  # validation reports the image at its line
        return document
    return replace(document, data={**data, SPEC_KEY: {**inner, "name": name}})


def _merge_spec_parents(document: Document, folder: Path, config: Config, path: Path) -> Document:
    inner = document.data.get(SPEC_KEY)
    if not isinstance(inner, dict) or "extends" not in inner:
        return document
    merged = merge_extends(sub_document(document, (SPEC_KEY,)), folder, config, path)
    locations = {**document.locations, **{(SPEC_KEY, *p): where for p, where in merged.locations.items()}}
    return Document({**document.data, SPEC_KEY: merged.data}, document.file, locations)


def load_base(path: Path, config: Config, document: Document | None = None) -> LoadedBase:
    document = document or read_yaml(path, display=display(path))
    if not is_base_document(document):
        raise SpecError("not a base spec: it has no `base:` key", location=document.location(()),
                        hint="a base spec starts with `base: NAME` and `image: NAME:TAG`; app specs are built with "
                             "`imagespec build`")
    document = _merge_spec_parents(_with_default_name(document), path.parent, config, path)
    loaded = LoadedBase(validate(document, BaseSpec), document, path)
    if loaded.base.spec is not None and loaded.base.spec.platforms:
        # app_spec() gives the spec the base's platforms: one list, where base build reads it
        raise SpecError("a spec base is built for the base's `platforms:`, not its spec's",
                        location=document.location((SPEC_KEY, "platforms")),
                        hint="move `platforms:` out of `spec:` to the base's top level")
    return loaded
