"""The access tests' dossiers, documents and people, for the dossier pages."""

from tests.access.conftest import *  # noqa: F403
