"""Pushing to the local registry (127.0.0.1:5000): X.Y.Z never moves unless forced (BP14)."""

from __future__ import annotations

import json
import secrets
import urllib.request
from pathlib import Path

import pytest

from tests import tools
from tests.images.support import PREFIX, RUN_ID, Cleanup
from imagespec.engine import BuildOptions
from imagespec.publish import push_tags
from imagespec.engine.buildkit_cli import BuildKitCLIBackend
from imagespec.publish.registry import lookup
from imagespec.contract import LABEL_OCI_VERSION
from imagespec.errors import EngineError, TagConflict

pytestmark = pytest.mark.engine

REGISTRY = "127.0.0.1:5000"


@pytest.fixture(autouse=True)
def _registry() -> None:
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=2).close()
    except OSError as error:
        tools.unavailable(f"no registry on {REGISTRY} ({error}); scripts/start-registry.sh starts one")


def build(client, tmp_path: Path, content: str, tags: tuple[str, ...], version: str | None = None) -> str:  # type: ignore[no-untyped-def]
    context = tmp_path / content
    context.mkdir()
    (context / "payload.txt").write_text(content)
    dockerfile = "FROM scratch\nCOPY payload.txt /payload.txt\n"
    labels = {LABEL_OCI_VERSION: version} if version else {}
    return BuildKitCLIBackend(client).build(dockerfile, context, BuildOptions(tags=tags, labels=labels)).image_id


def tags_list(name: str) -> list[str]:
    with urllib.request.urlopen(f"http://{REGISTRY}/v2/{name}/tags/list", timeout=5) as response:
        return sorted(json.load(response)["tags"])


def test_immutable_version_tag_is_never_moved_silently(client, cleanup: Cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    name = f"{REGISTRY}/{PREFIX}/push-{RUN_ID}-{secrets.token_hex(3)}"
    exact, moving = cleanup.image(f"{name}:1.0.0"), cleanup.image(f"{name}:1.0")
    first_id = cleanup.image_id(build(client, tmp_path, "first", (exact, moving)))
    first = push_tags([exact, moving], client=client)
    assert set(first) == {exact, moving} and first[exact] == first[moving] and first[exact].startswith("sha256:")
    assert tags_list(name.split("/", 1)[1]) == ["1.0", "1.0.0"]
    remote = lookup(name, "1.0.0")
    assert remote is not None and remote.digest == first[exact] and first_id in remote.config_digests
    assert push_tags([exact], client=client) == {exact: first[exact]}  # same image again: fine

    second_id = cleanup.image_id(build(client, tmp_path, "second", (exact, moving)))
    assert second_id != first_id
    with pytest.raises(TagConflict) as info:
        push_tags([moving, exact], client=client)
    message = str(info.value)
    assert first[exact] in message and second_id in message and "BP14" in message
    assert info.value.exit_code == 1
    assert lookup(name, "1.0").digest == first[moving]  # type: ignore[union-attr]  # nothing pushed

    moved = push_tags([moving], client=client)  # moving tags move
    assert moved[moving] != first[moving]
    forced = push_tags([exact], client=client, force=True)
    assert forced[exact] == moved[moving] == lookup(name, "1.0.0").digest  # type: ignore[union-attr]


def test_a_moving_tag_never_goes_back_to_an_older_version(client, cleanup: Cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Was: re-running the pipeline of 1.0.2 after 1.0.3 was released (or building the
    older of two specs of one image last) moved latest, 1 and 1.0 back to 1.0.2 (QA)."""
    name = f"{REGISTRY}/{PREFIX}/moving-{RUN_ID}-{secrets.token_hex(3)}"

    def release(version: str, *, exact: bool = True) -> tuple[dict[str, str], list[str]]:
        tags = tuple(cleanup.image(f"{name}:{tag}") for tag in ((version,) * exact + ("1.0", "1", "latest")))
        cleanup.image_id(build(client, tmp_path, f"{version}-{len(tags)}", tags, version=version))
        said: list[str] = []
        return push_tags(tags, client=client, on_status=said.append), said

    newest, _ = release("1.0.3")
    older, said = release("1.0.2")
    assert list(older) == [f"{name}:1.0.2"] and older[f"{name}:1.0.2"] != newest[f"{name}:1.0.3"]
    assert lookup(name, "1.0.2").digest == older[f"{name}:1.0.2"]  # type: ignore[union-attr]
    for tag in ("1.0", "1", "latest"):
        assert lookup(name, tag).digest == newest[f"{name}:1.0.3"]  # type: ignore[union-attr]
        assert f"kept {tag} on 1.0.3: newer than 1.0.2" in said

    # a rebuild of the same version (its X.Y.Z left out: it would be refused): its moving tags are pushed
    again, said = release("1.0.3", exact=False)
    assert set(again) == {f"{name}:{tag}" for tag in ("1.0", "1", "latest")}
    assert lookup(name, "latest").digest == again[f"{name}:latest"] != newest[f"{name}:1.0.3"]  # type: ignore[union-attr]
    assert not [line for line in said if line.startswith("kept")]

    # a rollback: --force moves them back to the older version, as it moves an X.Y.Z
    tags = tuple(f"{name}:{tag}" for tag in ("1.0.2", "1.0", "1", "latest"))
    for tag in tags:
        client.images.get(f"{name}:1.0.2").tag(tag)
    rolled = push_tags(tags, client=client, force=True)
    for tag in ("1.0", "1", "latest"):
        assert lookup(name, tag).digest == rolled[f"{name}:{tag}"] == older[f"{name}:1.0.2"]  # type: ignore[union-attr]


def test_a_tag_without_a_registry_is_local_and_not_pushed(client, cleanup: Cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Was: `build --push -t REGISTRY/x:1` of a spec without `registry:` pushed its own
    `name:1` too, to Docker Hub's library: exit 3, with a hint about base images."""
    name = f"{REGISTRY}/{PREFIX}/local-{RUN_ID}-{secrets.token_hex(3)}"
    local = cleanup.image(f"{PREFIX}-local-{RUN_ID}:1.0.0")
    remote = cleanup.image(f"{name}:1.0.0")
    cleanup.image_id(build(client, tmp_path, "local", (local, remote)))
    said: list[str] = []
    assert list(push_tags([local, remote], client=client, on_status=said.append)) == [remote]
    assert said[0] == f"not pushed (no registry in the name: a local tag): {local}"


def test_unreachable_registry_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="cannot reach the registry"):
        lookup("127.0.0.1:9/imagespec-nothing/app", "1.0.0", timeout=2)


def test_absent_tag_is_none() -> None:
    assert lookup(f"{REGISTRY}/{PREFIX}/never-pushed-{RUN_ID}", "1.0.0") is None


def test_pushing_or_verifying_a_missing_image_is_a_spec_error(client) -> None:  # type: ignore[no-untyped-def]
    from imagespec.verify import Expectations, verify
    from imagespec.errors import SpecError

    missing = f"{REGISTRY}/{PREFIX}/missing-{RUN_ID}:1.0.0"
    with pytest.raises(SpecError, match="no such image"):
        push_tags([missing], client=client)
    with pytest.raises(SpecError, match="no such image") as info:
        verify(missing, Expectations(), client)
    assert info.value.exit_code == 2 and "imagespec build" in (info.value.hint or "")
