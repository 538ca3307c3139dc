"""BP9: the image runs with a read-only root file system; the directories the
application writes are created, owned by the runtime user, declared as VOLUMEs and
named in a label.

A VOLUME is what makes them work in the usual ways of running read-only: `docker run
--read-only` and compose's `read_only: true` give each one an anonymous volume, which
is writable and starts with the image's content and ownership. Kubernetes ignores
VOLUME: `readOnlyRootFilesystem` needs an emptyDir per directory, which the label
(`io.imagespec.writable`) names for deployments and `imagespec test`."""

from __future__ import annotations

import shlex

from imagespec.contract import LABEL_WRITABLE, writable_label
from imagespec.plan import model as p
from imagespec.plan.passes import rootfs



def prepare_writable_dirs(plan: p.Plan) -> p.Plan:
    rt = plan.runtime
    if not rt.writable:
        return plan
    origin = p.Origin(("final", "writable"), ("BP9",), "writable directories for a read-only root file system")
    dirs = [d for d in rt.writable if d != "/tmp"]  # every base has /tmp, mode 1777
    final = plan.final
    if dirs:
        if final.base.has_shell:
            step = p.Run(commands=(f"install -d -m 0755 -o {rt.uid} -g {rt.gid} {shlex.join(dirs)}",),
                         phase=p.Phase.SYSTEM, origin=origin)
            plan = plan.replace_stage(final.with_instructions(step))
        else:
            targets = shlex.join(f"{rootfs.ROOT}{d}" for d in dirs)
            step = p.Run(commands=(f"install -d -m 0755 -o {rt.uid} -g {rt.gid} {targets}",),
                         phase=p.Phase.BUILD, origin=origin)
            plan = rootfs.add_to_rootfs(plan, step, reason="the writable directories")
    volume = p.Volume(paths=rt.writable, phase=p.Phase.RUNTIME, origin=origin)
    label = p.Label(items=((LABEL_WRITABLE, writable_label(rt.writable)),), phase=p.Phase.METADATA, origin=origin)
    return plan.replace_stage(plan.final.with_instructions(volume, label))
