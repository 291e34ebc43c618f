"""Occupational health (santé au travail): the worker's career, exposures, visits and notices,
everything this section adds to the portal, in one screen.

Who reads it is the core's policy (`portal.access.policy.BY_SCOPED_CONSENT`): the worker,
their médecin traitant, and the occupational health professional the worker consented to for
this section alone; never an employer."""

from plugins.occupational_health import cards, fhir, routes
from plugins.occupational_health.piccolo_app import APP_CONFIG
from portal import Category, Deed, Section, hookimpl
from portal import gettext_lazy as _


@hookimpl
def register_section():
    return Section(
        key="occupational_health",
        title=_("Occupational health"),
        description=_("Career, exposures at work, occupational health visits and fitness notices."),
        order=600,
        # The matrix's default; the policy decides this category by its own named rules.
        categories=(
            Category(
                "sante_travail",
                read=("medecin_du_travail", "infirmier_sante_travail"),
                write=("medecin_du_travail", "infirmier_sante_travail"),
                label=_("Occupational health"),
            ),
        ),
        # How the access history tells what is done here (the routes' traces).
        deeds=(
            Deed("create", "job", _("recorded a post held")),
            Deed("create", "exposure", _("recorded an exposure at work")),
            Deed("create", "visit", _("recorded an occupational health visit")),
            Deed("create", "incident", _("recorded a work accident or an occupational disease")),
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
    return await cards.card(view)


@hookimpl
async def print_section(view):
    return await cards.printed(view)


@hookimpl
async def fhir_resources(view) -> list[dict]:
    """The posts held and the exposures at work, for the patient summary (IPS)."""
    return await fhir.resources(view)


@hookimpl
async def demo_data(demo):
    await cards.add_demo(demo)
