"""`python -m imagespec`: the same as the `imagespec` command. May import: imagespec.cli."""

from imagespec.cli import run

run()
