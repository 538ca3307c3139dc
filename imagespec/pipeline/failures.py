"""A failed build pointed back at the spec: a failed step through the renderer's line map,
an unpullable base at the spec key and catalog entry that named it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from imagespec import reference as grammar
from imagespec.compiler import Compiled
from imagespec.errors import BuildFailed, BuildStepFailed, Location
from imagespec.spec.catalog import Catalog
from imagespec.spec.files import CONFIG_NAME

if TYPE_CHECKING:
    from imagespec.plan.model import Origin
    from imagespec.render.line_map import Command, Placed


def locate_failure(compiled: Compiled, failure: BuildFailed, catalog: Catalog | None = None) -> BuildFailed:
    """Point a failed step back at the spec line that produced it, through the renderer's
    line map (render/line_map.py); a base image that cannot be pulled, at the spec key
    and catalog entry that named it."""
    explained = explain_pull_failure(compiled, failure, catalog)
    if explained is not None:
        return explained
    line = getattr(failure, "step", None)
    placed = compiled.line_map().instruction_at(line) if line else None
    if placed is not None:
        _point_at_commands(compiled, failure, placed, _failed_commands(placed, getattr(failure, "log_tail", ())))
        _explain_existing_user(compiled, failure, placed)
        _explain_stage_user(compiled, failure, placed)
    return failure


#: groupadd/useradd (shadow) and BusyBox's addgroup/adduser refusing a name or ID the base has
_EXISTS = re.compile(r".*\b(?:already exists|is not unique|in use)\b.*")


def _explain_existing_user(compiled: Compiled, failure: BuildFailed, placed: Placed) -> None:
    """BP8's step that makes the final image's user failed because the base already has
    that user (an image imagespec built, a base made with it): the fix is in the spec's
    `final.from`, so the failure points there and says what to write."""
    if all(command.origin.path != ("final", "user") for command in placed.commands) or \
            not any(_EXISTS.fullmatch(line) for line in getattr(failure, "log_tail", ())):
        return
    runtime = compiled.plan.runtime
    failure.location = compiled.loaded.document.location(("final", "from"))
    failure.hint = (f"the base image already has the user {runtime.user_name} or the ID {runtime.uid}: say so with "
                    f"`user: {runtime.uid}` in `final.from` (`from: {{image: REF, family: …, user: {runtime.uid}}}`; "
                    "the app then runs as that user with no useradd step, BP8), or choose another `final.user`")


def _explain_stage_user(compiled: Compiled, failure: BuildFailed, placed: Placed) -> None:
    """A build stage's step refused for permissions, where the stage starts FROM an image
    (not a catalog build image, which runs as root): that image's USER runs the step, and
    an image imagespec built (a company base spec's) runs as a non-root user (BP8). Said,
    since the log shows only `Permission denied`."""
    from imagespec.spec.model import Image

    path = placed.origin.path
    if len(path) < 2 or path[0] != "stages" or \
            not any("Permission denied" in line for line in getattr(failure, "log_tail", ())):
        return
    stage = compiled.loaded.spec.stages.get(str(path[1]))
    if stage is None or not isinstance(stage.from_, Image):
        return
    who = f"as user {stage.from_.user} (its `from: user:`)" if stage.from_.user else \
        "as that image's own USER (an image imagespec built runs as 65532, BP8)"
    failure.hint = "; ".join(filter(None, (
        failure.hint, f"stage `{path[1]}` starts FROM {stage.from_.image}, so its RUN steps run {who}: write where "
        "that user may (/tmp, its home), or start the stage FROM a build image of the catalog (they run as root)")))


def _failed_commands(placed: Placed, log_tail: tuple[str, ...]) -> tuple[Command, ...]:
    """The commands of a failed RUN that may have failed. BuildKit says which RUN and its
    exit code, not which `&&` item: the shell's own words narrow it down (a program it
    could not run, the heredoc's last `set -x` trace); otherwise it is any of them."""
    from imagespec.engine.shell_messages import last_traced, program_not_run, program_said, runs_program

    program = program_not_run(log_tail) or (last_traced(log_tail) if placed.form == "heredoc" else None)
    named = tuple(c for c in placed.commands if program and runs_program(c.text, program))
    said = program_said(log_tail)  # `install: cannot stat 'app'`: one command's own words
    named = named or tuple(c for c in placed.commands if said and runs_program(c.text, said))
    return named or placed.commands


def _point_at_commands(compiled: Compiled, failure: BuildFailed, placed: Placed, commands: tuple[Command, ...]) -> None:
    """One spec line when the failed command is known; else the spec key holding them all
    and every line it may be, rather than a wrong single line (BP11 merged them)."""
    document = compiled.loaded.document
    origins = tuple(dict.fromkeys(c.origin for c in commands)) or (placed.origin,)
    if len(origins) == 1:
        failure.location = document.location(origins[0].path)
        _at_the_spec(compiled, failure, origins)
        return
    paths = [o.path for o in origins]
    common = next((paths[0][:n] for n in range(min(map(len, paths)), 0, -1)
                   if all(path[:n] == paths[0][:n] for path in paths)), placed.origin.path)
    failure.location = document.location(common)
    where = ", ".join(str(document.location(path)) for path in paths)
    failure.hint = "; ".join(filter(None, (
        f"one of the commands merged into this RUN failed, at {where} (BuildKit reports the RUN and its exit "
        "code, not which `&&` command): the step's last output may tell which", failure.hint)))
    _at_the_spec(compiled, failure, origins)


def _at_the_spec(compiled: Compiled, failure: BuildFailed, origins: tuple[Origin, ...]) -> None:
    """A failed step a template wrote (the c preset's `install … ${{ binary }}`) is fixed in
    the spec that extends it: reported at the `with:` value that filled it, else at the
    spec's `extends:`, naming the template's line and the parameters the step uses."""
    document = compiled.loaded.document
    if failure.location is None or failure.location.file == document.file or ("extends",) not in document.locations:
        return
    given = next((document.origins[o.path] for o in origins if o.path in document.origins), None)
    names = sorted({name for o in origins for name in document.parameters.get(o.path, ())})
    template, failure.location = failure.location, given or document.location(("extends",))
    uses = ", ".join(f"`${{{{ {name} }}}}`" for name in names)
    fix = (f"it uses {uses}: give your project's values with `with: {{{': …, '.join(names)}: …}}` (`imagespec "
           "generate --effective SPEC` shows the values used)") if names else "override that key in this spec"
    failure.hint = "; ".join(filter(None, (f"the failed step is the template's, at {template}: {fix}", failure.hint)))


# -- a base image the engine cannot pull ------------------------------------------------
# BuildKit fails such a build at `[internal] load metadata for docker.io/library/golang:…`
# (or at the stage's FROM) with the resolver's error. The reader needs what imagespec knows
# and BuildKit does not: which spec key chose the image, which catalog entry (and file)
# maps that name to the reference, and how to repoint it (BP12: one configuration names
# every image of a company).
_PULLING = re.compile(r"(?:\[internal\] )?load metadata for (\S+)|FROM (?:--platform=\S+ )?(\S+)")
_REQUEST = re.compile(r'.*failed to do request: \w+ "[^"]*": (.+)', re.S)


def normalized(reference: str) -> str:
    """``golang:1.22`` → ``docker.io/library/golang:1.22``, as BuildKit names it."""
    try:
        return grammar.parse(reference).normalized
    except grammar.Invalid:  # not a reference BuildKit could have pulled: compared as it is
        return reference


def failed_base(failure: BuildFailed) -> str | None:
    """The image reference a failed step was pulling, if that is what failed."""
    match = _PULLING.fullmatch(getattr(failure, "instruction", None) or "")
    return (match[1] or match[2]).split(" AS ")[0] if match else None


def explain_pull_failure(compiled: Compiled, failure: BuildFailed, catalog: Catalog | None) -> BuildFailed | None:
    """A failure that names the spec key and catalog entry of an unpullable base, or None."""
    reference = failed_base(failure)
    if reference is None:
        return None
    path = _spec_key(compiled, normalized(reference))
    if path is None:
        return None
    chosen = _from_value(compiled, path)
    key = ".".join(path)
    image = reference
    if isinstance(chosen, str):
        entry_image, entry = _catalog_entry(compiled, catalog, chosen)
        image = entry_image or reference
        named = f"`{key}: {chosen}` is catalog entry `{chosen}`" + (f" ({entry})" if entry else "")
        repoint = f"`images: {{{chosen}: {{image: REF, family: …}}}}` or `catalog: FILE`"
    else:
        named = f"`{key}` names it directly"
        repoint = "`images:` entries or `catalog: FILE`, then `from: NAME`"
    return BuildStepFailed(
        f"base image {image} cannot be pulled: {_reason(failure, (reference, normalized(reference), image))}",
        instruction=getattr(failure, "instruction", None),
        step=getattr(failure, "step", None),
        log_tail=getattr(failure, "log_tail", ()),
        location=compiled.loaded.document.location(path),
        hint=f"{named}; point the catalog at images this engine has or can pull: {repoint} in {CONFIG_NAME} "
        "(beside the spec or in a parent folder), or --config FILE / $IMAGESPEC_CONFIG",
    )


def _spec_key(compiled: Compiled, reference: str) -> tuple[str, ...] | None:
    """``("stages", "build", "from")`` or ``("final", "from")``: the spec key whose stage
    starts from ``reference`` (spec stages first: the final's helper stages reuse bases)."""
    spec = compiled.loaded.spec
    for stage in compiled.plan.stages:
        if stage.base.from_stage or normalized(stage.base.ref) != reference:
            continue
        if stage.final:
            return ("final", "from")
        if stage.name in spec.stages:
            return ("stages", stage.name, "from")
    return None


def _from_value(compiled: Compiled, path: tuple[str, ...]) -> object:
    spec = compiled.loaded.spec
    return spec.final.from_ if path[0] == "final" else spec.stages[path[1]].from_


def _catalog_entry(compiled: Compiled, catalog: Catalog | None, name: str) -> tuple[str | None, str | None]:
    """(image, where it is defined) of catalog entry ``name``: the spec's own `images:`
    win over the configuration's catalog, as when the spec compiled."""
    spec, document = compiled.loaded.spec, compiled.loaded.document
    if name in spec.images:
        return spec.images[name].image, str(document.location(("images", name)))
    entry = catalog.entries.get(name) if catalog else None
    if entry is None:
        return None, None
    return entry.image.image, str(entry.origin) if entry.origin != Location("") else None


def _reason(failure: BuildFailed, references: tuple[str, ...]) -> str:
    """The resolver's own words, without the reference repeated and the request it made:
    ``not found``, ``dial tcp: lookup registry-1.docker.io …: no such host``."""
    text = failure.message.removeprefix(f"build failed at {getattr(failure, 'instruction', '')}: ")
    prefixes = [f"{ref}: " for ref in references] + [f"failed to resolve source metadata for {ref}: " for ref in references]
    while any(text.startswith(prefix) for prefix in prefixes):
        text = next(text.removeprefix(prefix) for prefix in prefixes if text.startswith(prefix))
    match = _REQUEST.fullmatch(text)
    return match[1] if match else text
