"""What people print most: the whole dossier, the consultation view and the emergency card (the
summary alone is in `portal.dossiers.summary`). Every PDF goes through `portal.pdf.render_pdf`.

- **The whole dossier** (``/dossiers/{id}/export.pdf``), as the person asking may see it: the
  identity, the medical summary, each section they may read (the ``print_section`` hook), and
  the list of the documents they may read — a masked document appears only to those who may
  see it, exactly as on the pages.
- **The consultation view** (``/dossiers/{id}/consultation.pdf``), one page for a consultation:
  the identity and the médecin traitant, the allergies, long-term treatments and active
  problems of the summary, and the latest documents, as the person asking may see them.
- **The emergency card** (``/dossiers/{id}/emergency-card``, printed on one A4 sheet: its
  lines, and the card to cut out and fold to the size of a bank card, `card_size`): the
  core's lines (blood group, allergies, long-term treatments, the people to call) and every
  readable section's (the ``emergency_items`` hook). The patient's side chooses which lines
  show; whoever opens the dossier may print it, and gets only the lines they may read among
  those (a SAMU regulator: the allergies and treatments, not the blood group).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from markupsafe import Markup

from portal import crypto, db
from portal.access import signed_in
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.dossiers.creation import age_on
from portal.dossiers.routes import readable_sections
from portal.dossiers.summary import (
    SECTION_BY_KEY,
    SECTIONS,
    SUMMARY_ITEM,
    allergy_text,
    current,
    lines_of,
)
from portal.dossiers.tables import EmergencyContact, PatientProfile, PreparedPdf
from portal.i18n import gettext as _
from portal.i18n import with_colon
from portal.identity.tables import Account
from portal.pdf import attachment, filename_for, render_pdf, rendered
from portal.web import flash, is_htmx, see_other

Form = URLEncodedBody[dict[str, Any]]
EXPORT = "pdf/dossier.html"
#: The summary's sections the consultation view shows, and how many of the latest documents.
CONSULTATION_SECTIONS = ("allergies", "treatments", "problems")
CONSULTATION_DOCUMENTS = 8
#: How long a prepared export waits for its download.
PREPARED_FOR = timedelta(minutes=5)
#: The category the emergency card is read and composed as: the patient's own information
#: (blood group, contacts), which the patient's side writes and the circle reads.
PROFILE = "patient"


@dataclass(frozen=True)
class Line:
    """A line of the emergency card: ``key`` is ``core.…`` or ``<section key>.…``."""

    key: str
    label: str
    value: str
    shown: bool = True


# --- the whole dossier ------------------------------------------------------------------------


@get("/dossiers/{dossier_id:uuid}/export.pdf", guards=[signed_in])
async def export_pdf(
    request: Request, dossier_id: FromPath[UUID], prepared: FromQuery[str] = ""
) -> Response:
    """The whole dossier; ``prepared``: the token of the copy `prepare_export` made, which
    is handed over once (or made again if it is gone)."""
    return await _export(request, dossier_id, prepared)


async def _export(request: Request, dossier_id: UUID, prepared: str = "") -> Response:
    view = await _printing(request, dossier_id)
    await view.require(Action.PRINT, target_type="pdf", target_id=EXPORT)
    content = await _take_prepared(view, prepared) if prepared else None
    if content is None:
        content = await rendered(request, view, EXPORT, _export_context(request, view))
    return attachment(filename_for(view, _("record")), content)


async def _printing(request: Request, dossier_id: UUID) -> DossierView:
    """The dossier, for someone who may print it: a refusal is traced as one of the download."""
    return await open_dossier(
        request, dossier_id, Action.PRINT, target_type="pdf", target_id=EXPORT
    )


@get("/dossiers/{dossier_id:uuid}/prepare-export.pdf", guards=[signed_in])
async def prepare_export(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """With JavaScript, the export link asks here (htmx) while the page shows its progress:
    the PDF is made, kept a few minutes, and the browser is sent to download it. Without,
    this is the export itself."""
    if not is_htmx(request):
        return await _export(request, dossier_id)
    view = await _printing(request, dossier_id)
    content = await rendered(request, view, EXPORT, _export_context(request, view))
    token = secrets.token_urlsafe(32)
    async with db.current().write_transaction():
        await PreparedPdf.delete().where(PreparedPdf.created_at < view.now - PREPARED_FOR)
        await PreparedPdf.insert(
            PreparedPdf(
                dossier=view.id,
                account=view.actor.account_id,
                token_hash=_digest(token),
                content=content,
                created_at=view.now,
            )
        )
    url = f"/dossiers/{dossier_id}/export.pdf?{urlencode({'prepared': token})}"
    return Response(b"", headers={"hx-redirect": url})


def _export_context(request: Request, view: DossierView):
    async def gather() -> dict[str, Any]:
        return {
            "summary": await _summary(view),
            "sections": await _printed_sections(request, view),
            "documents": await view.documents(),
        }

    return gather


@get("/dossiers/{dossier_id:uuid}/consultation.pdf", guards=[signed_in])
async def consultation_pdf(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """One page to have at hand in a consultation."""
    template = "pdf/consultation.html"
    view = await open_dossier(
        request, dossier_id, Action.PRINT, target_type="pdf", target_id=template
    )

    async def gather() -> dict[str, Any]:
        traitant = view.facts.medecin_traitant
        doctor = (
            await Account.select(Account.first_name, Account.last_name)
            .where(Account.id == traitant)
            .first()
            if traitant
            else None
        )
        return {
            "age": age_on(view.patient["birth_date"], view.now.date()),
            "medecin_traitant": doctor,
            "summary": await _summary(view),
            "shown_sections": [SECTION_BY_KEY[key] for key in CONSULTATION_SECTIONS],
            "documents": (await view.documents())[:CONSULTATION_DOCUMENTS],
        }

    return await render_pdf(request, view, template, gather, title=_("consultation"))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _take_prepared(view: DossierView, token: str) -> bytes | None:
    """The prepared copy this person asked for on this dossier, deleted as it is taken."""
    rows = (
        await PreparedPdf.delete()
        .where(
            PreparedPdf.token_hash == _digest(token),
            PreparedPdf.dossier == view.id,
            PreparedPdf.account == view.actor.account_id,
            PreparedPdf.created_at >= view.now - PREPARED_FOR,
        )
        .returning(PreparedPdf.content)
    )
    return rows[0]["content"] if rows else None


async def _summary(view: DossierView) -> dict[str, Any]:
    """The summary's version and lines, when the person may read it (``readable``)."""
    readable = view.may(Action.VIEW, item=SUMMARY_ITEM)
    summary = await current(view.id) if readable else None
    lines = (
        {section.key: lines_of(section, summary["sections"][section.key]) for section in SECTIONS}
        if summary
        else {}
    )
    return {"readable": readable, "version": summary, "sections": SECTIONS, "lines": lines}


async def _printed_sections(request: Request, view: DossierView) -> list[dict[str, Any]]:
    """Each readable section's part, rendered from its own template."""
    plugins = request.app.state.plugins
    environment = request.app.template_engine.engine
    printed = []
    for section in readable_sections(view, plugins.sections):
        card = await plugins.print_section(section.key, view)
        if card is not None:
            html = environment.get_template(card.template).render(view=view, **card.context)
            # The section's own template, autoescaped like every page: safe to insert.
            printed.append({"section": section, "html": Markup(html)})  # noqa: S704
    return printed


# --- the emergency card -----------------------------------------------------------------------


async def emergency_lines(request: Request, view: DossierView) -> list[Line]:
    """Every line the person may read, each marked with the patient's choice."""
    profile = (
        await PatientProfile.select(
            PatientProfile.blood_group, PatientProfile.emergency_card_hidden
        )
        .where(PatientProfile.dossier == view.id)
        .first()
        .output(load_json=True)
    ) or {"blood_group": "", "emergency_card_hidden": []}
    lines = await _profile_lines(view, profile) + await _summary_lines(view)
    plugins = request.app.state.plugins
    for section in readable_sections(view, plugins.sections):
        for item in await plugins.emergency_items(section.key, view):
            lines.append(Line(f"{section.key}.{item.key}", item.label, item.value))
    hidden = set(profile["emergency_card_hidden"] or [])
    return [Line(line.key, line.label, line.value, line.key not in hidden) for line in lines]


async def _profile_lines(view: DossierView, profile: dict[str, Any]) -> list[Line]:
    """The blood group and the people to call, from the patient's own space."""
    if not view.may(Action.VIEW, PROFILE):
        return []
    lines = []
    if profile["blood_group"]:
        lines.append(Line("core.blood_group", _("Blood group"), profile["blood_group"]))
    contacts = (
        await EmergencyContact.select()
        .where(EmergencyContact.dossier == view.id)
        .order_by(EmergencyContact.position)
    )
    await crypto.opened(view.id, EmergencyContact, contacts)
    for contact in contacts:
        who = contact["name"] + (f" ({contact['relation']})" if contact["relation"] else "")
        key = f"core.contact.{contact['position']}"
        lines.append(Line(key, _("To call"), f"{with_colon(who)} {contact['phone']}"))
    return lines


async def _summary_lines(view: DossierView) -> list[Line]:
    """The allergies and long-term treatments of the medical summary."""
    summary = await current(view.id) if view.may(Action.VIEW, item=SUMMARY_ITEM) else None
    if summary is None:
        return []
    content = summary["sections"]
    allergies = "; ".join(allergy_text(allergy) for allergy in content["allergies"])
    treatments = "; ".join(content["treatments"])
    return [
        *([Line("core.allergies", _("Allergies"), allergies)] if allergies else []),
        *([Line("core.treatments", _("Long-term treatments"), treatments)] if treatments else []),
    ]


@get("/dossiers/{dossier_id:uuid}/emergency-card", guards=[signed_in])
async def emergency_card(request: Request, dossier_id: FromPath[UUID]) -> Template:
    """The card's lines, with, for the patient's side, the choice of those that show."""
    view = await open_dossier(request, dossier_id, target_type="emergency_card")
    await view.require(Action.VIEW, target_type="emergency_card")
    return Template(
        "dossiers/emergency_card.html",
        context={"view": view, "lines": await emergency_lines(request, view)},
    )


@post("/dossiers/{dossier_id:uuid}/emergency-card", guards=[signed_in])
async def choose_lines(request: Request, dossier_id: FromPath[UUID], data: Form) -> Redirect:
    view = await open_dossier(
        request, dossier_id, Action.UPDATE, PROFILE, target_type="emergency_card"
    )
    keys = {line.key for line in await emergency_lines(request, view)}
    shown = data.get("shown", [])
    shown = {shown} if isinstance(shown, str) else set(shown)
    async with view.acting(Action.UPDATE, PROFILE, target_type="emergency_card"):
        hidden = sorted(keys - shown)
        if await PatientProfile.exists().where(PatientProfile.dossier == view.id):
            await PatientProfile.update({PatientProfile.emergency_card_hidden: hidden}).where(
                PatientProfile.dossier == view.id
            )
        else:
            await PatientProfile.insert(
                PatientProfile(dossier=view.id, emergency_card_hidden=hidden, updated_at=view.now)
            )
    flash(request, _("Your emergency card is updated."), "success")
    return see_other(f"/dossiers/{dossier_id}/emergency-card")


#: The type sizes of the card to cut out (print.css), largest first, each with the characters
#: a row of the card holds and the rows its front and back hold together (measured).
CARD_SIZES = (("large", 42, 27), ("roomy", 50, 32), ("full", 62, 36), ("dense", 74, 41))
#: Rows taken by the card's title and the patient's name, and the space under each line.
CARD_HEADING_ROWS = 3
CARD_LINE_SPACING = 0.45


def card_size(lines: list[Line]) -> str:
    """The largest type in which the card to cut out holds all of ``lines`` (the sheet above
    it shows them all, whatever the card holds)."""
    for size, characters, rows in CARD_SIZES:
        needed = CARD_HEADING_ROWS + sum(
            math.ceil((len(line.label) + 1 + len(line.value)) / characters) + CARD_LINE_SPACING
            for line in lines
        )
        if needed <= rows:
            return size
    return CARD_SIZES[-1][0]


@get("/dossiers/{dossier_id:uuid}/emergency-card.pdf", guards=[signed_in])
async def emergency_card_pdf(request: Request, dossier_id: FromPath[UUID]) -> Response:
    template = "pdf/emergency_card.html"
    view = await open_dossier(
        request, dossier_id, Action.PRINT, target_type="pdf", target_id=template
    )

    async def gather() -> dict[str, Any]:
        lines = [line for line in await emergency_lines(request, view) if line.shown]
        return {"lines": lines, "card_size": card_size(lines)}

    return await render_pdf(
        request,
        view,
        template,
        gather,
        title=_("emergency-card"),
    )


ROUTES = [
    export_pdf,
    prepare_export,
    consultation_pdf,
    emergency_card,
    choose_lines,
    emergency_card_pdf,
]
