"""The main job's glue: a compiled spec built, tagged, given its SBOM and pushed.

Joins the compiler (pure) to the engine (imagespec.engine); with ``jobs`` and ``bases`` the
only part besides the CLI that knows both. Decides the build-time facts the Dockerfile must
not hold: tags (BP14), created/revision labels, the CA bundle secret. One module per role:

- ``options``: a spec's build options (tags, labels, secrets) and its provenance labels;
- ``image``: one image on the local engine (``up_to_date``, ``build``);
- ``sbom_layer``: the SBOM scan and the layer that stores it (BP16);
- ``platforms``: several platforms as one pushed index (``current_index``: one already there);
- ``platform_bases``: each platform's base images, there before a multi-platform build;
- ``hand_ignore``: an ignore file written by hand, which the build does not read, honoured or refused;
- ``build_args``: the --build-arg values no ARG declares, said (not progress);
- ``push_rules``: what a push must keep (the `push_registries` and `clean_push` policies);
- ``failures``: a failed build pointed back at the spec line (through the line map);
- ``expectations``: what ``imagespec test`` checks.

May import: both halves and imagespec.settings (it sits at the top, below jobs).
"""

from imagespec.pipeline.build_args import fleet_arg_warnings, undeclared_arg_warnings
from imagespec.pipeline.expectations import expectations, expectations_from_image
from imagespec.pipeline.failures import locate_failure
from imagespec.pipeline.hand_ignore import refuse_unhonoured_ignores
from imagespec.pipeline.image import build, refuse_nowhere_to_push, up_to_date
from imagespec.pipeline.options import (build_options, final_base, imagespec_version, provenance, references,
                                        remembering, repository)
from imagespec.pipeline.platform_bases import platforms_location, refuse_missing_bases
from imagespec.pipeline.platforms import build_platforms, current_index, index_references, keep_index
from imagespec.pipeline.push_rules import dirty_push_warning, refuse_push, untracked_sent
from imagespec.pipeline.sbom_layer import add_sbom, own_sbom_path, sbom_settings, store_sbom

__all__ = ["add_sbom", "build", "build_options", "build_platforms", "current_index", "dirty_push_warning",
           "expectations", "expectations_from_image", "final_base", "fleet_arg_warnings", "imagespec_version",
           "index_references",
           "keep_index", "locate_failure", "own_sbom_path", "platforms_location", "provenance", "references",
           "refuse_missing_bases", "refuse_nowhere_to_push", "refuse_push", "refuse_unhonoured_ignores",
           "remembering", "repository", "sbom_settings", "store_sbom", "undeclared_arg_warnings", "untracked_sent",
           "up_to_date"]
