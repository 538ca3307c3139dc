"""The names several parts must agree on, in one place: what a generated Dockerfile,
the build, the base images and `imagespec test` all read the same way (a secret's id,
label names, where an image keeps its SBOM, the generated-file header, how BuildKit
reads an instruction's arguments).

Changing a value here changes what images built earlier are read as: labels and paths
are part of the images imagespec has already made.

May import: nothing of imagespec (the bottom layer; pure: no disk, clock or environment).
"""

from __future__ import annotations

import json

# The CA bundle, passed to every build as a BuildKit secret (settings: --ca-bundle) and
# mounted into download steps (plan/passes/mount_build_secrets.py, plan/ca_trust.py).
SECRET_ID = "ca-bundle"
SECRET_PATH = f"/run/secrets/{SECRET_ID}"

#: The set-user-ID and set-group-ID bits of a file's mode: a file with either runs as its
#: owner (group), root's by default, whatever USER the image names (BP8). A spec's modes
#: may not set them (spec.values.mode); `imagespec test`'s `no-setuid` finds them in the
#: image however they got there (verify.checks, verify.files).
PRIVILEGE_BITS = 0o6000

# Labels an app image carries: the directories its read-only root needs writable (BP9),
# read by deploy manifests and `imagespec test IMAGE`.
LABEL_WRITABLE = "io.imagespec.writable"
# Its directories are joined by commas (every image built so far reads so); a writable
# directory's path holds none (spec.values.writable_dir), so the list reads back whole.
WRITABLE_SEPARATOR = ","


def writable_label(directories: tuple[str, ...] | list[str]) -> str:
    return WRITABLE_SEPARATOR.join(directories)


def writable_directories(label: str | None) -> tuple[str, ...]:
    return tuple(d for d in (label or "").split(WRITABLE_SEPARATOR) if d)

# OCI labels that publish.tags writes (its OCI prefix + key) and other parts read back:
# the SBOM of an image imagespec did not build (sbom.store), and which of two versions of
# one image in a fleet is the newer (fleet.model).
OCI_PREFIX = "org.opencontainers.image."
LABEL_OCI_TITLE = OCI_PREFIX + "title"
LABEL_OCI_DESCRIPTION = OCI_PREFIX + "description"
LABEL_OCI_VERSION = OCI_PREFIX + "version"
LABEL_OCI_SOURCE = OCI_PREFIX + "source"
LABEL_OCI_LICENSES = OCI_PREFIX + "licenses"
#: the base image's reference (BP13): `imagespec test` reads the ports it exposes, which
#: an image built on it inherits and cannot un-expose
LABEL_OCI_BASE_NAME = OCI_PREFIX + "base.name"

# The labels imagespec sets itself, and what sets each: the spec's field (the compiler
# writes it into the Dockerfile) or the build (`--label`, which wins over the Dockerfile's).
# A spec's own `labels:` may set none of them (spec.values.spec_label_key): its value would
# silently differ from the image's, and `imagespec test` reads the io.imagespec ones.
DERIVED_LABELS = {
    LABEL_OCI_TITLE: "`name:`",
    LABEL_OCI_DESCRIPTION: "`description:`",
    LABEL_OCI_VERSION: "`version:`",
    LABEL_OCI_SOURCE: "`source:`",
    LABEL_OCI_LICENSES: "`license:`",
    LABEL_OCI_BASE_NAME: "`final.from`",
    OCI_PREFIX + "base.digest": "the base's digest, which `imagespec build` reads from the catalog or the lock",
    OCI_PREFIX + "revision": "the git commit, which `imagespec build` reads",
    OCI_PREFIX + "created": "the build time (SOURCE_DATE_EPOCH), which `imagespec build` reads",
}
#: every label under it is imagespec's own (the ones below, and any a later version adds)
IMAGESPEC_LABEL_PREFIX = "io.imagespec."


def imagespecs_own_label(key: str) -> bool:
    """A label imagespec sets itself: none a spec's `labels:` may write (spec.values), and
    none `imagespec import` carries into them (adopt.import_labels)."""
    return key in DERIVED_LABELS or key.startswith(IMAGESPEC_LABEL_PREFIX)

# Provenance every image imagespec builds carries beside the OCI labels (base digest,
# revision): the spec's input hash (its lock's pins included) and imagespec's version.
# `imagespec test` checks them; `imagespec build` compares them to skip a rebuild that
# would change nothing (imagespec/lock/).
LABEL_INPUTS_HASH = "io.imagespec.inputs"
LABEL_IMAGESPEC_VERSION = "io.imagespec.version"

# Labels a base image carries (imagespec/bases/): which base, from which inputs, on which
# image the SBOM layer was added, its SOURCE_DATE_EPOCH, and where its SBOM is (BP15, BP16).
LABEL_BASE = "io.imagespec.base"
LABEL_INPUTS = "io.imagespec.base.inputs"
LABEL_BUILT = "io.imagespec.base.built"
LABEL_EPOCH = "io.imagespec.source-date-epoch"
LABEL_SBOM = "io.imagespec.sbom"
SBOM_DIR = "/usr/share/imagespec/sbom"
#: Labels that describe one image alone and that imagespec writes on the images it makes
#: (a base, a company base spec's image): an image built FROM one inherits them, so a build
#: blanks each one it does not set itself, else an app would claim its base's description,
#: licence, revision or base digest, or to be a base (pipeline.options._labels). Docker has
#: no way to remove an inherited label; an empty one is its "unset".
IMAGE_OWN_LABELS = (*sorted(DERIVED_LABELS), LABEL_BASE, LABEL_INPUTS, LABEL_BUILT, LABEL_EPOCH)
# Labels of an app image's SBOM layer (pipeline.sbom_layer): the ID of the image the SBOM
# was made on (the build's output under the layer), and a hash of that image as built
# (all but its `created` label) and of everything else the document depends on (format,
# SOURCE_DATE_EPOCH, the described app, the scanners' version, the context's Cargo.lock,
# the build-stage images read). A rebuild whose output hashes the same keeps the layered
# image under its tags: no scan, no layer build (#14).
LABEL_SBOM_IMAGE = "io.imagespec.sbom.image"
LABEL_SBOM_KEY = "io.imagespec.sbom.key"

# The network RUN steps get unless configured (`build.network`): engines without a bridge
# (and corporate set-ups) fail the first RUN otherwise. The settings, the engine's options
# and the base builds all default to it.
DEFAULT_NETWORK = "host"

# The PATH of Debian's images (Alpine's and distroless's too), and the one the engine gives a
# container whose image sets none (runc's default): lint's IS016 hint, where `imagespec test`
# looks a program up, and what `imagespec import` writes for a base's `$PATH` (a guess, said).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The first words of every file imagespec generates: a file without them was written by
# hand and is replaced only with --force.
GENERATED_MARK = "# Generated by imagespec"


def reads_as_json_array(text: str) -> bool:
    """BuildKit's parseMaybeJSON (RUN, COPY, CMD, ...): an instruction's rest starting
    with `[` whose first JSON value decodes is the exec/JSON form, whatever follows it
    (Go's json.Decoder reads one value): `RUN ["id"] && make` runs `id` alone. The spec's
    validation and render's serializers must agree on it, so it lives below both."""
    rest = text.lstrip()
    if not rest.startswith("["):
        return False
    try:
        json.JSONDecoder().raw_decode(rest)
    except ValueError:
        return False
    return True


# A spec's paths know two wildcards, `*` and `?` (README, "copy"); BuildKit matches COPY
# sources and ignore-file lines with Go's filepath.Match, which also reads `[…]` as a
# character class: `data[1].txt` would copy data1.txt. So a `[` is written `[[]` (a class
# holding `[` alone), which matches the name itself, on every BuildKit since Engine 20.10.
WILDCARDS = frozenset("*?")


def as_pattern(path: str) -> str:
    """A spec's path (its wildcards `*` and `?` kept) as BuildKit's matcher must see it."""
    return path.replace("[", "[[]")


def writable_tmpfs(user: str | None) -> str:
    """The options of the tmpfs on a writable directory (BP9) for a container running as
    ``user`` (a USER value: `65532:65532`, `65532`, a name, None): the engine mounts a
    tmpfs as root's, mode 0755, whatever the image's directory, so the app could not
    write there. A numeric user owns it; for a name (not known here) it is open to all
    with the sticky bit, as /tmp is."""
    uid, _, gid = (user or "").partition(":")
    if uid.isdigit() and (gid.isdigit() or not gid):
        return f"uid={uid},gid={gid or uid}"
    return "mode=1777"


# The shells an image may start its program through: `imagespec test` fails a `SHELL -c`
# start that the spec did not declare (`shell: true`), and lint says so before a build (BP2).
SHELLS = frozenset({"sh", "bash", "rbash", "dash", "ash", "zsh", "ksh", "ksh93", "mksh", "lksh", "posh", "yash",
                    "csh", "tcsh", "fish", "busybox"})  # rbash: Debian's link to bash (QA), copied as the file
#: Where an executable would be found on PATH: a shell elsewhere is not a usable shell.
#: `imagespec test` looks for SHELLS there in a shell-less final (BP6); a copy there is refused.
BIN_DIRS = frozenset({"bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "usr/local/sbin"})


def is_shell_path(path: str) -> bool:
    """Whether an absolute path is a shell on PATH (`/bin/sh`, `/usr/local/bin/bash`)."""
    folder, name = path.strip("/").rpartition("/")[::2]
    return folder in BIN_DIRS and name in SHELLS


#: What a copy's source may name to take a shell out of an image that has one: a shell on
#: PATH, a folder of BIN_DIRS, or a folder above one (`/`, `/usr`, `/usr/local`).
_HOLDS_SHELLS = frozenset({
    *BIN_DIRS, *(f"{folder}/{shell}" for folder in BIN_DIRS for shell in SHELLS),
    *(folder.rpartition("/")[0] for folder in BIN_DIRS), "usr/local", "",
})


def copies_shells(source: str) -> bool:
    """Whether an absolute source path of a copy from an image with a shell (its wildcards
    `*` and `?` read as matching any characters, `/` too: wider than BuildKit, never
    narrower) takes a shell along, whatever the copy's destination calls it: `/usr/bin/dash`,
    `/bin/`, `/usr/bin/*`, `/usr`, `/`."""
    import fnmatch
    import posixpath

    pattern = posixpath.normpath("/" + source).strip("/")
    return any(fnmatch.fnmatchcase(path, pattern) for path in _HOLDS_SHELLS)


def starts_a_shell(argv: tuple[str, ...] | list[str]) -> bool:
    """An ENTRYPOINT (or CMD) of the form `SHELL -c SCRIPT …`: the shell is PID 1."""
    return len(argv) >= 2 and argv[0].rsplit("/", 1)[-1] in SHELLS and argv[1] == "-c"
