"""Transaction bundles: DiagnosticReport and Observation entries (results referenced by urn:uuid fullUrl,
conditional create per entry) are stored in one database transaction — all of them, or none."""

import pytest
from fhir.resources.R4B.bundle import Bundle

from yilian.interop.tests.fhir_data import by_record_number, electrolytes, glucose, lab, make_world, post
from yilian.network.roles import Role
from yilian.results.models import Observation, Report
from yilian.testing.factories import make_membership, register_patient

K = "urn:uuid:6c2b5d4e-0000-4000-8000-000000000001"
NA = "urn:uuid:6c2b5d4e-0000-4000-8000-000000000002"
REPORT = "urn:uuid:6c2b5d4e-0000-4000-8000-000000000003"
SUGAR = "urn:uuid:6c2b5d4e-0000-4000-8000-000000000004"


@pytest.fixture
def world(db):
    return make_world()


def entry(url: str, resource: dict, condition: str = "") -> dict:
    request = {"method": "POST", "url": resource["resourceType"]}
    if condition:
        request["ifNoneExist"] = condition
    return {"fullUrl": url, "resource": resource, "request": request}


def bundle(patient, *, conditional: bool = False, report_id: str = "R0001", sugar_id: str = "G0001") -> dict:
    """A report whose two results are entries of the bundle, and a standalone glucose."""
    report = electrolytes(patient, report_id, contained=None, result=[{"reference": K}, {"reference": NA}],
                          subject=by_record_number())
    report.pop("contained")
    k, na = lab("K", 4.2, loinc="2823-3"), lab("NA", 141)
    for obs in (k, na):
        obs["subject"] = by_record_number()
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        entry(K, k), entry(REPORT, report, f"identifier=http://lis.t-w01.example/report|{report_id}" if conditional
                        else ""),
        entry(NA, na), entry(SUGAR, glucose(patient, sugar_id), f"identifier={sugar_id}" if conditional else "")]}


def statuses(response) -> list[str]:
    assert response.status_code == 200, response.content.decode()
    body = response.json()
    Bundle.model_validate(body)
    assert body["type"] == "transaction-response"
    return [e["response"]["status"] for e in body["entry"]]


def test_a_transaction_stores_every_entry(world):
    response = post("", bundle(world.patient))
    assert statuses(response) == ["201 Created"] * 4
    report, sugar = Report.objects.order_by("pk")
    locations = [e["response"]["location"] for e in response.json()["entry"]]
    assert locations == [f"DiagnosticReport/{report.pk}", f"DiagnosticReport/{report.pk}",
                         f"DiagnosticReport/{report.pk}", f"Observation/{sugar.pk}"]  # a result answers as its report
    assert (report.code, report.patient_id) == ("ELEC", world.patient.pk)
    assert list(Observation.objects.filter(report=report).values_list("code", flat=True)) == ["K", "NA"]
    assert (sugar.code, sugar.identifier_value) == ("GLU", "G0001")


def test_a_conditional_transaction_sent_twice_changes_nothing_the_second_time(world):
    assert statuses(post("", bundle(world.patient, conditional=True))) == ["201 Created"] * 4
    assert statuses(post("", bundle(world.patient, conditional=True))) == ["200 OK"] * 4
    assert list(Report.objects.values_list("version", flat=True)) == [1, 1]
    # without conditions, the same bundle makes new versions
    assert statuses(post("", bundle(world.patient))) == ["200 OK"] * 4
    assert list(Report.objects.order_by("pk").values_list("version", flat=True)) == [2, 2]


def test_one_bad_entry_stores_nothing(world):
    data = bundle(world.patient)
    data["entry"][3]["resource"]["subject"] = by_record_number(mrn="NOBODY")
    response = post("", data)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[3].resource.subject"]
    assert Report.objects.count() == 0 and Observation.objects.count() == 0


def test_a_refusal_by_the_store_after_an_entry_was_stored_rolls_the_whole_bundle_back(world):
    """The sugar's identifier already names another patient's report: the store refuses it after the panel
    of entry 1 was written; the transaction takes the panel back."""
    other = register_patient(make_membership(world.net.township, Role.REGISTRAR))
    assert post("Observation", glucose(other, "G0001")).status_code == 201
    response = post("", bundle(world.patient))
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[3].resource.identifier"]
    assert Report.objects.count() == 1 and Observation.objects.count() == 1


def test_several_matches_for_an_entry_refuse_the_bundle(world):
    post("", bundle(world.patient))
    post("Observation", glucose(world.patient, "G0001") | {
        "identifier": [{"system": "http://lis.t-w01.example/old", "value": "G0001"}]})
    response = post("", bundle(world.patient, conditional=True, report_id="R0002"))
    assert response.status_code == 412
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[3].request.ifNoneExist"]
    assert Report.objects.count() == 3 and not Report.objects.filter(identifier_value="R0002").exists()


def _patient_entry(data):
    data["entry"].append({"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}})
    return data


def _put(data):
    data["entry"][3]["request"]["method"] = "PUT"
    return data


def _batch(data):
    data["type"] = "batch"
    return data


def _wrong_url(data):
    data["entry"][3]["request"]["url"] = "DiagnosticReport"
    return data


def _dangling(data):
    data["entry"][1]["resource"]["result"].append({"reference": "urn:uuid:0000"})
    return data


def _twice(data):
    data["entry"][3]["fullUrl"] = K
    return data


def _shared_result(data):
    """A second report claims the first report's results."""
    report = dict(data["entry"][1]["resource"], identifier=[{"system": "http://x.example", "value": "R5"}])
    data["entry"].append(entry("urn:uuid:5", report))
    return data


def _empty(data):
    data["entry"] = []
    return data


@pytest.mark.parametrize(("change", "status", "expression"), [
    (_patient_entry, 422, "Bundle.entry[4].resource"),
    (_put, 422, "Bundle.entry[3].request.method"),
    (_batch, 422, "Bundle.type"),
    (_wrong_url, 422, "Bundle.entry[3].request.url"),
    (_dangling, 422, "Bundle.entry[1].resource.result[2]"),
    (_twice, 400, "Bundle.entry[3].fullUrl"),
    (_shared_result, 422, "Bundle.entry[0]"),
    (_empty, 422, "Bundle.entry"),
], ids=["patient entry", "put", "batch", "wrong url", "dangling reference", "same fullUrl", "shared result",
        "empty"])
def test_a_bundle_the_endpoint_does_not_take_is_refused(world, change, status, expression):
    response = post("", change(bundle(world.patient)))
    assert response.status_code == status, response.content.decode()
    assert expression in response.json()["issue"][0].get("expression", [])
    assert Report.objects.count() == 0


def test_a_bundle_that_is_not_fhir_is_refused(world):
    response = post("", {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {
        "resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": "x"}}}]})
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.valueQuantity.value"]


def test_the_examples_of_the_documentation_are_accepted(world):
    import json
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[4] / "docs" / "fhir.md").read_text(encoding="utf-8")
    starts = ('{"resourceType": "Bundle", "type": "transaction",', '{"resourceType": "DiagnosticReport",')
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S) if b.startswith(starts)]
    bundle_, report = blocks
    assert statuses(post("", bundle_)) == ["201 Created"] * 3
    assert post("DiagnosticReport", report | {"identifier": [{"system": "http://x.example", "value": "1"}]},
                HTTP_IF_NONE_EXIST="identifier=http://lis.t-w01.example/report|R0001").status_code == 200
    report["identifier"][0]["value"] = "R0002"
    assert post("DiagnosticReport", report).status_code == 201
