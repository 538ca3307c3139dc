"""`@frozen`: a frozen dataclass that is cheaper to make.

A frozen dataclass's generated __init__ sets every field through object.__setattr__
(the class's own __setattr__ refuses), and the passes make plan objects all the time
(what that costs: BENCHMARKS.md, "Why the compiler is shaped this way"). The __init__
made here has the same signature and defaults but writes the fields into the instance
dict directly, the way model.replace() copies them; the instances stay as immutable as
before (__setattr__ and __delattr__ still refuse), and equality, hashing, ordering and
repr are dataclasses' own. Dataclasses is asked for no __init__ of its own (init=False):
each method it generates is compiled from source when the class is made, at every start that
compiles a spec, and one that would be replaced is wasted (tests/compiler/test_frozen.py holds
the __init__ made here to the one dataclasses makes).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

C = TypeVar("C")


class _Factory:
    """The default of a parameter whose field has a default_factory (dataclasses' sentinel is private)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


# dataclass_transform (PEP 681) tells a type checker that the decorated class is a frozen
# dataclass: it then knows each class's __init__ from its fields, as for @dataclass
@overload
@dataclass_transform(frozen_default=True)
def frozen(cls: type[C], /) -> type[C]: ...
@overload
def frozen(*, kw_only: bool = False) -> Callable[[type[C]], type[C]]: ...


def frozen(cls: type[C] | None = None, /, **options: Any) -> type[C] | Callable[[type[C]], type[C]]:
    """`@dataclass(frozen=True, **options)` with the direct __init__; used bare or with options."""
    def make(cls: type[C]) -> type[C]:
        documented = bool(cls.__doc__)
        if not documented:  # dataclasses would read the signature of an __init__ not made yet
            cls.__doc__ = cls.__name__
        made: Any = dataclasses.dataclass(frozen=True, init=False, **options)(cls)  # Any: __init__ set below
        made.__init__ = _direct_init(made)
        made.__frozen_options__ = options  # how the test makes the dataclass to compare with
        if not documented:  # what dataclasses writes into a class without a docstring
            made.__doc__ = made.__name__ + str(inspect.signature(made)).replace(" -> None", "")
        return made
    return make if cls is None else make(cls)


def _direct_init(cls: type) -> Callable[..., None]:
    fields = dataclasses.fields(cls)
    if any(not f.init for f in fields) or hasattr(cls, "__post_init__"):
        raise TypeError(f"@frozen {cls.__name__}: init=False fields and __post_init__ are not supported")
    namespace: dict[str, Any] = {"FACTORY": _FACTORY}

    def parameter(f: dataclasses.Field[Any]) -> str:
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            return f"{f.name}=_default_{f.name}"
        if f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            return f"{f.name}=FACTORY"
        return f.name

    def store(f: dataclasses.Field[Any]) -> str:
        if f.default_factory is dataclasses.MISSING:
            return f"    values[{f.name!r}] = {f.name}"
        return f"    values[{f.name!r}] = _factory_{f.name}() if {f.name} is FACTORY else {f.name}"

    # dataclasses' order: the positional fields, then the keyword-only ones
    ordered = [f for f in fields if not f.kw_only] + [f for f in fields if f.kw_only]
    positional = [parameter(f) for f in ordered if not f.kw_only]
    keyword = [parameter(f) for f in ordered if f.kw_only]
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = "\n".join([f"def __init__({signature}):", "    values = self.__dict__", *map(store, fields)])
    exec(source, namespace)  # how dataclasses makes its own __init__
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    # as dataclasses annotates its __init__: each field's type, in the signature's order
    init.__annotations__ = {**{f.name: f.type for f in ordered}, "return": None}
    return init


def as_dataclass(cls: type) -> Any:
    """The class `dataclass(frozen=True)` alone makes of what @frozen made (the same bases, own
    fields with their defaults, and options): what an @frozen class is held to
    (tests/compiler/test_frozen.py) and measured against (bench/shape.py)."""
    own = cls.__dict__["__annotations__"]
    namespace: dict[str, Any] = {"__annotations__": dict(own), "__module__": cls.__module__}
    for f in dataclasses.fields(cls):
        if f.name in own and f.default is not dataclasses.MISSING:
            namespace[f.name] = f.default
        elif f.name in own and f.default_factory is not dataclasses.MISSING:
            namespace[f.name] = dataclasses.field(default_factory=f.default_factory)
    options = cls.__dict__["__frozen_options__"]
    return dataclasses.dataclass(frozen=True, **options)(type(cls.__name__, cls.__bases__, namespace))
