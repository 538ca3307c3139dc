"""Which CA variable each download tool reads: the one table behind the CA-bundle
prefix of dependency steps (mount_build_secrets).

Behind a TLS-inspecting proxy the company CA must be trusted *in addition* to the
public roots: a variable that replaces a tool's store with a file holding only the
company CA breaks every connection the proxy does not inspect. So a variable that
replaces the store is pointed at BUNDLE, the system bundle plus the company CA,
built in a tmpfs inside the step (never in a layer); a variable that adds to the
tool's store (node's NODE_EXTRA_CA_CERTS) gets the secret itself.

May import: imagespec.contract (pure data and string functions).
"""

from __future__ import annotations

import shlex
from functools import lru_cache
from typing import NamedTuple

from imagespec.contract import SECRET_PATH

SECRET = SECRET_PATH
TMPFS = "/run/ca"  # a tmpfs mount of the step: what is written there is in no layer
BUNDLE = f"{TMPFS}/bundle.pem"


class Trust(NamedTuple):  # a NamedTuple: cheaper to make than a frozen dataclass (reference.Reference)
    """The CA variables one tool reads."""

    variables: tuple[str, ...]
    adds: bool  # the variable extends the tool's own store: the secret alone is enough


_NODE = Trust(("NODE_EXTRA_CA_CERTS",), adds=True)  # npm, pnpm and yarn run on node's TLS
_OPENSSL = Trust(("SSL_CERT_FILE",), adds=False)  # OpenSSL's default file; Go and uv read it too

#: tool (a command's program name) -> what it reads. One row per tool; an unknown tool
#: gets FALLBACK. Java's tools need a keystore, not a PEM file: not covered here.
TOOLS: dict[str, Trust] = {
    "pip": Trust(("PIP_CERT",), adds=False),  # pip's certifi bundle, replaced
    "pip3": Trust(("PIP_CERT",), adds=False),
    "poetry": Trust(("REQUESTS_CA_BUNDLE",), adds=False),  # requests' certifi bundle, replaced
    "uv": _OPENSSL,  # replaces uv's built-in webpki roots
    "go": _OPENSSL,
    "cargo": Trust(("CARGO_HTTP_CAINFO",), adds=False),
    "git": Trust(("GIT_SSL_CAINFO",), adds=False),
    "curl": Trust(("CURL_CA_BUNDLE",), adds=False),
    **{name: _NODE for name in ("node", "npm", "npx", "pnpm", "yarn", "yarnpkg", "corepack")},
}
FALLBACK = _OPENSSL

#: where each package family keeps the system bundle that BUNDLE starts from
SYSTEM_BUNDLE = {
    "fedora": "/etc/pki/tls/certs/ca-bundle.crt",
    "rhel": "/etc/pki/tls/certs/ca-bundle.crt",
    "centos": "/etc/pki/tls/certs/ca-bundle.crt",
}
DEFAULT_SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # Debian, Ubuntu, Alpine

_OPERATORS = {"&&", "||", ";", "|", "(", ")", "&", "!"}
_WRAPPERS = {"exec", "env", "command", "time", "nice"}
_PYTHONS = ("python", "python3")


@lru_cache(maxsize=512)  # shlex is slow, and a preset's download commands recur in every spec made from it
def tools_of(command: str) -> tuple[str, ...]:
    """The programs a shell command runs (each command position, wrappers skipped;
    `python -m pip` runs pip). Unparsable text runs no tool we know of."""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return ()
    found, at_start = [], True
    for i, word in enumerate(words):
        if word in _OPERATORS:
            at_start = True
            continue
        if not at_start:
            continue
        name = word.rsplit("/", 1)[-1]
        if "=" in word.split("/", 1)[0] or name in _WRAPPERS:  # VAR=value cmd, exec cmd
            continue
        at_start = False
        if name.startswith(_PYTHONS) and words[i + 1:i + 2] == ["-m"] and len(words) > i + 2:
            name = words[i + 2]
        found.append(name)
    return tuple(found)


@lru_cache(maxsize=512)  # a pure function of the commands, which recur as tools_of's do
def variables_for(commands: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(variable, file) for the tools the commands run, in table order; FALLBACK when
    none is known (a downloading step that runs, say, `make deps`)."""
    named = {tool for command in commands for tool in tools_of(command)}
    rows = [trust for tool, trust in TOOLS.items() if tool in named] or [FALLBACK]
    pairs = {name: SECRET if trust.adds else BUNDLE for trust in rows for name in trust.variables}
    return tuple(pairs.items())


def system_bundle(family: str) -> str:
    return SYSTEM_BUNDLE.get(family, DEFAULT_SYSTEM_BUNDLE)
