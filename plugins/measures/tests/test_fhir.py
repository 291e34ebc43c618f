"""The health measures as FHIR: the latest reading of each measure as an Observation of the
vital-signs profile (LOINC, UCUM, normal range, interpretation), valid against fhir.resources'
models, in Camille's patient summary (IPS) under its vital signs."""

from __future__ import annotations

from tests.fhir.ips_checks import check_ips, entries_of, validated

CAMILLE = "camille.martin@demo.carnet.fr"
DOCTOR = "dr.bernard@demo.carnet.fr"
VITAL_SIGNS = "8716-3"


def codes(resource: dict) -> list[str]:
    return [coding["code"] for coding in resource["code"]["coding"]]


async def test_the_latest_reading_of_each_measure_is_a_vital_signs_observation(carnet):
    dossier = carnet.dossiers["camille"]
    view = await carnet.view(DOCTOR, dossier)
    resources = await carnet.app.state.plugins.fhir_resources("measures", view)
    for resource in resources:
        validated(resource)
        assert resource["id"].startswith("measures-")
        assert resource["subject"] == {"reference": f"Patient/{dossier}"}
        assert resource["category"][0]["coding"][0]["code"] == "vital-signs"
    assert len({resource["id"] for resource in resources}) == len(resources)
    by_code = {codes(resource)[0]: resource for resource in resources}
    assert set(by_code) == {"85354-9", "8867-4", "29463-7", "2339-0", "8310-5", "59408-5"}
    assert codes(by_code["59408-5"]) == ["59408-5", "2708-6"]

    pressure = by_code["85354-9"]
    assert pressure["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/bp"]
    assert "valueQuantity" not in pressure
    systolic, diastolic = pressure["component"]
    assert (codes(systolic), codes(diastolic)) == (["8480-6"], ["8462-4"])
    assert systolic["valueQuantity"] == {
        "value": 142,
        "unit": "mmHg",
        "system": "http://unitsofmeasure.org",
        "code": "mm[Hg]",
    }
    assert diastolic["valueQuantity"]["value"] == 91
    assert systolic["interpretation"][0]["coding"][0]["code"] == "H"  # above normal
    assert systolic["referenceRange"][0]["high"]["value"] == 139
    assert pressure["performer"] == [{"display": "Sophie Bernard"}]

    temperature = by_code["8310-5"]
    assert temperature["valueQuantity"]["code"] == "Cel"
    assert "interpretation" not in temperature  # 37.2 °C is normal


async def test_camille_s_summary_files_her_measures_under_vital_signs(carnet):
    dossier = carnet.dossiers["camille"]
    camille = await carnet.sign_in(CAMILLE)
    profile = f"/dossiers/{dossier}/profile"
    assert (await camille.post(profile, data={"height_cm": "165"})).status_code == 303

    summary = await camille.get(f"/dossiers/{dossier}/export/ips.json")
    assert summary.status_code == 200
    bundle = check_ips(summary.json(), carnet.settings.base_url.rstrip("/") + "/fhir")
    vital_signs = entries_of(bundle, VITAL_SIGNS)
    assert {codes(resource)[0] for resource in vital_signs} >= {"85354-9", "29463-7", "39156-5"}
    [bmi] = [resource for resource in vital_signs if codes(resource)[0] == "39156-5"]
    [weight] = [resource for resource in vital_signs if codes(resource)[0] == "29463-7"]
    assert bmi["derivedFrom"] == [{"reference": f"Observation/{weight['id']}"}]
    expected = round(weight["valueQuantity"]["value"] / 1.65**2, 1)
    assert bmi["valueQuantity"] == {
        "value": expected,
        "unit": "kg/m2",
        "system": "http://unitsofmeasure.org",
        "code": "kg/m2",
    }
