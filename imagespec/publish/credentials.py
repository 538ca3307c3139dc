"""Registry credentials as the docker client keeps them: the user's usual `docker login`.

Role: read ``config.json`` from ``$DOCKER_CONFIG`` (else ``~/.docker``) and answer "which
user name and secret for this registry host": ``credHelpers[host]`` first, then the
``credsStore`` for every host, then the ``auths[host].auth`` base64 pair, as the docker
CLI does (cli/config/configfile). A helper is the program ``docker-credential-NAME``; it
is given the host on stdin for ``get`` and answers ``{"Username", "Secret"}``.

Nothing here is cached across processes, and no secret is ever put in a message.

May import: the standard library and ``imagespec.errors``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from imagespec.errors import SpecError

#: how Docker Hub's entry is keyed in config.json (the v1 index URL, for history's sake)
HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")
_HELPER_TIMEOUT = 30.0


@dataclass(frozen=True)
class Credentials:
    username: str
    secret: str  # a password, a personal access token, or an identity token

    def __repr__(self) -> str:  # never shown in a traceback or a log
        return f"Credentials(username={self.username!r}, secret=***)"


def config_file(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    folder = env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return Path(folder) / "config.json"


def _host_keys(host: str) -> tuple[str, ...]:
    """The keys config.json may use for ``host``: bare, with a scheme, or Hub's aliases."""
    if host in HUB_KEYS:
        return HUB_KEYS
    return (host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/")


def _read_config(path: Path) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise SpecError(f"cannot read the docker client configuration {path}: {error.strerror}",
                        hint="fix its permissions, or point DOCKER_CONFIG at another folder") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise SpecError(f"the docker client configuration {path} is not JSON: {error}",
                        hint="`docker login` rewrites it; or point DOCKER_CONFIG at another folder") from None
    return data if isinstance(data, dict) else {}


def for_host(host: str, environ: Mapping[str, str] | None = None) -> Credentials | None:
    """The credentials the docker client would send to ``host``, or None (anonymous)."""
    path = config_file(environ)
    config = _read_config(path)
    keys = _host_keys(host)
    helpers = config.get("credHelpers") if isinstance(config.get("credHelpers"), dict) else {}
    for key in keys:
        if isinstance(helpers, dict) and isinstance(helpers.get(key), str):
            return _from_helper(str(helpers[key]), key)
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        found = _from_helper(store, keys[0])
        if found is not None:
            return found
    auths = config.get("auths") if isinstance(config.get("auths"), dict) else {}
    for key in keys:
        entry = auths.get(key) if isinstance(auths, dict) else None
        if isinstance(entry, dict):
            return _from_auth_entry(entry, path, key)
    return None


def _from_auth_entry(entry: dict[str, object], path: Path, key: str) -> Credentials | None:
    token = entry.get("identitytoken")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            user, colon, secret = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise SpecError(f"{path}: auths.{key}.auth is not base64 of user:password",
                            hint=f"run `docker login {key}` again") from None
        if not colon:
            raise SpecError(f"{path}: auths.{key}.auth holds no ':' between user and password",
                            hint=f"run `docker login {key}` again")
        if isinstance(token, str) and token:
            return Credentials("<token>", token)
        return Credentials(user, secret)
    if isinstance(token, str) and token:
        return Credentials("<token>", token)
    return None


def _from_helper(name: str, host: str) -> Credentials | None:
    """``docker-credential-NAME get`` with the host on stdin; "not found" is anonymous."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):  # a name on PATH, never a path to run
        raise SpecError(f"the docker client configuration names the credential helper {name!r}, which is not a "
                        "helper's name", hint="credsStore/credHelpers take a name such as `pass` or `ecr-login`")
    program = f"docker-credential-{name}"
    try:
        done = subprocess.run([program, "get"], input=host, capture_output=True, text=True,
                              timeout=_HELPER_TIMEOUT, check=False)
    except FileNotFoundError:
        raise SpecError(f"the docker client configuration names the credential helper {name!r}, "
                        f"but {program} is not on PATH",
                        hint=f"install {program}, or remove it from credsStore/credHelpers") from None
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SpecError(f"the credential helper {program} failed: {error}",
                        hint=f"run `echo {host} | {program} get` to see why") from None
    if done.returncode != 0:
        if "credentials not found" in (done.stdout + done.stderr).lower():
            return None
        raise SpecError(f"the credential helper {program} failed for {host} (exit {done.returncode})",
                        hint=f"run `echo {host} | {program} get` to see why")
    try:
        answer = json.loads(done.stdout)
        return Credentials(str(answer["Username"]), str(answer["Secret"]))
    except (ValueError, KeyError, TypeError):
        raise SpecError(f"the credential helper {program} answered something other than "
                        "{\"Username\", \"Secret\"}", hint=f"run `echo {host} | {program} get`") from None


__all__ = ["Credentials", "config_file", "for_host"]
