"""The sleep diary section: everything it adds to the portal, in one screen."""

from carnet_sleep_diary import routes
from carnet_sleep_diary.piccolo_app import APP_CONFIG
from portal import Card, Category, Section, hookimpl
from portal import gettext_lazy as _


@hookimpl
def register_section():
    return Section(
        key="sleep_diary",
        title=_("Sleep diary"),
        description=_("Nights noted by the patient for their doctor."),
        order=500,
        # Written by the patient only; read by doctors and nurses.
        categories=(
            Category("sommeil", read=("medecin", "infirmier"), label=_("Sleep"), by_patient=True),
        ),
    )


@hookimpl
def register_piccolo_app():
    return APP_CONFIG


@hookimpl
def register_routes():
    return [routes.about, routes.diary]


@hookimpl
def dossier_card(view):
    return Card("sleep_diary/card.html", {"patient_name": view.patient["first_name"]})
