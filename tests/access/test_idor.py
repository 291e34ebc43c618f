"""Nobody gets anything from a dossier by putting its id in an address: a professional in one
patient's care circle, or that patient, asks every route of the portal that carries a dossier
id (GET and POST, found by walking the app, so routes added later are covered) about another
patient's dossier, and is refused each time, with the refusal in that dossier's audit trail
and nothing changed. A document id of one dossier used under another's address is not found
either."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from uuid import UUID

from portal.access.tables import Block, CircleMember
from portal.app import route_handlers
from portal.dossiers.tables import Document, Dossier
from tests.access.conftest import (
    add_document,
    dossier_of,
    join,
    post_form,
    signed_in_browser,
    trail,
)
from tests.identity.conftest import Browser, Person, new_patient, new_professional

#: What a form may send to a POST route; each route is tried with each of these.
FORMS = ({}, {"professional": "not-an-id"}, {"refuses_emergency_access": "on"})
#: What the other dossier holds: its patient's name, its médecin traitant's, a report's title.
SECRETS = ("Marchand", "Garcia", "cardiologie")
#: What htmx adds to the requests it makes for a fragment of a page.
HTMX = {"HX-Request": "true"}


@dataclass
class Patients:
    """Alice, with a doctor in her care circle; Bernard, with a médecin traitant and a
    report in his dossier."""

    alice: Person
    alices: UUID
    doctor: Person
    bernards: UUID
    report: UUID
    traitant: Person

    @property
    def fill(self) -> dict[str, str]:
        """The other parameters of a path, filled with Bernard's report and médecin traitant."""
        return {
            "{document_id:uuid}": str(self.report),
            "{account_id:uuid}": str(self.traitant.id),
            "{change:str}": "block",
            "{section_key:str}": "sleep_diary",
            "{section:str}": "allergies",
            "{flag_id:uuid}": "00000000-0000-4000-8000-000000000000",
        }


async def two_patients() -> Patients:
    alice = await new_patient(first_name="Alice", last_name="Roux")
    alices = await dossier_of(alice)
    doctor = await new_professional(first_name="Bruno", last_name="Leclerc")
    await join(alices, doctor)
    traitant = await new_professional(first_name="Karim", last_name="Garcia")
    bernard = await new_patient(first_name="Bernard", last_name="Marchand")
    bernards = await dossier_of(bernard, medecin_traitant=traitant.id)
    report = await add_document(bernards, title="Compte rendu de cardiologie")
    return Patients(alice, alices, doctor, bernards, report, traitant)


def dossier_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every GET and POST route whose path carries a dossier id."""
    return sorted(
        (method, path)
        for path, handler in route_handlers(app)
        if "{dossier_id" in path
        for method in handler.http_methods & {"GET", "POST"}
    )


def address(path: str, parameters: dict[str, str]) -> str:
    for parameter, value in parameters.items():
        path = path.replace(parameter, value)
    assert "{" not in path, f"a parameter the walk does not know: {path}"
    return path


async def unrefused(app, browser: Browser, person: Person, dossier: UUID, fill: dict) -> str:
    """The requests on ``dossier`` (as a page, and as an htmx fragment) that were not refused
    (403 or 404, showing none of its SECRETS) with exactly one refusal of ``person`` added to
    its trail, one a line ("" when there are none)."""
    parameters = {"{dossier_id:uuid}": str(dossier), **fill}
    failures = []
    for method, path in dossier_routes(app):
        forms = (*FORMS, {"professional": fill["{account_id:uuid}"]}) if method == "POST" else ({},)
        for form, headers in product(forms, ({}, HTMX)):
            before = len(await trail(dossier, person))
            if method == "GET":
                response = await browser.get(address(path, parameters), headers=headers)
            else:
                response = await post_form(browser, address(path, parameters), headers, **form)
            outcomes = [event["outcome"] for event in (await trail(dossier, person))[before:]]
            shown = [secret for secret in SECRETS if secret in response.text]
            if response.status_code not in (403, 404) or shown or outcomes != ["refused"]:
                failures.append(
                    f"{method} {path} form={form} htmx={bool(headers)}: "
                    f"{response.status_code}, shows {shown}, traced {outcomes}"
                )
    return "\n".join(failures)


async def untouched(two: Patients) -> None:
    """Bernard's dossier is as it was."""
    row = await Dossier.select().where(Dossier.id == two.bernards).first()
    assert row["medecin_traitant"] == two.traitant.id
    assert not row["refuses_emergency_access"]
    assert not await CircleMember.exists().where(CircleMember.dossier == two.bernards)
    assert not await Block.exists().where(Block.dossier == two.bernards)
    report = await Document.select(Document.masked).where(Document.id == two.report).first()
    assert not report["masked"]


async def test_the_walk_covers_the_dossier_pages_and_their_changes(portal):
    routes = dossier_routes(portal)
    assert ("GET", "/dossiers/{dossier_id:uuid}/documents/{document_id:uuid}") in routes
    assert ("POST", "/dossiers/{dossier_id:uuid}/documents/{document_id:uuid}/mask") in routes
    assert ("POST", "/dossiers/{dossier_id:uuid}/access/circle") in routes
    assert ("GET", "/dossiers/{dossier_id:uuid}/history") in routes


async def test_a_professional_of_one_circle_gets_nothing_from_another_dossier(portal, new_browser):
    two = await two_patients()
    browser = await signed_in_browser(new_browser, two.doctor)
    assert (await browser.get(f"/dossiers/{two.alices}")).status_code == 200

    failures = await unrefused(portal, browser, two.doctor, two.bernards, two.fill)
    assert not failures, failures
    await untouched(two)


async def test_a_patient_gets_nothing_from_another_patients_dossier(portal, new_browser):
    two = await two_patients()
    browser = await signed_in_browser(new_browser, two.alice)

    failures = await unrefused(portal, browser, two.alice, two.bernards, two.fill)
    assert not failures, failures
    await untouched(two)


async def test_a_document_of_another_dossier_is_not_found_under_ones_own(portal, new_browser):
    two = await two_patients()
    borrowed = f"/dossiers/{two.alices}/documents/{two.report}"

    doctor_browser = await signed_in_browser(new_browser, two.doctor)
    page = await doctor_browser.get(borrowed)
    assert page.status_code == 404
    assert "Compte rendu de cardiologie" not in page.text
    patient_browser = await signed_in_browser(new_browser, two.alice)
    assert (await patient_browser.get(borrowed)).status_code == 404
    for change in ("mask", "unmask"):
        answer = await post_form(patient_browser, f"{borrowed}/{change}")
        assert answer.status_code == 404, change
    await untouched(two)
