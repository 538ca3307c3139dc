"""The one grammar of image references, tags, digests and versions (imagespec/reference.py).

The reference tables are distribution/reference's own test cases (github.com/distribution/
reference, reference_test.go TestReferenceParse and normalize_test.go TestValidateReferenceName,
TestValidateRemoteName, TestParseRepositoryInfo, TestNormalizedSplitHostname), so that a
reference the spec accepts is one docker accepts, and the other way round.
"""

from __future__ import annotations

import pytest

from compiler_helpers import compile_text
from imagespec import reference as grammar
from imagespec.publish.tags import tags_for, validate_tag
from imagespec.errors import PolicyError, SpecError
from imagespec.spec.read_spec import load_spec_text

F64 = "f" * 64
F128 = "f" * 128

# reference_test.go TestReferenceParse: input → (name, tag, digest)
VALID = {
    "test_com": ("test_com", None, None),
    "test.com:tag": ("test.com", "tag", None),
    "test.com:5000": ("test.com", "5000", None),
    "test.com/repo:tag": ("test.com/repo", "tag", None),
    "test:5000/repo": ("test:5000/repo", None, None),
    "test:5000/repo:tag": ("test:5000/repo", "tag", None),
    f"test:5000/repo@sha256:{F64}": ("test:5000/repo", None, f"sha256:{F64}"),
    f"test:5000/repo:tag@sha256:{F64}": ("test:5000/repo", "tag", f"sha256:{F64}"),
    "lowercase:Uppercase": ("lowercase", "Uppercase", None),
    "a/" * 127 + "a:tag-puts-this-over-max": ("a/" * 127 + "a", "tag-puts-this-over-max", None),
    "sub-dom1.foo.com/bar/baz/quux": ("sub-dom1.foo.com/bar/baz/quux", None, None),
    "sub-dom1.foo.com/bar/baz/quux:some-long-tag": ("sub-dom1.foo.com/bar/baz/quux", "some-long-tag", None),
    "b.gcr.io/test.example.com/my-app:test.example.com": ("b.gcr.io/test.example.com/my-app", "test.example.com",
                                                          None),
    "xn--n3h.com/myimage:xn--n3h.com": ("xn--n3h.com/myimage", "xn--n3h.com", None),
    f"xn--7o8h.com/myimage:xn--7o8h.com@sha512:{F128}": ("xn--7o8h.com/myimage", "xn--7o8h.com", f"sha512:{F128}"),
    "foo_bar.com:8080": ("foo_bar.com", "8080", None),
    "foo/foo_bar.com:8080": ("foo/foo_bar.com", "8080", None),
    "192.168.1.1": ("192.168.1.1", None, None),
    "192.168.1.1:tag": ("192.168.1.1", "tag", None),
    "192.168.1.1:5000": ("192.168.1.1", "5000", None),
    "192.168.1.1/repo": ("192.168.1.1/repo", None, None),
    "192.168.1.1:5000/repo": ("192.168.1.1:5000/repo", None, None),
    "192.168.1.1:5000/repo:5050": ("192.168.1.1:5000/repo", "5050", None),
    "[2001:db8::1]/repo": ("[2001:db8::1]/repo", None, None),
    "[2001:db8:1:2:3:4:5:6]/repo:tag": ("[2001:db8:1:2:3:4:5:6]/repo", "tag", None),
    "[2001:db8::1]:5000/repo": ("[2001:db8::1]:5000/repo", None, None),
    "[2001:db8::1]:5000/repo:tag": ("[2001:db8::1]:5000/repo", "tag", None),
    f"[2001:db8::1]:5000/repo@sha256:{F64}": ("[2001:db8::1]:5000/repo", None, f"sha256:{F64}"),
    f"[2001:db8::1]:5000/repo:tag@sha256:{F64}": ("[2001:db8::1]:5000/repo", "tag", f"sha256:{F64}"),
    "[2001:db8::]:5000/repo": ("[2001:db8::]:5000/repo", None, None),
    "[::1]:5000/repo": ("[::1]:5000/repo", None, None),
}

INVALID = [
    # reference_test.go TestReferenceParse
    "", ":justtag", f"@sha256:{F64}", "repo@sha256:" + "f" * 34, f"validname@invaliddigest:{F64}", "Uppercase:tag",
    "test:5000/Uppercase/lowercase:tag", "a/" * 128 + "a:tag", "aa/asdf$$^/aa", "[2001:db8::1]", "[2001:db8::1]:5000",
    "[2001:db8::1]:tag", "[fe80::1%eth0]:5000/repo", "[fe80::1%@invalidzone]:5000/repo",
    # normalize_test.go TestValidateReferenceName / TestValidateRemoteName
    "https://github.com/docker/docker", "docker/Docker", "-docker", "-docker/docker", "-docker.io/docker/docker",
    "docker///docker", "docker.io/docker/Docker", "docker.io/docker///docker", "[fc00::1]", "[fc00::1]:5000",
    "fc00::1:5000/debian", "[fe80::1%eth0]:5000/debian", "[2001:db8:3:4::192.0.2.33]:5000/debian",
    "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "docker-/docker", "-docker-/docker",
    "____/____", "_docker/_docker", "dock..er/docker", "dock_.er/docker", "dock-.er/docker", "docker/",
    "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_" * 4 + "/docker",
    # a whole value: nothing after it
    "debian:12\n", "debian ", " debian",
]

# normalize_test.go TestValidateReferenceName, TestValidateRemoteName (valid halves)
VALID_NAMES = [
    "docker/docker", "library/debian", "debian", "docker.io/docker/docker", "docker.io/library/debian",
    "docker.io/debian", "index.docker.io/docker/docker", "index.docker.io/library/debian", "index.docker.io/debian",
    "127.0.0.1:5000/docker/docker", "127.0.0.1:5000/library/debian", "127.0.0.1:5000/debian", "192.168.0.1",
    "192.168.0.1:80", "192.168.0.1:8/debian", "192.168.0.2:25000/debian",
    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "[fc00::1]:5000/docker",
    "[fc00::1]:5000/docker/docker", "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
    "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "Docker/docker", "DOCKER/docker",
    "docker-rules/docker", "docker---rules/docker", "doc/docker", "d/docker", "jess/t", "dock__er/docker",
]

# normalize_test.go TestParseRepositoryInfo / TestNormalizedSplitHostname: written → (domain, path, familiar, full)
NORMALIZED = {
    "fooo/bar": ("", "fooo/bar", "fooo/bar", "docker.io/fooo/bar"),
    "index.docker.io/fooo/bar": ("index.docker.io", "fooo/bar", "fooo/bar", "docker.io/fooo/bar"),
    "ubuntu": ("", "ubuntu", "ubuntu", "docker.io/library/ubuntu"),
    "library/ubuntu": ("", "library/ubuntu", "ubuntu", "docker.io/library/ubuntu"),
    "docker.io/library/ubuntu": ("docker.io", "library/ubuntu", "ubuntu", "docker.io/library/ubuntu"),
    "docker.io/foo": ("docker.io", "foo", "foo", "docker.io/library/foo"),
    "other/library": ("", "other/library", "other/library", "docker.io/other/library"),
    "127.0.0.1:8000/private/moonbase": ("127.0.0.1:8000", "private/moonbase", "127.0.0.1:8000/private/moonbase",
                                        "127.0.0.1:8000/private/moonbase"),
    "example.com:8000/privatebasee": ("example.com:8000", "privatebasee", "example.com:8000/privatebasee",
                                      "example.com:8000/privatebasee"),
    "library/foo/bar": ("", "library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar"),
    "docker.io/library/foo/bar": ("docker.io", "library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar"),
    "Foo/bar": ("Foo", "bar", "Foo/bar", "Foo/bar"),
    "test_com/foo": ("", "test_com/foo", "test_com/foo", "docker.io/test_com/foo"),
    "test-com:8080/foo": ("test-com:8080", "foo", "test-com:8080/foo", "test-com:8080/foo"),
    "localhost/foo": ("localhost", "foo", "localhost/foo", "localhost/foo"),
    "xn--n3h.com/foo": ("xn--n3h.com", "foo", "xn--n3h.com/foo", "xn--n3h.com/foo"),
}


@pytest.mark.parametrize("text", VALID)
def test_distribution_valid_references_parse_and_round_trip(text: str) -> None:
    parsed = grammar.parse(text)
    assert (parsed.name, parsed.tag, parsed.digest) == VALID[text]
    assert str(parsed) == text
    assert grammar.reference(text) == text


@pytest.mark.parametrize("text", INVALID)
def test_distribution_invalid_references_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        grammar.parse(text)


@pytest.mark.parametrize("text", VALID_NAMES)
def test_distribution_valid_names(text: str) -> None:
    parsed = grammar.parse(text)  # `192.168.0.1:80` is the name 192.168.0.1 with the tag 80
    assert grammar.repository(parsed.name) == parsed.name


@pytest.mark.parametrize("text", NORMALIZED)
def test_docker_normalisation(text: str) -> None:
    domain, path, familiar, full = NORMALIZED[text]
    parsed = grammar.parse(text)
    assert (parsed.domain, parsed.path, parsed.familiar) == (domain, path, familiar)
    assert parsed.normalized == f"{full}:latest"  # no tag: BuildKit pulls latest
    assert grammar.parse(f"{text}:1.0").normalized == f"{full}:1.0"


def test_normalisation_keeps_a_tag_and_a_digest_and_adds_no_latest_to_a_digest() -> None:
    # normalize_test.go TestParseReferenceWithTagAndDigest, TestParseAnyReference
    short = "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
    assert grammar.parse(short).normalized == f"docker.io/library/{short}"
    assert grammar.parse(f"docker.io/library/{short}").familiar == short
    pinned = "redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
    assert grammar.parse(pinned).normalized == f"docker.io/library/{pinned}"


# --- tags --------------------------------------------------------------------------------

@pytest.mark.parametrize("tag", ["latest", "1.4.2", "_under", "A.b-C", "x" * 128, "0123456789ab-dirty", "v1"])
def test_valid_tags(tag: str) -> None:
    assert grammar.tag(tag) == tag


@pytest.mark.parametrize("tag", ["café", "ü", "x" * 129, ".lead", "-lead", "a+b", "has space", "", "v1\n", "a:b",
                                 "a/b", "٣"])  # ٣: a Unicode digit, which Python's and pydantic's \w take
def test_invalid_tags(tag: str) -> None:
    with pytest.raises(grammar.Invalid, match="invalid tag") as info:
        grammar.tag(tag)
    assert "ASCII" in str(info.value.hint)


def test_a_tag_is_checked_inside_a_reference_too() -> None:
    for text in ["debian:café", "debian:.x", "debian:" + "x" * 129, f"127.0.0.1:5000/debian:café@sha256:{F64}"]:
        with pytest.raises(grammar.Invalid, match="invalid tag") as info:
            grammar.parse(text)
        assert info.value.hint is not None and "ASCII" in info.value.hint


# --- digests -----------------------------------------------------------------------------

@pytest.mark.parametrize("digest", [f"sha256:{'a' * 64}", f"sha384:{'0' * 96}", f"sha512:{F128}"])
def test_valid_digests(digest: str) -> None:
    assert grammar.digest(digest) == digest
    assert grammar.parse(f"debian@{digest}").digest == digest


@pytest.mark.parametrize(("digest", "why"), [
    (f"sha256:{'a' * 63}", "64 lower-case hex"), (f"sha256:{'a' * 65}", "64 lower-case hex"),
    (f"sha256:{'A' * 64}", "64 lower-case hex"), (f"sha512:{F64}", "128 lower-case hex"),
    (f"md5:{'a' * 32}", "unsupported algorithm"), (f"sha256:{'g' * 64}", "invalid digest"),
    ("sha256:abc", "invalid digest"), (F64, "invalid digest"),
])
def test_invalid_digests(digest: str, why: str) -> None:
    with pytest.raises(grammar.Invalid, match=why):
        grammar.digest(digest)
    # a reference with a right name says what is wrong with its digest (was: the generic
    # "not a valid image reference" for a truncated digest)
    with pytest.raises(grammar.Invalid, match=why):
        grammar.parse(f"debian:12@{digest}")


# --- registries (the spec's `registry`, a policy's allowed_registries) ---------------------

@pytest.mark.parametrize("registry", ["registry.example.com", "registry.example.com/team", "127.0.0.1:5000",
                                      "localhost:5000/a/b", "[::1]:5000/team", "ghcr.io/org/", "docker.io"])
def test_valid_registries(registry: str) -> None:
    assert grammar.registry(registry) == registry
    assert grammar.repository(f"{registry.rstrip('/')}/app") == f"{registry.rstrip('/')}/app"


@pytest.mark.parametrize("registry", ["https://registry.example.com", "registry.example.com//team",
                                      "registry.example.com/Team", "host:port", "-host", "host/team..x", "",
                                      "host\n", "[fe80::1%eth0]:5000"])
def test_invalid_registries(registry: str) -> None:
    with pytest.raises(grammar.Invalid, match="is not a registry"):
        grammar.registry(registry)


# --- semantic versions and BP14's tags -----------------------------------------------------

@pytest.mark.parametrize(("version", "tags"), [
    ("1.4.2", ["1.4.2", "1.4", "1", "latest"]),
    ("0.0.0", ["0.0.0", "0.0", "0", "latest"]),
    ("v2.0.1+build.7", ["2.0.1", "2.0", "2", "latest"]),
    ("1.5.0-rc.1", ["1.5.0-rc.1"]),
    ("1.5.0-beta.2+exp.sha.5114f85", ["1.5.0-beta.2"]),
    ("1.0.0-x-y-z.--", ["1.0.0-x-y-z.--"]),
])
def test_version_tags(version: str, tags: list[str]) -> None:
    assert grammar.version_tags(version) == tags
    assert all(grammar.tag(tag) for tag in tags)


def test_version_tags_without_latest() -> None:
    assert grammar.version_tags("1.3.9", latest=False) == ["1.3.9", "1.3", "1"]


@pytest.mark.parametrize("version", ["v1.2.3", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.0.0-01", "1.0.0-",
                                     "1.0.0+", "1.0.0-rc..1", "1.2.3\n", "vv1.2.3", "1." + "1" * 130 + ".0"])
def test_the_spec_takes_only_semantic_versions(version: str) -> None:
    with pytest.raises(grammar.Invalid, match="not a semantic version"):
        grammar.semantic_version(version)


def test_versions_sort_by_semver_precedence() -> None:
    # semver.org item 11's own example, build metadata ignored, numbers compared as numbers
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
             "1.0.0-rc.1", "1.0.0+build.9", "1.2.0", "1.10.0", "2.0.0"]
    assert sorted(reversed(order), key=lambda v: grammar.precedence(grammar.parse_version(v))) == order
    assert grammar.precedence(grammar.parse_version("1.0.0+a")) == grammar.precedence(grammar.parse_version("1.0.0"))


def test_version_order_puts_no_version_below_every_version() -> None:
    assert grammar.version_order(None) == grammar.version_order("not-a-version") == () < grammar.version_order("0.0.1")
    assert grammar.version_order("v1.0.3") == grammar.version_order("1.0.3") > grammar.version_order("1.0.3-rc.1")


def test_a_full_name_over_255_characters_says_so_at_the_registry() -> None:
    """Was: 248 characters of `name:` under `registry: 127.0.0.1:5000/mine-q4` passed generate,
    then failed at build without a location: "image names are lowercase" (QA)."""
    registry, name = "127.0.0.1:5000/mine-q4/", "a" * 248
    with pytest.raises(grammar.Invalid, match="registry/name .* is 271 characters, over 255"):
        grammar.full_name(registry, name)
    assert grammar.full_name(registry, "a" * 232) == "127.0.0.1:5000/mine-q4/" + "a" * 232  # 255: fits
    assert grammar.full_name(None, name) == name
    with pytest.raises(grammar.Invalid, match="271 characters, over 255") as info:
        grammar.repository(f"127.0.0.1:5000/mine-q4/{name}")
    assert "lowercase" not in (info.value.hint or "")


def test_immutable_tags_are_exact_versions() -> None:
    assert grammar.is_immutable_tag("1.4.2") and grammar.is_immutable_tag("1.5.0-rc.1")
    assert not any(map(grammar.is_immutable_tag, ["1.4", "1", "latest", "0123456789ab", "v1.4.2", "1.4.2\n"]))


# --- the spec and the build say the same ---------------------------------------------------

SPEC = "name: app\ntags:\n  extra: [edge, {tag}]\nfinal:\n  from: debian-slim\n  entrypoint: [/app]\n"


@pytest.mark.parametrize("tag", ["café", ".hidden", "x" * 129])
def test_a_bad_tag_gets_the_same_words_at_generate_and_at_build(tag: str) -> None:
    with pytest.raises(SpecError) as spec_error:
        load_spec_text(SPEC.format(tag=tag), "imagespec.yaml")
    with pytest.raises(SpecError) as build_error:
        tags_for("127.0.0.1:5000/app", "1.0.0", extra=[tag])
    assert spec_error.value.location is not None and spec_error.value.location.line == 3
    assert spec_error.value.message == f"tags.extra.1: {build_error.value.message}"
    assert spec_error.value.hint == build_error.value.hint
    with pytest.raises(SpecError) as direct:
        validate_tag(tag)
    assert direct.value.message == build_error.value.message


# --- a policy reads a reference as docker does ----------------------------------------------

POLICY = ("name: app\npolicies:\n  allowed_registries: [{allowed}]\n"
          "final:\n  from: {{image: \"{image}\", family: debian}}\n  cmd: [sleep, infinity]\n")


@pytest.mark.parametrize(("allowed", "image"), [
    ("docker.io", "debian:bookworm-slim"),  # docker pulls it from docker.io/library/debian
    ("docker.io/library", "debian:bookworm-slim"),
    ("registry.example.com/base", "registry.example.com/base/debian:bookworm-slim"),
])
def test_an_allowed_registry_admits_its_images(allowed: str, image: str) -> None:
    compile_text(POLICY.format(allowed=allowed, image=image))


@pytest.mark.parametrize(("allowed", "image"), [
    ("registry.example.com", "debian:bookworm-slim"),
    ("registry.example.com", "registry.example.com.evil.io/debian:bookworm-slim"),
    ("docker.io/library", "team/debian:bookworm-slim"),
])
def test_an_allowed_registry_refuses_other_images(allowed: str, image: str) -> None:
    with pytest.raises(PolicyError, match="not from an allowed registry"):
        compile_text(POLICY.format(allowed=allowed, image=image))


def test_a_catalog_digest_is_checked_by_the_same_grammar() -> None:
    image = "final:\n  from: {{image: debian:bookworm-slim, family: debian, digest: \"{digest}\"}}\n  cmd: [sleep, infinity]\n"
    compile_text("name: app\n" + image.format(digest=f"sha512:{F128}"))
    with pytest.raises(SpecError, match="sha256 takes 64 lower-case hex digits") as info:
        compile_text("name: app\n" + image.format(digest=f"sha256:{'A' * 64}"))
    assert info.value.location is not None and info.value.location.line == 3
