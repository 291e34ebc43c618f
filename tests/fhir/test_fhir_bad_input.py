"""Bad bundles and searches: each gets a 4xx ``OperationOutcome`` saying what and where (the
entry and the element), nothing of a refused bundle is kept, and nothing a client sends
makes the parser fail (hypothesis)."""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import crypto
from portal.access.matrix import load_matrix
from portal.dossiers.tables import Document
from portal.fhir import codes, search
from portal.fhir.resources import Invalid
from portal.fhir.transaction import parse_json, read_submission
from tests.fhir.conftest import (
    BASE,
    FHIR,
    PDF,
    document_entry,
    dossier_of,
    gp_with_software,
    join,
    new_patient,
    new_professional,
    nir_of,
    provide_bundle,
    software_for,
    valid,
)
from tests.oauth.conftest import raw_client


def where(answer) -> list[str]:
    outcome = valid(answer.json())
    assert outcome["resourceType"] == "OperationOutcome"
    return [path for issue in outcome["issue"] for path in issue.get("expression", [])]


async def test_each_bad_bundle_says_what_and_where_and_keeps_nothing(portal, new_browser):
    patient = await new_patient()
    dossier = await dossier_of(patient)
    elsewhere = await dossier_of(await new_patient(first_name="Autre"))
    dentist = await new_professional(profession="chirurgien_dentiste")
    await join(dossier, dentist)
    software = await software_for(portal, new_browser, dentist)

    def bundle(**changes):
        return provide_bundle(dossier, document_entry(dossier, **changes))

    unlinked = bundle()
    unlinked["entry"][1]["resource"]["content"][0]["attachment"]["url"] = "urn:uuid:nowhere"
    wrong_size = bundle()
    wrong_size["entry"][1]["resource"]["content"][0]["attachment"]["size"] = 3
    wrong_hash = bundle()
    wrong_hash["entry"][1]["resource"]["content"][0]["attachment"]["hash"] = "AAAA"
    not_base64 = bundle()
    not_base64["entry"][2]["resource"]["data"] = "%%%"
    not_transaction = bundle()
    not_transaction["type"] = "batch"
    # Two documents, the second one wrong: neither is kept.
    half_wrong = provide_bundle(
        dossier, document_entry(dossier), document_entry(dossier, care_date="2031-01-01")
    )
    no_category = bundle()
    no_category["entry"][1]["resource"]["category"] = []
    del no_category["entry"][1]["resource"]["type"]
    own_unknown = bundle()
    own_unknown["entry"][1]["resource"]["category"][0]["coding"] = [
        {"system": f"{BASE}{codes.CATEGORY_PATH}", "code": "bogus"}
    ]
    stray = bundle()
    stray["entry"].append(
        {"fullUrl": "urn:uuid:stray", "resource": {}, "request": {"method": "POST", "url": "X"}}
    )
    twice = bundle()
    twice["entry"].append(copy.deepcopy(twice["entry"][2]))
    shared = provide_bundle(dossier, document_entry(dossier), document_entry(dossier))
    shared["entry"][3]["resource"]["content"][0]["attachment"]["url"] = shared["entry"][2][
        "fullUrl"
    ]
    misdirected = bundle()
    misdirected["entry"][1]["request"]["url"] = "Patient"
    ends_before = bundle()
    ends_before["entry"][1]["resource"]["context"]["period"]["end"] = "2026-02-01"
    foreign = bundle()
    foreign["entry"][1]["resource"]["subject"]["reference"] = (
        f"http://elsewhere.example/fhir/Patient/{dossier}"
    )
    not_a_number = b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
    not_a_number += b'{"resourceType": "Observation", "valueQuantity": {"value": NaN}}}]}'
    listed_type = b'{"resourceType": "Bundle", "type": ["document"], "entry": []}'
    two_authors = bundle()
    two_authors["entry"][1]["resource"]["author"] = [
        {"identifier": {"system": codes.RPPS_SYSTEM, "value": "10000000007"}},
        {"identifier": {"system": codes.RPPS_SYSTEM, "value": "10000000015"}},
    ]
    cases = [
        (b"{not json", 400, "Bundle"),
        (json.dumps(no_category), 400, "Bundle.entry[1].resource.category"),
        (
            json.dumps(own_unknown),
            400,
            "Bundle.entry[1].resource.category[0].coding[0].code",
        ),
        (json.dumps(stray), 400, "Bundle.entry[3].resource.resourceType"),
        (json.dumps(twice), 400, "Bundle.entry[3].fullUrl"),
        (json.dumps(shared), 400, "Bundle.entry[3].resource.content[0].attachment.url"),
        (json.dumps(misdirected), 400, "Bundle.entry[1].request.url"),
        (json.dumps(ends_before), 400, "Bundle.entry[1].resource.context.period.end"),
        (json.dumps(foreign), 400, "Bundle.entry[1].resource.subject.reference"),
        (
            json.dumps(bundle(data=not_a_number, content_type="application/fhir+json")),
            400,
            "Bundle.entry[1].resource.content[0].attachment.data",
        ),
        (json.dumps(two_authors), 400, "Bundle.entry[1].resource.author"),
        (
            json.dumps(bundle(data=listed_type, content_type="application/fhir+json")),
            400,
            "Bundle.entry[1].resource.content[0].attachment.data",
        ),
        (json.dumps({"resourceType": "Patient"}), 400, "Bundle.resourceType"),
        (json.dumps(not_transaction), 400, "Bundle.type"),
        (json.dumps(unlinked), 400, "Bundle.entry[1].resource.content[0].attachment.url"),
        (json.dumps(wrong_size), 400, "Bundle.entry[1].resource.content[0].attachment.size"),
        (json.dumps(wrong_hash), 400, "Bundle.entry[1].resource.content[0].attachment.hash"),
        (json.dumps(not_base64), 400, "Bundle.entry[2].resource.data"),
        (
            json.dumps(bundle(class_code="77")),
            400,
            "Bundle.entry[1].resource.category[0].coding[0].code",
        ),
        (
            json.dumps(bundle(type_code="99999-9")),
            400,
            "Bundle.entry[1].resource.type.coding[0].code",
        ),
        (
            json.dumps(bundle(data=b"<html>not a pdf</html>")),
            400,
            "Bundle.entry[1].resource.content[0].attachment",
        ),
        (
            json.dumps(bundle(title="\u202e\u200b ")),
            400,
            "Bundle.entry[1].resource.description",
        ),
        (json.dumps(half_wrong), 400, "Bundle.entry[3].resource.context.period.start"),
        *(
            (
                json.dumps(bundle(care_date=day)),
                400,
                "Bundle.entry[1].resource.context.period.start",
            )
            for day in ("2026-03-01garbage", "2026-03-01T99:99:99Z", "2026-03-01T09:30", "2026-03")
        ),
        (
            json.dumps(bundle(master="x" * 256)),
            400,
            "Bundle.entry[1].resource.masterIdentifier.value",
        ),
        (json.dumps(provide_bundle(elsewhere)), 404, "Bundle.entry[1].resource.subject"),
        (json.dumps(_nested(200)), 400, "Bundle"),
    ]
    for body, status, path in cases:
        answer = await software.post(
            FHIR, content=body, headers={"content-type": "application/fhir+json"}
        )
        assert answer.status_code == status, (path, answer.text)
        assert path in where(answer), answer.text
    assert await Document.count() == 0


async def test_a_category_the_profession_may_not_write_is_refused(portal, new_browser):
    patient = await new_patient()
    dossier = await dossier_of(patient)
    pharmacist = await new_professional(profession="pharmacien")
    await join(dossier, pharmacist)
    software = await software_for(portal, new_browser, pharmacist)
    answer = await software.post(FHIR, json=provide_bundle(dossier))  # a consultation report
    assert answer.status_code == 403, answer.text
    assert where(answer) == ["Bundle.entry[1].resource.category"]
    assert await Document.count() == 0


async def test_too_large_and_too_many_are_refused_before_anything(portal, new_browser):
    _patient, dossier, _gp, software = await gp_with_software(portal, new_browser)

    big = PDF + b"0" * (11 * 1024 * 1024)
    answer = await software.post(
        FHIR, json=provide_bundle(dossier, document_entry(dossier, data=big))
    )
    assert answer.status_code == 413, answer.text
    assert where(answer) == ["Bundle.entry[1].resource.content[0].attachment"]

    huge = (
        b'{"resourceType": "Bundle", "type": "transaction", "entry": ["'
        + b"A" * (50 * 1024 * 1024)
        + b'"]}'
    )
    answer = await software.post(
        FHIR, content=huge, headers={"content-type": "application/fhir+json"}
    )
    assert answer.status_code == 413
    assert valid(answer.json())["issue"][0]["code"] == "too-costly"
    assert where(answer) == ["Bundle"]

    for media_type in ("application/fhir+xml", "text/plain"):
        answer = await software.post(
            FHIR,
            content=json.dumps(provide_bundle(dossier)),
            headers={"content-type": media_type},
        )
        assert answer.status_code == 415, media_type
        assert valid(answer.json())["issue"][0]["code"] == "not-supported"

    many = provide_bundle(dossier)
    many["entry"] *= 3334
    answer = await software.post(FHIR, json=many)
    assert answer.status_code == 413
    assert where(answer) == ["Bundle.entry"]
    assert await Document.count() == 0


async def test_titles_are_kept_without_their_unicode_tricks(portal, new_browser):
    _patient, dossier, _gp, software = await gp_with_software(portal, new_browser)
    title = "Compte\u00a0rendu \u202efdp.exe\u202c\u200b\n du 1er mars"
    answer = await software.post(
        FHIR, json=provide_bundle(dossier, document_entry(dossier, title=title))
    )
    assert answer.status_code == 200, answer.text
    [stored] = await crypto.opened(dossier, Document, await Document.select())
    assert stored["title"] == "Compte rendu fdp.exe du 1er mars"


async def test_bad_searches_are_refused_and_unknown_patients_found_nowhere(portal, new_browser):
    patient, dossier, _gp, software = await gp_with_software(portal, new_browser)
    search = f"{FHIR}/DocumentReference"
    for params, status, path in [
        ({"patient": str(dossier), "date": "ge2026-13-45"}, 400, "date"),
        ({"patient": str(dossier), "date": "2026-03-01T25:00"}, 400, "date"),
        ({"patient": str(dossier), "date": "2026/03"}, 400, "date"),
        ({"patient": str(dossier), "date": "٢٠٢٦"}, 400, "date"),
        ({"patient": str(dossier), "_count": "101"}, 400, "_count"),
        ({"patient": str(dossier), "status": "deleted"}, 400, "status"),
        ({"patient": str(dossier), "category": "http://example.org|10"}, 400, "category"),
        ({"patient": str(dossier), "_count": "٣"}, 400, "_count"),
        ({"patient": str(dossier), "_count": "1_0"}, 400, "_count"),
        ({"patient": str(dossier), "category:not": "10"}, 400, "category:not"),
        (
            {"patient": str(dossier), "category": f"{codes.mapping().class_system}|"},
            400,
            "category",
        ),
        ({}, 400, "patient"),
        ({"patient": ""}, 400, "patient"),
        ({"patient": str(uuid.uuid4())}, 404, None),
        ({"patient": f"http://elsewhere.example/fhir/Patient/{dossier}"}, 404, None),
        ({"patient": str(dossier).upper()}, 404, None),
        ({"patient": "Patient/../../admin"}, 404, None),
    ]:
        answer = await software.get(search, params=params)
        assert answer.status_code == status, (params, answer.text)
        if path:
            assert where(answer) == [path]
    # The first and the last day there are: every document, or none.
    await software.post(FHIR, json=provide_bundle(dossier))
    for params, total in [
        ({"date": "le9999-12-31"}, 1),
        ({"date": "eq9999-12-31"}, 0),
        ({"date": "gt9999"}, 0),
        ({"date": "ge0001-01-01"}, 1),
        ({"date": "lt0001"}, 0),
        ({"date": "ge2026-03-02T08:00:00+01:00"}, 1),
    ]:
        answer = await software.get(search, params={"patient": str(dossier), **params})
        assert answer.status_code == 200, (params, answer.text)
        assert answer.json()["total"] == total, params
    # Carnet writes FHIR JSON: asked for it, it answers; asked for XML, it says so.
    for asked in ("json", "application/fhir+json", "application/json; charset=utf-8"):
        answer = await software.get(
            search,
            params={"patient": str(dossier), "_format": asked},
            headers={"prefer": "handling=strict"},
        )
        assert answer.status_code == 200, (asked, answer.text)
    for url in (search, f"{FHIR}/Patient/{dossier}", f"{FHIR}/Patient/{dossier}/$summary"):
        for formats in (["xml"], ["json", "xml"]):
            answer = await software.get(url, params={"patient": str(dossier), "_format": formats})
            assert answer.status_code == 406, (url, formats)
            assert where(answer) == ["_format"]
    # An id is written as Carnet writes it, or names nothing.
    for written in (f"urn:uuid:{dossier}", str(dossier).upper(), f"{{{dossier}}}", dossier.hex):
        answer = await software.get(f"{FHIR}/Patient/{written}")
        assert answer.status_code == 404, written
    # A query string too long to read is refused before anything reads it.
    answer = await software.get(search, params={"patient": str(dossier), "type": "x" * 2100})
    assert answer.status_code == 414
    assert valid(answer.json())["issue"][0]["code"] == "too-costly"
    # What the API does not have answers as the API does.
    for method, url, status in [
        ("GET", f"{FHIR}/Observation", 404),
        ("DELETE", f"{FHIR}/DocumentReference/{uuid.uuid4()}", 405),
        ("PUT", f"{FHIR}/Patient/{dossier}", 405),
    ]:
        answer = await software.request(method, url)
        assert answer.status_code == status, (method, url)
        assert valid(answer.json())["resourceType"] == "OperationOutcome"
    # Unknown parameters are ignored, as FHIR servers do, unless the client wants them refused.
    lenient = await software.get(search, params={"patient": str(dossier), "colour": "blue"})
    assert lenient.status_code == 200
    strict = await software.get(
        search,
        params={"patient": str(dossier), "colour": "blue"},
        headers={"prefer": "handling=strict"},
    )
    assert strict.status_code == 400
    assert where(strict) == ["colour"]
    nir = f"{codes.INS_NIR_SYSTEM}|{await nir_of(patient)}"
    for params in (
        {"identifier": "12345"},
        {"identifier": "urn:oid:1.2.250.1.213.1.4.8|123"},
        {},
        {"identifier": [nir, nir]},
        {"_id": f"{dossier},{uuid.uuid4()}"},
    ):
        answer = await software.get(f"{FHIR}/Patient", params=params)
        assert answer.status_code == 400, answer.text
    async with raw_client(portal) as anonymous:
        unauthenticated = await anonymous.get(f"{BASE}/fhir/Patient/{dossier}")
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")


def _nested(depth: int) -> dict:
    value: dict = {}
    for _level in range(depth):
        value = {"a": value}
    return {"resourceType": "Bundle", "type": "transaction", "entry": [value]}


# --- the parser, fuzzed ---------------------------------------------------------------------------

PATIENT = uuid.uuid4()
#: The core's document categories, as the portal gives them to the parser.
CATEGORIES = load_matrix().categories
VALID = provide_bundle(PATIENT, document_entry(PATIENT, author_rpps="10003456789"))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(
        ["Bundle", "transaction", "DocumentReference", "Binary", "List", "urn:uuid:x"]
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


PATHS = list(_paths(VALID))


def _read(data) -> None:
    """Read or refuse ``data``; a refusal is a 4xx with what and where."""
    refused = None
    try:
        read_submission(data, BASE, CATEGORIES)
    except Invalid as problem:
        refused = problem
    if refused is not None:
        assert refused.issues
        assert 400 <= refused.status < 500


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), replacement=json_values)
def test_a_bundle_with_any_element_replaced_is_read_or_refused(path, replacement):
    bundle = copy.deepcopy(VALID)
    if not path:
        bundle = replacement
    else:
        parent = bundle
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = replacement
    _read(bundle)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200) | json_values.map(lambda value: json.dumps(value).encode()))
def test_any_body_is_parsed_or_refused(body):
    try:
        data = parse_json(body)
    except Invalid as problem:
        data, refused = None, problem
    else:
        refused = None
    if refused is not None:
        assert refused.status == 400
        return
    _read(data)


def test_the_valid_bundle_of_the_fuzz_is_read():
    submission = read_submission(copy.deepcopy(VALID), BASE, CATEGORIES)
    assert submission.patient == PATIENT
    assert submission.author_rpps == "10003456789"
    assert [deposit.data for deposit in submission.deposits] == [PDF]
    assert base64.b64encode(PDF)


async def test_a_new_version_needs_the_update_scope(portal, new_browser):
    patient = await new_patient()
    dossier = await dossier_of(patient)
    gp = await new_professional()
    await join(dossier, gp)
    software = await software_for(portal, new_browser, gp, "user/DocumentReference.crs")
    first = await software.post(FHIR, json=provide_bundle(dossier))
    replaced = first.json()["entry"][1]["response"]["location"].split("/")[1]
    entry = document_entry(dossier, title="Corrigé", replaces=uuid.UUID(replaced))
    answer = await software.post(FHIR, json=provide_bundle(dossier, entry))
    assert answer.status_code == 403, answer.text
    assert where(answer) == ["Bundle.entry[1].resource.relatesTo"]
    assert await Document.count() == 1


async def test_what_is_wrong_is_said_in_the_request_s_language(portal, new_browser):
    """French unless the software asks otherwise, as the pages; the codes and the paths stay
    the same in every language."""
    _patient, dossier, _gp, software = await gp_with_software(portal, new_browser)
    bad_hash = provide_bundle(dossier)
    bad_hash["entry"][1]["resource"]["content"][0]["attachment"]["hash"] = "AAAA"
    bad_count = {"patient": str(dossier), "_count": "101"}

    def said(answer) -> list[tuple[str, str, list[str]]]:
        issues = valid(answer.json())["issue"]
        return [(i["code"], i["diagnostics"], i["expression"]) for i in issues]

    hash_path = ["Bundle.entry[1].resource.content[0].attachment.hash"]
    for headers, deposit, searching in [
        (
            {},
            "Le hash (SHA-1) ne correspond pas au contenu.",
            "_count est un nombre entier de 0 à 100.",
        ),
        (
            {"Accept-Language": "en"},
            "The hash (SHA-1) does not match the content.",
            "_count is a whole number from 0 to 100.",
        ),
    ]:
        answer = await software.post(FHIR, json=bad_hash, headers=headers)
        assert said(answer) == [("invalid", deposit, hash_path)]
        answer = await software.get(f"{FHIR}/DocumentReference", params=bad_count, headers=headers)
        assert said(answer) == [("invalid", searching, ["_count"])]


async def test_a_failure_of_ours_answers_an_outcome_with_its_reference(
    portal, new_browser, monkeypatch, caplog
):
    """Software reads the API's errors as FHIR, a failure of ours too: no page of HTML, no
    internal detail, and the reference that support finds in the log."""
    _patient, dossier, _gp, software = await gp_with_software(portal, new_browser)

    async def broken(*_arguments):
        raise RuntimeError("the secret cause")

    monkeypatch.setattr(search, "documents", broken)
    answer = await software.get(f"{FHIR}/DocumentReference", params={"patient": str(dossier)})
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/fhir+json")
    [issue] = valid(answer.json())["issue"]
    assert issue["code"] == "exception"
    reference = re.search(r"Référence\u00a0: (\w+)\.", issue["diagnostics"])
    assert reference
    assert reference[1] in caplog.text
    assert "the secret cause" not in answer.text
