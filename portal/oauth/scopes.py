"""SMART v2 scopes: which an application may be granted, what they say to the person asked,
and how far they let a request go.

A resource scope is ``context/Resource.permissions``: the context is ``patient`` (the one
dossier chosen at the consent), ``user`` (every dossier the person may open by hand) or
``system`` (a backend service, for the professional named in each request); the resource a
FHIR type or ``*``; the permissions a subset of ``cruds``, in that order. Besides those:
``openid`` and ``fhirUser`` (who the person is, in an ID token), ``launch/patient`` (the
dossier chosen is returned with the token), ``offline_access`` and ``online_access`` (a
refresh token). Anything else is refused. Scopes narrow what the person may do by hand,
never widen it: `portal.access.policy` decides as for the person, then applies the `Reach`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from portal.access.policy import READS, Reach
from portal.audit import Action
from portal.echo import shown_back
from portal.i18n import gettext as _

PERMISSIONS = "cruds"
#: A backend service deposits; it reads nothing (SMART's ``system/…`` scopes, create only).
SYSTEM_PERMISSIONS = "c"
#: What each permission lets a request do in a dossier (``d``: nothing, nothing is deleted).
ACTIONS: dict[str, frozenset[Action]] = {
    "c": frozenset({Action.CREATE}),
    "r": READS,
    "u": frozenset({Action.UPDATE}),
    "d": frozenset(),
    "s": READS,
}
IDENTITY = frozenset({"openid", "fhirUser"})
LAUNCH_PATIENT = "launch/patient"
REFRESH = frozenset({"offline_access", "online_access"})
OTHER_SCOPES = IDENTITY | REFRESH | {LAUNCH_PATIENT}
_RESOURCE_SCOPE = re.compile(r"(patient|user|system)/(\*|[A-Z][A-Za-z]{0,63})\.([a-z]{1,5})")


class InvalidScope(ValueError):
    """A scope Carnet does not grant; the message names it."""


@dataclass(frozen=True)
class ResourceScope:
    context: str
    resource: str
    permissions: str

    @classmethod
    def parse(cls, text: str) -> ResourceScope | None:
        """The scope, None for a scope that is not about resources; `InvalidScope` when it
        looks like one but is not (unknown context, permissions out of order, …)."""
        if "/" not in text or text == LAUNCH_PATIENT:
            return None
        match = _RESOURCE_SCOPE.fullmatch(text)
        if match is None or not _in_order(match[3]):
            raise InvalidScope(f"unknown scope {shown_back(text)!r}")
        scope = cls(*match.groups())
        if scope.context == "system" and set(scope.permissions) - set(SYSTEM_PERMISSIONS):
            raise InvalidScope(
                f"{shown_back(text)!r}: a backend service may only create (system/*.c)"
            )
        return scope

    def covers(self, other: ResourceScope) -> bool:
        return (
            self.context == other.context
            and self.resource in ("*", other.resource)
            and set(other.permissions) <= set(self.permissions)
        )

    def allows(self, resource: str, permission: str) -> bool:
        return self.resource in ("*", resource) and permission in self.permissions

    def __str__(self) -> str:
        return f"{self.context}/{self.resource}.{self.permissions}"


def _in_order(permissions: str) -> bool:
    positions = [PERMISSIONS.find(letter) for letter in permissions]
    return -1 not in positions and positions == sorted(set(positions))


def split(scope: str | None) -> list[str]:
    """The scopes of a space-separated string, each checked (`InvalidScope`), in order, once."""
    scopes = list(dict.fromkeys((scope or "").split()))
    for text in scopes:
        if ResourceScope.parse(text) is None and text not in OTHER_SCOPES:
            raise InvalidScope(f"unknown scope {shown_back(text)!r}")
    return scopes


def resource_scopes(scope: str) -> list[ResourceScope]:
    return [parsed for text in split(scope) if (parsed := ResourceScope.parse(text))]


def within(requested: str, allowed: str) -> str:
    """The requested scopes the client may be given (those its registration covers)."""
    allowed_scopes = split(allowed)
    allowed_resources = resource_scopes(allowed)
    granted = []
    for text in split(requested):
        parsed = ResourceScope.parse(text)
        if parsed is None:
            if text in allowed_scopes:
                granted.append(text)
        elif any(scope.covers(parsed) for scope in allowed_resources):
            granted.append(text)
    return " ".join(granted)


@dataclass(frozen=True)
class Requirement:
    """What a route needs of a token: ``Resource.permissions`` (all of them), e.g.
    ``DocumentReference.c``."""

    resource: str
    permissions: str

    @classmethod
    def parse(cls, text: str) -> Requirement:
        resource, _dot, permissions = text.partition(".")
        if not resource or not permissions or not _in_order(permissions):
            raise ValueError(f"a route's scope is Resource.permissions, not {text!r}")
        return cls(resource, permissions)

    def __str__(self) -> str:
        return f"{self.resource}.{self.permissions}"


def reach(scope: str, required: tuple[Requirement, ...], dossier: UUID | None) -> Reach | None:
    """How far a token with ``scope`` may act on a route that needs ``required``: the actions
    of the permissions the route needs, in the dossier of its patient context when only a
    ``patient/`` scope provides one of them; None when a permission is not granted."""
    granted = resource_scopes(scope)
    actions: set[Action] = set()
    only_patient = False
    for requirement in required:
        for permission in requirement.permissions:
            providers = {
                scope.context for scope in granted if scope.allows(requirement.resource, permission)
            }
            if not providers:
                return None
            only_patient = only_patient or providers == {"patient"}
            actions |= ACTIONS[permission]
    return Reach(frozenset(actions), dossier if only_patient else None)


def reads(scope: str, resource: str, dossier: UUID, token_dossier: UUID | None) -> bool:
    """Whether a token with ``scope`` (its patient context ``token_dossier``) may read
    resources of type ``resource`` in ``dossier``: for what one answer gathers from several
    types, such as the patient summary."""
    found = reach(scope, (Requirement(resource, "r"),), token_dossier)
    return found is not None and found.dossier in (None, dossier)


# --- in words, for the consent page ---------------------------------------------------------


def describe(scope: str, patient_name: str = "") -> list[str]:
    """What a grant of ``scope`` allows, one sentence per scope, in the person's language."""
    sentences = []
    for text in split(scope):
        parsed = ResourceScope.parse(text)
        if parsed is not None:
            sentences.extend(_resource_sentences(parsed, patient_name))
        elif text in IDENTITY and _("Know who you are: your name and role.") not in sentences:
            sentences.append(_("Know who you are: your name and role."))
    return sentences


def _resource_sentences(scope: ResourceScope, patient_name: str) -> list[str]:
    what = {
        "DocumentReference": _("the documents"),
        "Patient": _("the patient's identity"),
        "*": _("everything"),
    }.get(scope.resource, scope.resource)
    where = (
        _("of %(patient)s's record") % {"patient": patient_name}
        if scope.context == "patient"
        else _("of the records you have access to")
    )
    sentences = []
    if set(scope.permissions) & set("rs"):
        sentences.append(_("Read %(what)s %(where)s.") % {"what": what, "where": where})
    if "c" in scope.permissions:
        sentences.append(_("Add %(what)s %(where)s.") % {"what": what, "where": where})
    if "u" in scope.permissions:
        sentences.append(_("Change %(what)s %(where)s.") % {"what": what, "where": where})
    return sentences
