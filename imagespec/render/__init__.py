"""render: Plan -> Dockerfile text, through Jinja2 templates that only lay text out.

Pure: takes the plan alone. What it needs of the spec, lowering puts in the plan.
May import imagespec.errors, imagespec.contract, imagespec.resources (where the
template is), imagespec.plan; never imagespec.spec (tests/compiler/test_architecture.py).
"""
