"""The engine tests here share tests/images' rules: they skip without an engine unless
IMAGESPEC_REQUIRE_ENGINE is set (CI), and remove what they made."""

from tests.images.conftest import client, cleanup, pytest_collection_modifyitems, session_cleanup

__all__ = ["cleanup", "client", "pytest_collection_modifyitems", "session_cleanup"]
