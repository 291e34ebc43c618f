"""What the patient (and the médecin traitant) are told about accesses to the dossier."""

from portal.i18n import gettext_lazy as _
from portal.notifications import NotificationKind, declare

FIRST_ACCESS = declare(
    NotificationKind(
        key="first_access",
        title=_("A professional opened your record for the first time"),
        body=_(
            "%(who)s opened the record of %(patient)s for the first time on %(date)s, after "
            "declaring the patient's consent at a consultation. If you did not agree to it, "
            "you can remove or block them from “Who has access to my record”."
        ),
    )
)
EMERGENCY_ACCESS = declare(
    NotificationKind(
        key="emergency_access",
        title=_("Emergency access to a record"),
        body=_(
            "%(who)s opened the record of %(patient)s in emergency access on %(date)s, "
            "for this reason: “%(reason)s”. The access lasts four hours and appears in the "
            "access history."
        ),
    )
)
SAMU_ACCESS = declare(
    NotificationKind(
        key="samu_access",
        title=_("SAMU access to a record"),
        body=_(
            "%(who)s, a SAMU regulator, read the record of %(patient)s on %(date)s during "
            "the regulation call %(reference)s. The access appears in the access history."
        ),
    )
)
