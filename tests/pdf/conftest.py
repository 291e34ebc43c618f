"""The dossier tests' portal, people and dossiers, for the PDFs."""

from tests.access.conftest import *  # noqa: F403
