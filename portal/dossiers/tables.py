"""The dossier, the people who act for its patient, and its documents.

Every table about a patient's data carries the dossier's id: the key on which the data can be
sharded later (ARCHITECTURE.md).
"""

from enum import StrEnum

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    Bytea,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Real,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal import crypto
from portal.identity.tables import Account, Patient


class DossierStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # archived: all professional access has ended


class Dossier(Table, tablename="dossier"):
    id = UUID(primary_key=True)
    patient = ForeignKey(Patient, unique=True, on_delete=OnDelete.restrict)
    status = Varchar(length=16, default=DossierStatus.OPEN, choices=DossierStatus)
    created_at = Timestamptz()
    #: How it was opened: online, pharmacy, insurer, professional, demo.
    created_through = Varchar(length=20)
    #: Who opened it for the patient: a professional, the insurer's agent, a representative
    #: (none when the patient did, online).
    created_by = ForeignKey(Account, null=True, default=None, on_delete=OnDelete.set_null)
    #: The creation form's submission: sent twice, it prints the sheet again, adds nothing.
    submission = UUID(null=True, default=None)
    consent_at = Timestamptz()  # the patient's (or representative's) recorded consent
    medecin_traitant = ForeignKey(Account, null=True, on_delete=OnDelete.set_null)
    medecin_traitant_since = Timestamptz(null=True, default=None)
    refuses_emergency_access = Boolean(default=False)
    refuses_samu_access = Boolean(default=False)
    closed_at = Timestamptz(null=True, default=None)
    #: The dossier's data key, wrapped by the key-encryption key named by ``data_key_id``
    #: (`portal.crypto`): made with the first value sealed, erased by the purge.
    data_key = Bytea(null=True, default=None)
    data_key_id = Varchar(length=16, default="", index=True)


class Representative(Table, tablename="representative"):
    """A legal representative of a minor or protected adult: acts for them on their dossier."""

    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    account = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)
    since = Timestamptz()


class Document(Table, tablename="document"):
    """A document of the dossier, with what decides who sees it (`portal.access.policy`)."""

    id = UUID(primary_key=True)
    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    #: A category of ACCESS.md or of a plugin section, and optionally a type within it
    #: (``compte_rendu`` / ``accouchement``): the access matrix decides on both.
    category = Varchar(length=40)
    type = Varchar(length=40, default="")
    #: Title, body and file (with its name) are sealed (`portal.crypto`): stored as text.
    title = Text()
    care_date = Date()
    created_at = Timestamptz()
    #: Who deposited it: an account (professional, patient, representative, the insurer's
    #: import), with its name and profession as they were then.
    author = ForeignKey(Account, null=True, on_delete=OnDelete.set_null, index=True)
    author_name = Varchar(length=200)
    author_profession = Varchar(length=40, default="")
    body = Text(default="")
    #: Masked by the patient: seen only by the patient's side, the author and the médecin
    #: traitant, even in emergency access.
    masked = Boolean(default=False)
    #: Hidden from the patient until announced in person; visible by itself at this time.
    hidden_until = Timestamptz(null=True, default=None)
    #: A minor's confidential care: not shown to the legal representatives.
    hidden_from_representatives = Boolean(default=False)
    #: Versions: every version of a document shares the id of the first one; the current one
    #: has no ``superseded_at``.
    lineage = UUID(index=True, null=True, default=None)
    superseded_at = Timestamptz(null=True, default=None)
    #: The attached file, if any (PDF, JPEG or PNG, its type checked from its content).
    file_name = Text(default="")
    file_type = Varchar(length=40, default="")
    file_size = Integer(default=0)
    file_data = Bytea(null=True, default=None)
    #: The form submission that created it: submitting the same form twice adds one document.
    submission = UUID(null=True, default=None)
    #: The identifier its sender's software gave it, ``system|value`` (FHIR's
    #: ``masterIdentifier``, `portal.fhir`); "" for a document typed into Carnet.
    master_identifier = Varchar(length=520, default="")
    #: The submission set (FHIR ``List``, ITI-65) it came in with the other documents of the
    #: same bundle; None for a document typed into Carnet.
    submission_set = UUID(null=True, default=None, index=True)


class SummaryVersion(Table, tablename="summary_version"):
    """One version of the medical summary (volet de synthèse médicale): every change by the
    médecin traitant adds a version with all its sections, so the history is kept whole."""

    id = UUID(primary_key=True)
    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    number = Integer()
    created_at = Timestamptz()
    author = ForeignKey(Account, null=True, on_delete=OnDelete.set_null)
    author_name = Varchar(length=200)
    #: The sections, by key (see `portal.dossiers.summary`).
    sections = JSON()


class SummaryFlag(Table, tablename="summary_flag"):
    """A line of the summary the patient says is wrong, for the médecin traitant to see."""

    id = UUID(primary_key=True)
    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    version = ForeignKey(SummaryVersion, on_delete=OnDelete.cascade)
    section = Varchar(length=40)
    line = Text()
    note = Text(default="")
    flagged_by = ForeignKey(Account, null=True, on_delete=OnDelete.set_null)
    flagged_at = Timestamptz()
    resolved_at = Timestamptz(null=True, default=None)


class BloodGroup(StrEnum):
    A_POS = "A+"
    A_NEG = "A-"
    B_POS = "B+"
    B_NEG = "B-"
    AB_POS = "AB+"
    AB_NEG = "AB-"
    O_POS = "O+"
    O_NEG = "O-"


class PatientProfile(Table, tablename="patient_profile"):
    """What the patient says of themselves in their own space. Height, weight and blood group
    are read like the patient's documents; the personal notes by the patient's side alone."""

    dossier = ForeignKey(Dossier, unique=True, on_delete=OnDelete.cascade)
    height_cm = Integer(null=True, default=None)
    weight_kg = Real(null=True, default=None)
    blood_group = Varchar(length=3, default="")
    notes = Text(default="")
    #: The lines the patient took off their emergency card (``core.blood_group``,
    #: ``vaccination.tetanus``…): every other line shows, new ones included.
    emergency_card_hidden = JSON(default=[])
    updated_at = Timestamptz()


class EmergencyContact(Table, tablename="emergency_contact"):
    """Someone to call for the patient, in the order the patient gave."""

    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    position = Integer()
    #: Sealed (`portal.crypto`, the position standing for the row): stored as text.
    name = Text()
    relation = Text(default="")
    phone = Text()


class PreparedPdf(Table, tablename="prepared_pdf"):
    """A PDF rendered while its reader watched the progress (htmx), waiting a few minutes for
    them to download it, once. Only the digest of its random token is kept."""

    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    account = ForeignKey(Account, on_delete=OnDelete.cascade)
    token_hash = Varchar(length=64, unique=True)
    content = Bytea()
    created_at = Timestamptz()


# The medical content, sealed under each dossier's data key (`portal.crypto`).
crypto.sealed(Document, Document.title, Document.body, Document.file_name, Document.file_data)
crypto.sealed(SummaryVersion, SummaryVersion.sections)
crypto.sealed(SummaryFlag, SummaryFlag.line, SummaryFlag.note)
crypto.sealed(PatientProfile, PatientProfile.notes, row=PatientProfile.dossier)  # one each
crypto.sealed(  # numbered by position, rewritten whole at each change
    EmergencyContact,
    EmergencyContact.name,
    EmergencyContact.relation,
    EmergencyContact.phone,
    row=EmergencyContact.position,
)
