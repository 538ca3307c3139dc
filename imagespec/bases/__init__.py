"""`imagespec base build`: a company's standard base images from distribution
packages, in dependency order, tagged, optionally pushed, and written to a catalog
that app specs resolve against (BP12-BP16).

Sits beside the pipeline: it joins the spec and compiler (base specs, generated
Dockerfiles) to the engine (imagespec.engine).

May import: both halves, imagespec.settings and imagespec.pipeline (the top layer).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from imagespec import reference as grammar
from imagespec.bases.from_mirror import build_bootstrap
from imagespec.bases.built import build_distroless, build_spec
from imagespec.bases.catalog_file import entry_for, write_catalog
from imagespec.bases.context import BaseBuildRun, BaseOptions, find_image
from imagespec.bases.order import build_order
from imagespec.engine.client import remove_image
from imagespec.errors import SpecError
from imagespec.spec.read_base import LoadedBase, load_base
from imagespec.spec.catalog import catalog_file_entries
from imagespec.spec.config import Config
from imagespec.spec.yaml_source import read_yaml
from imagespec.spec.model import Image

# each builds the base for the machine, or one platform's image of it under its own tag
_BUILDERS = {"bootstrap": build_bootstrap, "distroless": build_distroless, "spec": build_spec}
# what runs the target's programs in each kind's build (said when they cannot run here)
_WHAT_RUNS = {"bootstrap": "the packages' maintainer scripts", "distroless": "its `verify` commands",
              "spec": "its RUN steps"}


@dataclass(frozen=True)
class BuiltBase:
    name: str
    kind: str
    reference: str  # what the catalog names: the tag, or tag@digest once pushed
    image_id: str
    built: bool  # False: up to date, nothing done
    seconds: float
    size: int
    entry: Image

    def to_dict(self) -> dict[str, object]:
        return {"base": self.name, "kind": self.kind, "image": self.reference, "id": self.image_id,
                "status": "built" if self.built else "up to date", "seconds": round(self.seconds, 1),
                "size_bytes": self.size}


def load_bases(paths: Sequence[Path], config: Config) -> list[LoadedBase]:
    return build_order([load_base(path, config) for path in paths], config.catalog)


def build_bases(paths: Sequence[Path], config: Config, options: BaseOptions, *, catalog_path: Path | None = None,
                on_status: Callable[[str], None] = lambda _: None) -> list[BuiltBase]:
    """Build every base in `paths` (after the ones it needs); the catalog file is
    written once all of them succeeded, so it never names a base that failed."""
    from imagespec.engine.client import connect
    from imagespec.pipeline.push_rules import dirty_push_warning

    ordered = load_bases(paths, config)
    for loaded in ordered:
        _check_platforms(loaded, options)
        if options.push:
            _check_pushable(loaded, config)
    if options.push:  # said once per checkout, not once per base in it
        for warning in dict.fromkeys(filter(None, (dirty_push_warning(loaded.path.parent) for loaded in ordered))):
            on_status(warning)
    connect().close()  # no engine: say so in 2 s, not after a minute of mmdebstrap
    results = []
    with tempfile.TemporaryDirectory(prefix="imagespec-bases.", dir="/var/tmp") as work:
        run = BaseBuildRun(config, options, Path(work), on_status=on_status)
        for loaded in ordered:
            on_status(f"{loaded.name}: {loaded.base.kind} -> {loaded.base.image}")
            results.append(_build_one(loaded, run))
    if catalog_path is not None:
        entries = _existing(catalog_path) | {r.name: r.entry for r in results}
        write_catalog(catalog_path, entries, sources=", ".join(sorted({str(p.parent) for p in paths})))
    return results


def _check_platforms(loaded: LoadedBase, options: BaseOptions) -> None:
    """Several platforms make an index, which only a registry holds, and a base whose build
    runs the target's programs needs them to run here: checked before any base is built."""
    from imagespec.engine.emulation import SETUP_HINT, emulation_problem

    if len(loaded.base.platforms) > 1 and not options.push:
        raise SpecError(f"{loaded.name}: a base for {len(loaded.base.platforms)} platforms is one index, which the "
                        "engine's image store cannot hold: it is pushed to `image`'s registry or not made",
                        location=loaded.document.location(("platforms",)),
                        hint="pass --push (and a registry in `image:`), or drop `platforms:` to build it for this machine")
    if not loaded.base.runs_target_programs:
        return
    for index, platform in enumerate(loaded.base.platforms):
        if problem := emulation_problem(platform):
            raise SpecError(f"{loaded.name}: a {loaded.base.kind} base runs {platform} programs while it is built "
                            f"({_WHAT_RUNS[loaded.base.kind]}), but {problem}",
                            location=loaded.document.location(("platforms", index)), hint=SETUP_HINT)


def _check_pushable(loaded: LoadedBase, config: Config) -> None:
    """--push needs a registry in every reference: never push to Docker Hub by accident;
    and the configuration's push rules hold (pipeline.push_rules: `push_registries`,
    `clean_push`), as for an app's image."""
    from imagespec.compiler import configured_policies
    from imagespec.pipeline.push_rules import refuse_base_destination, refuse_unclean

    where = loaded.document.location(("image",))
    if not grammar.parse(loaded.base.image).domain:
        raise SpecError(f"--push: '{loaded.base.image}' names no registry to push to", location=where,
                        hint="write the registry into the reference, e.g. registry.example.com/base/debian:bookworm-slim")
    rules = configured_policies(config)
    refuse_base_destination(rules, loaded.base.image, where.of_value() if where else None)
    refuse_unclean(loaded.path.parent, rules, where)


def _build_one(loaded: LoadedBase, run: BaseBuildRun) -> BuiltBase:
    from imagespec.publish import push_tags

    if len(loaded.base.platforms) > 1:
        return _build_platforms(loaded, run)
    began = time.monotonic()
    previous = _previous_id(loaded.base.image)
    # one platform alone (`platforms: [linux/arm64]`) is an ordinary base of that platform
    image_id, built = _BUILDERS[loaded.base.kind](loaded, run, *loaded.base.platforms)
    seconds = time.monotonic() - began
    _drop_if_untagged(previous, image_id)
    reference, digest = loaded.base.image, image_id
    if run.options.push:
        pushed = push_tags((reference,), on_status=run.on_status)
        digest = pushed.get(reference, digest)
        reference = f"{reference}@{digest}" if digest != image_id else reference
    entry = entry_for(loaded, run.catalog, reference=reference, digest=digest)
    run.add(loaded, entry)
    found = find_image(image_id)
    size = int(found.attrs.get("Size") or 0) if found is not None else 0
    return BuiltBase(loaded.name, loaded.base.kind, reference, image_id, built, seconds, size, entry)


def _build_platforms(loaded: LoadedBase, run: BaseBuildRun) -> BuiltBase:
    """A base for several platforms: each platform's image under its own tag
    (``IMAGE-os-arch``: a bootstrap root of that architecture, a spec built FROM its
    parent's index, a distroless root of that platform's packages), all pushed once every
    platform has built, then one index under ``image``; the catalog names the index by
    digest, so FROM picks each build's platform from it."""
    from imagespec.publish import push_tags
    from imagespec.publish.index import PlatformImage, create_index, platform_tag

    began = time.monotonic()
    tags = {platform: platform_tag(loaded.base.image, platform) for platform in loaded.base.platforms}
    previous = {platform: _previous_id(tag) for platform, tag in tags.items()}
    made = _each_platform(loaded, run, tags)
    built = [PlatformImage(platform, made[platform][0], tag) for platform, tag in tags.items()]
    changed = any(fresh for _, fresh in made.values())
    for image in built:
        _drop_if_untagged(previous[image.platform], image.image_id)
    digests = push_tags([image.tag for image in built], force=True, on_status=run.on_status)
    members = [PlatformImage(i.platform, i.image_id, i.tag, digests[i.tag]) for i in built]
    index = create_index([loaded.base.image], members, on_status=run.on_status)
    reference = f"{loaded.base.image}@{index.digest}"
    entry = entry_for(loaded, run.catalog, reference=reference, digest=index.digest)
    run.add(loaded, entry)
    found = find_image(built[0].image_id)
    size = int(found.attrs.get("Size") or 0) if found is not None else 0
    return BuiltBase(loaded.name, loaded.base.kind, reference, built[0].image_id, changed,
                     time.monotonic() - began, size, entry)


def _each_platform(loaded: LoadedBase, run: BaseBuildRun, tags: dict[str, str]) -> dict[str, tuple[str, bool]]:
    """Each platform's (image ID, built now). mmdebstrap runs outside the engine, and a
    foreign root keeps about one CPU busy with QEMU: bootstrap roots are made side by side
    (the machine's own is done while the emulated one's scripts run). Builds through
    BuildKit run one after the other, so that each one's progress stays readable."""
    from concurrent.futures import ThreadPoolExecutor

    def build(platform: str) -> tuple[str, bool]:
        run.on_status(f"{loaded.name}: {platform} -> {tags[platform]}")
        return _BUILDERS[loaded.base.kind](loaded, run, platform, tags[platform])

    if loaded.base.kind != "bootstrap":
        return {platform: build(platform) for platform in tags}
    with ThreadPoolExecutor(max_workers=len(tags), thread_name_prefix="imagespec-bootstrap") as pool:
        running = {platform: pool.submit(build, platform) for platform in tags}
        return {platform: future.result() for platform, future in running.items()}


def dockerfile_of(path: Path, config: Config) -> str:
    """The Dockerfile a `distroless` or `spec` base is built from (for review)."""
    from imagespec.bases.built import distroless_dockerfile
    from imagespec.compiler import compile_spec

    loaded = load_base(path, config)
    if loaded.base.distroless:
        return distroless_dockerfile(loaded, BaseBuildRun(config, BaseOptions(), Path(tempfile.gettempdir())))
    if loaded.base.spec:
        return compile_spec(loaded.app_spec(), config, source=path.name).dockerfile
    raise SpecError("a `bootstrap` base has no Dockerfile: mmdebstrap makes its root",
                    location=loaded.document.location(("bootstrap",)))


def _previous_id(reference: str) -> str | None:
    image = find_image(reference)
    return image.id if image is not None else None


def _drop_if_untagged(image_id: str | None, current: str) -> None:
    """The image a rebuild replaced, once nothing tags it: ours, so ours to remove."""
    if image_id is not None and image_id != current:
        remove_image(image_id, only_untagged=True)


def _existing(path: Path) -> dict[str, Image]:
    """Entries of a catalog written before: building some bases keeps the others."""
    if not path.is_file():
        return {}
    return {name: entry.image for name, entry in catalog_file_entries(read_yaml(path)).items()}


__all__ = ["BaseOptions", "BuiltBase", "build_bases", "dockerfile_of", "load_bases"]
