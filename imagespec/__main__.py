"""`python -m imagespec`: the same as the `imagespec` command."""

from imagespec.cli import run

run()
