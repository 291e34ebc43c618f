"""Health measures (mesures de santé): everything this section adds to the portal, in one
screen. The measures, their units and normal ranges are data in ``kinds.py``."""

from plugins.measures import demo_rows, fhir, readings, routes
from plugins.measures.kinds import BLOOD_PRESSURE
from plugins.measures.piccolo_app import APP_CONFIG
from portal import Card, Category, Deed, EmergencyItem, Section, clock, hookimpl
from portal import gettext_lazy as _


@hookimpl
def register_section():
    return Section(
        key=routes.KEY,
        title=_("Health measures"),
        description=_(
            "Weight, blood pressure, heart rate, blood glucose, temperature and oxygen "
            "saturation over time, recorded by the patient or a professional."
        ),
        order=35,
        # Read and written by médecins, infirmiers and pharmaciens; written by the patient's
        # side too; read in a SAMU regulation (the latest blood pressure is emergency-relevant).
        categories=(
            Category(
                readings.CATEGORY,
                read=("medecin", "infirmier", "pharmacien"),
                write=("medecin", "infirmier", "pharmacien"),
                label=_("Health measures"),
                samu=True,
                by_patient=True,
            ),
        ),
        # How the access history tells what is done here (the routes' traces).
        deeds=(Deed("create", routes.KEY, _("recorded a health measure")),),
    )


@hookimpl
def register_piccolo_app():
    return APP_CONFIG


@hookimpl
def register_routes():
    return routes.ROUTES


@hookimpl
async def dossier_card(view):
    """The latest reading of each measure."""
    return Card("measures/card.html", {"latest": await readings.latest_each(view)})


@hookimpl
async def print_section(view):
    """Each measure's chart and values, in the whole-dossier PDF."""
    return Card("measures/print.html", {**await routes.page_context(view), "folded": False})


@hookimpl
async def emergency_items(view):
    """The latest blood pressure."""
    row = await readings.latest(view, BLOOD_PRESSURE)
    if row is None:
        return []
    reading = readings.shown(row)
    value = f"{reading['text']} ({clock.day(row['measured_at'])})"
    return [EmergencyItem(BLOOD_PRESSURE.key, str(BLOOD_PRESSURE.label), value)]


@hookimpl
async def fhir_resources(view):
    """The latest reading of each measure as a vital-signs Observation, for the summary (IPS)."""
    return await fhir.observations(view)


@hookimpl
async def demo_data(demo):
    """A few months of Camille's readings."""
    await demo_rows.add(demo)
