"""The occupational health record's tables: the career (curriculum laboris), the exposures,
the visits with their fitness notices, and the occupational accidents and diseases. Every
row belongs to a dossier (purged with it) and names its author, who alone changes it."""

from piccolo.columns import UUID, Date, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal import crypto
from portal.dossiers.tables import Dossier
from portal.identity.tables import Account


class Job(Table, tablename="occupational_health_job"):
    """A post held: employer, job title, sector, period (``ended`` empty: still held)."""

    id = UUID(primary_key=True)
    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    employer = Varchar(length=200)
    job_title = Varchar(length=200)
    sector = Varchar(length=200, default="")
    started = Date()
    ended = Date(null=True, default=None)
    author = ForeignKey(Account, on_delete=OnDelete.set_null, null=True)
    author_name = Varchar(length=200, default="")
    created_at = Timestamptz()


class Exposure(Table, tablename="occupational_health_exposure"):
    """An exposure to an agent of the shipped list, over a period."""

    id = UUID(primary_key=True)
    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    agent = Varchar(length=64)
    started = Date()
    ended = Date(null=True, default=None)
    intensity = Varchar(length=16)
    assessment = Varchar(length=64)
    note = Text(default="")
    author = ForeignKey(Account, on_delete=OnDelete.set_null, null=True)
    author_name = Varchar(length=200, default="")
    created_at = Timestamptz()


class Visit(Table, tablename="occupational_health_visit"):
    """An occupational health visit, with its fitness notice and the recommended workplace
    adjustments."""

    id = UUID(primary_key=True)
    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=32)
    visited_on = Date()
    notice = Varchar(length=16, default="")
    adjustments = Text(default="")
    note = Text(default="")
    author = ForeignKey(Account, on_delete=OnDelete.set_null, null=True)
    author_name = Varchar(length=200, default="")
    created_at = Timestamptz()


class Incident(Table, tablename="occupational_health_incident"):
    """An occupational accident or disease."""

    id = UUID(primary_key=True)
    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=32)
    occurred_on = Date()
    description = Text()
    author = ForeignKey(Account, on_delete=OnDelete.set_null, null=True)
    author_name = Varchar(length=200, default="")
    created_at = Timestamptz()


# The free text of the record, sealed under each dossier's data key (`portal.crypto`).
crypto.sealed(Exposure, Exposure.note)
crypto.sealed(Visit, Visit.adjustments, Visit.note)
crypto.sealed(Incident, Incident.description)
