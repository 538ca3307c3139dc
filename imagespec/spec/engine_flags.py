"""`build.extra_args`: the engine flags a configuration may add to `docker buildx build`.

They are for how a build runs (its cache, its resources), never for what it builds: the
spec and the catalog decide the base, the Dockerfile, the context and what goes in, and
the OCI labels (BP13) say so. A flag that changes any of those would make the labels lie
(`--build-context debian-slim=docker-image://other` swaps the base while
`org.opencontainers.image.base.name` still names the catalog's), so the flags are an
allow-list, each flag named with the reason it cannot change the image's contents, and
any other flag, a short flag or a bare argument (a second build context) is refused.
"""

from __future__ import annotations

from imagespec.spec.values import InvalidPart

# flag -> whether it takes a value (`--flag V` or `--flag=V`); each: why it is safe
ALLOWED: dict[str, bool] = {
    # BuildKit's cache is keyed by each step's instruction and inputs, so a cache can only
    # give back what these same steps made; where the cache lives is the build machine's
    # business (README: bake's cache-from/cache-to are read from here too)
    "--cache-from": True,
    "--cache-to": True,
    # rebuild instead of using the cache: the same steps, run again
    "--no-cache": False,
    "--no-cache-filter": True,
    # resources of RUN steps, not their inputs
    "--shm-size": True,
    "--ulimit": True,
}

# refused flags whose job imagespec already does: the hint names where to set it
_INSTEAD = {
    "--build-context": "a spec names its bases (`from:`) and the catalog or `images:` repoints them",
    "--file": "imagespec builds the Dockerfile it generates",
    "-f": "imagespec builds the Dockerfile it generates",
    "--target": "imagespec builds the spec's final stage",
    "--build-arg": "build arguments (BUILDKIT_SYNTAX, proxies) change what is built: set values in the spec",
    "--secret": "`build.secrets: {ID: FILE}` for a secret the spec declares, `build.ca_bundle` for the CA bundle",
    "--ssh": "a spec's steps have no SSH agent: declare a secret (`secrets:`) instead",
    "--allow": "imagespec asks for the entitlements its Dockerfile needs (`build.network`)",
    "--network": "`build.network`",
    "--platform": "`platforms:` in the spec or `build.platforms`",
    "--builder": "`build.builder`",
    "--output": "imagespec loads and pushes the image itself (`imagespec build --push`)",
    "-o": "imagespec loads and pushes the image itself (`imagespec build --push`)",
    "--push": "`imagespec build --push`",
    "--load": "imagespec loads the image itself",
    "--tag": "tags come from the spec (`tags:`) and `imagespec build --tag`",
    "-t": "tags come from the spec (`tags:`) and `imagespec build --tag`",
    "--label": "labels come from the spec (`labels:`); imagespec writes the OCI ones (BP13)",
    "--annotation": "imagespec writes the OCI metadata (BP13)",
    "--pull": "the base is the catalog's (or the lock's pin): `imagespec lock` moves it",
}

_HINT = "extra_args may only hold " + ", ".join(ALLOWED) + ", which change how a build runs, not what it builds"


def engine_flags(values: list[str]) -> list[str]:
    """`values` as argv words, each flag one of ALLOWED, with its value where it takes one."""
    index = 0
    while index < len(values):
        word = values[index]
        flag = word.split("=", 1)[0]
        if not word.startswith("-"):
            raise InvalidPart(f"'{word}' is not a flag: `docker buildx build` would read it as a second build "
                              "context", "write each flag as one item (`--cache-from=type=local,src=DIR`), or the "
                              "flag and then its value", at=(index,))
        if flag not in ALLOWED:
            instead = _INSTEAD.get(flag)
            raise InvalidPart(f"'{flag}' may change what is built (its base, Dockerfile, inputs or labels), "
                              "and the image's labels would not say so",
                              f"{instead}; {_HINT}" if instead else _HINT, at=(index,))
        takes_value = ALLOWED[flag]
        if not takes_value and word != flag and word.split("=", 1)[1] not in ("true", "false"):
            raise InvalidPart(f"'{flag}' takes no value", f"write `{flag}`", at=(index,))
        if takes_value and word == flag:
            if index + 1 == len(values):
                raise InvalidPart(f"'{flag}' needs a value", f"write `{flag}=VALUE`", at=(index,))
            index += 1  # its value, whatever it reads like: the engine takes the next word as it
        index += 1
    return values
