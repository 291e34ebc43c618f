"""The FHIR R4 API under ``/fhir``, for professional software and patients' applications
authorized by `portal.oauth` tokens: ``metadata`` (the CapabilityStatement), ``Patient`` (read,
and search by INS-NIR as IHE PDQm does), the documents as IHE MHD has them (ITI-65 provide
through ``POST /fhir``, its submission set read back as a ``List``, ITI-67 find through ``GET
DocumentReference``, ITI-68 retrieve through each attachment's ``Binary`` URL).

Each route opens the dossier through `portal.access.view` exactly as the pages do, so every
read and write is decided and traced there (the trace names the application); deposits go
through the deposit form's own checks and saving (`portal.dossiers.documents`). Every refusal
answers an ``OperationOutcome``; an id that does not exist and one the asker may not see
answer the same 404.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid5

from litestar import Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    HTTPException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from piccolo.columns.combination import Where

from portal import db, i18n, web
from portal.access import bearer_token, public
from portal.access.controls import ControlError
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.dossiers import documents
from portal.dossiers.tables import Document, Dossier
from portal.echo import shown_back
from portal.fhir import codes, ips, reading, search
from portal.fhir.resources import (
    FHIR_JSON,
    FHIR_VERSION,
    Invalid,
    Issue,
    bundle,
    document_reference,
    outcome,
    patient_resource,
    resource_id,
    submission_set,
)
from portal.fhir.transaction import (
    TEXT_TYPE,
    Deposit,
    Submission,
    parse_json,
    read_submission,
)
from portal.i18n import gettext as _
from portal.i18n import gettext_lazy
from portal.identity.numbers import InvalidNumber, validate_nir
from portal.oauth import bearer, scopes
from portal.oauth.scopes import Requirement

#: What a bundle may weigh: a few documents of `documents.MAX_FILE_SIZE` in base64. Beyond
#: it the request is refused before it is read (413).
MAX_BUNDLE_SIZE = 32 * 1024 * 1024
#: The masterIdentifier of a deposit, made the deposit's submission id in its dossier: the
#: same bundle sent again finds the documents it made.
MASTER_IDENTIFIERS = UUID("4d1f7a7e-3c0e-5b8e-9a57-0c6b2f7e1d2a")
#: The id of a bundle's submission set (its List), made from its documents' submission ids:
#: the same bundle sent again answers the same List.
SUBMISSION_SETS = UUID("8b0c3f52-61d4-5e0a-b7c9-2e4f6a1d9c35")
#: The FHIR issue type of each refusal status.
_ISSUE_OF_STATUS = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    413: "too-costly",
    414: "too-costly",
    415: "not-supported",
    429: "throttled",
}
NOT_FOUND = gettext_lazy("No such resource, or none you may see.")
#: The resources and interactions of the CapabilityStatement.
CAPABILITIES: list[dict[str, Any]] = [
    {
        "type": "Patient",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "operation": [
            {
                "name": "summary",
                "definition": "http://hl7.org/fhir/uv/ips/OperationDefinition/summary",
            }
        ],
        "searchParam": [
            {"name": "identifier", "type": "token", "documentation": "The INS-NIR"},
            {"name": "_id", "type": "token"},
        ],
    },
    {
        "type": "DocumentReference",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            {"name": "patient", "type": "reference"},
            {"name": "category", "type": "token"},
            {"name": "type", "type": "token"},
            {"name": "date", "type": "date"},
            {"name": "status", "type": "token"},
            {"name": "author", "type": "reference"},
            {"name": "_count", "type": "number"},
        ],
    },
    {"type": "Binary", "interaction": [{"code": "read"}]},
    {"type": "List", "interaction": [{"code": "read"}]},
]


def answer(content: Mapping[str, Any], status: int = 200, **headers: str) -> Response:
    """A FHIR JSON answer, never cached."""
    return Response(
        dict(content),
        status_code=status,
        media_type=FHIR_JSON,
        headers={"cache-control": "no-store", **headers},
    )


def error_response(request: Request, exc: Exception) -> Response:
    """Every refusal and failure as an ``OperationOutcome`` in the request's language (an
    error may be answered outside the middleware that sets it), a token's refusal with its
    ``WWW-Authenticate`` challenge."""
    if isinstance(exc, Invalid):
        return answer(outcome(*exc.issues), exc.status)
    settings = request.app.state.settings
    token = i18n.set_language(web.request_language(settings, request.scope))
    try:
        issue, status, headers = _refusal(request, exc)
    finally:
        i18n.reset_language(token)
    return answer(outcome(issue), status, **headers)


def _refusal(request: Request, exc: Exception) -> tuple[Issue, int, dict[str, str]]:
    if not isinstance(exc, HTTPException) or exc.status_code >= 500:
        # A failure of ours, or the database down: logged as the pages' are, with the
        # reference support finds it by.
        failure = web.failure_of(request, exc)
        detail = failure.explanation
        if failure.correlation_id:
            detail += " " + _("Reference: %(id)s.") % {"id": failure.correlation_id}
        code = "transient" if failure.status == 503 else "exception"
        return Issue(code, detail), failure.status, failure.headers
    status = exc.status_code
    detail, where = str(exc.detail), ""
    if status == 404:
        detail = str(NOT_FOUND)
    elif status == 413:  # the body, refused before anything reads it
        megabytes = MAX_BUNDLE_SIZE // 2**20
        detail = _("A bundle is %(megabytes)s MB at most.") % {"megabytes": megabytes}
        where = "Bundle"
    issue = Issue(_ISSUE_OF_STATUS.get(status, "processing"), detail, where)
    return issue, status, exc.headers or {}


def _base(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def _id(text: str) -> UUID:
    """A resource id of ours, or the 404 every unknown id gets."""
    found = resource_id(text)
    if found is None:
        raise NotFoundException()
    return found


async def _view(request: Request, dossier_id: UUID) -> DossierView:
    """The dossier for the asker, the refusal traced; 404 alike for no dossier and for one the
    asker may not open."""
    try:
        return await open_dossier(request, dossier_id)
    except PermissionDeniedException:
        raise NotFoundException() from None


async def _dossier_of(where: Where) -> UUID:
    """The dossier of the documents ``where`` finds; 404 when there is none."""
    row = await Document.select(Document.dossier).where(where).first()
    if row is None:
        raise NotFoundException()
    return row["dossier"]


# --- metadata -------------------------------------------------------------------------------


def capability_statement(base_url: str) -> dict[str, Any]:
    """What the API does, for `GET /fhir/metadata`."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-07",
        "publisher": "Carnet",
        "kind": "instance",
        "software": {"name": "Carnet"},
        "implementation": {"description": "Carnet FHIR API", "url": f"{base_url}/fhir"},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [
                                {"url": "authorize", "valueUri": f"{base_url}/oauth/authorize"},
                                {"url": "token", "valueUri": f"{base_url}/oauth/token"},
                                {"url": "revoke", "valueUri": f"{base_url}/oauth/revoke"},
                            ],
                        }
                    ],
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                },
                "resource": CAPABILITIES,
                "interaction": [{"code": "transaction"}],
            }
        ],
    }


@get("/metadata", guards=[public])
async def metadata(request: Request) -> Response:
    return answer(capability_statement(_base(request)))


# --- Patient (PDQm) -------------------------------------------------------------------------


async def _patient(view: DossierView) -> dict[str, Any]:
    """The ``Patient`` of the dossier, its reading traced."""
    await view.require(Action.VIEW, target_type="dossier")
    return await patient_of(view)


async def patient_of(view: DossierView) -> dict[str, Any]:
    """The ``Patient`` of an opened dossier, for a reading already traced."""
    row = (
        await Dossier.select(
            Dossier.patient.nir.as_alias("nir"),
            Dossier.patient.first_name.as_alias("first_name"),
            Dossier.patient.last_name.as_alias("last_name"),
            Dossier.patient.birth_date.as_alias("birth_date"),
        )
        .where(Dossier.id == view.id)
        .first()
    )
    return patient_resource(view.id, row)


@get("/Patient/{patient_id:str}", guards=[bearer_token("Patient.r")])
async def read_patient(request: Request, patient_id: FromPath[str]) -> Response:
    view = await _view(request, _id(patient_id))
    return answer(await _patient(view))


@get("/Patient/{patient_id:str}/$summary", guards=[bearer_token("Patient.r")])
async def summary(request: Request, patient_id: FromPath[str]) -> Response:
    """The patient summary (IPS ``$summary``): an IPS document of what the asker may read,
    of the resource types the token's scopes read."""
    view = await _view(request, _id(patient_id))
    token = bearer.software(request).token
    summary = await ips.patient_summary(
        view,
        request.app.state.plugins,
        await patient_of(view),
        f"{_base(request)}/fhir",
        lambda kind: scopes.reads(token.scope, kind, view.id, token.dossier),
    )
    return answer(summary)


@get("/Patient", guards=[bearer_token("Patient.s")])
async def search_patients(request: Request) -> Response:
    """A patient by INS-NIR (``identifier=urn:oid:1.2.250.1.213.1.4.8|NIR``) or by id: found
    only where the asker may open the dossier, as the professional's look-up finds it; an
    empty result alike for no dossier and one they may not open (the refusal is traced)."""
    params = search.parameters(request, {"identifier", "_id"})
    if set(params) != {"identifier"} and set(params) != {"_id"}:
        raise Invalid([Issue("required", _("Search by identifier or by _id."), "Patient")])
    [(name, values)] = params.items()
    if len(values) != 1 or "," in values[0]:
        raise Invalid([Issue("not-supported", _("Search for one patient at a time."), name)])
    if "_id" in params:
        dossier_id = resource_id(params["_id"][0])
    else:
        system, _bar, value = params["identifier"][0].rpartition("|")
        if system != codes.INS_NIR_SYSTEM:
            message = _("Search by the INS-NIR: identifier=%(system)s|<NIR>.") % {
                "system": codes.INS_NIR_SYSTEM
            }
            raise Invalid([Issue("not-supported", message, "identifier")])
        try:
            nir = validate_nir(value)
        except InvalidNumber as problem:
            raise Invalid([Issue("invalid", str(problem), "identifier")]) from None
        row = await Dossier.select(Dossier.id).where(Dossier.patient.nir == nir).first()
        dossier_id = row["id"] if row else None
    entries = []
    if dossier_id is not None:
        try:
            view = await _view(request, dossier_id)
        except NotFoundException:  # not open to this person: the search finds nothing
            pass
        else:
            resource = await _patient(view)
            entries.append(
                {
                    "fullUrl": f"{_base(request)}/fhir/Patient/{view.id}",
                    "resource": resource,
                    "search": {"mode": "match"},
                }
            )
    return answer(bundle("searchset", entries, total=len(entries)))


# --- DocumentReference (ITI-67) and Binary (ITI-68) -------------------------------------------


@get("/DocumentReference", guards=[bearer_token("DocumentReference.s")])
async def search_documents(request: Request) -> Response:
    """The documents of one patient the asker may read, narrowed and paged (ITI-67)."""
    query = search.DocumentQuery.read(request, _base(request))
    view = await _view(request, query.patient)
    await view.require(Action.VIEW, target_type="documents")
    found = await search.documents(view, query)
    page = await search.page_of(view, found)
    base = _base(request)
    entries = [
        {
            "fullUrl": f"{base}/fhir/DocumentReference/{row['id']}",
            "resource": document_reference(row, view.id, base, replaces=row["replaces"]),
            "search": {"mode": "match"},
        }
        for row in page
    ]
    links = {"self": query.url(base, query.offset)}
    if query.count and query.offset + query.count < found.total:
        links["next"] = query.url(base, query.offset + query.count)
    if query.count and query.offset:
        # The page before, or the last one there is for an offset past the end.
        last = (max(found.total - 1, 0) // query.count) * query.count
        links["previous"] = query.url(base, max(min(query.offset - query.count, last), 0))
    return answer(bundle("searchset", entries, total=found.total, links=links))


@get("/DocumentReference/{document_id:str}", guards=[bearer_token("DocumentReference.r")])
async def read_document_reference(request: Request, document_id: FromPath[str]) -> Response:
    identifier = _id(document_id)
    view = await _view(request, await _dossier_of(Document.id == identifier))
    try:
        document, _current, versions = await documents.read_document(view, identifier)
    except PermissionDeniedException:
        raise NotFoundException() from None
    return answer(
        document_reference(
            document, view.id, _base(request), replaces=search.replaced_by(document, versions)
        )
    )


@get("/List/{list_id:str}", guards=[bearer_token("DocumentReference.r")])
async def read_submission_set(request: Request, list_id: FromPath[str]) -> Response:
    """A submission set (the List of an ITI-65 bundle): the documents deposited together that
    the asker may read, found and traced as a search finds them."""
    set_id = _id(list_id)
    view = await _view(request, await _dossier_of(Document.submission_set == set_id))
    await view.require(Action.VIEW, target_type="documents")
    query = search.DocumentQuery(patient=view.id, submission_set=set_id, count=search.MAX_COUNT)
    found = await search.documents(view, query)
    if not found.total:
        raise NotFoundException()
    return answer(submission_set(set_id, view.id, await search.page_of(view, found)))


@get(
    "/Binary/{document_id:str}",
    guards=[bearer_token("DocumentReference.r")],
    skip_compression=True,
)
async def retrieve(request: Request, document_id: FromPath[str]) -> Response:
    """A document's content (ITI-68): its file, or its text; as the download page gives it."""
    identifier = _id(document_id)
    view = await _view(request, await _dossier_of(Document.id == identifier))
    try:
        document, _current, _versions = await documents.read_document(
            view, identifier, Action.DOWNLOAD, with_file=True
        )
    except PermissionDeniedException:
        raise NotFoundException() from None
    content, content_type, name, extension = documents.content_of(document)
    return Response(
        content,
        media_type=content_type,
        headers={
            "content-disposition": documents.attachment(name, extension),
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


# --- ITI-65: provide documents --------------------------------------------------------------


@post(
    "/",
    guards=[bearer_token("DocumentReference.c")],
    request_max_body_size=MAX_BUNDLE_SIZE,
    status_code=200,
)
async def provide(request: Request) -> Response:
    """Deposit the documents of an ITI-65 bundle, all or none; the same bundle sent again
    creates nothing and answers the same."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type not in ("", FHIR_JSON, "application/json"):
        message = _("Send the bundle as %(type)s: Carnet reads FHIR JSON only.") % {
            "type": FHIR_JSON
        }
        raise Invalid([Issue("not-supported", message, "Bundle")], 415)
    categories = request.app.state.matrix.categories
    submission = read_submission(parse_json(await request.body()), _base(request), categories)
    first = submission.deposits[0]
    if any(deposit.replaces for deposit in submission.deposits):
        _may_replace(request, first)
    try:
        await bearer.acting_professional(request, submission.author_rpps)
    except (PermissionDeniedException, ValidationException) as refused:
        raise Invalid(
            [Issue("forbidden", str(refused.detail), f"{first.path}.author")],
            refused.status_code,
        ) from None
    try:
        view = await open_dossier(request, submission.patient, Action.CREATE, first.category)
    except NotFoundException:
        raise Invalid(
            [Issue("not-found", _("There is no such patient."), f"{first.path}.subject")], 404
        ) from None
    except PermissionDeniedException:  # the dossier is theirs to open, not this category
        message = _("You may not add documents of this category.")
        raise Invalid([Issue("forbidden", message, f"{first.path}.category")], 403) from None
    keys = [
        uuid5(MASTER_IDENTIFIERS, f"{view.id}|{d.master_identifier}") for d in submission.deposits
    ]
    set_id = uuid5(SUBMISSION_SETS, "|".join(map(str, keys)))
    # A bundle sent again (software retries on a timeout) is not looked up first: it fails,
    # either on a check (the version it replaced is no longer current) or on the unique index
    # of its documents' submissions, and only then is the first copy's answer looked up. A
    # deposit, by far the common case, runs one statement fewer.
    checked = [
        await _checked(view, deposit, key, set_id)
        for deposit, key in zip(submission.deposits, keys, strict=True)
    ]
    issues = [issue for check in checked for issue in check.issues]
    if issues:
        if (done := await _already_made(view, submission, keys, set_id)) is not None:
            return done
        statuses = {check.status for check in checked if check.issues}
        raise Invalid(issues, next((s for s in (403, 404, 409, 413) if s in statuses), 400))
    try:
        async with db.current().write_transaction():
            made = [await documents.store(view, check.entry, check.replacing) for check in checked]
    except ControlError as conflict:
        if (done := await _already_made(view, submission, keys, set_id)) is not None:
            return done
        raise Invalid([Issue("conflict", str(conflict), f"{first.path}.relatesTo")], 409) from None
    except Exception:
        if (done := await _already_made(view, submission, keys, set_id)) is not None:
            return done
        raise
    return answer(_transaction_response(submission, made, set_id))


@dataclass
class Checked:
    """One deposit checked: what to store (the entry, the version it replaces), or its
    problems and the status they answer."""

    entry: documents.Entry | None = None
    replacing: dict | None = None
    issues: list[Issue] = field(default_factory=list)
    status: int = 400

    def refuse(self, issue: Issue, status: int = 400) -> Checked:
        self.issues.append(issue)
        self.status = status
        return self


def _may_replace(request: Request, deposit: Deposit) -> None:
    """A new version changes what is there: the token must also grant ``u``."""
    current = bearer.software(request)
    reach = scopes.reach(
        current.token.scope, (Requirement.parse("DocumentReference.cu"),), current.token.dossier
    )
    if reach is None:
        raise Invalid(
            [
                Issue(
                    "forbidden",
                    _("A new version needs the scope user/DocumentReference.cu."),
                    f"{deposit.path}.relatesTo",
                )
            ],
            403,
        )
    state = request.scope["state"]
    state["software"] = bearer.Software(current.token, reach)
    if state.get("session") is not None:
        state["session"] = dataclasses.replace(state["session"], reach=reach)


async def _already_made(
    view: DossierView, submission: Submission, keys: list[UUID], set_id: UUID
) -> Response | None:
    """After a deposit failed: the answer given to this bundle before, when its author
    already deposited it; a 409 when any of its masterIdentifiers is taken otherwise (by
    another bundle, or by another author, whose documents it does not show)."""
    made = await documents.submissions(view, keys)
    author = view.actor.account_id
    if all(key in made and made[key]["author"] == author for key in keys):
        changed = [
            deposit
            for deposit, key in zip(submission.deposits, keys, strict=True)
            if not await _same_content(view, made[key]["id"], deposit)
        ]
        if changed:  # XDS's "non-identical hash": the same document, said otherwise
            message = _("This masterIdentifier was deposited with another content.")
            raise Invalid(
                [Issue("duplicate", message, f"{d.path}.masterIdentifier") for d in changed], 409
            )
        return answer(_transaction_response(submission, [made[key]["id"] for key in keys], set_id))
    taken = [deposit for deposit, key in zip(submission.deposits, keys, strict=True) if key in made]
    if taken:
        raise Invalid(
            [
                Issue(
                    "duplicate",
                    _("A document with this masterIdentifier is already deposited."),
                    f"{deposit.path}.masterIdentifier",
                )
                for deposit in taken
            ],
            409,
        )
    return None


async def _same_content(view: DossierView, document_id: UUID, deposit: Deposit) -> bool:
    """Whether a document holds what ``deposit`` sends: its file, byte for byte, or its text
    (as the deposit form keeps it: spaces aside)."""
    row = await documents.document_row(view, document_id, with_file=True)
    if row["file_data"] is not None:
        return bytes(row["file_data"]) == deposit.data
    sent = deposit.data.decode("utf-8", errors="replace")
    return (row["body"] or "").split() == sent.split()


#: Where each field of the deposit form is in a DocumentReference.
_PATHS = {
    "category": "category",
    "type": "type",
    "title": "description",
    "care_date": "context.period.start",
    "body": "content[0].attachment",
    "file": "content[0].attachment",
    "document-form": "masterIdentifier",
}


async def _checked(view: DossierView, deposit: Deposit, key: UUID, set_id: UUID) -> Checked:
    """One deposit checked as the deposit form checks it (``key``: its submission id;
    ``set_id``: its bundle's submission set)."""
    check = Checked()
    target = f"{deposit.path}.relatesTo[0].target"
    if deposit.replaces:
        try:
            check.replacing = await documents.replaceable(view, deposit.replaces)
        except NotFoundException:
            return check.refuse(Issue("not-found", str(NOT_FOUND), target), 404)
        except PermissionDeniedException as refused:  # one they see, but may not replace
            return check.refuse(Issue("forbidden", str(refused.detail), target), 403)
        if check.replacing["id"] != deposit.replaces:
            message = _("A newer version of this document exists: replace that one.")
            return check.refuse(Issue("conflict", message, target), 409)
        if check.replacing["category"] != deposit.category:
            message = _("A new version keeps its document's category.")
            return check.refuse(Issue("invalid", message, f"{deposit.path}.category"))
    text, checked_type = "", ""
    attachment = f"{deposit.path}.content[0].attachment"
    if deposit.content_type == TEXT_TYPE:
        try:
            text = deposit.data.decode("utf-8")
        except UnicodeDecodeError:
            return check.refuse(Issue("invalid", _("The text is not UTF-8."), attachment))
    elif deposit.content_type == documents.STRUCTURED_TYPE:
        checked_type = documents.STRUCTURED_TYPE
        if len(deposit.data) <= documents.MAX_FILE_SIZE:  # larger: refused as any file (413)
            structured, problem = reading.check_bundle(deposit.data)
            if structured is None:
                return check.refuse(Issue("invalid", problem, f"{attachment}.data"))
    draft = documents.Draft(
        category=deposit.category,
        type=deposit.type,
        title=deposit.title,
        care_date=deposit.care_date,
        body=text,
        submission=str(key),
        file_name=deposit.title,
        file_data=None if text else deposit.data,
        checked_type=checked_type,
    )
    check.entry, errors, check.status = await documents.check_deposit(view, draft, check.replacing)
    kind = _ISSUE_OF_STATUS.get(check.status, "invalid")
    for name, problem in errors.items():
        check.issues.append(Issue(kind, problem, f"{deposit.path}.{_PATHS.get(name, name)}"))
    if check.entry and check.entry.file_type and check.entry.file_type != deposit.content_type:
        message = _("The content is %(found)s, not %(declared)s as declared.") % {
            "found": check.entry.file_type,
            "declared": deposit.content_type,
        }
        check.entry = None
        return check.refuse(
            Issue("invalid", message, f"{deposit.path}.content[0].attachment.contentType")
        )
    if check.entry:
        check.entry = dataclasses.replace(
            check.entry, master_identifier=deposit.master_identifier, submission_set=set_id
        )
    return check


def _transaction_response(submission: Submission, made: list[UUID], set_id: UUID) -> dict[str, Any]:
    """The ``transaction-response``: an entry for each entry of the bundle, in its order,
    each with the location of what it made."""
    entries = []
    for index in sorted(submission.entries):
        position = submission.entries[index]
        if position is None:
            location = f"List/{set_id}"
        else:
            deposit = submission.deposits[position]
            kind = "DocumentReference" if deposit.index == index else "Binary"
            location = f"{kind}/{made[position]}"
        entries.append({"response": {"status": "201 Created", "location": location}})
    return bundle("transaction-response", entries)


#: What ``_format`` may ask for: FHIR JSON, by its media types or its short name.
JSON_FORMATS = frozenset({"json", "application/json", FHIR_JSON})


async def only_json(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """Refuse (406) a request whose ``_format`` asks for what Carnet does not write (XML,
    Turtle): the router's guard, before the token's, so nothing is read or traced."""
    for asked in connection.query_params.getall("_format", []):
        if asked.partition(";")[0].strip().lower() in JSON_FORMATS:
            continue
        message = _("Carnet writes %(type)s only, not _format=%(asked)r.") % {
            "type": FHIR_JSON,
            "asked": shown_back(asked),
        }
        raise Invalid([Issue("not-supported", message, "_format")], 406)


ROUTER = Router(
    "/fhir",
    route_handlers=[
        metadata,
        read_patient,
        summary,
        search_patients,
        search_documents,
        read_document_reference,
        read_submission_set,
        retrieve,
        provide,
    ],
    opt={web.COOKIELESS: True},
    guards=[only_json],
    exception_handlers={HTTPException: error_response, Invalid: error_response},
)
