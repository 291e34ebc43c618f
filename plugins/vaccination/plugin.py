"""The vaccination record (carnet de vaccination): everything this section adds to the
portal, in one screen. The vaccines and the French schedule are data files in ``data/``."""

from plugins.vaccination import demo_rows, fhir, overview, reminders, routes
from plugins.vaccination.piccolo_app import APP_CONFIG
from portal import Card, Category, Deed, EmergencyItem, Section, hookimpl
from portal import gettext_lazy as _


@hookimpl
def register_section():
    return Section(
        key="vaccination",
        title=_("Vaccinations"),
        description=_(
            "Every vaccine received, with its lot, and what the vaccination schedule says is due."
        ),
        order=30,
        # Read by the professions ACCESS.md lists; written by the vaccinators, and by the
        # patient who copies a paper carnet ("declared by the patient" until confirmed).
        categories=(
            Category(
                "vaccination",
                read=("medecin", "sage_femme", "pharmacien", "infirmier", "medecin_du_travail"),
                write=("medecin", "sage_femme", "pharmacien", "infirmier"),
                label=_("Vaccinations"),
                samu=True,
                by_patient=True,
            ),
        ),
        # How the access history tells what is done here (the routes' traces).
        deeds=(
            Deed("create", "vaccination", _("recorded a vaccination")),
            Deed("update", "vaccination", _("corrected a vaccination")),
        ),
    )


@hookimpl
def register_piccolo_app():
    return APP_CONFIG


@hookimpl
def register_routes():
    return routes.ROUTES


@hookimpl
async def dossier_card(view) -> Card:
    """The last vaccines and how many are due."""
    return Card("vaccination/card.html", await overview.card(view))


@hookimpl
async def print_section(view) -> Card:
    """The history and what is due, in the whole-dossier PDF."""
    return Card("vaccination/print.html", await routes.page_context(view))


@hookimpl
async def emergency_items(view) -> list[EmergencyItem]:
    """Whether the patient is protected against tetanus."""
    return [await overview.tetanus_item(view)]


@hookimpl
async def fhir_resources(view) -> list[dict]:
    """Every vaccination as an Immunization, for the patient summary (IPS)."""
    return await fhir.immunizations(view)


@hookimpl
async def demo_data(demo):
    """Camille's vaccinations since childhood, and Léo's infant schedule, partly done."""
    await demo_rows.add(demo)


@hookimpl
async def send_reminders(now) -> int:
    """Tell the patient's side when a vaccine of the schedule falls due."""
    return await reminders.send(now)
