"""The .dockerignore: an allow-list when the spec names every input, else a deny-list.

An allow-list keeps secrets, .git and build output out of the context by
construction, and makes the cache key of `COPY . .`-free builds exact (BP4).
Neither lets imagespec's own files in: the spec, the generated Dockerfile and its
ignore file are instructions for the build, never part of the application (BP6).
"""

from __future__ import annotations

import re
from fnmatch import translate

from imagespec.contract import as_pattern
from imagespec.spec import model as s

# What never belongs in a context: VCS data, local environments, build output, editor junk,
# and files that hold credentials (BP15): dotenv files but for their committed templates
# (_TEMPLATES), npm's and PyPI's auth files, netrc, and a user's keys and cloud or registry
# logins left in a project folder (SSH private keys by their default names, `.ssh`, `.aws`,
# docker's config.json, git's stored credentials; QA). A virtualenv under either usual name
# (`venv`, `.venv`) is the host's, built for its interpreter: in an image it brings pip
# (`imagespec test`'s no-build-tools, BP6) and breaks. The `**/` entries apply at any
# depth, and after an allow-list's exceptions too: junk inside a copied folder stays out.
_DENY = (".git", "**/.git", ".imagespec*", "**/__pycache__", "**/*.py[co]", "**/.venv", "**/venv",
         "**/node_modules", "**/.pytest_cache", "**/.mypy_cache", "**/.ruff_cache", "**/.tox",
         "**/.DS_Store", "**/*.swp", ".env", "**/.env", "**/.env.*", "**/.npmrc", "**/.pypirc", "**/.netrc",
         "**/.ssh", "**/.aws", "**/.docker/config.json", "**/.git-credentials", "**/id_rsa", "**/id_dsa",
         "**/id_ecdsa", "**/id_ed25519")
# Dotenv templates hold variable names, not values, and an app may read one at run time
# (dotenv-safe checks the environment against .env.example): let back in after `.env.*`.
# At the top only: an exception that could match at any depth makes BuildKit walk every
# folder kept out (node_modules, .git) looking for it.
_TEMPLATES = ("!.env.example", "!.env.sample", "!.env.template")
_TEMPLATE_NAMES = frozenset(pattern.removeprefix("!") for pattern in _TEMPLATES)
# What imagespec writes and reads beside a spec, whichever spec of the folder it belongs
# to: two specs in one folder keep each other's files out too. Top level only: an
# application's own `templates/Dockerfile.j2` is not one of them.
_GENERATED = ("imagespec*.yaml", "*.imagespec.yaml", "Dockerfile", "Dockerfile.*", "*.Dockerfile",
              ".dockerignore", "*.dockerignore")


def _context_sources(spec: s.Spec) -> list[str]:
    sources: list[str] = []
    for stage in spec.stages.values():
        if stage.dependencies:
            sources += stage.dependencies.copy_
        sources += [item if isinstance(item, str) else item.src for item in stage.copy_]
    sources += [a.src for a in spec.final.copy_ if a.from_ is None]
    return sources


def _normal(path: str) -> str:
    return path.removeprefix("./").rstrip("/") or "."


# the patterns above as one expression (fnmatch's own translation of each): one match per
# file, not one fnmatch call per pattern
_GENERATED_NAME = re.compile("|".join(translate(pattern) for pattern in _GENERATED))


def generated_name(path: str) -> bool:
    """A file imagespec writes or reads beside a spec (the spec, its Dockerfile and ignore
    file), by its path relative to the context: never part of the application (BP6).
    A top-level name only: `*` never crosses a `/` in the engine's matcher."""
    return "/" not in path and _GENERATED_NAME.match(path) is not None


def dockerignore_for(spec: s.Spec, own_files: tuple[str, ...] = ()) -> tuple[str, ...]:
    """`own_files`: the spec, its Dockerfile and ignore file, relative to the context
    (those inside it); named when no general pattern already keeps them out."""
    sources = [_normal(src) for src in _context_sources(spec)]
    extra = tuple(spec.ignore)
    if "." in sources:
        own = tuple(path for path in own_files if not generated_name(path))
        return (*_DENY, *_TEMPLATES, *_GENERATED, *own, *extra)
    allowed = tuple(f"!{as_pattern(src)}" for src in dict.fromkeys(sources))
    # only a copied folder can let one of them in: then it is named after the exceptions
    inside = tuple(path for path in own_files if any(path.startswith(src + "/") for src in sources))
    # a dotenv template the spec names, anywhere, is let in again after `**/.env.*`. Rare,
    # and the only `!` after the deny patterns (context_inputs gives up then). A credential
    # file it names stays out (the COPY fails, BP15): `secrets:` mounts one for a build step.
    named = tuple(f"!{as_pattern(src)}" for src in dict.fromkeys(sources) if src.rpartition("/")[2] in _TEMPLATE_NAMES)
    # `*` then exceptions: only what the spec copies reaches the engine; the deny
    # patterns after the exceptions still drop junk inside an allowed directory.
    return ("*", *allowed, *(d for d in _DENY if d.startswith("**/")), *inside, *named, *extra)


def context_inputs(lines: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """What of the context an allow-list lets into the build, in its own patterns: (those
    a file must match, those it must not), for the revision an image records
    (pipeline.options.revision): a commit of a README the build never sees is no new image.
    None for a deny-list (the whole context goes in) or for lines not in the shape
    ``dockerignore_for`` writes — `*`, the `!` exceptions, then patterns that only leave
    out — since the engine's last-match-wins order is no set of pathspecs then."""
    if not lines or lines[0] != "*":
        return None
    allowed = []
    for line in lines[1:]:
        if not line.startswith("!"):
            break
        allowed.append(line[1:])
    denied = tuple(line.lstrip("/") for line in lines[1 + len(allowed):])
    if any(line.startswith("!") or ".." in line.split("/") for line in (*denied, *allowed)):
        return None
    return tuple(allowed), denied
