"""Carnet's core. A plugin needs only what this module exports::

from portal import Card, Category, Section, gettext_lazy as _, hookimpl
"""

from portal.hookspecs import Card, Category, DemoData, EmergencyItem, Section, hookimpl
from portal.i18n import gettext_lazy

__all__ = [
    "Card",
    "Category",
    "DemoData",
    "EmergencyItem",
    "Section",
    "gettext_lazy",
    "hookimpl",
]
