"""Carnet's core. A plugin needs only what this module exports::

from portal import Card, Category, Deed, Section, gettext_lazy as _, hookimpl, holds_no_patient_data
"""

from portal.hookspecs import (
    Card,
    Category,
    Deed,
    DemoData,
    EmergencyItem,
    Section,
    holds_no_patient_data,
    hookimpl,
)
from portal.i18n import gettext_lazy

__all__ = [
    "Card",
    "Category",
    "Deed",
    "DemoData",
    "EmergencyItem",
    "Section",
    "gettext_lazy",
    "holds_no_patient_data",
    "hookimpl",
]
