"""FHIR R4: Carnet's dossiers and documents as FHIR resources, and the API under ``/fhir``.

- ``resources.py``: the builders (``Patient``, ``DocumentReference``, ``Bundle``) and the
  ``OperationOutcome`` of every refusal.
- ``codes.toml`` / ``codes.py``: the FHIR codes of Carnet's categories and types (data), and
  the French identifiers (INS-NIR, RPPS).
- ``transaction.py``: reading an ITI-65 bundle; ``search.py``: the ITI-67 search.
- ``routes.py``: the routes, which open dossiers through `portal.access.view` as the pages do.

This package translates; it never decides who may see or do what (`portal.access` does).
"""
