"""`--build-arg K=V` that no ARG of the Dockerfile declares changes nothing: BuildKit
ignores it with a warning lost in its progress output, so imagespec says so itself, for
one spec and for a fleet (where one line names the targets that do not declare it).
The warnings are not progress: the CLI prints them under `--progress quiet` too.

May import: the compiler's plan model (pure).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from imagespec.compiler import Compiled

#: build args BuildKit takes without an ARG (the proxies, the build's time, its own settings)
_PREDEFINED_ARGS = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY", "SOURCE_DATE_EPOCH"})
_WHERE = "a spec declares them under `stages.NAME.args`"


def declared_args(compiled: Compiled) -> list[str]:
    from imagespec.plan import model as p

    return sorted({step.name for stage in compiled.plan.stages for step in stage.instructions if isinstance(step, p.Arg)})


def _checked(build_args: Sequence[tuple[str, str]]) -> list[str]:
    """The keys given that an ARG must declare to be used, each once, in the order given."""
    keys = dict.fromkeys(key for key, _ in build_args)
    return [key for key in keys if key.upper() not in _PREDEFINED_ARGS and not key.startswith("BUILDKIT_")]


def undeclared_arg_warnings(compiled: Compiled, build_args: Sequence[tuple[str, str]]) -> list[str]:
    """One spec's: each key no ARG declares, with the ARGs there are."""
    declared = declared_args(compiled)
    return [f"warning: --build-arg {key}: no ARG {key} in the Dockerfile, so it changes nothing "
            f"(its ARGs: {', '.join(declared) or 'none'}; {_WHERE})"
            for key in _checked(build_args) if key not in declared]


def fleet_arg_warnings(targets: Mapping[str, Compiled], build_args: Sequence[tuple[str, str]]) -> list[str]:
    """A fleet's (``targets``: name -> compiled): one line per key, naming the targets
    whose Dockerfile has no ARG of that name (every flag reaches every target)."""
    declared = {name: set(declared_args(compiled)) for name, compiled in targets.items()}
    warnings = []
    for key in _checked(build_args):
        missing = sorted(name for name, args in declared.items() if key not in args)
        if not missing:
            continue
        names = ", ".join(missing)
        which = f"any target's Dockerfile ({names})" if len(missing) == len(declared) else \
            f"the Dockerfile of {names} (of {len(declared)} targets)"
        warnings.append(f"warning: --build-arg {key}: no ARG {key} in {which}, so it changes nothing there "
                        f"({_WHERE})")
    return warnings
