"""imagespec.fleet: many specs as one graph, built by BuildKit through ``docker buildx bake``.

Role: the executor of a fleet (``run``: hand each target to bake once its parents are
built, keep going where the graph allows, tag only what built) with its pure schedule
(``schedule``), its result records and the state ``--rerun-failed`` reads (``records``).

May import: everything at the orchestrators' level (``pipeline``, ``settings``) and
below, and the build half (engine, publish); the engine only inside functions where it
would slow start-up.
"""
