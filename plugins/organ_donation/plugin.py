"""Organ donation: the patient's position, what makes a refusal count, and where it shows.

Everything this section adds to the portal, in one screen.
"""

from plugins.organ_donation import fhir, position, routes
from plugins.organ_donation.demo import add_demo_positions
from plugins.organ_donation.piccolo_app import APP_CONFIG
from portal import Card, Category, Deed, EmergencyItem, Section, hookimpl
from portal import gettext_lazy as _


@hookimpl
def register_section():
    return Section(
        key="organ_donation",
        title=_("Organ donation"),
        description=_(
            "Your position on organ and tissue donation after death, and how to make a "
            "refusal count."
        ),
        order=40,
        # Read by médecins; written by the patient's side alone; read in a SAMU regulation.
        categories=(
            Category(
                position.CATEGORY,
                read=("medecin",),
                write=(),
                label=_("Organ donation"),
                samu=True,
                by_patient=True,
            ),
        ),
        # How the access history tells what is done here (the routes' traces).
        deeds=(
            Deed("create", "organ_donation", _("recorded a position on organ donation")),
            Deed("create", "organ_donation_step", _("noted a step taken to make a refusal count")),
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
    current = await position.current(view.id)
    if current is None:
        return None
    return Card("organ_donation/card.html", {"position": current, "line": position.line(current)})


@hookimpl
async def print_section(view):
    current = await position.current(view.id)
    return Card(
        "organ_donation/print.html",
        {"position": current, "line": position.line(current) if current else ""},
    )


@hookimpl
async def emergency_items(view):
    current = await position.current(view.id)
    if current is None:
        return []
    return [EmergencyItem("position", str(_("Organ donation")), position.line(current))]


@hookimpl
async def fhir_resources(view) -> list[dict]:
    """The position on organ donation, for the patient summary (IPS)."""
    return await fhir.resources(view)


@hookimpl
async def demo_data(demo):
    await add_demo_positions(demo)
