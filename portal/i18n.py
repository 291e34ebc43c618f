"""Translations: French by default, English available.

Messages are written in English in the code and templates and translated through gettext
catalogs in ``portal/locale`` (compiled at install). The language of a request comes from the
``carnet_lang`` cookie (the visible switch), then ``Accept-Language``, then ``CARNET_LANGUAGE``;
it is kept in a context variable for the time of the request so that Python code, lazy strings
and templates all speak it.
"""

from __future__ import annotations

import gettext as gettext_module
from contextvars import ContextVar, Token
from functools import cache
from pathlib import Path

from babel.support import LazyProxy, Translations

from portal.settings import LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LANGUAGE_COOKIE = "carnet_lang"
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}

_language: ContextVar[str] = ContextVar("carnet_language", default="fr")


@cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The compiled catalog of a language (English is the source language)."""
    if language == "en":
        return gettext_module.NullTranslations()
    catalog = Translations.load(str(LOCALE_DIR), [language], DOMAIN)
    if not isinstance(catalog, Translations):
        raise RuntimeError(
            f"The {language!r} translations are not compiled in {LOCALE_DIR}: "
            "reinstall the package (pip install .) or run `make translations`."
        )
    return catalog


def current_language() -> str:
    return _language.get()


def set_language(language: str) -> Token[str]:
    """Speak ``language`` in this context; returns the token for `reset_language`."""
    return _language.set(language)


def reset_language(token: Token[str]) -> None:
    _language.reset(token)


def gettext(message: str) -> str:
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, count)


def with_colon(label: str) -> str:
    """``label`` and a colon, as the reader's language writes it: "Allergies:" in English,
    "Allergies :" in French, with a non-breaking space that keeps the colon on the line (the
    templates' ``colon`` filter)."""
    return gettext("%(label)s:") % {"label": label}


def gettext_lazy(message: str) -> LazyProxy:
    """A string translated when it is shown, in the language of whoever is reading."""
    return LazyProxy(gettext, message, enable_cache=False)


def negotiate(cookie: str | None, accept_language: str | None, default: str) -> str:
    """Pick the language: the person's explicit choice, then their browser's, then the default."""
    if cookie in LANGUAGES:
        return cookie
    for language in _accepted(accept_language or ""):
        if language in LANGUAGES:
            return language
    return default


def _accepted(header: str) -> list[str]:
    """Primary language tags of an ``Accept-Language`` header, most preferred first."""
    weighted = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.partition(";")
        tag, params = tag.strip().lower(), params.strip().lower()
        quality = 1.0
        if params.startswith("q="):
            try:
                quality = min(float(params[2:]), 1.0)
            except ValueError:
                continue
        if tag and quality > 0:
            weighted.append((-quality, position, tag.split("-")[0]))
    return [tag for _, _, tag in sorted(weighted)]
