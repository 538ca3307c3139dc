"""spec: what the user asked for.

Reads YAML with source locations (the only module here that touches files),
validates it into frozen pydantic models, and resolves images through the catalog.
May import: imagespec.errors, imagespec.reference, imagespec.contract, imagespec.resources.
"""
