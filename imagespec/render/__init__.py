"""render: Plan -> Dockerfile text, through Jinja2 templates that only lay text out.

Pure. May import imagespec.errors, imagespec.spec, imagespec.plan.
"""
