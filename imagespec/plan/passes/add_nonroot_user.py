"""BP8: the final image runs as a non-root numeric UID that has a real passwd and
group entry (tools and libraries that look the user up keep working), also on
scratch. Root only when the spec says so and why."""

from __future__ import annotations

from imagespec.plan import model as p
from imagespec.plan.passes import rootfs

_WHY = "a non-root numeric user with a passwd entry"


def _create_user_commands(manager: str, rt: p.Runtime) -> tuple[str, ...]:
    home = f"/home/{rt.user_name}"
    # gid 0 (the OpenShift way: any uid, group root) is the base's own root group: joined, not made
    own_group = rt.gid != 0
    if manager == "apk":
        group = rt.user_name if own_group else "root"
        return ((f"addgroup -S -g {rt.gid} {rt.user_name}",) if own_group else ()) + (
            f"adduser -S -D -u {rt.uid} -G {group} -h {home} -s /sbin/nologin {rt.user_name}",)
    return ((f"groupadd --system --gid {rt.gid} {rt.user_name}",) if own_group else ()) + (
        f"useradd --system --uid {rt.uid} --gid {rt.gid} --home-dir {home} --create-home "
        f"--shell /usr/sbin/nologin {rt.user_name}",)


def _passwd_commands(rt: p.Runtime) -> tuple[str, ...]:
    root = rootfs.ROOT
    home = f"/home/{rt.user_name}"
    groups = "'root:x:0:'" + (f" '{rt.user_name}:x:{rt.gid}:'" if rt.gid != 0 else "")  # gid 0: root's group
    return (f"mkdir -p {root}/etc {root}{home} {root}/tmp",
            f"printf '%s\\n' 'root:x:0:0:root:/root:/sbin/nologin' "
            f"'{rt.user_name}:x:{rt.uid}:{rt.gid}:{rt.user_name}:{home}:/sbin/nologin' > {root}/etc/passwd",
            f"printf '%s\\n' {groups} > {root}/etc/group",
            f"chown {rt.uid}:{rt.gid} {root}{home}",
            f"chmod 0700 {root}{home}",
            f"chmod 1777 {root}/tmp")


def add_nonroot_user(plan: p.Plan) -> p.Plan:
    rt, final = plan.runtime, plan.final
    origin = p.Origin(("final", "user"), ("BP8",), _WHY)
    if rt.uid == 0:
        user = p.User(user="0", phase=p.Phase.RUNTIME,
                      origin=p.Origin(("final", "user"), ("BP8",), f"root by request: {rt.root_reason}"))
        return plan.replace_stage(final.with_instructions(user))
    if final.base.provided_user != rt.uid:
        if final.base.has_shell and final.base.package_manager:
            create = p.Run(commands=_create_user_commands(final.base.package_manager, rt),
                           phase=p.Phase.SYSTEM, origin=origin)
            plan = plan.replace_stage(final.with_instructions(create))
        elif final.base.ref == "scratch" or not final.base.has_shell:
            step = p.Run(commands=_passwd_commands(rt), phase=p.Phase.BUILD, origin=origin)
            plan = rootfs.add_to_rootfs(plan, step, reason=f"the user {rt.uid}")
    user = p.User(user=f"{rt.uid}:{rt.gid}", phase=p.Phase.RUNTIME, origin=origin)
    return plan.replace_stage(plan.final.with_instructions(user))
