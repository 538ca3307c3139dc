"""The engine fixture of the end-to-end tests (skips without an engine, fails under
IMAGESPEC_REQUIRE_ENGINE)."""

from tests.integration.conftest import engine  # noqa: F401  (a fixture, found by name)
