"""Placeholder: filled by the documents work."""

ROUTES: list = []
