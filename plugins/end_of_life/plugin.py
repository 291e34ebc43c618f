"""End-of-life wishes: the advance directives and the trusted person, written by the patient's
side alone, read by doctors and nurses (never a dentist), with a yearly invitation to review
them. Everything the section adds to the portal, in one screen."""

from plugins.end_of_life import demo_wishes, fhir, reminders, routes, wishes
from plugins.end_of_life.piccolo_app import APP_CONFIG
from portal import Card, Category, Deed, Section, hookimpl
from portal import gettext_lazy as _


@hookimpl
def register_section():
    return Section(
        key="end_of_life",
        title=_("End-of-life wishes"),
        description=_("Advance directives and the trusted person, written by the patient alone."),
        order=300,
        categories=(
            # ACCESS.md: read by doctors and nurses (a dentist never), written by the patient's
            # side only, read by a SAMU regulator during a call.
            Category(
                wishes.CATEGORY,
                read=("medecin", "infirmier"),
                write=(),
                label=_("End-of-life wishes"),
                samu=True,
                by_patient=True,
            ),
        ),
        # How the access history tells what is done here (the routes' traces).
        deeds=(
            Deed("create", "section", _("recorded end-of-life wishes")),
            Deed("update", "section", _("withdrew end-of-life wishes")),
        ),
    )


@hookimpl
def register_piccolo_app():
    return APP_CONFIG


@hookimpl
def register_routes():
    return routes.ROUTES


@hookimpl
async def dossier_card(view):
    """Whether directives exist and their date, and the trusted person: what an emergency team
    needs first."""
    return Card("end_of_life/card.html", await wishes.current(view.id))


@hookimpl
async def print_section(view):
    return Card("end_of_life/print.html", {**await wishes.current(view.id), **wishes.vocabulary()})


@hookimpl
async def emergency_items(view):
    """The directives (yes, and of when), the trusted person and their phone."""
    return wishes.emergency_lines(await wishes.current(view.id))


@hookimpl
async def fhir_resources(view) -> list[dict]:
    """The valid advance directives and the trusted person, for the patient summary (IPS)."""
    return await fhir.resources(view)


@hookimpl
async def demo_data(demo):
    await demo_wishes.add(demo)


@hookimpl
async def send_reminders(now):
    return await reminders.send_due(now)
