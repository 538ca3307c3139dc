"""Spec -> Plan: resolve images, order stages, and lay out each stage's steps.

Lowering decides *what* each stage contains; the passes (plan/passes) decide *how*
it is written down (merged, ordered, hardened). Semantic checks that need more than
one field at a time (cycles, artifacts, shell-less bases) live here, because this
is the first place that sees the whole graph.
"""

from __future__ import annotations

import difflib
import shlex
from functools import cache
from typing import Any

from imagespec import contract
from imagespec import reference as grammar
from imagespec.contract import BIN_DIRS, WILDCARDS, copies_shells, is_shell_path
from imagespec.errors import Location, SpecPathError, each_or_together
from imagespec.plan import model as p
from imagespec.plan.dockerignore import dockerignore_for
from imagespec.plan.final_contents import missing_program
from imagespec.spec import model as s
from imagespec.spec.accounts import debian_id_taken
from imagespec.spec.catalog import Catalog, Entry, false_shell_fact
from imagespec.spec.yaml_source import DataPath
from imagespec.spec.values import absolute_path, context_path, debian_package_name

_NOWHERE = Location("")


def _catalog_with(spec: s.Spec, catalog: Catalog) -> Catalog:
    if not spec.images:
        return catalog  # most specs name no images of their own: no copy of the catalog
    return catalog.merged({name: Entry(image, _NOWHERE) for name, image in spec.images.items()})


def _written_images(spec: s.Spec) -> list[tuple[DataPath, s.Image]]:
    """The images the spec (or a template of its chain) describes itself, with their facts."""
    written: list[tuple[DataPath, s.Image]] = [(("images", name), image) for name, image in spec.images.items()]
    written += [(("stages", name, "from"), stage.from_) for name, stage in spec.stages.items()
                if isinstance(stage.from_, s.Image)]
    if isinstance(spec.final.from_, s.Image):
        written.append((("final", "from"), spec.final.from_))
    return written


def _refuse_false_shell_facts(spec: s.Spec, catalog: Catalog) -> None:
    """An image the configuration's catalog (any level of it) describes as having a shell
    cannot be declared shell-less by the spec: the `no_shell` policy (BP6) and the checks that
    read the plan would believe the declaration, and only `build --verify` would look at the
    image. An image the catalog does not know is taken as declared (`--verify` checks it)."""
    for path, image in _written_images(spec):
        known = catalog.shell_known(image)
        if known is None:
            continue
        raise false_shell_fact(image, known, path)


def _image_name(reference: str) -> str | None:
    try:
        return grammar.parse(reference).normalize().name
    except grammar.Invalid:  # scratch, or a name the grammar refused where it was read
        return None


def _refuse_own_image(image: str, path: DataPath, spec: s.Spec) -> None:
    """A stage FROM the image this spec builds (any tag of it) would start from the image
    it replaces: the layers pile up release after release, and the spec's first build has
    nothing to start from. A fleet calls it a cycle of one; one spec says so too."""
    own = grammar.full_name(spec.registry, spec.name)
    if _image_name(image) is not None and _image_name(image) == _image_name(own):
        raise SpecPathError(f"{image} is this spec's own image ({own}): a stage cannot start FROM the image it builds",
                            path=path, hint="start FROM the image's base instead (a catalog name, or the base spec's "
                                            "image), and build the new version from the source")


def _base_for(name: str, from_: str | s.Image, path: DataPath, spec: s.Spec, catalog: Catalog,
              resolved: dict[str, p.Base], visiting: tuple[str, ...]) -> p.Base:
    if isinstance(from_, s.Image):
        _refuse_own_image(from_.image, path, spec)
        return p.Base(from_.image, from_.family, from_.package_manager, from_.has_shell, from_.user)
    if from_ in spec.stages:
        if from_ in visiting or from_ == name:
            chain = " -> ".join((*visiting, name, from_)) if name not in visiting else " -> ".join((*visiting, from_))
            raise SpecPathError(f"stages form a cycle: {chain}", path=path,
                                hint="a stage may start from an earlier stage, never from itself or a later one")
        parent = _stage_base(from_, spec, catalog, resolved, (*visiting, name))
        return p.Base(from_, parent.family, parent.package_manager, parent.has_shell,
                      parent.provided_user, from_stage=from_)
    image = catalog.find(from_)
    if image is None:  # located by the compiler from the spec path (the plan knows no positions)
        raise SpecPathError(catalog.unknown(from_), path=path, hint=catalog.suggest(from_))
    _refuse_own_image(image.image, path, spec)
    return p.Base(image.image, image.family, image.package_manager, image.has_shell, image.user)


def _stage_base(name: str, spec: s.Spec, catalog: Catalog, resolved: dict[str, p.Base],
                visiting: tuple[str, ...] = ()) -> p.Base:
    if name not in resolved:
        resolved[name] = _base_for(name, spec.stages[name].from_, ("stages", name, "from"),
                                   spec, catalog, resolved, visiting)
    return resolved[name]


@cache
def _default_user(uid: int) -> s.User:
    """The user of a final stage that names none: a frozen model, made (and validated)
    once per UID rather than once per spec."""
    return s.User(uid=uid)


def _packages(raw: list[str] | dict[str, str | None]) -> tuple[tuple[str, str | None], ...]:
    items = [(name, None) for name in raw] if isinstance(raw, list) else list(raw.items())
    return tuple(sorted(set(items)))  # sorted: reviewable diffs and stable cache keys


def _install(base: p.Base, raw: list[Any] | dict[str, Any], path: DataPath, practices: tuple[str, ...]) -> tuple[p.Instruction, ...]:
    packages = _packages(raw)
    if not packages:
        return ()
    if not base.package_manager or not base.has_shell:
        raise SpecPathError(f"'{base.ref}' ({base.family}) has no package manager to install packages with",
                            path=path, hint="install them in a build stage and copy the files, "
                            "or start from a slim distribution image (BP10)")
    if base.package_manager == "apt":
        for key, name in enumerate(raw) if isinstance(raw, list) else ((name, name) for name in raw):
            try:
                debian_package_name(name)
            except grammar.Invalid as exc:
                raise SpecPathError(str(exc), path=(*path, key), hint=exc.hint) from None
    return (p.InstallPackages(manager=base.package_manager, packages=packages, phase=p.Phase.SYSTEM,
                              origin=p.Origin(path, practices, "OS packages: update, install and clean up in one step")),)


def _lower_stage(name: str, stage: s.Stage, base: p.Base, spec: s.Spec) -> p.Stage:
    at = ("stages", name)
    out: list[p.Instruction] = []
    out += _install(base, stage.packages, (*at, "packages"), ("BP5", "BP11"))
    if stage.run or stage.dependencies:
        if not base.has_shell:
            raise SpecPathError(f"stage '{name}' runs commands but '{base.ref}' has no shell",
                                path=(*at, "from"), hint="build on an image with a shell; keep shell-less images for the final stage")
    for arg, default in stage.args.items():
        out.append(p.Arg(name=arg, default=default, phase=p.Phase.SETUP, origin=p.Origin((*at, "args", arg))))
    if stage.env:
        out.append(p.Env(items=tuple(stage.env.items()), phase=p.Phase.SETUP, origin=p.Origin((*at, "env"))))
    workdir = stage.workdir or "/src"
    out.append(p.Workdir(path=workdir, phase=p.Phase.SETUP,
                         origin=p.Origin((*at, "workdir"), (), "absolute WORKDIR instead of `cd` in RUN")))
    mounts = tuple(p.Mount("cache", target) for target in stage.cache)
    if stage.dependencies:
        deps, where = stage.dependencies, (*at, "dependencies")
        for folder, sources in _by_folder(deps.copy_, (*where, "copy")).items():
            out.append(p.Copy(sources=sources, dest=folder, phase=p.Phase.DEPENDENCIES,
                              origin=p.Origin((*where, "copy"), ("BP4",), "dependency manifests before the source, "
                                              "so the install below stays cached until they change")))
        for i, command in enumerate(deps.run):
            out.append(p.Run(commands=(command,), mounts=mounts, downloads=deps.downloads,
                             phase=p.Phase.DEPENDENCIES,
                             origin=p.Origin((*where, "run", i), ("BP4",), "dependency install, cached by its manifests")))
    for i, item in enumerate(stage.copy_):
        src, dest = (item, None) if isinstance(item, str) else (item.src, item.dest)
        out.append(p.Copy(sources=(src,), dest=dest or _dest_for(src, (*at, "copy", i)), phase=p.Phase.SOURCE,
                          origin=p.Origin((*at, "copy", i), ("BP4",), "the source, as late as possible")))
    for i, command in enumerate(stage.run):
        out.append(p.Run(commands=(command,), mounts=mounts, phase=p.Phase.BUILD,
                         origin=p.Origin((*at, "run", i), (), "build step")))
    return p.Stage(name=name, base=base, instructions=tuple(out), artifacts=tuple(stage.artifacts),
                   cross_compile=stage.cross_compile, origin=p.Origin((*at, "from"), ("BP11",), "build stage: only declared artifacts leave it"))


def _dest_for(src: str, path: DataPath) -> str:
    """Where a build stage's source lands: at its own path under the workdir. A pattern's
    matches land in the folder that holds them (`conf/*.conf` in ./conf/): COPY puts every
    match in its destination, so the pattern itself would name one file, holding the last
    match. A wildcard in a folder's name would put files of several folders in one."""
    clean = src.removeprefix("./").rstrip("/")
    if clean in ("", "."):
        return "./"
    if WILDCARDS.isdisjoint(clean):
        return f"./{clean}" + ("/" if src.endswith("/") else "")
    folder, _, _ = clean.rpartition("/")
    if not WILDCARDS.isdisjoint(folder):
        raise SpecPathError(f"'{src}': a wildcard in a folder's name would copy the matches of every folder into one",
                            path=path, hint="copy the folder that holds them, or list each folder's pattern: "
                                            "wildcards belong in the last part of a path")
    return f"./{folder}/" if folder else "./"


def _by_folder(sources: list[str], path: DataPath) -> dict[str, tuple[str, ...]]:
    """Dependency manifests grouped by where they land, in the order written: each at its
    own path under the workdir, as a stage's `copy` puts the source, so that the install
    command names it as the project does (`pip install -r reqs/prod.txt`; `COPY
    reqs/prod.txt ./` put it at ./prod.txt). One COPY per folder: a path without a
    trailing `/` is a file, and lands in the folder that holds it; a folder (`vendor/`)
    lands at its own path."""
    grouped: dict[str, tuple[str, ...]] = {}
    for i, src in enumerate(sources):
        clean = src.removeprefix("./").rstrip("/")
        if src.endswith("/") or clean in ("", ".") or not WILDCARDS.isdisjoint(clean):
            dest = _dest_for(src, (*path, i))  # a folder, or a pattern's folder (a wildcard in one is an error)
        else:
            folder = clean.rpartition("/")[0]
            dest = f"./{folder}/" if folder else "./"
        grouped[dest] = (*grouped.get(dest, ()), src)
    return grouped


def covered(path: str, artifacts: tuple[str, ...]) -> bool:
    """`path` is one of `artifacts`, or inside one."""
    path = path.rstrip("/")
    return any(path == a.rstrip("/") or path.startswith(a.rstrip("/") + "/") for a in artifacts)


def _lower_artifacts(spec: s.Spec, stages: dict[str, p.Stage],
                     final_base: p.Base) -> tuple[list[Any], dict[str, list[Any]]]:
    chmod_flag = "copy-chmod" in spec.features
    # every artifact's problem in one report: a list of copies is often wrong in several places
    lowered = each_or_together(enumerate(spec.final.copy_),
                               lambda item: _lower_artifact(item[0], item[1], stages, chmod_flag, final_base))
    chmods: dict[str, list[p.Instruction]] = {}
    for _, artifact, chmod_run in lowered:
        if chmod_run is not None and artifact.from_ is not None:
            chmods.setdefault(artifact.from_, []).append(chmod_run)
    return [copy for copy, _, _ in lowered], chmods


def _lower_artifact(i: int, artifact: s.Artifact, stages: dict[str, p.Stage],
                    chmod_flag: bool, final_base: p.Base) -> tuple[p.Copy, s.Artifact, p.Run | None]:
    """One `final.copy` entry: its COPY, and the chmod its producing stage runs when
    COPY --chmod is not available."""
    at = ("final", "copy", i)
    if not final_base.has_shell:
        _refuse_shell_copy(artifact, final_base, at)
    if artifact.from_ is not None:
        _check_stage_artifact(artifact, stages, at)
        if not final_base.has_shell:
            _refuse_shell_source(artifact, stages[artifact.from_], final_base, at)
    else:
        try:
            context_path(artifact.src)
        except grammar.Invalid as exc:
            hint = exc.hint
            if artifact.src.startswith("/"):  # the final stage's absolute paths are most often a build stage's
                hint = f"{hint}, or take it from a build stage: `{{from: STAGE, src: {artifact.src}, dest: {artifact.dest}}}`"
            raise SpecPathError(str(exc), path=(*at, "src"), hint=hint) from None
    chmod, chmod_run = None, None
    if artifact.mode:
        if chmod_flag:
            chmod = artifact.mode
        elif artifact.from_ is not None:
            chmod_run = p.Run(
                commands=(f"chmod {artifact.mode} {shlex.quote(artifact.src)}",), phase=p.Phase.BUILD,
                origin=p.Origin((*at, "mode"), (), "the mode is set where the file is made: COPY --chmod needs a newer frontend"))
        else:
            raise SpecPathError("a mode on a build-context file needs `features: [copy-chmod]`",
                                path=(*at, "mode"), hint="or set the mode on the file in the repository (git keeps +x)")
    copy = p.Copy(sources=(artifact.src,), dest=artifact.dest, from_stage=artifact.from_,
                  chown=artifact.owner, chmod=chmod, phase=p.Phase.ARTIFACTS,
                  origin=p.Origin(at, ("BP7", "BP11"), "only the declared artifact reaches the final image"))
    return copy, artifact, chmod_run


def _refuse_shell_copy(artifact: s.Artifact, final_base: p.Base, at: tuple[Any, ...]) -> None:
    """A shell-less final stays one (BP6): the `no_shell` policy and the checks that read the
    plan take it at its word, and `imagespec test` fails a shell on PATH in it."""
    lands = artifact.dest
    if artifact.dest.endswith("/") or artifact.dest.strip("/") in BIN_DIRS:  # COPY puts the file into the folder
        lands = f"{artifact.dest.rstrip('/')}/{artifact.src.rstrip('/').rpartition('/')[2]}"
    if is_shell_path(lands):
        raise SpecPathError(f"'{lands}' is a shell, and the final image '{final_base.ref}' has none: a shell copied "
                            "in breaks BP6 (no shell in the final image); `imagespec test` fails it, and the `no_shell` "
                            "policy reads this final as shell-less", path=(*at, "dest"),
                            hint="copy the program alone; a final that needs a shell starts from a base with one "
                                 "(e.g. `from: debian-slim`), where the `no_shell` policy is not set")


def _refuse_shell_source(artifact: s.Artifact, producer: p.Stage, final_base: p.Base, at: tuple[Any, ...]) -> None:
    """A shell taken from a stage that has one reaches a shell-less final under any name
    (`/usr/bin/dash` as `/usr/local/bin/x-helper`, or a whole `/bin/`): the destination says
    nothing, the source does (BP6)."""
    if producer.base.has_shell and copies_shells(artifact.src):
        raise SpecPathError(f"'{artifact.src}' of stage '{artifact.from_}' is or holds a shell, and the final image "
                            f"'{final_base.ref}' has none: copied in under any name it breaks BP6 (no shell in the "
                            "final image); `imagespec test` fails it, and the `no_shell` policy reads this final as "
                            "shell-less", path=(*at, "src"),
                            hint="copy the program the stage built (its artifact, e.g. /out/app), not a system "
                                 "folder; a final that needs a shell starts from a base with one (e.g. "
                                 "`from: debian-slim`), where the `no_shell` policy is not set")


def _check_stage_artifact(artifact: s.Artifact, stages: dict[str, p.Stage], at: tuple[Any, ...]) -> None:
    producer = stages.get(artifact.from_ or "")
    if producer is None:
        close = difflib.get_close_matches(artifact.from_ or "", list(stages), n=1)
        raise SpecPathError(f"no stage named '{artifact.from_}'", path=(*at, "from"),
                            hint=f"did you mean '{close[0]}'?" if close else
                            f"stages: {', '.join(stages) or 'none declared'}")
    try:
        # the artifact check below compares text: `/out/../etc` must not pass as "under /out"
        absolute_path(artifact.src)
    except grammar.Invalid as exc:
        raise SpecPathError(f"stage '{artifact.from_}': {exc}", path=(*at, "src"), hint=exc.hint) from None
    if not covered(artifact.src, producer.artifacts):
        declared = ", ".join(producer.artifacts) or "none"
        raise SpecPathError(f"stage '{artifact.from_}' does not produce '{artifact.src}' (its artifacts: {declared})",
                            path=(*at, "src"), hint=f"add it to stages.{artifact.from_}.artifacts (BP7, BP11)")


def _shell_script(value: str | list[str] | None) -> str:
    if value is None:
        return ""
    # a string is the author's shell text, kept as written; a list is literal arguments
    return value.strip() if isinstance(value, str) else shlex.join(value)


def _start(final: s.Final, base: p.Base) -> tuple[p.Instruction, ...]:
    out: list[p.Instruction] = []
    entrypoint, cmd = final.entrypoint_argv, final.cmd_argv
    if final.shell:
        if not base.has_shell:
            raise SpecPathError(f"`shell: true` needs /bin/sh, which '{base.ref}' does not have",
                                path=("final", "shell"), hint="drop `shell: true` and give the program directly (BP2)")
        # `exec` replaces the shell, so the application is PID 1 and gets SIGTERM (BP2); "$@"
        # passes on the CMD (kept as it is, so `docker run IMAGE ARGS` replaces it), with
        # `sh` as the script's $0
        script = " ".join(part for part in (_shell_script(final.entrypoint), '"$@"') if part)
        entrypoint = ("/bin/sh", "-c", f"exec {script}", "sh")
    why = "exec form: the application is PID 1 and receives SIGTERM"
    if entrypoint:
        out.append(p.Entrypoint(argv=entrypoint, phase=p.Phase.START,
                                origin=p.Origin(("final", "shell" if final.shell else "entrypoint"), ("BP1", "BP2"), why)))
    if cmd:
        out.append(p.Cmd(argv=cmd, phase=p.Phase.START, origin=p.Origin(("final", "cmd"), ("BP2",), why)))
    return tuple(out)


def _refuse_absent_program(final: s.Final, base: p.Base) -> None:
    """The program the final starts must be in it (BP2). On scratch only `final.copy` puts
    files there, and a spec's own `copy:` replaces a template's list: before, the binary's
    copy was dropped without a word, and the image failed at run (exec: not found, 127)."""
    if final.shell:  # the program is the script's; `shell: true` needs a base with a shell anyway
        return
    key, argv, written = (("entrypoint", final.entrypoint_argv, final.entrypoint) if final.entrypoint is not None
                          else ("cmd", final.cmd_argv, final.cmd))
    if not argv:
        return
    missing = missing_program(argv[0], base=base.ref, has_shell=base.has_shell, copies=final.copy_,
                              packages={name for name, _ in _packages(final.packages)})
    if missing is None:
        return
    # at the `copy:` that leaves it out when the spec wrote it (its own list replaced a template's), else at the program
    program = ("final", key, 0) if isinstance(written, list) else ("final", key)
    raise SpecPathError(f"the {key} runs {argv[0]}, but {missing}: the container would fail to start "
                        "(exec: not found)", path=("final", "copy") if final.copy_ else program, or_at=(program,),
                        hint="copy the program there (`final.copy`); a spec's own `copy:` replaces a template's "
                             "list: use `copy+:` to add to the template's list")


def _runtime_steps(final: s.Final) -> list[p.Instruction]:
    at = ("final",)
    out: list[p.Instruction] = []
    if final.workdir:
        out.append(p.Workdir(path=final.workdir, phase=p.Phase.RUNTIME, origin=p.Origin((*at, "workdir"))))
    if final.env:
        out.append(p.Env(items=tuple(final.env.items()), phase=p.Phase.RUNTIME, origin=p.Origin((*at, "env"))))
    if final.ports:
        out.append(p.Expose(ports=tuple(dict.fromkeys(final.ports)), phase=p.Phase.RUNTIME,
                            origin=p.Origin((*at, "ports"), (), "documents the ports; publishing is the runtime's job")))
    if final.healthcheck:
        hc = final.healthcheck
        options = tuple((k.replace("_", "-"), str(v)) for k, v in (
            ("interval", hc.interval), ("timeout", hc.timeout), ("start_period", hc.start_period),
            ("retries", hc.retries)) if v is not None)
        out.append(p.Healthcheck(argv=None if hc.disable else hc.cmd, options=options, phase=p.Phase.RUNTIME,
                                 origin=p.Origin((*at, "healthcheck"), ("BP2",), "exec-form probe: no shell needed")))
    if final.stop_signal:
        out.append(p.StopSignal(signal=final.stop_signal, phase=p.Phase.RUNTIME,
                                origin=p.Origin((*at, "stop_signal"), ("BP2",), "the signal the application stops on")))
    if final.labels:
        out.append(p.Label(items=tuple(sorted(final.labels.items())), phase=p.Phase.METADATA,
                           origin=p.Origin((*at, "labels"))))
    return out


def _identity(spec: s.Spec, final_base: p.Base) -> tuple[tuple[str, str], ...]:
    items = [(contract.LABEL_OCI_TITLE, spec.name), (contract.LABEL_OCI_DESCRIPTION, spec.description),
             (contract.LABEL_OCI_VERSION, spec.version), (contract.LABEL_OCI_SOURCE, spec.source),
             (contract.LABEL_OCI_LICENSES, spec.license)]
    if final_base.ref != "scratch" and not final_base.from_stage:
        # the name only: a digest (a catalog's pinned ref) belongs in base.digest, which the
        # build sets, and the build's own base.name label (pipeline) is written the same way
        parsed = grammar.parse(final_base.ref)
        items.append((contract.LABEL_OCI_BASE_NAME, str(parsed.unpinned())))
    return tuple((k, v) for k, v in items if v)


FETCH_IMAGE = "debian-slim"  # the catalog's smallest image with a package manager


def _fetch_base(catalog: Catalog) -> p.Base | None:
    entry = catalog.entries.get(FETCH_IMAGE)
    if entry is None or not (entry.image.has_shell and entry.image.package_manager):
        return None
    image = entry.image
    return p.Base(image.image, image.family, image.package_manager, image.has_shell, image.user)


def _refuse_base_user_name(user: s.User, base: p.Base) -> None:
    """A base that declares its non-root user (distroless-style: `nonroot`, the name imagespec's
    own bases give it too) has that name already: a user of another uid is made afresh, on a
    base with a shell by groupadd/useradd in the final stage, which fails the build (`group
    'nonroot' already exists`, BP8). A shell-less final gets its passwd whole from the helper
    stage, where the name is free."""
    default = s.User.model_fields["name"].default
    if base.provided_user is not None and base.has_shell and user.uid not in (0, base.provided_user) \
            and user.name == default:
        raise SpecPathError(f"user {user.uid} would be named '{default}', which {base.ref} has already for its own "
                            f"user {base.provided_user}: making it again fails the build", path=("final", "user"),
                            hint=f"name your user (`name: app`), or run as the base's own (`uid: {base.provided_user}`, "
                                 "nothing to create)")


def _refuse_base_ids(user: s.User, base: p.Base) -> None:
    """An apt base (Debian, Ubuntu) has base-passwd's static users and groups: a uid or gid of
    theirs for the app's user fails groupadd/useradd, after the rest of the build (BP8)."""
    gid = user.gid if user.gid is not None else user.uid
    if base.package_manager != "apt" or not base.has_shell or user.uid in (0, base.provided_user):
        return
    taken = debian_id_taken(user.uid, gid)
    if taken is not None:
        raise SpecPathError(f"user {user.uid}: {base.ref} has it already ({taken}, Debian's base-passwd): making "
                            "the user fails the build", path=("final", "user"),
                            hint="choose an ID of your own (the default is 65532; Debian keeps 0-99 and 65534 for "
                                 "its system accounts)" + ("" if taken.startswith("uid") else
                                                           ", or `gid: 0` to join root's group without making one"))


def lower(spec: s.Spec, catalog: Catalog, *, own_files: tuple[str, ...] = (),
          platforms: tuple[str, ...] | None = None) -> p.Plan:
    """`own_files`: the spec, its Dockerfile and ignore file relative to the build
    context, which the .dockerignore keeps out of it. `platforms`: the configuration's
    default when the spec names none (spec.config's `build.platforms`)."""
    _refuse_false_shell_facts(spec, catalog)  # before the spec's own `images:` join it
    catalog = _catalog_with(spec, catalog)
    resolved: dict[str, p.Base] = {}
    stages = {name: _lower_stage(name, stage, _stage_base(name, spec, catalog, resolved), spec)
              for name, stage in spec.stages.items()}
    for name, stage in spec.stages.items():
        for i, item in enumerate(stage.copy_):
            if not isinstance(item, str) and item.src.startswith("/"):
                raise SpecPathError("a source copy takes a path in the build context", path=("stages", name, "copy", i, "src"),
                                    hint=f"name it from the context's top: '{item.src.lstrip('/')}'")
    final = spec.final
    final_base = _base_for("final", final.from_, ("final", "from"), spec, catalog, resolved, ())
    user = final.user or _default_user(final_base.provided_user or s.NONROOT_UID)
    _refuse_base_user_name(user, final_base)
    _refuse_base_ids(user, final_base)
    copies, chmods = _lower_artifacts(spec, stages, final_base)
    for stage_name, runs in chmods.items():
        stages[stage_name] = stages[stage_name].with_instructions(*runs)
    steps = [*_install(final_base, final.packages, ("final", "packages"), ("BP5", "BP6", "BP11")),
             *copies, *_runtime_steps(final), *_start(final, final_base)]
    _refuse_absent_program(final, final_base)  # after the errors above, which say more about such a final
    final_stage = p.Stage(name="final", base=final_base, instructions=tuple(steps), final=True,
                          origin=p.Origin(("final", "from"), ("BP7", "BP10"), "the runtime stage: only what the app needs"))
    runtime = p.Runtime(uid=user.uid, gid=user.gid if user.gid is not None else user.uid, user_name=user.name,
                        root_reason=user.root_reason, writable=tuple(dict.fromkeys(final.writable)),
                        init=final.init, shell_entrypoint=final.shell)
    # the helper stage starts from a root image, never from a build stage: that would
    # tie passwd and the writable directories to the source and rebuild them on every commit (BP4)
    helper = next((st.base for st in stages.values()
                   if not st.base.from_stage and st.base.has_shell and st.base.package_manager), None)
    if helper is None and final_base.has_shell and final_base.package_manager and not final_base.from_stage:
        helper = final_base
    # else the catalog's smallest image with a shell (one download, which no layer of the
    # final holds): a scratch final of a binary built elsewhere still gets its user (BP8)
    helper = helper or _fetch_base(catalog)
    return p.Plan(name=spec.name, stages=(*stages.values(), final_stage), runtime=runtime,
                  features=frozenset(spec.features), identity=_identity(spec, final_base),
                  dockerignore=dockerignore_for(spec, own_files), helper_base=helper,
                  fetch_base=(_fetch_base(catalog) or helper) if final.init else None,
                  secrets=tuple((x.id, x.env, x.target) for x in spec.secrets),
                  platforms=tuple(spec.platforms or platforms or ()))
