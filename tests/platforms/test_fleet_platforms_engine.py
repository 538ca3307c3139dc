"""A fleet with two-platform targets on the real engine (docker buildx bake, docker driver,
whose `--load` takes no index): each platform's image is its own run target, loaded,
tagged ``TAG-os-arch`` and pushed, then joined into one index under the target's tags, as
`imagespec build` of one spec does. A child spec FROM a two-platform target builds each
platform FROM that platform's image of the same run (its arm64 image runs the parent's
arm64 binary under QEMU). Without --push the fleet is refused before anything builds."""

from __future__ import annotations

import json
import shutil
import urllib.error
from pathlib import Path

import pytest

from tests.images.support import RUN_ID
from tests.platforms.support import HERE, PLATFORMS, REGISTRY, docker, imagespec, index_of, listed_platforms

pytestmark = pytest.mark.engine

NAMESPACE = f"{REGISTRY}/imagespec-platformfleet-{RUN_ID}"
#: the first lines of every spec written here: version 1.0.0 in the run's registry
#: namespace (``{namespace}`` stays a field of the spec text), no git-sha tag
_HEAD = "name: {name}\nversion: 1.0.0\nlicense: MIT\nregistry: {{namespace}}\ntags: {{{{git_sha: false}}}}\n"
CHILD = _HEAD.format(name="on-go-arch") + """\
platforms: [linux/amd64, linux/arm64]
final:
  from: {{image: "{namespace}/go-arch:1.0.0", family: distroless, shell: false, user: 65532}}
  copy: [{{src: hello.txt, dest: /hello.txt}}]
  entrypoint: [/usr/local/bin/goarch]
"""


def _fleet(root: Path, namespace: str = NAMESPACE) -> Path:
    """c-arch and go-arch as in tests/platforms, named in the run's registry namespace, and
    a spec FROM go-arch's image (a target of the same fleet)."""
    for app in ("c-arch", "go-arch"):
        shutil.copytree(HERE / app, root / app)
        spec = root / app / "imagespec.yaml"
        spec.write_text(spec.read_text().replace("version: 1.0.0\n", f"version: 1.0.0\nregistry: {namespace}\n"
                                                                     "tags: {git_sha: false}\n"))
    (root / "on-go-arch").mkdir()
    (root / "on-go-arch" / "imagespec.yaml").write_text(CHILD.format(namespace=namespace))
    (root / "on-go-arch" / "hello.txt").write_text("hello\n")
    return root


def _platform_image(namespace: str, app: str, platform: str) -> str:
    """The local tag of one platform's image of ``app`` 1.0.0 (``TAG-os-arch``)."""
    return f"{namespace}/{app}:1.0.0-{platform.replace('/', '-')}"


def _forget_images(session_cleanup, namespace: str, *apps: str) -> None:  # type: ignore[no-untyped-def]
    for app in apps:
        for platform in PLATFORMS:
            session_cleanup.image(_platform_image(namespace, app, platform))


def _write_specs(root: Path, specs: dict[str, str]) -> Path:
    """Each folder's imagespec.yaml under ``root``."""
    for folder, text in specs.items():
        (root / folder).mkdir(parents=True)
        (root / folder / "imagespec.yaml").write_text(text)
    return root


def _cleanup(session_cleanup) -> None:  # type: ignore[no-untyped-def]
    _forget_images(session_cleanup, NAMESPACE, "c-arch", "go-arch", "on-go-arch")


def test_a_fleet_of_two_platform_targets_pushes_one_index_each_whose_images_run(
        config: Path, session_cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = _fleet(tmp_path / "fleet")
    _cleanup(session_cleanup)
    done = imagespec("build", str(root), "--config", str(config), "--push", "--format", "json", "--progress", "plain",
                     "--jobs", "2", cwd=root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    records = {r["target"]: r for r in json.loads(done.stdout)["targets"]}
    assert set(records) == {"c-arch", "go-arch", "on-go-arch"}
    # the child started only after its parent's index was pushed
    assert records["on-go-arch"]["started_s"] >= records["go-arch"]["ended_s"]
    for app, record in records.items():
        assert record["result"] == "built", record
        assert record["platforms"] == list(PLATFORMS)
        reference = f"{NAMESPACE}/{app}:1.0.0"
        assert reference in record["tags"] and reference in record["pushed"]
        document = index_of(reference)
        assert listed_platforms(document) == list(PLATFORMS)
        assert record["image_id"] == docker("buildx", "imagetools", "inspect", reference, "--format",
                                            "{{json .Manifest.Digest}}").stdout.strip().strip('"')
    for platform in PLATFORMS:
        arch = platform.split("/")[1]
        suffix = platform.replace("/", "-")
        expected = {"c-arch": f"c-arch {arch}", "go-arch": f"go-arch {platform}", "on-go-arch": f"go-arch {platform}"}
        for app, printed in expected.items():
            image = f"{NAMESPACE}/{app}:1.0.0-{suffix}"
            assert docker("image", "inspect", "-f", "{{.Architecture}}", image).stdout.strip() == arch
            ran = docker("run", "--rm", "--network", "none", "--platform", platform, image)
            assert ran.returncode == 0, ran.stderr
            assert ran.stdout.strip() == printed
            # each platform's image stores its own SBOM (BP16), of that platform's file system
            label = docker("image", "inspect", "-f", '{{index .Config.Labels "io.imagespec.sbom"}}', image)
            assert label.stdout.strip() == records[app]["sbom"] == f"/usr/share/imagespec/sbom/{app}.spdx.json"
            if app != "c-arch":
                shown = imagespec("sbom", image)
                assert shown.returncode == 0 and "carries no SBOM" not in shown.stderr, shown.stderr
                purls = [ref["referenceLocator"] for package in json.loads(shown.stdout)["packages"]
                         for ref in package.get("externalRefs", ()) if "stdlib" in ref["referenceLocator"]]
                assert purls and all(f"arch={arch}" in purl for purl in purls), purls
        # the child's platform image is on its parent's image of the same platform (its
        # own layer, then its SBOM's: the parent's SBOM layer is in it too)
        child = docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", f"{NAMESPACE}/on-go-arch:1.0.0-{suffix}")
        parent = docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", f"{NAMESPACE}/go-arch:1.0.0-{suffix}")
        assert json.loads(child.stdout)[:-2] == json.loads(parent.stdout)
        tested = imagespec("test", str(root / "c-arch" / "imagespec.yaml"), "--config", str(config), "--image",
                           f"{NAMESPACE}/c-arch:1.0.0-{suffix}", "--format", "json")
        assert tested.returncode == 0, tested.stdout[-2000:] + tested.stderr[-2000:]


def test_a_fleet_with_a_two_platform_target_is_refused_without_push(config: Path, tmp_path: Path) -> None:
    namespace = f"{NAMESPACE}-refused"
    root = _fleet(tmp_path / "fleet", namespace)
    done = imagespec("build", str(root), "--config", str(config), "--progress", "plain", cwd=root)
    assert done.returncode == 2, done.stderr[-3000:]
    for app in ("c-arch", "go-arch"):  # each one said, in the one run
        spec = root / app / "imagespec.yaml"
        line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if text.startswith("platforms:"))
        assert f"{app}/imagespec.yaml:{line}:1: 2 platforms make one multi-platform image" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    for platform in PLATFORMS:
        assert docker("image", "inspect", _platform_image(namespace, "c-arch", platform)).returncode != 0


TOOLCHAIN = _HEAD.format(name="toolchain") + """\
{platforms}final:
  from: go-build
  user: {{uid: 0, name: root, root_reason: "a build toolchain: the stages on it write anywhere"}}
  entrypoint: [/usr/bin/go, version]
"""
CROSS_APP = _HEAD.format(name="cross-app") + """\
platforms: [linux/amd64, linux/arm64]
stages:
  build:
    from: {{image: "{namespace}/toolchain:1.0.0", family: debian}}
    cross_compile: go
    copy: [go.mod, main.go]
    run: go build -o /out/goarch .
    artifacts: [/out/goarch]
final:
  from: scratch
  copy: [{{from: build, src: /out/goarch, dest: /usr/local/bin/goarch}}]
  entrypoint: [/usr/local/bin/goarch]
"""


def _toolchain_fleet(root: Path, namespace: str, toolchain_platforms: str) -> Path:
    """A Go toolchain spec (this machine's platform unless ``toolchain_platforms``) and an
    app of two platforms whose build stage cross-compiles on the toolchain's image, built
    in the same run: the stage runs on the build machine, so the toolchain of its platform
    is all it needs (fleet.graph's check lets it build)."""
    _write_specs(root, {"toolchain": TOOLCHAIN.format(namespace=namespace, platforms=toolchain_platforms),
                        "app": CROSS_APP.format(namespace=namespace)})
    for name in ("go.mod", "main.go"):
        shutil.copy(HERE / "go-arch" / name, root / "app" / name)
    return root


def test_a_cross_compiling_child_builds_on_its_in_fleet_parent_of_this_machines_platform(
        session_cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.platforms.support import qemu_registered, registry_answers

    registry_answers()
    qemu_registered()
    namespace = f"{NAMESPACE}-crosschild"
    root = _toolchain_fleet(tmp_path / "fleet", namespace, "")
    for tag in ("1.0.0", "1.0", "1", "latest"):  # the release and the moving tags it moved (BP14)
        session_cleanup.image(f"{namespace}/toolchain:{tag}")
    _forget_images(session_cleanup, namespace, "cross-app")
    config = HERE.parents[1] / "scripts" / "local-config.yaml"
    done = imagespec("build", str(root), "--config", str(config), "--push", "--format", "json",
                     "--progress", "plain", cwd=root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    records = {r["target"]: r for r in json.loads(done.stdout)["targets"]}
    assert records["app"]["result"] == "built" and records["app"]["platforms"] == list(PLATFORMS), records
    for platform in PLATFORMS:
        image = _platform_image(namespace, "cross-app", platform)
        ran = docker("run", "--rm", "--network", "none", "--platform", platform, image)
        assert ran.returncode == 0 and ran.stdout.strip() == f"go-arch {platform}", ran.stdout + ran.stderr


def test_a_platform_its_in_fleet_parent_lacks_is_refused_before_anything_builds(tmp_path: Path) -> None:
    """The toolchain built for arm64 alone: the app's cross-compiling stage needs it for this
    amd64 machine. Exit 2 at that stage's `from:`, nothing built, tagged or pushed. (Before
    the check, a spec of two platforms FROM a parent of one got the parent's amd64 image as
    its arm64 base: BuildKit warned InvalidBaseImagePlatform and the pushed arm64 image ran
    x86-64 programs.)"""
    from tests.platforms.support import registry_answers

    registry_answers()
    namespace = f"{NAMESPACE}-lackingparent"
    root = _toolchain_fleet(tmp_path / "fleet", namespace, "platforms: [linux/arm64]\n")
    config = HERE.parents[1] / "scripts" / "local-config.yaml"
    done = imagespec("build", str(root), "--config", str(config), "--push", "--progress", "plain", cwd=root)
    assert done.returncode == 2, done.stderr[-3000:]
    spec = root / "app" / "imagespec.yaml"
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if text.lstrip().startswith("from: {"))
    assert done.stderr.startswith(f"app/imagespec.yaml:{line}:5: stage `build` cross-compiles on this machine's "
                                  "platform (linux/amd64)"), done.stderr
    assert "toolchain/imagespec.yaml" in done.stderr and "lists linux/arm64 only" in done.stderr
    assert "#1 " not in done.stderr and "Traceback" not in done.stderr
    for reference in (f"{namespace}/toolchain:1.0.0", f"{namespace}/cross-app:1.0.0-linux-amd64"):
        assert docker("image", "inspect", reference).returncode != 0, reference
    with pytest.raises(urllib.error.HTTPError):
        index_of(f"{namespace}/toolchain:1.0.0")


SHELL_PARENT = _HEAD.format(name="shell-parent") + """\
platforms: [linux/amd64, linux/arm64]
final:
  from: shell
  entrypoint: [/bin/uname, -m]
"""
#: its build stage cross-compiles (runs on the build machine) on the parent's image, whose
#: busybox says where it ran; the final, on the parent's image of each platform, keeps that
WHERE_CHILD = _HEAD.format(name="where-child") + """\
platforms: [linux/amd64, linux/arm64]
stages:
  build:
    from: {{image: "{namespace}/shell-parent:1.0.0", family: distroless, shell: true}}
    cross_compile: go
    run: mkdir -p /tmp/out && uname -m > /tmp/out/arch
    artifacts: [/tmp/out/arch]
final:
  from: {{image: "{namespace}/shell-parent:1.0.0", family: distroless, shell: false, user: 65532}}
  copy: [{{from: build, src: /tmp/out/arch, dest: /build-arch}}]
  entrypoint: [/bin/cat, /build-arch]
"""
MACHINES = {"linux/amd64": "x86_64", "linux/arm64": "aarch64"}  # uname -m of each


def test_a_cross_compiling_stage_on_a_two_platform_parent_runs_on_the_build_machine(
        config: Path, session_cleanup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A named context is one image for every stage naming the reference: the child's arm64
    build once gave its cross-compiling stage the parent's arm64 image (`uname -m` said
    aarch64: QEMU, silently). It takes the parent's pushed index, so BuildKit gives that
    stage the build machine's image and the final the parent's image of its platform."""
    from imagespec.engine.emulation import native_platform

    namespace = f"{NAMESPACE}-crossparent"
    root = _write_specs(tmp_path / "fleet", {"parent": SHELL_PARENT.format(namespace=namespace),
                                             "child": WHERE_CHILD.format(namespace=namespace)})
    _forget_images(session_cleanup, namespace, "shell-parent", "where-child")
    done = imagespec("build", str(root), "--config", str(config), "--push", "--progress", "plain", cwd=root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    machine = MACHINES[native_platform() or "linux/amd64"]
    for platform in PLATFORMS:
        image = _platform_image(namespace, "where-child", platform)
        built_on = docker("run", "--rm", "--network", "none", "--platform", platform, image)
        assert built_on.returncode == 0 and built_on.stdout.strip() == machine, (platform, built_on)
        runs_on = docker("run", "--rm", "--network", "none", "--platform", platform, "--entrypoint", "/bin/uname",
                         image, "-m")
        assert runs_on.returncode == 0 and runs_on.stdout.strip() == MACHINES[platform], (platform, runs_on)
