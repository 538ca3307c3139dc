"""The .dockerignore: an allow-list when the spec names every input, else a deny-list.

An allow-list keeps secrets, .git and build output out of the context by
construction, and makes the cache key of `COPY . .`-free builds exact (BP4).
"""

from __future__ import annotations

from imagespec.spec import model as s

# What never belongs in a context: VCS data, local environments, build output, editor junk.
_DENY = (".git", "**/.git", ".imagespec*", "**/__pycache__", "**/*.py[co]", "**/.venv", "**/node_modules",
         "**/.DS_Store", "**/*.swp", ".env", "**/.env")


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


def dockerignore_for(spec: s.Spec) -> tuple[str, ...]:
    sources = [_normal(src) for src in _context_sources(spec)]
    extra = tuple(spec.ignore)
    if "." in sources:
        return (*_DENY, spec.dockerfile, ".dockerignore", *extra)
    allowed = tuple(f"!{src}" for src in dict.fromkeys(sources))
    # `*` then exceptions: only what the spec copies reaches the engine; the deny
    # patterns after the exceptions still drop junk inside an allowed directory.
    return ("*", *allowed, *(d for d in _DENY if d.startswith("**/")), *extra)
