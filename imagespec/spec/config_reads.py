"""The machine files a found configuration hands to a build: `build.secrets` and
`build.ca_bundle`.

A `.imagespec.yaml` found beside the specs is the repository's, and a pull request can
change it. A build mounts the files it names, and a step of that same pull request's spec
can print what it mounts into a public log: `secrets: {token: /root/.ssh/id_ed25519}`
would hand any file of the CI machine to the build. So a found file names secret files
only inside its own repository (the git root; outside git, its folder), links followed,
as it names catalog files (spec.config); the machine's own files are given by whoever
runs imagespec (`--secret`, `--ca-bundle`, `$IMAGESPEC_CA_BUNDLE`, or a configuration
named by `--config` or `$IMAGESPEC_CONFIG`).

A CA bundle is the one machine file a company's configuration has every reason to name
(`/etc/ssl/certs/ca-certificates.crt`, for the TLS-inspecting proxy) and nothing to
hide: certificates are public. Outside the repository it is taken when it holds
certificates and no other PEM block (a private key beside them, a combined cert+key file)
and at least one certificate (an SSH key, a token or /etc/shadow has none). A bundle not
on this machine is left to the build, which says so; `generate` does not need it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from imagespec.errors import SpecError
from imagespec.spec import files
from imagespec.spec.repository import outside, repository_root

if TYPE_CHECKING:  # pragma: no cover  # annotations only, as in spec.config
    from imagespec.spec.config_file import BuildSection
    from imagespec.spec.yaml_source import Document

#: a PEM block's first line (RFC 7468): its label says what it holds
_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,64})-----")
CERTIFICATE = "CERTIFICATE"
#: a bundle larger than this is no CA bundle (Debian's holds ~150 certificates in 220 KB)
BUNDLE_LIMIT = 16 * 1024 * 1024
MACHINE_HINT = ("a found .imagespec.yaml belongs to the repository, and a pull request can change it: "
                "give the machine's file on the command line ({flag}), or name a configuration with "
                "--config or IMAGESPEC_CONFIG")


def refuse_machine_reads(config: Path, document: Document, build: BuildSection) -> None:
    """Exit 2 at the value when a found configuration hands a build a file from outside
    its repository that may hold more than certificates (see the module's text)."""
    root = repository_root(files.resolve(config.parent))
    for secret_id, written in sorted(build.secrets.items()):
        real = _outside(written, root)
        if real is not None:
            raise SpecError(f"build.secrets.{secret_id}: {written} is outside the configuration's repository "
                            f"({root}){_via(written, real)}: not handed to the build",
                            location=document.value_origin(("build", "secrets", secret_id)),
                            hint=MACHINE_HINT.format(flag=f"`--secret id={secret_id},src=FILE`"))
    if build.ca_bundle:
        real = _outside(build.ca_bundle, root)
        problem = None if real is None or not files.is_file(real) else _not_certificates(real)
        if problem:
            raise SpecError(f"build.ca_bundle: {build.ca_bundle} is outside the configuration's repository "
                            f"and {problem}: not handed to the build",
                            location=document.value_origin(("build", "ca_bundle")),
                            hint="outside the repository, a found configuration may name a CA bundle that holds "
                                 "certificates and nothing else (/etc/ssl/certs/ca-certificates.crt); "
                                 + MACHINE_HINT.format(flag="`--ca-bundle FILE` or IMAGESPEC_CA_BUNDLE"))


def _outside(written: str, root: Path) -> Path | None:
    """Where a path of the file really is, when that is outside `root`. Paths in a
    configuration are taken as written, relative to the working directory (build_settings)."""
    try:
        return outside(Path(written), root)
    except files.LinkLoop:
        return None  # no file can be read through it: the build says so at the secret


def _via(written: str, real: Path) -> str:
    """Where the path leads, when the message's path does not say it: through a link, or
    from the working directory (which a relative path is read from, not the file's folder)."""
    as_written = os.path.normpath(os.path.join(files.working_directory(), written))
    if as_written != str(real):
        return f" (a link to {real})"
    return "" if os.path.isabs(written) else f" (read from the working directory: {real})"


def _not_certificates(path: Path) -> str | None:
    """What is wrong with `path` as a CA bundle: None when its PEM blocks are certificates
    and there is at least one."""
    if not files.size(path):  # empty, or the kernel's (/proc/kmsg), whose read would wait
        return "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
    try:
        data = files.read_bytes(path, limit=BUNDLE_LIMIT)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if len(data) > BUNDLE_LIMIT:
        return f"is over {BUNDLE_LIMIT // 1024 // 1024} MiB, no CA bundle"
    labels = {match.group(1).decode() for match in _BEGIN.finditer(data)}
    others = sorted(labels - {CERTIFICATE})
    if others:
        return f"holds a '{others[0]}' PEM block, not only certificates"
    if not labels:
        return "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
    return None
