"""The shape STYLE.md describes, checked: imports point one way, plan/ and render/
stay pure, the public API is exactly what it says, and the committed JSON Schema is
the one the model generates and accepts every example."""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import jsonschema
import pytest

from compiler_helpers import EXAMPLES, GOLDEN_CASES, REPO
from imagespec.cli import main
from imagespec.spec.yaml_source import parse_yaml

PACKAGE = REPO / "imagespec"
MODULES = sorted(PACKAGE.rglob("*.py"))

# (errors, reference, contract, resources) ← spec ← plan ← render ← (compiler, lint, explain, schema, output, console)
#   ← adopt (init reads a project, compiles what it writes) ← (settings, build_settings, pipeline, jobs, bases, fleet)
#   ← cli.
# The build half sits
# beside the compiler: engine (the seam), publish, verify, sbom, bootstrap — each sees errors, the reference grammar,
# itself and only the parts named in ONLY (never imagespec.spec/plan/render/cli; see each package's docstring).
# The package's __init__ is the public API. `reference` is the one grammar of image references, tags, digests and
# versions: at the bottom, so that the spec's validation and the build's tagging both ask it; `platform`, beside it,
# the one grammar of target platforms (the spec's `platforms:`, the cross-compiling pass, the multi-platform build);
# `contract` holds the names several parts must agree on (secret id, labels, SBOM paths), so no part imports a pass
# for a constant; `resources` says where the shipped templates are; `notes` is the callback every job tells its
# caller things through.
LAYER = {"errors": 0, "reference": 0, "platform": 0, "contract": 0, "resources": 0, "notes": 0,
         "spec": 1, "plan": 2, "render": 3,
         "compiler": 4, "lint": 4, "explain": 4,
         "schema": 4, "bases": 6, "cache": 4, "output": 4, "console": 4, "adopt": 5, "deploy": 5, "settings": 6, "build_settings": 6,
         "pipeline": 6, "jobs": 6, "fleet": 6, "lock": 6, "cli": 7, "__main__": 8}
_BOTTOM = {"errors", "reference", "platform", "contract"}
# engine is the seam (it sees nothing of the features); each feature sees the engine, sbom also verify's probe
ONLY = {"engine": _BOTTOM | {"engine"}, "publish": _BOTTOM | {"publish", "engine"},
        "verify": _BOTTOM | {"verify", "engine"}, "sbom": _BOTTOM | {"sbom", "verify", "engine"},
        "bootstrap": _BOTTOM | {"bootstrap", "engine"}}
# render lays out the plan alone (STYLE.md): what it needs of the spec, lowering puts in the plan
NEVER = {"render": {"spec"}}
# plan/ and render/ are pure functions of their inputs: no clock, environment, disk,
# processes or network (what keeps the output byte-for-byte reproducible)
IMPURE = {"os", "sys", "subprocess", "time", "datetime", "random", "secrets", "uuid", "socket", "pathlib", "shutil",
          "tempfile", "glob", "io", "urllib", "http", "threading", "multiprocessing", "docker", "requests"}
PURE_PARTS = {"plan", "render", "deploy", "reference", "platform", "contract"}
# pathlib (Path, file I/O) only where files are read or written
PATHLIB_ALLOWED = {"spec", "engine", "publish", "verify", "sbom", "bootstrap", "output", "cli", "pipeline", "jobs",
                   "bases", "cache", "adopt", "settings", "build_settings", "resources", "fleet", "lock"}


def _part(module: str) -> str:
    """`imagespec.spec.yaml_source` -> `spec`; `imagespec` -> `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    if not path.is_relative_to(REPO):
        return path.stem
    rel = path.relative_to(REPO).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[str, int]]:
    """Every module a file imports, lazy imports inside functions included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    inside = path.is_relative_to(PACKAGE)
    package = _module_name(path) if path.name == "__init__.py" or not inside else _module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "imagespec":  # `from imagespec import reference`: the module named
                found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
            else:
                found.append((base, node.lineno))
    return found


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(REPO)}:{line}"


def test_every_module_has_a_place_in_the_layers() -> None:
    parts = {_part(_module_name(path)) for path in MODULES}
    assert parts - set(LAYER) - set(ONLY) - {"__init__"} == set(), "classify the new module in LAYER or ONLY"


def test_the_readme_table_names_every_part() -> None:
    """README's "How it is built" is the map a newcomer reads: every part is on it."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("### How it is built", 1)[1].split("\n\n")[2]  # the paragraph after the intro
    named = {name for row in table.splitlines() for name in re.findall(r"`(\w+)/?`", row.split("|")[1])}
    parts = {_part(_module_name(path)) for path in MODULES}
    assert parts - named == set(), "add the part to README's How it is built table"


def test_every_part_says_what_it_may_import() -> None:
    """A part's docstring (its __init__'s, or the module's) states its import rule, as README says."""
    heads = [path for path in MODULES if path.parent == PACKAGE or path.name == "__init__.py" and
             path.parent.parent == PACKAGE]
    silent = [str(path.relative_to(REPO)) for path in heads
              if "may import" not in " ".join((ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "")
                                              .lower().split())]
    assert silent == []


def test_imports_point_one_way() -> None:
    backward = []
    for path in MODULES:
        here = _part(_module_name(path))
        for target, line in imports_of(path):
            if target != "imagespec" and not target.startswith("imagespec."):
                continue
            there = _part(target)
            if there in NEVER.get(here, ()):
                ok = False
            elif here in ONLY:
                ok = there in ONLY[here]
            elif there in ONLY:  # the build half: only what sits above the compiler may use it
                ok = here == "__init__" or LAYER.get(here, 0) > LAYER["compiler"]
            elif here == "__init__":
                ok = there != "cli"  # the public API never needs the command line
            else:
                ok = there == "__init__" and here == "cli" or LAYER.get(there, 99) <= LAYER[here]
            if not ok:
                backward.append(f"{_where(path, line)}: {here} imports {target}")
    assert backward == []


# the command line parses, calls one orchestrator, prints: everything else is in jobs (a front end's glue)
CLI_IMPORTS = {"imagespec", "imagespec.jobs", "imagespec.errors", "imagespec.console", "imagespec.spec.model"}


def test_the_cli_only_parses_calls_jobs_and_prints() -> None:
    found = {target for target, _ in imports_of(PACKAGE / "cli.py") if target.split(".")[0] == "imagespec"}
    assert found - CLI_IMPORTS == set(), "move the glue into imagespec/jobs/"


# jobs is a package of one module per family of jobs; `imagespec.jobs` re-exports them all (the CLI, the lazy
# public API, scripts call jobs.X), and the families stand side by side on `compiling` alone
JOBS = PACKAGE / "jobs"


def test_every_public_job_is_on_imagespec_jobs() -> None:
    jobs = importlib.import_module("imagespec.jobs")
    missing, shadowed = [], []
    for path in sorted(JOBS.glob("*.py")):
        if path.name == "__init__.py":
            continue
        module = importlib.import_module(f"imagespec.jobs.{path.stem}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
        missing += [f"{path.stem}.{name}" for name in sorted(defined) if not name.startswith("_")
                    and getattr(jobs, name, None) is not getattr(module, name)]
        if path.stem in defined or path.stem in jobs.__all__:  # jobs.NAME would be the function, not the module
            shadowed.append(path.stem)
    assert missing == [], "re-export it in imagespec/jobs/__init__.py (and __all__)"
    assert shadowed == []
    assert sorted(jobs.__all__) == jobs.__all__ and all(hasattr(jobs, name) for name in jobs.__all__)


def test_job_families_build_on_compiling_only() -> None:
    crossing = [f"{_where(path, line)}: {target}" for path in sorted(JOBS.glob("*.py")) if path.name != "__init__.py"
                for target, line in imports_of(path)
                if target.startswith("imagespec.jobs") and target != "imagespec.jobs.compiling"]
    assert crossing == [], "a job family imports another: move what they share into jobs/compiling.py"


def test_plan_and_render_are_pure() -> None:
    impure = []
    for path in MODULES:
        here = _part(_module_name(path))
        for target, line in imports_of(path):
            top = target.split(".")[0]
            if here in PURE_PARTS and top in IMPURE:
                impure.append(f"{_where(path, line)}: {target}")
            elif top == "pathlib" and here not in PATHLIB_ALLOWED:
                impure.append(f"{_where(path, line)}: {target} (files are read in spec/, written in output/cli)")
    assert impure == []


def test_the_layer_check_catches_a_backward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from imagespec.render.dockerfile import render_dockerfile\n    import os\n"
                   "from imagespec import render\n")
    assert imports_of(bad) == [("imagespec.render", 4), ("imagespec.render.dockerfile", 2), ("os", 3)]


# --- the compiler's looks at the disk ------------------------------------------------------

# The result cache (imagespec.cache) trusts a stored Dockerfile when every look the compiler
# took at the disk, noted by imagespec.spec.files, sees the same again: a look that bypasses
# that module would let a changed input serve a stale Dockerfile.
DISK_CALLS = {"read_bytes", "read_text", "is_file", "is_dir", "exists", "iterdir", "stat", "lstat", "glob", "rglob",
              "open", "listdir", "scandir", "walk", "getenv", "realpath", "abspath", "isfile", "isdir", "readlink",
              "samefile", "expanduser", "cwd", "getcwd"}
# modules compiled specs never reach (`imagespec base` reads base specs, lint asks the build
# context) and the noting module itself
NOT_COMPILED = {"imagespec.spec.files", "imagespec.spec.read_base", "imagespec.spec.base_model",
                "imagespec.spec.build_context"}
# in the cache's key instead: the working directory (as a Path, or as text)
KEYED = {("imagespec.spec.read_spec", "cwd"), ("imagespec.spec.read_spec", "getcwd")}


def disk_looks(path: Path) -> list[tuple[str, int]]:
    """Calls in a file that look at the disk or the environment without being noted."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "files":
                continue  # files.is_file(...): noted
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            # Path.resolve() follows links; the catalog's and extends' resolve(...) take arguments
            if name in DISK_CALLS or (name == "resolve" and not node.args and isinstance(func, ast.Attribute)):
                found.append((name, node.lineno))
        elif isinstance(node, ast.Attribute) and node.attr == "environ":
            found.append(("environ", node.lineno))
    return found


def test_the_compiler_looks_at_the_disk_only_through_spec_files() -> None:
    unnoted = []
    for path in MODULES:
        module = _module_name(path)
        if _part(module) not in {"spec", "plan", "render", "compiler"} or module in NOT_COMPILED:
            continue
        unnoted += [f"{_where(path, line)}: {name}" for name, line in disk_looks(path) if (module, name) not in KEYED]
    assert unnoted == [], "look through imagespec.spec.files, so that the result cache notes it"


def test_the_disk_check_catches_an_unnoted_look(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\ndef f(p, c):\n    c.resolve('x')\n    files.exists(p)\n"
                   "    return p.resolve().is_file() or os.environ['A']\n")
    assert sorted(disk_looks(bad)) == [("environ", 5), ("is_file", 5), ("resolve", 5)]


# --- the environment is read once, at the boundary (STYLE: options are one typed value) ------

# imagespec.settings.read_environment reads imagespec's variables; the CLI passes the value down
ENV_BOUNDARY = "imagespec.settings"
# reads below the boundary, each with its reason: none of them is an option of imagespec's
ENV_ALLOWED = {
    "imagespec.engine.client": "DOCKER_HOST is docker's own variable (the SDK and the docker CLI read it too); "
                              "named in messages only",
    "imagespec.engine.buildkit_cli": "the docker CLI runs with the caller's environment (DOCKER_HOST, DOCKER_CONFIG, "
                                    "proxies), plus DOCKER_BUILDKIT",
    "imagespec.bootstrap.mmdebstrap": "mmdebstrap runs with the caller's environment, plus SOURCE_DATE_EPOCH and "
                                      "TMPDIR",
    "imagespec.publish.credentials": "DOCKER_CONFIG is docker's own variable: registry look-ups use the docker "
                                     "client's credentials, where that client would find them",
    "imagespec.publish.tags": "oci_labels' default for library callers; imagespec.pipeline passes the settings' epoch",
    "imagespec.fleet.run": "docker buildx bake runs with the caller's environment (DOCKER_HOST, BUILDX_BUILDER, "
                           "proxies), plus BUILDX_METADATA_PROVENANCE",
}
_ENV_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_reads(path: Path) -> list[int]:
    """Lines that touch the process environment: os.environ, os.getenv, `from os import environ`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _ENV_NAMES and isinstance(node.value, ast.Name) \
                and node.value.id == "os":
            found.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and \
                any(alias.name in _ENV_NAMES for alias in node.names):
            found.append(node.lineno)
    return found


def test_only_the_boundary_reads_the_environment() -> None:
    below = [f"{_where(path, line)}" for path in MODULES
             if _module_name(path) not in {ENV_BOUNDARY, *ENV_ALLOWED} for line in environment_reads(path)]
    assert below == [], "read the environment in imagespec.settings.read_environment and pass the value down"
    assert environment_reads(PACKAGE / "settings.py"), "the boundary reads it"
    unused = [name for name in ENV_ALLOWED if not environment_reads(REPO / (name.replace(".", "/") + ".py"))]
    assert unused == [], "an exception that no longer reads the environment: drop it"


def test_the_environment_check_catches_a_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom os import getenv\ndef f():\n    return os.environ.get('A') or os.getenv('B')\n")
    assert environment_reads(bad) == [2, 4, 4]


# --- the public API (httpx's test_exported_members) -----------------------------------------

EXPORTED = {
    "BaseOptions", "BaseSpec", "BuildFailed", "CheckFailed", "Compiled", "Config", "EngineError", "Final", "Image",
    "ImageSpecError", "Interrupted", "LoadedSpec", "Location", "PolicyError", "SourceUnreachable", "Spec",
    "SpecError", "Stage", "TagConflict", "base_build", "base_check", "build", "build_bases", "check", "compile_spec", "generate", "load_base",
    "load_config", "load_spec", "load_spec_text", "test",
}


def test_public_api_is_exactly_the_exported_list() -> None:
    imagespec = importlib.import_module("imagespec")
    assert imagespec.__all__ == sorted(imagespec.__all__), "__all__ must be sorted"
    assert len(imagespec.__all__) == len(set(imagespec.__all__))
    assert set(imagespec.__all__) == EXPORTED
    for name in imagespec.__all__:
        assert getattr(imagespec, name) is not None, name
    public = {name for name in vars(imagespec) if not name.startswith("_")} - {"annotations"}
    submodules = {name for name in public if isinstance(getattr(imagespec, name), type(imagespec))}
    assert public - submodules == EXPORTED, "a public name that is not in __all__"


def test_exported_names_say_where_they_live() -> None:
    imagespec = importlib.import_module("imagespec")
    for name in imagespec.__all__:
        member = getattr(imagespec, name)
        assert getattr(member, "__module__", "imagespec").startswith("imagespec."), name


# --- the committed JSON Schema ---------------------------------------------------------------

SCHEMA_PATH = REPO / "specs" / "imagespec.schema.json"
SCHEMA_COMMENT = "# yaml-language-server: $schema="


def test_committed_schema_is_what_imagespec_schema_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert printed == SCHEMA_PATH.read_text(encoding="utf-8"), \
        "specs/imagespec.schema.json is stale: run `imagespec schema -o specs/imagespec.schema.json`"
    jsonschema.Draft202012Validator.check_schema(json.loads(printed))


@pytest.mark.parametrize("spec", EXAMPLES + GOLDEN_CASES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_spec_validates_against_the_committed_schema(spec: Path) -> None:
    text = spec.read_text(encoding="utf-8")
    if spec.name == "imagespec.yaml":  # examples point editors at the schema
        first = text.splitlines()[0]
        assert first.startswith(SCHEMA_COMMENT)
        assert (spec.parent / first.split("=", 1)[1]).resolve() == SCHEMA_PATH
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(parse_yaml(text, spec.name).data)]
    assert errors == []


def test_schema_rejects_what_the_model_rejects() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert not validator.is_valid({"name": "app", "final": {"from": "debian-slim", "entrypiont": ["/app"]}})
    assert not validator.is_valid({"final": {"from": "debian-slim", "entrypoint": ["/app"]}})
