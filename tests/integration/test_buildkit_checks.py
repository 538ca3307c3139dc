"""BuildKit's own lint rules (`docker build --check`) pass without a warning on every
example. The check runs on the Dockerfile compiled with the local catalog, because
the public base images named in the committed files cannot be resolved here; only
the FROM references differ."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import EXAMPLES, LOCAL_CONFIG, imagespec

SPECS = sorted(p.parent.name for p in EXAMPLES.glob("*/imagespec.yaml"))


@pytest.mark.engine
@pytest.mark.parametrize("name", SPECS)
def test_docker_build_check_has_no_warnings(engine, name: str, tmp_path: Path) -> None:
    spec = EXAMPLES / name / "imagespec.yaml"
    dockerfile = tmp_path / "Dockerfile"
    generated = imagespec("generate", "--config", str(LOCAL_CONFIG), "-o", "-", str(spec))
    assert generated.returncode == 0, generated.stderr
    dockerfile.write_text(generated.stdout)
    result = subprocess.run(["docker", "build", "--check", "--network", "host", "-f", str(dockerfile),
                             str(spec.parent)], capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Check complete, no warnings found." in output, output[-3000:]
