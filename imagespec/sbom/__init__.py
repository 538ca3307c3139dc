"""imagespec.sbom: an SPDX 2.3 SBOM of an image's Debian packages (BP16).

Role: ``dpkg`` reads the package database of a root file system, ``licenses`` reads
the licences Debian copyright files declare, ``spdx`` lays them out as a document (from
a local image through the engine, or from a rootfs tarball without one).

May import: the standard library, ``imagespec.errors``, ``imagespec.reference``,
``imagespec.sbom`` itself and ``imagespec.verify`` (its probe's chunked reader of
container archives) and ``imagespec.engine`` (the connection); ``docker`` only inside
functions.
"""
