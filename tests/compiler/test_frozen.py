"""plan/frozen.py's @frozen: the same objects as dataclass(frozen=True) makes, through a
cheaper __init__. Checked against the __init__ dataclasses generates for each class (made here:
@frozen asks dataclasses for none)."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from imagespec.errors import Location
from imagespec.plan import model as p
from imagespec.plan.frozen import as_dataclass
from imagespec.render.dockerfile import RunBody

FROZEN = [cls for cls in vars(p).values() if isinstance(cls, type) and "__frozen_options__" in vars(cls)] + [RunBody]


def test_the_plan_classes_are_made_by_frozen() -> None:
    assert {p.Plan, p.Stage, p.Run, p.Origin, p.Copy, RunBody} <= set(FROZEN)


@pytest.mark.parametrize("cls", FROZEN, ids=lambda cls: cls.__name__)
def test_same_signature_annotations_and_doc_as_the_dataclass(cls: type) -> None:
    twin = as_dataclass(cls)
    assert str(inspect.signature(cls.__init__)) == str(inspect.signature(twin.__init__))
    assert list(cls.__init__.__annotations__.items()) == list(twin.__init__.__annotations__.items())
    if cls.__doc__.startswith(f"{cls.__name__}("):  # no docstring of its own: the one dataclasses writes
        assert cls.__doc__ == twin.__doc__


@pytest.mark.parametrize("cls", FROZEN, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("with_defaults", [False, True], ids=["defaults", "all-given"])
def test_same_object_as_the_dataclass_init(cls: type, with_defaults: bool) -> None:
    fields = [f for f in dataclasses.fields(cls)
              if with_defaults or (f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)]
    positional = [f"{f.name}-value" for f in fields if not f.kw_only]
    keyword = {f.name: f"{f.name}-value" for f in fields if f.kw_only}
    made = cls(*positional, **keyword)
    reference = object.__new__(cls)
    as_dataclass(cls).__init__(reference, *positional, **keyword)
    assert made == reference and vars(made) == vars(reference) and hash(made) == hash(reference)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, fields[0].name, "changed")


def test_a_default_factory_gives_the_value_not_the_sentinel() -> None:
    runtime = p.Runtime(1, 1, "u", None, (), False, False)
    assert type(p.Plan("a", (), runtime).features) is frozenset and not p.Plan("a", (), runtime).features
    assert p.Plan("c", (), runtime, features=frozenset({"heredoc"})).features == {"heredoc"}


def test_location_keeps_the_frozen_dataclass_behaviour() -> None:
    where = Location("spec.yaml", 3, 5)
    assert (where.file, where.line, where.col) == ("spec.yaml", 3, 5) and str(where) == "spec.yaml:3:5"
    assert where == Location("spec.yaml", 3, 5) and Location("spec.yaml") < where and Location("x") == Location("x", 0, 0)
    assert hash(where) == hash(Location("spec.yaml", 3, 5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        where.line = 4  # type: ignore[misc]


def test_location_as_a_tuple_still_compares_as_the_dataclass_did() -> None:
    # a NamedTuple since issue 13's fifth pass: the value's position is not compared or
    # hashed, a plain tuple is never equal to it, and it survives pickling whole
    key, same_key = Location("spec.yaml", 3, 5, 3, 11), Location("spec.yaml", 3, 5)
    assert key == same_key and hash(key) == hash(same_key) and not key != same_key
    assert key != ("spec.yaml", 3, 5, 3, 11) and ("spec.yaml", 3, 5, 3, 11) != key
    assert repr(key) == "Location(file='spec.yaml', line=3, col=5)"
    assert str(key.of_value()) == "spec.yaml:3:11" and key.of_value() != key
    copy = pickle.loads(pickle.dumps(key))
    assert copy == key and (copy.value_line, copy.value_col) == (3, 11)
    assert sorted([key, Location("a", 9), Location("spec.yaml", 1, 1)])[0] == Location("a", 9)
    with pytest.raises(TypeError):
        assert key < ("spec.yaml", 4, 1)  # type: ignore[operator]
