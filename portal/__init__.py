"""Carnet's core. A plugin needs only what this module exports::

from portal import Card, Category, Section, gettext_lazy as _, hookimpl
"""

from portal.hookspecs import Card, Category, Section, hookimpl
from portal.i18n import gettext_lazy

__all__ = ["Card", "Category", "Section", "gettext_lazy", "hookimpl"]
