"""The dossier's pages: its overview and its documents, as the asking person may see them.

Every route opens the dossier through `portal.access.view`, which decides and traces.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from markupsafe import Markup

from portal import db
from portal.access import signed_in
from portal.access.controls import ControlError, set_masked
from portal.access.facts import item_of
from portal.access.policy import Act
from portal.access.view import DossierView, TracedTemplate, open_dossier
from portal.audit import Action
from portal.dossiers import documents, profile, summary
from portal.dossiers.tables import EmergencyContact
from portal.fhir import reading
from portal.hookspecs import Card, Section
from portal.i18n import gettext as _
from portal.web import flash, page_or_fragment, see_other

#: How many documents the overview shows; the timeline has them all.
LATEST = 5


@get("/dossiers/{dossier_id:uuid}", guards=[signed_in])
async def overview(request: Request, dossier_id: FromPath[UUID]) -> Template:
    """Who the patient is, the summary with its alerts, the latest documents and the
    sections' cards. The page opened most: read and rendered while its trace is committed."""
    view = await open_dossier(request, dossier_id)
    trace = await view.require_before_answer(Action.VIEW, target_type="dossier")
    reads_summary = view.may(Action.VIEW, item=summary.SUMMARY_ITEM)
    documents = await view.documents()
    current_summary = await summary.current(view.id) if reads_summary else None
    new = view.for_patient_side and not documents and current_summary is None
    return TracedTemplate(
        "dossiers/overview.html",
        trace=trace,
        context={
            "view": view,
            "reads_summary": reads_summary,
            "reads_profile": view.may(Action.VIEW, profile.CATEGORY),
            "summary": current_summary,
            "documents": documents[:LATEST],
            "total": len(documents),
            "sections": readable_sections(view, request.app.state.plugins.sections),
            "first_steps": await _first_steps(view) if new else [],
        },
    )


async def _first_steps(view: DossierView) -> list[str]:
    """What the patient's side should do first in a record still empty: choose a médecin
    traitant, name the people to call in an emergency; those not done yet."""
    steps = [] if view.facts.medecin_traitant else ["medecin_traitant"]
    if not await EmergencyContact.exists().where(EmergencyContact.dossier == view.id):
        steps.append("contacts")
    return steps


@get("/dossiers/{dossier_id:uuid}/cards", guards=[signed_in])
async def section_cards(request: Request, dossier_id: FromPath[UUID]) -> Template:
    """Every card the asker may read, in the order of the sections: the overview asks for them
    all in one request after the page. Each section's reading is decided and traced on its own,
    as `section_card` does; the sections the asker may not read are left out, as on the
    overview."""
    plugins = request.app.state.plugins
    # A stranger is refused as `section_card` refuses the first section, and so is whoever
    # may read none of them (403 / 404, traced).
    first = next(iter(plugins.sections), None)
    view = await open_dossier(
        request, dossier_id, target_type="section", target_id=first.key[:64] if first else ""
    )
    sections = readable_sections(view, plugins.sections)
    if not sections:
        if first is not None:
            await view.require(
                Action.VIEW,
                _readable_category(view, first),
                target_type="section",
                target_id=first.key[:64],
            )
        raise NotFoundException()  # a portal without sections: there is nothing to read
    # One write transaction for the traces, then one snapshot for what the cards show: one
    # commit and one connection for the lot rather than one per section.
    async with db.current().write_transaction():
        for section in sections:
            await view.require(
                Action.VIEW,
                _readable_category(view, section),
                target_type="section",
                target_id=section.key[:64],
            )
    async with db.current().engine.transaction():
        cards = [(section, await plugins.card(section.key, view)) for section in sections]
    return page_or_fragment(
        request,
        "dossiers/cards.html",
        "dossiers/_cards.html",
        {
            "view": view,
            "cards": [
                (section, _card_body(request, view, section, card)) for section, card in cards
            ],
        },
    )


@get("/dossiers/{dossier_id:uuid}/cards/{section_key:str}", guards=[signed_in])
async def section_card(
    request: Request, dossier_id: FromPath[UUID], section_key: FromPath[str]
) -> Template:
    """A plugin section's card, on its own: the link the overview offers to a browser without
    JavaScript (a page), or a fragment; the reading is decided on the section's categories and
    traced."""
    plugins = request.app.state.plugins
    section = plugins.section(section_key)
    view = await open_dossier(
        request, dossier_id, target_type="section", target_id=section_key[:64]
    )
    category = _readable_category(view, section) if section else None
    await view.require(Action.VIEW, category, target_type="section", target_id=section_key[:64])
    if section is None:
        raise NotFoundException()
    card = await plugins.card(section_key, view)
    return page_or_fragment(
        request,
        "dossiers/card.html",
        "dossiers/_card.html",
        {"view": view, "section": section, "body": _card_body(request, view, section, card)},
    )


def _card_body(request: Request, view: DossierView, section: Section, card: Card | None) -> Markup:
    """What a section's card shows: the plugin's template with its context, the view and the
    section, and what every page's template gets (the request, the CSRF field); empty when it
    has nothing to show."""
    if card is None:
        return Markup()
    page = Template(card.template, context={**card.context, "view": view, "section": section})
    template = request.app.template_engine.engine.get_template(card.template)
    html = template.render(page.create_template_context(request))
    # The plugin's own template, autoescaped like every page: safe to insert.
    return Markup(html)  # noqa: S704


def _readable_category(view: DossierView, section: Section) -> str | None:
    """The category on which to decide whether a section shows: one the asker reads, or its
    first (then refused); a section without categories shows with the dossier."""
    keys = [category.key for category in section.categories]
    return next((key for key in keys if view.may(Action.VIEW, key)), keys[0] if keys else None)


def readable_sections(view: DossierView, sections: list[Section]) -> list[Section]:
    return [
        section for section in sections if view.may(Action.VIEW, _readable_category(view, section))
    ]


@get("/dossiers/{dossier_id:uuid}/documents/{document_id:uuid}", guards=[signed_in])
async def document_page(
    request: Request, dossier_id: FromPath[UUID], document_id: FromPath[UUID]
) -> Template:
    view = await open_dossier(
        request, dossier_id, target_type="document", target_id=str(document_id)
    )
    document, current, versions = await documents.read_document(view, document_id)
    is_current = document["id"] == current["id"]
    may_update = is_current and view.may(Action.UPDATE, item=item_of(document))
    return Template(
        "dossiers/document.html",
        context={
            "view": view,
            "document": document,
            "current": current,
            "versions": versions if len(versions) > 1 else [],
            "hidden": current["hidden_until"] is not None and current["hidden_until"] > view.now,
            "may_mask": is_current and view.may(Action.MASK, item=item_of(document)),
            "may_update": may_update,
            "may_hide": is_current and view.may(Act.HIDE, item=item_of(document)),
            "imported": await _imported(view, document),
        },
    )


async def _imported(view: DossierView, document: dict) -> reading.Readable | None:
    """A FHIR bundle brought from elsewhere (`portal.fhir.own_copy`), as the text it says."""
    if document["file_type"] != reading.IMPORTED_TYPE:
        return None
    row = await documents.document_row(view, document["id"], with_file=True)
    bundle, _problem = reading.check_bundle(bytes(row["file_data"] or b""))
    return reading.readable(bundle) if bundle else None


async def _mask(request: Request, dossier_id: UUID, document_id: UUID, masked: bool) -> Redirect:
    action = Action.MASK if masked else Action.UNMASK
    view = await open_dossier(
        request, dossier_id, action, target_type="document", target_id=str(document_id)
    )
    # A mask covers every version: it is set on the current one, which they are seen as.
    document_id = (await documents.current_version(view, document_id))["id"]
    try:
        await set_masked(view, document_id, masked)
    except ControlError as error:
        flash(request, str(error), "error")
    else:
        flash(
            request,
            _(
                "The document is masked: only you, its author and your médecin traitant "
                "see it now, even in an emergency."
            )
            if masked
            else _("The document is visible again to the professionals who may read it."),
            "success",
        )
    return see_other(f"/dossiers/{dossier_id}/documents/{document_id}")


@post("/dossiers/{dossier_id:uuid}/documents/{document_id:uuid}/mask", guards=[signed_in])
async def mask(
    request: Request, dossier_id: FromPath[UUID], document_id: FromPath[UUID]
) -> Redirect:
    return await _mask(request, dossier_id, document_id, masked=True)


@post("/dossiers/{dossier_id:uuid}/documents/{document_id:uuid}/unmask", guards=[signed_in])
async def unmask(
    request: Request, dossier_id: FromPath[UUID], document_id: FromPath[UUID]
) -> Redirect:
    return await _mask(request, dossier_id, document_id, masked=False)


ROUTES = [overview, section_cards, section_card, document_page, mask, unmask]
