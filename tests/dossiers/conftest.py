"""The access tests' dossiers, documents and people, for the dossier pages."""

from tests.access.conftest import *  # noqa: F403
from tests.identity.conftest import browser  # noqa: F401
