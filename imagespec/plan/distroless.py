"""A distroless base spec -> Plan: an apt stage assembles the root, a final stage
copies it onto scratch (or onto the base it extends, sharing its layers: BP12).

Pure: the catalog entries of the bases it names are passed in. The root-making steps
are the subcommands of `imagespec-rootfs` (templates/bases/), copied into the build
context, so the Dockerfile reads as the list of what happens to the root.
"""

from __future__ import annotations

from imagespec.platform import Platform
from imagespec.plan import model as p
from imagespec.spec.base_model import Distroless
from imagespec.spec.model import NONROOT_UID, Image

ROOT = "/rootfs"
TOOL = "imagespec-rootfs"
TOOL_PATH = f"/usr/local/bin/{TOOL}"
PATH = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
_WHERE = ("distroless",)


def _origin(*path: str | int, why: str, practices: tuple[str, ...] = ()) -> p.Origin:
    return p.Origin((*_WHERE, *path), practices, why)


def _assembly_steps(spec: Distroless, platform: Platform | None) -> tuple[str, ...]:
    scratch = spec.from_ == "scratch"
    if platform is None:
        steps = ["apt-get update", f"{TOOL} unpack {ROOT} {' '.join(spec.packages)}", "rm -rf /var/lib/apt/lists/*"]
    else:  # the build machine's apt fetches the target's packages: nothing runs emulated
        arch = platform.debian_arch
        steps = [f"dpkg --add-architecture {arch}", "apt-get update",
                 f"{TOOL} unpack-for {ROOT} {arch} {' '.join(spec.packages)}", "rm -rf /var/lib/apt/lists/*"]
    if scratch:
        steps.append(f"{TOOL} skeleton {ROOT} {NONROOT_UID}")
    if "ca-certificates" in spec.packages:
        steps.append(f"{TOOL} ca-bundle {ROOT}")
    if scratch and spec.timezone and "tzdata" in spec.packages:
        steps.append(f"{TOOL} timezone {ROOT} {spec.timezone}")
    if spec.remove:
        steps.append("rm -rf " + " ".join(f"{ROOT}{path}" for path in spec.remove))
    steps += [f"ln -sfn {target} {ROOT}{path}" for path, target in sorted(spec.links.items())]
    # the same mtimes on every build: identical layer contents (diff IDs) from identical inputs
    steps.append(f'{TOOL} clamp {ROOT} "${{SOURCE_DATE_EPOCH:-}}"')
    return tuple(steps)


def assembly_stage_name(name: str) -> str:
    """Never the final stage's name, whatever the base is called."""
    return f"{name}-rootfs"


def _assembly_stage(name: str, spec: Distroless, assemble_in: Image, platform: Platform | None) -> p.Stage:
    base = p.Base(assemble_in.image, assemble_in.family, "apt", True)
    instructions: tuple[p.Instruction, ...] = (
        p.Copy(phase=p.Phase.SETUP, origin=_origin("assemble_in", why="the root-making steps, run below"),
               sources=(TOOL,), dest=TOOL_PATH),
        p.Arg(phase=p.Phase.SETUP, origin=_origin(why="clamps the root's mtimes (reproducible layers)"),
              name="SOURCE_DATE_EPOCH"),
        p.Run(phase=p.Phase.BUILD, origin=_origin("packages", why="unpacked, not installed: no maintainer "
                                                   "script, shell or package manager reaches the root",
                                                   practices=("BP6", "BP11")),
              commands=_assembly_steps(spec, platform)),
    )
    why = "the root file system, assembled from package contents"
    # for a platform: on the build platform, whose apt unpacks the target's packages
    return p.Stage(assembly_stage_name(name), base, _origin("assemble_in", why=why), instructions,
                   platform="$BUILDPLATFORM" if platform else None)


def _final_stage(name: str, spec: Distroless, parent: Image | None) -> p.Stage:
    if parent is None:
        base = p.Base("scratch", "scratch", None, False)
        env = {"PATH": PATH, **({"SSL_CERT_FILE": CA_BUNDLE} if "ca-certificates" in spec.packages else {}), **spec.env}
    else:
        base = p.Base(parent.image, parent.family, None, bool(parent.shell), parent.user)
        env = dict(spec.env)
    instructions: list[p.Instruction] = [
        p.Copy(phase=p.Phase.ARTIFACTS, origin=_origin("packages", why="the assembled root, one layer"),
               sources=(f"{ROOT}/",), dest="/", from_stage=assembly_stage_name(name))]
    if env:
        instructions.append(p.Env(phase=p.Phase.RUNTIME, origin=_origin("env", why="the runtime's environment"),
                                  items=tuple(env.items())))
    if parent is None:
        instructions += [
            p.User(phase=p.Phase.RUNTIME, origin=_origin(why="nonroot, with a passwd entry", practices=("BP8",)),
                   user=f"{NONROOT_UID}:{NONROOT_UID}"),
            p.Workdir(phase=p.Phase.RUNTIME, origin=_origin(why="nonroot's home"), path="/home/nonroot")]
    if spec.cmd:
        instructions.append(p.Cmd(phase=p.Phase.START, origin=_origin("cmd", why="exec form", practices=("BP2",)),
                                  argv=tuple(spec.cmd)))
    what = "scratch" if parent is None else f"{parent.image}, whose layers it shares (BP12)"
    return p.Stage(name, base, _origin("from", why=f"the image: the root on {what}"), tuple(instructions), final=True)


def lower_distroless(name: str, spec: Distroless, *, assemble_in: Image, parent: Image | None,
                     platform: Platform | None = None) -> p.Plan:
    """`parent`: the catalog entry of `from` (None for scratch). `platform`: one of the
    base's `platforms:`, whose packages are unpacked (None: the build machine's)."""
    runtime = p.Runtime(uid=NONROOT_UID, gid=NONROOT_UID, user_name="nonroot", root_reason=None, writable=(),
                        init=False, shell_entrypoint=False)
    stages = (_assembly_stage(name, spec, assemble_in, platform), _final_stage(name, spec, parent))
    # the context holds the one tool the Dockerfile copies, nothing else
    return p.Plan(name, stages, runtime, dockerignore=("*", f"!{TOOL}"))
