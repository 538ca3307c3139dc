"""The passes: each a pure function Plan -> Plan, one module each, applied in this
order. May import imagespec.errors, imagespec.spec and imagespec.plan.model."""

from __future__ import annotations

from collections.abc import Callable

from imagespec.plan.model import Plan
from imagespec.plan.passes.add_init import add_init
from imagespec.plan.passes.add_labels import add_labels
from imagespec.plan.passes.add_nonroot_user import add_nonroot_user
from imagespec.plan.passes.cross_compile import cross_compile
from imagespec.plan.passes.expand_package_installs import expand_package_installs
from imagespec.plan.passes.merge_run_steps import merge_run_steps
from imagespec.plan.passes.mount_build_secrets import mount_build_secrets
from imagespec.plan.passes.order_for_cache import order_for_cache
from imagespec.plan.passes.order_stages import order_stages
from imagespec.plan.passes.prepare_writable_dirs import prepare_writable_dirs
from imagespec.plan.passes.run_steps_as_root import run_steps_as_root
from imagespec.plan.passes.set_pipefail import set_pipefail

Pass = Callable[[Plan], Plan]

PASSES: tuple[Pass, ...] = (
    # add_init first: it may add a package (tini) that the install expansion must see
    add_init,
    add_nonroot_user,  # BP8; may create the helper stage for shell-less finals
    prepare_writable_dirs,  # BP9; after the user exists, so it can own the directories
    cross_compile,  # platforms: after the helper stage exists (it runs on the build platform too)
    expand_package_installs,  # BP5, BP11: after every pass that adds packages
    mount_build_secrets,  # before merging: only steps with the same secrets merge
    run_steps_as_root,  # BP8: after every pass that adds a RUN step
    add_labels,  # before ordering, which puts the LABEL after everything but the start
    order_for_cache,  # BP4: before merging, so steps of one phase become adjacent
    merge_run_steps,
    set_pipefail,  # after merging: looks at the final RUN text
    order_stages,  # last: earlier passes may add stages (the helper stage)
)


def run_passes(plan: Plan, passes: tuple[Pass, ...] = PASSES) -> Plan:
    for transform in passes:
        plan = transform(plan)
    return plan
