"""Measures: a section of the Carnet health record."""
