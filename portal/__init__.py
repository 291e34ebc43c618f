"""Carnet's core. A plugin needs only what this module exports::

from portal import Section, gettext_lazy as _, hookimpl
"""

from portal.hookspecs import Section, hookimpl
from portal.i18n import gettext_lazy

__all__ = ["Section", "gettext_lazy", "hookimpl"]
