"""imagespec.publish: name and ship built images — tags, OCI labels, push.

Role: the tags a build gets (``tags``: semver, git sha, latest), the OCI labels, and
pushing tags to a registry (``push``; ``registry``: the registry's HTTP API for the
digest checks). Applying tags to a built image is the engine's (``engine.local_tags``).

May import: the standard library, ``imagespec.errors``, ``imagespec.reference`` (the
grammar of references and tags), ``imagespec.publish`` itself and ``imagespec.engine``
(the connection, the tag checks); ``docker``/``requests`` only inside functions. Never
the compiler, verify, sbom or the CLI.
"""

from __future__ import annotations

from imagespec.publish.push import push_tags
from imagespec.publish.tags import git_short_sha, oci_labels, tags_for

__all__ = ["git_short_sha", "oci_labels", "push_tags", "tags_for"]
