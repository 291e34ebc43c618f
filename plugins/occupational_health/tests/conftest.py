"""The access tests' people, dossiers and browsers, for the occupational health tests."""

from tests.access.conftest import *  # noqa: F403
from tests.identity.conftest import browser  # noqa: F401
