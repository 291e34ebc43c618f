"""The French catalog is complete, clean and compiled.

Messages are written in English in the code and the templates; French is the default language,
so a message without a French translation shows English to a French patient. These tests
extract the messages exactly as ``make extract-messages`` does (Babel, with ``babel.cfg``) and
compare them with ``portal/locale/fr/LC_MESSAGES/messages.po``.

When one fails: run ``make extract-messages``, translate the new entries in the .po, then
``make translations`` to compile it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from portal import i18n

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
FRENCH_PO = ROOT / "portal" / "locale" / "fr" / "LC_MESSAGES" / "messages.po"
HOW_TO_FIX = (
    f"Run `make extract-messages`, then translate the entries in {FRENCH_PO.relative_to(ROOT)}"
)

#: A printf-style conversion as Python's ``%`` operator reads it (``%(name)s``, ``%d``, ``%%``).
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[a-zA-Z%]")
#: Babel's keywords plus the lazy one plugins use (``pybabel extract -k gettext_lazy``).
KEYWORDS = {**DEFAULT_KEYWORDS, "gettext_lazy": None}
#: Conversions without a name: ``%s``, ``%d``... (``%%`` is a literal percent sign).
POSITIONAL = re.compile(r"%[^(%]")


@cache
def extracted() -> Catalog:
    """The messages of the source tree, extracted as ``pybabel extract -F babel.cfg`` does."""
    with BABEL_CFG.open() as config:
        method_map, options_map = parse_mapping_cfg(config, str(BABEL_CFG))
    catalog = Catalog(locale="fr")
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


@cache
def french() -> Catalog:
    with FRENCH_PO.open("rb") as po_file:
        return read_po(po_file, locale="fr")


def translated_messages(catalog: Catalog) -> list[Message]:
    """Every real message of ``catalog`` (the header, whose id is empty, left out)."""
    return [message for message in catalog if message.id]


def singular(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


def strings(message: Message) -> tuple[str, ...]:
    """The translation(s) of a message: one per plural form for ``ngettext`` messages."""
    if isinstance(message.string, tuple | list):
        return tuple(message.string)
    return (message.string,)


def ids(message: Message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def is_translated(entry: Message | None, forms: int) -> bool:
    """A usable translation: present, not fuzzy, one non-empty string per plural form."""
    if entry is None or entry.fuzzy:
        return False
    texts = strings(entry)
    return len(texts) == forms and all(text.strip() for text in texts)


def listing(messages: list[str]) -> str:
    return "\n".join(f"  - {message!r}" for message in messages)


def test_the_source_tree_has_messages():
    """Guard against a broken babel.cfg that would make the other tests vacuously pass."""
    sources = {filename for message in extracted() for filename, _line in message.locations}
    assert any(name.endswith(".py") for name in sources), sources
    assert any(name.endswith(".html") for name in sources), sources
    assert extracted().get("Your health record, in your hands") is not None


def test_every_message_has_a_french_translation():
    catalog = french()
    missing = []
    for message in translated_messages(extracted()):
        entry = catalog.get(message.id, context=message.context)
        if not is_translated(entry, catalog.num_plurals if message.pluralizable else 1):
            missing.append(singular(message))
    assert not missing, (
        f"{len(missing)} message(s) have no French translation (or a fuzzy one). "
        f"{HOW_TO_FIX}:\n{listing(missing)}"
    )


def test_the_catalog_holds_only_messages_the_code_uses():
    source = extracted()
    catalog = french()
    unused = [
        singular(message)
        for message in translated_messages(catalog)
        if source.get(message.id, context=message.context) is None
    ]
    obsolete = [singular(message) for message in catalog.obsolete.values()]
    assert not unused + obsolete, (
        "The French catalog holds messages the code no longer uses: run "
        f"`make extract-messages` to clean it.\n{listing(unused + obsolete)}"
    )


def test_no_translation_is_fuzzy():
    catalog = french()
    assert not catalog.fuzzy, (
        "The header of the French catalog is marked fuzzy: `pybabel compile` would skip the "
        "whole catalog. Remove the `#, fuzzy` line above the header."
    )
    fuzzy = [singular(message) for message in translated_messages(catalog) if message.fuzzy]
    assert not fuzzy, (
        "These French translations are marked fuzzy (not used until checked): review them "
        f"and remove the `#, fuzzy` line.\n{listing(fuzzy)}"
    )


def test_the_header_keeps_the_french_plural_rule():
    catalog = french()
    assert str(catalog.locale) == "fr"
    headers = dict(catalog.mime_headers)
    assert headers["Language"] == "fr"
    assert headers["Plural-Forms"] == "nplurals=2; plural=(n > 1);"


#: French puts a space before : ; ? and !: an ordinary one lets the sign start a line of its own
#: on a narrow phone, where a non-breaking one keeps it with its word.
LOOSE_PUNCTUATION = re.compile(r"(?<=\S) [:;?!](?=\s|$)")
#: A colon written by a template itself: English wants none before it, French a non-breaking
#: one. Such labels go through the ``colon`` filter.
TEMPLATE_COLON = re.compile(r"(\}\}|</strong>|[)\w]) : |\}\}: ")
#: A {% trans %} block: its colons are the catalog's.
TRANS_BLOCK = re.compile(r"\{%-? *trans\b.*?\{%-? *endtrans *-?%\}")


def test_french_punctuation_keeps_to_its_word():
    loose = [
        text
        for message in translated_messages(french())
        for text in strings(message)
        if LOOSE_PUNCTUATION.search(text)
    ]
    assert not loose, (
        "Use a non-breaking space (U+00A0) before : ; ? and ! in these French translations:\n"
        + listing(loose)
    )


def test_templates_leave_colons_to_the_language():
    templates = [*ROOT.glob("templates/**/*.html"), *ROOT.glob("plugins/*/templates/**/*.html")]
    written = [
        f"{path.relative_to(ROOT)}: {line.strip()[:100]}"
        for path in templates
        for line in path.read_text(encoding="utf-8").splitlines()
        if TEMPLATE_COLON.search(TRANS_BLOCK.sub("", line))
    ]
    assert not written, "Write these labels with the `colon` filter:\n" + "\n".join(written)


def placeholders(text: str) -> list[str]:
    return sorted(match.group(0) for match in PLACEHOLDER.finditer(text))


def test_placeholders_are_kept_in_the_translation():
    """``%(name)s`` in the English must appear, unchanged, in the French.

    Messages in templates always go through ``%`` (Jinja's newstyle gettext), even without a
    placeholder: a literal percent sign must be written ``%%`` there (for example ``50 %%``).
    """
    source = extracted()
    wrong = []
    for message in translated_messages(french()):
        origin = source.get(message.id, context=message.context)
        in_template = origin is not None and any(
            filename.endswith(".html") for filename, _line in origin.locations
        )
        if not (message.python_format or in_template):
            continue
        expected = placeholders(ids(message)[0])
        for text in strings(message):
            if text and placeholders(text) != expected:
                wrong.append(f"{singular(message)!r} -> {text!r}")
                continue
            if any(POSITIONAL.match(conversion) for conversion in expected):
                continue  # the comparison above is all we can check without the arguments
            values = dict.fromkeys(PLACEHOLDER.findall(ids(message)[0]), "x")
            try:
                text % values
            except (ValueError, TypeError, KeyError) as error:
                wrong.append(f"{singular(message)!r} -> {text!r} ({error})")
    assert not wrong, (
        "These French translations do not keep the placeholders of the English message "
        "(expected the same %(name)s, and %% for a literal percent sign):\n"
        + "\n".join(f"  - {line}" for line in wrong)
    )


def test_the_compiled_catalog_is_loaded_and_up_to_date():
    compiled = i18n.translations("fr")
    assert compiled.gettext("Your health record, in your hands") == (
        "Votre dossier médical, entre vos mains"
    )
    # In French, 0 and 1 take the singular: the compiled header kept the plural rule.
    assert [compiled.plural(n) for n in (0, 1, 2, 10)] == [0, 0, 1, 1]
    stale = [
        singular(message)
        for message in translated_messages(french())
        if not message.pluralizable and compiled.gettext(message.id) != message.string
    ]
    assert not stale, (
        "The compiled French catalog (.mo) is older than the .po: run `make translations`.\n"
        + listing(stale)
    )


@pytest.mark.parametrize("language", ["fr", "en"])
def test_gettext_speaks_the_language_of_the_context(language):
    token = i18n.set_language(language)
    try:
        home_title = i18n.gettext("Your health record, in your hands")
    finally:
        i18n.reset_language(token)
    expected = {
        "fr": "Votre dossier médical, entre vos mains",
        "en": "Your health record, in your hands",
    }
    assert home_title == expected[language]
