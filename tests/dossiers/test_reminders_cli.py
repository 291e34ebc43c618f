"""``carnet reminders``, as a daily timer runs it: the médecin traitant of a dossier whose
medical summary is over a year old is told, once."""

from __future__ import annotations

from datetime import date, timedelta

from portal import clock
from portal.dossiers.tables import Dossier, SummaryVersion
from portal.identity.accounts import NewAccount, create_account
from portal.identity.numbers import luhn_check_digit, nir_key
from portal.identity.tables import Patient, Role
from portal.notifications.tables import Notification
from tests.audit.test_audit_cli import carnet, use_database


async def test_reminders_tell_the_medecin_traitant_of_an_old_summary_once(
    database, monkeypatch, capsys
):
    use_database(monkeypatch, database)
    doctor = await create_account(
        NewAccount(role=Role.PROFESSIONAL, login="dr.vieux@example.fr", first_name="Hugo",
                   last_name="Vieux", profession="medecin",
                   rpps="1000202001" + luhn_check_digit("1000202001"))
    )  # fmt: skip
    patient_account = await create_account(
        NewAccount(role=Role.PATIENT, login="rose@example.fr", first_name="Rose",
                   last_name="Lenoir", nir="2860475099001" + nir_key("2860475099001"),
                   birth_date=date(1950, 1, 2))
    )  # fmt: skip
    patient = await Patient.select(Patient.id).where(Patient.account == patient_account).first()
    long_ago = clock.now() - timedelta(days=400)
    dossier = Dossier(patient=patient["id"], created_at=long_ago, created_through="online",
                      consent_at=long_ago, medecin_traitant=doctor)  # fmt: skip
    await dossier.save()
    await SummaryVersion.insert(
        SummaryVersion(dossier=dossier.id, number=1, created_at=long_ago, author=doctor,
                       author_name="Hugo Vieux", sections={"problems": ["Diabète de type 2"]})
    )  # fmt: skip

    assert await carnet(database, "reminders") == 0
    assert "Sent 1 reminder." in capsys.readouterr().out
    assert (
        await Notification.count().where(
            Notification.account == doctor, Notification.kind == "summary_outdated"
        )
        == 1
    )
    assert await carnet(database, "reminders") == 0
    assert "Sent 0 reminders." in capsys.readouterr().out
