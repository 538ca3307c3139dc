"""imagespec.bootstrap: a Debian root file system from a mirror, loaded as an image.

Role: ``mmdebstrap`` runs mmdebstrap outside any container and loads its tarball with
a fixed config (reproducible image ID, BP13); ``apt_sources`` writes the sources lists.
``imagespec.bases`` (beside it) decides when a base needs bootstrapping.

May import: the standard library, ``imagespec.errors``, ``imagespec.reference``,
``imagespec.bootstrap`` itself and ``imagespec.engine`` (the connection; the docker SDK
only through it).
"""
