"""How a route gets a dossier: the decision of `policy.decide`, traced in the audit trail
whatever it is, and a 404 when refused (a dossier one may not see does not exist for them)."""

from __future__ import annotations

from uuid import UUID

from litestar import Request
from litestar.exceptions import NotFoundException

from portal import audit
from portal.access.policy import Asker, DossierFacts, decide, dossier_facts
from portal.audit import Outcome
from portal.identity import abuse, sessions
from portal.identity.accounts import audit_actor


async def open_dossier(
    request: Request, dossier_id: UUID, action: audit.Action, target_type: str = "dossier"
) -> DossierFacts:
    """The dossier, if the signed-in person may do ``action`` on it; every answer is traced."""
    session = sessions.current(request)
    facts = await dossier_facts(dossier_id)
    if facts is None:
        raise NotFoundException()
    decision = decide(Asker(session.account_id, session.role), facts, action)
    await audit.record(
        action,
        await audit_actor(session.account_id),
        dossier_id=facts.id,
        outcome=Outcome.ALLOWED if decision.allowed else Outcome.REFUSED,
        reason=decision.reason,
        purpose=decision.purpose,
        target_type=target_type,
        client_address=abuse.client_address(request, request.app.state.settings.trusted_proxies),
    )
    if not decision.allowed:
        raise NotFoundException()
    return facts
