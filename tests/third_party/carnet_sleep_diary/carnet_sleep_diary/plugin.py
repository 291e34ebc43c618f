"""The sleep diary section: everything it adds to the portal, in one screen."""

from datetime import timedelta

from carnet_sleep_diary import routes
from carnet_sleep_diary.piccolo_app import APP_CONFIG
from carnet_sleep_diary.tables import Night
from portal import Card, Category, Section, clock, crypto, hookimpl
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
    return [routes.about, routes.diary, routes.add_night]


@hookimpl
def dossier_card(view):
    return Card("sleep_diary/card.html", {"patient_name": view.patient["first_name"]})


@hookimpl
async def demo_data(demo):
    """Camille's last three nights."""
    today = clock.now().date()
    for days_ago, hours, note in ((1, 7, "Bonne nuit"), (2, 5, "Réveillée à 3 h"), (3, 6, "")):
        night = Night(
            dossier=demo.dossiers["camille"],
            night_of=today - timedelta(days=days_ago),
            hours=hours,
            note=note,
            noted_at=clock.now(),
        )
        await crypto.insert(night)
