"""The presets for lockfile-driven package managers (issue 3): uv, Poetry and yarn
install production dependencies from the lockfile alone, before the source (BP4), with
the tool kept in the build stage (BP6, BP11); python-distroless makes the venv with the
interpreter the shell-less runtime has. Proven on compiled output; the examples'
engine tests (tests/integration/test_examples.py) prove the images work."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from compiler_helpers import REPO, compile_path
from imagespec.plan.passes.add_init import STAGE as TINI_STAGE
from imagespec.spec.config import load_config

EXAMPLES = REPO / "examples"
LOCAL_CONFIG = REPO / "scripts" / "local-config.yaml"

# preset -> (manifests copied before the install, the install command, what leaves the build stage)
LOCKED = {
    "python-uv": (["pyproject.toml", "uv.lock"], "uv sync --frozen --no-dev --no-install-project", "/opt/venv"),
    "python-poetry": (["pyproject.toml", "poetry.lock"], "poetry install --only main --no-root", "/opt/venv"),
    "node-yarn": (["package.json", "yarn.lock"], "yarn install --frozen-lockfile --production", "/src/node_modules"),
    "node-pnpm": (["package.json", "pnpm-lock.yaml"], "pnpm install --frozen-lockfile --prod", "/src/node_modules"),
}
TOOLS = {"python-uv": "uv", "python-poetry": "poetry", "node-yarn": "yarn", "node-pnpm": "pnpm"}


def stages(dockerfile: str) -> dict[str, str]:
    """The Dockerfile's text per stage name (`FROM … AS name`)."""
    found = {}
    for chunk in re.split(r"^(?=FROM )", dockerfile, flags=re.M)[1:]:
        found[chunk.split("\n", 1)[0].split()[-1]] = chunk
    return found


def write_spec(folder: Path, preset: str) -> Path:
    path = folder / "imagespec.yaml"
    path.write_text(f"extends: {preset}\nname: app\nversion: 1.0.0\n")
    return path


@pytest.mark.parametrize("preset", sorted(LOCKED))
def test_dependencies_come_from_the_lockfile_before_the_source(preset: str, tmp_path: Path) -> None:
    manifests, install, artifact = LOCKED[preset]
    text = compile_path(write_spec(tmp_path, preset)).dockerfile
    build_name = [name for name in stages(text) if name not in ("final", TINI_STAGE)][0]
    final = stages(text)["final"]
    build = stages(text)[build_name]
    lines = build.splitlines()
    copy = lines.index(f"COPY {' '.join(manifests)} ./")
    run = next(i for i, line in enumerate(lines) if install in line)
    assert copy < run  # the install step's cache key is the lockfile alone (BP4)
    assert "--mount=type=cache" in build and "--mount=type=secret,id=ca-bundle" in build
    assert f"{TOOLS[preset]}@" in build or f"{TOOLS[preset]}==" in build  # the tool is pinned
    # only the installed dependencies leave the build stage; the tool never does (BP6, BP11)
    assert f"COPY --from={build_name} {artifact} " in final
    assert not re.search(rf"\b{TOOLS[preset]}\b", final), final


def test_python_tools_install_into_a_venv_made_by_the_runtime_interpreter(tmp_path: Path) -> None:
    """The app's venv is made by `python3` of the python-build image, like the pip preset's,
    and without pip: the tool installs into it from its own venv."""
    for preset in ("python-uv", "python-poetry"):
        build = stages(compile_path(write_spec(tmp_path, preset)).dockerfile)["venv"]
        assert "python3 -m venv --without-pip /opt/venv" in build, preset
        assert f"python3 -m venv /opt/{TOOLS[preset]}" in build, preset


@pytest.mark.parametrize("config", [None, LOCAL_CONFIG], ids=["public", "local"])
def test_python_distroless_makes_the_venv_with_the_runtime_interpreter(config: Path | None, tmp_path: Path) -> None:
    """The venv's python is a symbolic link to the interpreter that made it: the build
    stage is Debian 12 with /usr/bin/python3.11, the path and version of the
    python-distroless image (whose own catalog default keeps no python elsewhere)."""
    loaded = load_config(config, start=tmp_path)
    compiled = compile_path(write_spec(tmp_path, "python-distroless"), loaded)
    venv, final = stages(compiled.dockerfile)["venv"], stages(compiled.dockerfile)["final"]
    images = {name: entry.image.image for name, entry in loaded.catalog.entries.items()}
    assert venv.startswith(f"FROM {images['debian-slim']} AS venv")
    assert final.startswith(f"FROM {images['python-distroless']} AS final")
    assert "apt-get install -y --no-install-recommends python3-pip" in venv
    assert "/usr/bin/python3.11 -m venv --without-pip /opt/venv" in venv
    assert "/usr/bin/python3.11 -m pip --python /opt/venv/bin/python3 install" in venv
    assert "RUN " not in final  # the runtime has no shell to run anything with
    # under tini (the preset's init: Python as PID 1 ignores SIGTERM)
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "/opt/venv/bin/python3", "/app/app.py"]' in final
    assert compiled.plan.final.base.has_shell is False


PUBLIC_HOSTS = {"pypi.org", "files.pythonhosted.org", "registry.npmjs.org", "registry.yarnpkg.com"}


@pytest.mark.parametrize("lockfile", sorted(
    path.relative_to(EXAMPLES).as_posix()
    for name in ("uv.lock", "poetry.lock", "yarn.lock", "package-lock.json", "pnpm-lock.yaml")
    for path in EXAMPLES.rglob(name)))
def test_committed_lockfiles_name_only_public_registries(lockfile: str) -> None:
    """A lockfile records where each package came from: it must name the public
    registries, never a mirror or proxy of the machine that made it."""
    text = (EXAMPLES / lockfile).read_text()
    hosts = set(re.findall(r"https?://([^/\"'\s#]+)", text))
    assert hosts <= PUBLIC_HOSTS, hosts - PUBLIC_HOSTS
    if lockfile.endswith("uv.lock"):
        registries = {package["source"].get("registry") for package in tomllib.loads(text)["package"]}
        assert registries <= {"https://pypi.org/simple", None}
    if lockfile.endswith("package-lock.json"):
        assert json.loads(text)["lockfileVersion"] >= 2


def test_java_maven_resolves_from_the_pom_before_the_source_and_ships_the_jar_alone(tmp_path: Path) -> None:
    text = compile_path(write_spec(tmp_path, "java-maven")).dockerfile
    build, final = stages(text)["build"], stages(text)["final"]
    lines = build.splitlines()
    resolve = next(i for i, line in enumerate(lines)
                   if "mvn --batch-mode --no-transfer-progress dependency:resolve" in line)
    assert lines.index("COPY pom.xml ./") < resolve < lines.index("COPY src/ ./src/")  # BP4
    assert "--mount=type=cache,target=/root/.m2/repository" in build
    assert "-DskipTests package && mkdir -p /out && cp target/*.jar /out/app.jar" in build
    assert "COPY --from=build /out/app.jar /app/app.jar" in final
    assert "mvn" not in final and "maven" not in final  # Maven and the JDK stay behind (BP6, BP11)
    assert 'ENTRYPOINT ["java", "-jar", "/app/app.jar"]' in final
