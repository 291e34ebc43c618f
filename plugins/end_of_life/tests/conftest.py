"""The access tests' dossiers and people, and the identity tests' browsers."""

from tests.access.conftest import *  # noqa: F403
from tests.identity.conftest import browser  # noqa: F401
