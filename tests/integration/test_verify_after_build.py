"""`imagespec build` then `imagespec test` of the image it made: the file checks (no-shell,
no-package-manager, no-setuid, …, BP6/BP7) take what the build's SBOM scan read on its
own pass over the export (verify.files, by the image's layers), so the test exports the
image no second time, and finds what an export of its own finds."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from .conftest import LOCAL_CONFIG, docker, imagespec


@pytest.mark.engine
def test_the_test_after_the_build_reads_no_export_and_checks_the_same(engine, tmp_path: Path, monkeypatch) -> None:
    from docker.models.containers import Container

    from imagespec.settings import read_environment, scans_cache
    from imagespec.verify import Expectations, verify

    name = f"isvf-{uuid.uuid4().hex[:8]}"
    (tmp_path / "imagespec.yaml").write_text(f"name: {name}\nversion: 1.0.0\nlicense: MIT\ntags: {{git_sha: false}}\n"
                                             "final:\n  from: debian-slim\n  cmd: [sleep, '1']\n")
    built = imagespec("build", "--config", str(LOCAL_CONFIG), "--format", "json", str(tmp_path / "imagespec.yaml"))
    assert built.returncode == 0, built.stderr[-3000:]
    summary = json.loads(built.stdout.strip().splitlines()[-1])
    exports: list[str] = []
    real = Container.export

    def export(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        exports.append(self.name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Container, "export", export)
    # not run: the file checks are what is under test (a shell and apt are there to be found)
    expected = Expectations(shell_expected=False, runs=False)
    try:
        remembered = verify(summary["tags"][0], expected, files_cache=scans_cache(read_environment()))
        assert exports == []
        exported = verify(summary["tags"][0], expected)
        assert len(exports) == 1
    finally:
        docker("rmi", *summary["tags"], check=False)
    checks = {c.name: (c.ok, c.detail) for c in remembered.checks}
    assert checks == {c.name: (c.ok, c.detail) for c in exported.checks}
    assert not checks["no-shell"][0] and "/bin/dash" in checks["no-shell"][1], checks["no-shell"]
    assert not checks["no-package-manager"][0] and "apt" in checks["no-package-manager"][1]
    assert checks["sbom"][0] and checks["sbom"][1].startswith(f"/usr/share/imagespec/sbom/{name}.spdx.json: SPDX-2.3")
