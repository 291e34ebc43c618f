"""Every read path of patient data leaves exactly one event, by the person who read.

The walk covers every GET route of the portal whose path carries a dossier id, so the routes
added later (documents, sections' pages) are checked without anyone listing them; a route
that forgets the audit trail is caught, as the second test shows with one of its own. One
route reads several sections at once, the overview's cards: it leaves one event per section,
each naming its section, as the route of one section's card does.
"""

from __future__ import annotations

from uuid import UUID

from litestar import get
from litestar.params import FromPath

from portal import hookimpl
from portal.access import signed_in
from portal.app import create_app, route_handlers
from portal.audit.tables import AuditEvent
from portal.plugins import BUILTIN_PLUGINS
from tests.access.conftest import add_document, dossier_of
from tests.conftest import make_settings, plugins_with, running
from tests.identity.conftest import log_in, new_patient, new_professional

#: The reads that trace each section they show, and not the dossier once.
READS_PER_SECTION = {"/dossiers/{dossier_id:uuid}/cards"}


def dossier_reads(app) -> list[str]:
    return sorted(
        path
        for path, handler in route_handlers(app)
        if "GET" in handler.http_methods and "{dossier_id" in path
    )


async def untraced_reads(app, browser, person, dossier) -> list[str]:
    """The dossier reads after which the trail did not grow by exactly one event of ``person``
    (for `READS_PER_SECTION`, one per section, in their order: ``person`` is the patient, who
    reads them all).

    The other parts of a path are filled with a document of the dossier and a professional.
    """
    professional = await new_professional()
    parameters = {
        "{dossier_id:uuid}": str(dossier),
        "{document_id:uuid}": str(await add_document(dossier)),
        "{account_id:uuid}": str(professional.id),
        "{change:str}": "block",
        "{section_key:str}": "sleep_diary",
        "{section:str}": "allergies",
    }
    every_section = [("section", section.key) for section in app.state.plugins.sections]
    untraced = []
    for path in dossier_reads(app):
        last = (
            await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id, ascending=False).first()
        )
        concrete = path
        for parameter, value in parameters.items():
            concrete = concrete.replace(parameter, value)
        if "{" in concrete:
            continue  # a parameter of an installed plugin's own, which only its tests can fill
        response = await browser.get(concrete)
        assert response.status_code == 200, (path, response.status_code)
        new = await AuditEvent.select().where(AuditEvent.id > (last["id"] if last else 0))
        traced = [(event["actor_account"], event["dossier_id"]) for event in new]
        if path in READS_PER_SECTION:
            read = [(event["target_type"], event["target_id"]) for event in new]
            expected = [(person.id, dossier)] * len(every_section)
            if traced != expected or read != every_section:
                untraced.append(path)
        elif traced != [(person.id, dossier)]:
            untraced.append(path)
    return untraced


async def test_every_dossier_read_is_traced_once(
    installed_third_party_plugin, start_portal, new_browser
):
    portal = await start_portal()  # with the example plugin, whose pages are walked too
    alice = await new_patient()
    dossier = await dossier_of(alice)
    browser = new_browser(portal)
    await log_in(browser, alice)
    assert "/dossiers/{dossier_id:uuid}/history" in dossier_reads(portal)
    assert "/dossiers/{dossier_id:uuid}/sleep_diary" in dossier_reads(portal)
    assert set(dossier_reads(portal)) >= READS_PER_SECTION
    # The built-in sections and the example, and any other installed.
    assert {section.key for section in portal.state.plugins.sections} >= {
        *BUILTIN_PLUGINS,
        installed_third_party_plugin,
    }
    assert await untraced_reads(portal, browser, alice, dossier) == []


class _Leak:
    """A page that shows a dossier without saying so in the trail: what the walk must catch."""

    @hookimpl
    def register_routes(self):
        @get("/dossiers/{dossier_id:uuid}/leak", guards=[signed_in], sync_to_thread=False)
        def leak(dossier_id: FromPath[UUID]) -> str:
            return "everything about " + str(dossier_id)

        return [leak]


async def test_the_walk_catches_a_read_that_is_not_traced(
    tmp_path, database_url, installed_third_party_plugin, start_portal, new_browser
):
    await start_portal()  # migrates the test's database
    app = create_app(make_settings(tmp_path, database_url), plugins_with(leak=_Leak()))
    async with running(app):
        alice = await new_patient()
        dossier = await dossier_of(alice)
        browser = new_browser(app)
        await log_in(browser, alice)
        assert await untraced_reads(app, browser, alice, dossier) == [
            "/dossiers/{dossier_id:uuid}/leak"
        ]
