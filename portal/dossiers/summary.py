"""Placeholder: filled by the summary work."""

ROUTES: list = []
