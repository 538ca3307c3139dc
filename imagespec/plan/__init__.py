"""plan: how to build what the spec asks, as data (stages of instructions).

Pure: no clock, no environment, no disk. May import imagespec.errors, imagespec.contract and
imagespec.spec.
"""
