"""The core's Piccolo app: its tables and migrations. Every plugin's app depends on it."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.access.tables import Block, CircleMember, EmergencyGrant, SectionConsent
from portal.audit.tables import AuditActor, AuditCheckpoint, AuditEvent, AuditPurge
from portal.dossiers.tables import (
    Document,
    Dossier,
    EmergencyContact,
    PatientProfile,
    PreparedPdf,
    Representative,
    SummaryFlag,
    SummaryVersion,
)
from portal.federation.tables import FederatedIdentity, FederatedLoginAttempt
from portal.identity.tables import (
    Account,
    LoginSession,
    OneTimeCode,
    Patient,
    Professional,
    RateLimitWindow,
)
from portal.notifications.tables import KnownDevice, Notification, OutboxMessage
from portal.oauth.tables import (
    AuthorizationCode,
    ClientAssertion,
    ClientProfessional,
    OAuthClient,
    OAuthGrant,
    OAuthToken,
)

APP_CONFIG = AppConfig(
    app_name="portal",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        Account,
        Professional,
        Patient,
        LoginSession,
        OneTimeCode,
        RateLimitWindow,
        OutboxMessage,
        AuditEvent,
        AuditCheckpoint,
        AuditPurge,
        AuditActor,
        Notification,
        KnownDevice,
        Dossier,
        Representative,
        Document,
        CircleMember,
        Block,
        EmergencyGrant,
        SectionConsent,
        SummaryVersion,
        SummaryFlag,
        PatientProfile,
        PreparedPdf,
        EmergencyContact,
        OAuthClient,
        ClientProfessional,
        OAuthGrant,
        AuthorizationCode,
        OAuthToken,
        ClientAssertion,
        FederatedIdentity,
        FederatedLoginAttempt,
    ],
    migration_dependencies=[],
    commands=[],
)
