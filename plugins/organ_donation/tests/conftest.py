"""The access tests' people and dossiers, and the identity tests' portal and browsers."""

from tests.access.conftest import *  # noqa: F403
from tests.identity.conftest import browser  # noqa: F401
