# the engine and `built` fixtures of the end-to-end tests (the real CLI on the local bases)
from tests.integration.conftest import built, engine  # noqa: F401
