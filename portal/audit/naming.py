"""What each access of the history was about and what the person did, in words, as the reader
(the patient or their legal representative) may see it.

An event of the trail names its target by kind and id only (``target_type``, ``target_id``):
the history turns that into words when it is shown. A document is named by its title and date
of care, read for all the events of a page in one query, and only if the reader may read it
now (`portal.access.policy` decides): one hidden from the patient until it is announced in
person is "a document awaiting announcement", one the reader may not read (a minor's
confidential care, for a representative) "a confidential document", one no longer in the
dossier "a deleted document". A plugin's section is named by its title, and what people do in
it by the section's `portal.hookspecs.Deed`s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from portal import clock, crypto
from portal.access.facts import item_of
from portal.access.policy import READS
from portal.audit import Action
from portal.dossiers.tables import Document
from portal.hookspecs import Section
from portal.i18n import gettext as _

if TYPE_CHECKING:
    from portal.access.view import DossierView

#: What the history needs of a document to name it, and the policy to decide whether it may.
NAMED = (
    Document.id,
    Document.category,
    Document.type,
    Document.title,
    Document.care_date,
    Document.author,
    Document.masked,
    Document.hidden_until,
    Document.hidden_from_representatives,
)


#: The target types the core traces and names itself.
CORE_TARGETS = frozenset(
    {"dossier", "history", "care_circle", "documents", "document", "summary", "summary_flag",
     "section", "directory", "profile", "emergency_card", "activation_sheet", "closing", "pdf"}
)  # fmt: skip


@dataclass(frozen=True)
class Told:
    """One event in words: ``what`` it was about ("the medical summary"), ``deed`` what the
    person did, in the words that follow their name ("viewed the medical summary"), and
    ``document``, the document's name when it was about one."""

    event: dict[str, Any]
    what: str
    deed: str
    document: str = ""

    @property
    def refused(self) -> bool:
        return self.event["outcome"] == "refused"


class Namer:
    """Names the events of one page of a dossier's history, for the view that reads it."""

    def __init__(self, view: DossierView, sections: Iterable[Section]):
        self.view = view
        self.sections = {section.key: section for section in sections}
        #: The section each of the plugins' own target types belongs to (the core's are
        #: named by the core, whatever a plugin declares).
        self.owners = {key: section for key, section in self.sections.items()}
        for section in self.sections.values():
            for deed in section.deeds:
                self.owners.setdefault(deed.target_type, section)
        for target_type in CORE_TARGETS:
            self.owners.pop(target_type, None)
        self.documents: dict[str, dict[str, Any]] = {}

    async def read(self, events: list[dict[str, Any]] | None = None) -> None:
        """Read, in one query, the documents ``events`` are about (those of a page), or all
        the dossier's (for the whole history): `told` names them."""
        query = Document.select(*NAMED).where(Document.dossier == self.view.id)
        if events is not None:
            ids = {
                _uuid(event["target_id"]) for event in events if event["target_type"] == "document"
            }
            ids.discard(None)
            if not ids:
                return
            query = query.where(Document.id.is_in(list(ids)))
        rows = await crypto.opened(self.view.id, Document, await query)
        self.documents = {str(row["id"]): row for row in rows}

    def told(self, event: dict[str, Any]) -> Told:
        if event["target_type"] != "document":
            what = self._what(event)
            return Told(event, what, self._deed(event, what))
        document, titled = self._document(event)
        what = _("the document %(name)s") % {"name": document} if titled else document
        return Told(event, what, self._deed(event, what), document)

    def _document(self, event: dict[str, Any]) -> tuple[str, bool]:
        """The name of the event's document as the reader may know it, and whether that is
        its title."""
        row = self.documents.get(event["target_id"])
        if row is None:
            return _("a deleted document"), False
        if self.view.may(Action.VIEW, item=item_of(row)):
            title = _("“%(title)s” (care of %(date)s)") % {
                "title": row["title"],
                "date": clock.day(row["care_date"]),
            }
            return title, True
        if row["hidden_until"] is not None and row["hidden_until"] > self.view.now:
            return _("a document awaiting announcement"), False
        return _("a confidential document"), False

    def _section(self, event: dict[str, Any]) -> Section | None:
        if event["target_type"] == "section":
            return self.sections.get(event["target_id"])
        if event["target_type"] == "pdf":
            return self.sections.get(event["target_id"].partition("/")[0])
        return self.owners.get(event["target_type"])

    def _what(self, event: dict[str, Any]) -> str:
        section = self._section(event)
        if event["target_type"] == "pdf":
            if section is not None:
                return _("the %(title)s section, as a PDF") % {"title": section.title}
            return _printed(event["target_id"])
        if section is not None:
            return _("the %(title)s section") % {"title": section.title}
        return _core_target(event["target_type"])

    def _deed(self, event: dict[str, Any], what: str) -> str:
        action, target_type = event["action"], event["target_type"]
        if event["outcome"] == "refused":
            return _refused(action) % {"what": what}
        section = self._section(event)
        if section is not None:
            for deed in section.deeds:
                if (deed.action, deed.target_type) == (action, target_type):
                    return str(deed.words)
        if action == Action.CREATE and (section is not None or target_type == "section"):
            return _("wrote in %(what)s") % {"what": what}
        words = _core_deed(action, target_type) or _deed_of(action)
        return words % {"what": what}


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _core_target(target_type: str) -> str:
    return {
        "dossier": _("the record"),
        "history": _("the access history"),
        "care_circle": _("who has access to the record"),
        "documents": _("the list of documents"),
        "summary": _("the medical summary"),
        "summary_flag": _("a line of the medical summary"),
        "section": _("a section of the record"),
        "directory": _("the directory of professionals"),
        "profile": _("the profile and emergency contacts"),
        "emergency_card": _("the emergency card"),
        "activation_sheet": _("the activation sheet"),
        "closing": _("the closing of the record"),
    }.get(target_type, _("the record"))


def _printed(template: str) -> str:
    return {
        "pdf/dossier.html": _("the whole record, as a PDF"),
        "pdf/summary.html": _("the medical summary, as a PDF"),
        "pdf/consultation.html": _("the consultation view, as a PDF"),
        "pdf/emergency_card.html": _("the emergency card, as a PDF"),
    }.get(template, _("the record, as a PDF"))


def _core_deed(action: str, target_type: str) -> str:
    """The core's own words for an action on one of its targets, "" when the action's words
    (`_deed_of`) say it right."""
    return {
        ("view", "dossier"): _("opened the record"),
        ("create", "document"): _("added %(what)s to the record"),
        ("update", "document"): _("changed %(what)s"),
        ("create", "summary"): _("wrote a new version of the medical summary"),
        ("create", "summary_flag"): _("pointed out a wrong line in the medical summary"),
        ("update", "emergency_card"): _("chose what the emergency card shows"),
    }.get((action, target_type), "")


def _deed_of(action: str) -> str:
    return {
        "view": _("viewed %(what)s"),
        "download": _("downloaded %(what)s"),
        "print": _("printed %(what)s"),
        "export": _("exported %(what)s"),
        "create": _("added %(what)s"),
        "update": _("changed %(what)s"),
        "mask": _("masked %(what)s"),
        "unmask": _("unmasked %(what)s"),
        "verify": _("checked the integrity of %(what)s"),
        "emergency-access": _("opened the record in emergency access"),
        "samu-access": _("read the record during a SAMU regulation call"),
        "consent": _("declared the patient's consent at a consultation"),
        "block": _("blocked a professional"),
        "unblock": _("unblocked a professional"),
        "rights-change": _("changed who has access to the record"),
        "close": _("closed the record"),
        "reopen": _("reopened the record"),
    }.get(action, _("acted on %(what)s"))


def _refused(action: str) -> str:
    """The words of a refusal: what the person tried to do."""
    if action == "emergency-access":
        return _("tried to open the record in emergency access — refused")
    if action == "samu-access":
        return _("tried to read the record during a SAMU regulation call — refused")
    if action == "consent":
        return _("tried to declare the patient's consent at a consultation — refused")
    if action in READS:
        return _("tried to open %(what)s — refused")
    return _("tried to change %(what)s — refused")
