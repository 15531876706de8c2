"""FHIR ingest of single resources: a DiagnosticReport with contained results and a standalone Observation
are stored through the results store (audited as the interface); conditional create answers 201/200/412;
bad input of every kind is a 4xx OperationOutcome naming the element and stores nothing; only a sender's
bearer token gets in, and a sender reads back only what its own institution sent."""

import json
from decimal import Decimal

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation as FhirObservation
from fhir.resources.R4B.operationoutcome import OperationOutcome

from yilian.access.models import AuditEvent
from yilian.interop.fhir import CONSORTIUM_URI, ITEM_URI, LOINC_URI, RESIDENT_ID_URI
from yilian.interop.models import Sender
from yilian.interop.tests.fhir_data import (
    COUNTY_TOKEN,
    REPORTS,
    by_record_number,
    electrolytes,
    get,
    glucose,
    lab,
    make_world,
    post,
)
from yilian.patients.identifiers import consortium_number
from yilian.results.models import Flag, Observation, Report
from yilian.testing.factories import leaked


@pytest.fixture
def world(db):
    return make_world()


def outcome(response, status: int) -> list[dict]:
    """The issues of an OperationOutcome answered with `status` (and validated as FHIR)."""
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    OperationOutcome.model_validate(body)
    for issue in body["issue"]:
        assert issue["severity"] == "error" and issue["diagnostics"] and issue["details"]["text"]
    return body["issue"]


def nothing_stored():
    assert Report.objects.count() == 0 and Observation.objects.count() == 0
    assert not AuditEvent.objects.filter(object_type="result_report", action="create").exists()


# --- happy paths ---------------------------------------------------------------------------------------


def test_a_diagnostic_report_is_stored_with_its_contained_results(world):
    response = post("DiagnosticReport", electrolytes(world.patient))
    assert response.status_code == 201, response.content.decode()
    report = Report.objects.get()
    assert response["Location"] == f"http://testserver/fhir/r4b/DiagnosticReport/{report.pk}"
    assert response["ETag"] == 'W/"1"'
    assert (report.patient_id, report.institution_id, report.channel) == (world.patient.pk,
                                                                          world.net.township.pk, "fhir")
    assert (report.identifier_system, report.identifier_value, report.code, report.status) == (
        REPORTS, "R0001", "ELEC", "final")
    assert report.collected_at.isoformat() == "2026-11-20T00:00:00+00:00"
    assert report.conclusion == "血钾危急值"
    k, na, cl = Observation.objects.filter(report=report).order_by("pk")
    assert (k.code, k.loinc, k.value_num, k.flag, k.critical) == ("K", "2823-3", Decimal("6.8"),
                                                                  Flag.CRITICAL_HIGH, True)
    assert (na.reference, na.flag) == ("137-147", Flag.NORMAL)
    assert cl.flag == Flag.LOW  # the sender's interpretation is kept
    audit = AuditEvent.objects.get(object_type="result_report")
    assert (audit.action, audit.username, audit.source, audit.institution_id, audit.patient_id) == (
        "create", "fhir:T-W01-LIS", "fhir", world.net.township.pk, world.patient.pk)
    body = response.json()
    DiagnosticReport.model_validate(body)
    assert body["id"] == str(report.pk) and len(body["contained"]) == 3
    assert body["subject"]["identifier"]["value"] == consortium_number(world.patient.pk)
    assert body["subject"]["identifier"]["system"].startswith(CONSORTIUM_URI)
    assert leaked(response.content, world.patient) == []


def test_the_subject_may_be_named_by_record_number_and_the_code_by_the_panel_of_its_results(world):
    report = electrolytes(world.patient, subject=by_record_number(),
                          code={"coding": [{"system": LOINC_URI, "code": "24326-1"}]})  # a panel LOINC not kept
    assert post("DiagnosticReport", report).status_code == 201
    assert Report.objects.get().code == "ELEC"  # K, NA and CL are all of the electrolyte panel


def test_a_standalone_observation_is_a_one_value_report_under_its_own_identifier(world):
    response = post("Observation", glucose(world.patient))
    assert response.status_code == 201, response.content.decode()
    report = Report.objects.get()
    assert response["Location"].endswith(f"/fhir/r4b/Observation/{report.pk}")
    assert (report.identifier_value, report.code, report.kind, report.name) == ("G0001", "GLU", "lab", "空腹血糖")
    value = Observation.objects.get(report=report)
    assert (value.value, value.unit, value.flag) == ("7.2", "mmol/L", Flag.HIGH)
    body = response.json()
    FhirObservation.model_validate(body)
    assert body["valueQuantity"] == {"value": 7.2, "unit": "mmol/L"}
    again = get(f"Observation/{report.pk}")
    assert again.status_code == 200 and again.json()["identifier"] == [{"system": REPORTS, "value": "G0001"}]


def test_a_later_report_with_the_same_identifier_is_its_new_version(world):
    assert post("DiagnosticReport", electrolytes(world.patient, status="preliminary")).status_code == 201
    corrected = electrolytes(world.patient, status="corrected", contained=[lab("K", 4.1, id_="k")],
                             result=[{"reference": "#k"}])
    response = post("DiagnosticReport", corrected)
    assert response.status_code == 200 and response["ETag"] == 'W/"2"'
    report = Report.objects.get()
    assert (report.version, report.status) == (2, "amended")
    assert list(Observation.objects.filter(superseded=False).values_list("value", flat=True)) == ["4.1"]


def test_minimal_return_answers_without_a_body(world):
    response = post("DiagnosticReport", electrolytes(world.patient), HTTP_PREFER="return=minimal")
    assert response.status_code == 201 and response.content == b"" and response["Location"]


# --- conditional create ----------------------------------------------------------------------------------


def test_conditional_create_creates_once_then_answers_the_match(world):
    condition = f"identifier={REPORTS}|R0001"
    first = post("DiagnosticReport", electrolytes(world.patient), HTTP_IF_NONE_EXIST=condition)
    assert first.status_code == 201
    changed = electrolytes(world.patient, status="amended", conclusion="改过")
    second = post("DiagnosticReport", changed, HTTP_IF_NONE_EXIST=condition)
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert second["Location"] == first["Location"]
    report = Report.objects.get()
    assert (report.version, report.status, report.conclusion) == (1, "final", "血钾危急值")  # nothing changed
    assert Observation.objects.count() == 3
    reads = AuditEvent.objects.filter(object_type="result_report", action="read")
    assert [(r.outcome, r.institution_id) for r in reads] == [("success", world.net.township.pk)]
    # without a system: any system; `system|`: any value of that system
    assert post("DiagnosticReport", changed, HTTP_IF_NONE_EXIST="identifier=R0001").status_code == 200
    assert post("DiagnosticReport", changed, HTTP_IF_NONE_EXIST=f"identifier={REPORTS}|").status_code == 200
    assert Report.objects.get().version == 1


def test_conditional_create_with_several_matches_is_412_and_stores_nothing(world):
    post("DiagnosticReport", electrolytes(world.patient))
    post("DiagnosticReport", electrolytes(world.patient, system="http://lis.t-w01.example/old"))
    third = electrolytes(world.patient, "R0002")
    issues = outcome(post("DiagnosticReport", third, HTTP_IF_NONE_EXIST="identifier=R0001"), 412)
    assert issues[0]["code"] == "multiple-matches" and issues[0]["expression"] == ["If-None-Exist"]
    assert Report.objects.count() == 2


def test_conditional_create_looks_only_at_the_senders_own_reports(world):
    post("DiagnosticReport", electrolytes(world.patient), token=COUNTY_TOKEN)
    mine = electrolytes(world.patient, "R0009")
    response = post("DiagnosticReport", mine, HTTP_IF_NONE_EXIST="identifier=R0001")
    assert response.status_code == 201 and Report.objects.count() == 2


def test_a_report_identifier_of_another_member_is_refused(world):
    post("DiagnosticReport", electrolytes(world.patient), token=COUNTY_TOKEN)
    issues = outcome(post("DiagnosticReport", electrolytes(world.patient, conclusion="覆盖")), 422)
    assert issues[0]["expression"] == ["DiagnosticReport.identifier"]
    report = Report.objects.get()
    assert (report.version, report.institution_id, report.conclusion) == (1, world.net.county.pk, "血钾危急值")


# --- bad input: 4xx, an OperationOutcome naming the element, nothing stored ---------------------------------


def _without(key):
    def change(report):
        report.pop(key)
        return report
    return change


def _set(**values):
    def change(report):
        report.update(values)
        return report
    return change


def _contained(i, **values):
    def change(report):
        report["contained"][i].update(values)
        return report
    return change


def _drop_value(report):
    report["contained"][0].pop("valueQuantity")
    return report


BAD_REPORTS = [
    ("no identifier", _set(identifier=None), 422, "DiagnosticReport.identifier"),
    ("identifier without system", _set(identifier=[{"value": "R1"}]), 422, "DiagnosticReport.identifier"),
    ("identifier too long", _set(identifier=[{"system": REPORTS, "value": "R" * 65}]), 422,
     "DiagnosticReport.identifier"),
    ("no subject", _without("subject"), 422, "DiagnosticReport.subject"),
    ("literal subject", _set(subject={"reference": "Patient/1"}), 422, "DiagnosticReport.subject.reference"),
    ("unknown identifier system", _set(subject={"identifier": {"system": "urn:oid:1.2.3", "value": "1"}}), 422,
     "DiagnosticReport.subject.identifier"),
    ("unknown patient", _set(subject={"reference": f"Patient?identifier={RESIDENT_ID_URI}|110105194912310029"}),
     422, "DiagnosticReport.subject"),
    ("no effective time", _without("effectiveDateTime"), 422, "DiagnosticReport.effectiveDateTime"),
    ("a date without time", _set(effectiveDateTime="2026-11-20"), 422, "DiagnosticReport.effectiveDateTime"),
    ("no time zone", _set(effectiveDateTime="2026-11-20T08:00:00"), 400, "DiagnosticReport.effectiveDateTime"),
    ("unknown status", _set(status="unknown"), 422, "DiagnosticReport.status"),
    ("unknown report code", lambda r: _set(code={"coding": [{"system": ITEM_URI, "code": "NOPE"}]})(
        _contained(0, code={"coding": [{"system": ITEM_URI, "code": "GLU"}]})(r)), 422, "DiagnosticReport.code"),
    ("unknown result code", _contained(1, code={"coding": [{"system": LOINC_URI, "code": "0000-0"}]}), 422,
     "DiagnosticReport.contained[1].code"),
    ("result without value", _drop_value, 422, "DiagnosticReport.contained[0].value[x]"),
    ("result not contained", _set(result=[{"reference": "#nope"}]), 422, "DiagnosticReport.result[0]"),
    ("value too long", _contained(0, valueQuantity=None, valueString="x" * 201), 422, "DiagnosticReport.result[0]"),
    ("an element FHIR does not know", _set(colour="red"), 400, "DiagnosticReport.colour"),
    ("a bad element value", _contained(0, valueQuantity={"value": "six"}), 400,
     "DiagnosticReport.contained[0].valueQuantity.value"),
    ("an unknown contained resource", _set(contained=[{"resourceType": "Nonsense", "id": "x"}]), 400,
     "DiagnosticReport"),
    ("a NUL character", _set(conclusion="a\x00b"), 400, None),
]


@pytest.mark.parametrize(("change", "status", "expression"), [b[1:] for b in BAD_REPORTS],
                         ids=[b[0] for b in BAD_REPORTS])
def test_a_bad_report_is_refused_naming_the_element_and_nothing_is_stored(world, change, status, expression):
    report = change(electrolytes(world.patient))
    report = {k: v for k, v in report.items() if v is not None}
    for res in report.get("contained", []):
        for key in [k for k, v in res.items() if v is None]:
            res.pop(key)
    issues = outcome(post("DiagnosticReport", report), status)
    if expression:
        assert expression in [e for issue in issues for e in issue.get("expression", [])], issues
    nothing_stored()


def test_the_outcome_speaks_english_in_diagnostics(world):
    report = electrolytes(world.patient, subject=by_record_number(mrn="NOBODY"))
    issue = outcome(post("DiagnosticReport", report), 422)[0]
    assert issue["code"] == "not-found" and "not in the patient index" in issue["diagnostics"]


@pytest.mark.parametrize(("body", "status", "headers"), [
    ("{not json", 400, {}),
    (b"\xff\xfe", 400, {}),
    ("[1, 2]", 400, {}),
    ('{"resourceType": "Patient"}', 400, {}),
    ('{"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "x"}, "v": NaN}', 400, {}),
    ("{}", 415, {"content_type": "text/plain"}),
    ("{}", 400, {"HTTP_IF_NONE_EXIST": "patient=1"}),
], ids=["not json", "not utf-8", "not an object", "another resource", "NaN", "content type", "condition"])
def test_a_body_that_is_not_a_report_is_refused(world, body, status, headers):
    outcome(post("DiagnosticReport", body, **headers), status)
    nothing_stored()


def test_a_bad_observation_is_refused(world):
    no_identifier = glucose(world.patient)
    no_identifier.pop("identifier")
    assert outcome(post("Observation", no_identifier), 422)[0]["expression"] == ["Observation.identifier"]
    unknown = glucose(world.patient, code={"coding": [{"system": LOINC_URI, "code": "1-8"}]})
    assert outcome(post("Observation", unknown), 422)[0]["expression"] == ["Observation.code"]
    nothing_stored()


# --- who may post and read -----------------------------------------------------------------------------


def test_only_an_active_senders_token_gets_in(world):
    report = electrolytes(world.patient)
    for token in (None, "", "wrong-token"):
        response = post("DiagnosticReport", report, token=token)
        assert outcome(response, 401)[0]["code"] == "login"
        assert response["WWW-Authenticate"].startswith("Bearer")
    Sender.objects.filter(pk=world.sender.pk).update(active=False)
    outcome(post("DiagnosticReport", report), 401)
    outcome(get("DiagnosticReport/1"), 401)
    nothing_stored()


def test_a_sender_reads_back_only_its_own_institutions_reports(world):
    created = post("DiagnosticReport", electrolytes(world.patient))
    pk = created.json()["id"]
    mine = get(f"DiagnosticReport/{pk}")
    assert mine.status_code == 200 and mine.json() == created.json()
    read = AuditEvent.objects.get(object_type="result_report", action="read")
    assert (read.outcome, read.patient_id, read.institution_id, read.username) == (
        "success", world.patient.pk, world.net.township.pk, "fhir:T-W01-LIS")
    theirs = get(f"DiagnosticReport/{pk}", token=COUNTY_TOKEN)
    missing = get("DiagnosticReport/999999", token=COUNTY_TOKEN)
    assert outcome(theirs, 404) == outcome(missing, 404)  # another member's report looks missing
    assert leaked(theirs.content, world.patient) == []
    denied = AuditEvent.objects.filter(object_type="result_report", action="read", outcome="denied")
    assert [d.institution_id for d in denied] == [world.net.county.pk] * 2
    outcome(get(f"Observation/{pk}"), 404)  # a panel is not one Observation
    outcome(get("DiagnosticReport/99999999999999999999999"), 404)


def test_methods_paths_and_metadata(world):
    outcome(get("DiagnosticReport"), 405)
    outcome(post("Patient", {"resourceType": "Patient"}), 404)
    response = get("metadata", token=None)
    assert response.status_code == 200
    capability = response.json()
    CapabilityStatement.model_validate(capability)
    assert capability["fhirVersion"] == "4.3.0"
    assert {r["type"] for r in capability["rest"][0]["resource"]} == {"DiagnosticReport", "Observation"}


def test_the_response_is_json_fhir(world):
    response = post("DiagnosticReport", electrolytes(world.patient))
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    assert json.loads(response.content)["resourceType"] == "DiagnosticReport"


# --- the race branches, deterministically (the real races run on PostgreSQL: test_fhir_postgres) -----------


def test_a_match_created_between_the_look_and_the_store_is_answered_and_left_unchanged(world, monkeypatch):
    from yilian.interop import fhir_ingest

    condition = f"identifier={REPORTS}|R0001"
    post("DiagnosticReport", electrolytes(world.patient))
    real = fhir_ingest._matched
    calls = iter([None])
    monkeypatch.setattr(fhir_ingest, "_matched", lambda sender, cond: next(calls, None) or real(sender, cond))
    response = post("DiagnosticReport", electrolytes(world.patient, conclusion="改过"), HTTP_IF_NONE_EXIST=condition)
    assert response.status_code == 200
    report = Report.objects.get()
    assert (report.version, report.conclusion) == (1, "血钾危急值")
    assert not AuditEvent.objects.filter(object_type="result_report", action="update").exists()


def test_a_lost_insert_race_answers_the_winner(world, monkeypatch):
    from django.db import IntegrityError

    from yilian.interop import fhir_ingest

    post("DiagnosticReport", electrolytes(world.patient))
    real = fhir_ingest._matched
    calls = iter([None])
    monkeypatch.setattr(fhir_ingest, "_matched", lambda sender, cond: next(calls, None) or real(sender, cond))

    def lose(*args, **kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(fhir_ingest, "store_report", lose)
    response = post("DiagnosticReport", electrolytes(world.patient), HTTP_IF_NONE_EXIST="identifier=R0001")
    assert response.status_code == 200 and Report.objects.get().version == 1
    issues = outcome(post("DiagnosticReport", electrolytes(world.patient)), 409)  # lost twice, no condition
    assert issues[0]["code"] == "conflict"


def test_the_token_command_sets_a_new_token_and_prints_it_once(world):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("fhir", "token", "T-W01-LIS", stdout=out)
    token = out.getvalue().strip()
    assert len(token) >= 40 and token not in Sender.objects.get(code="T-W01-LIS").token_digest
    assert post("DiagnosticReport", electrolytes(world.patient), token=token).status_code == 201
    outcome(post("DiagnosticReport", electrolytes(world.patient)), 401)  # the old token stopped working
    with pytest.raises(CommandError):
        call_command("fhir", "token", "NO-SUCH", stdout=StringIO())


def test_an_exam_report_may_carry_only_its_conclusion(world):
    ct = electrolytes(world.patient, "CT0001", code={"coding": [{"system": ITEM_URI, "code": "CT-HEAD"}]},
                      conclusion="右侧基底节区脑出血。")
    ct.pop("contained")
    ct.pop("result")
    response = post("DiagnosticReport", ct)
    assert response.status_code == 201, response.content.decode()
    report = Report.objects.get()
    assert (report.kind, report.code, report.conclusion) == ("exam", "CT-HEAD", "右侧基底节区脑出血。")


def test_a_body_too_large_is_413_and_a_busy_database_503(world, settings, monkeypatch):
    from django.db import OperationalError

    from yilian.interop import fhir_views

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    outcome(post("DiagnosticReport", electrolytes(world.patient, conclusion="很长" * 1000)), 413)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

    def busy(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(fhir_views, "ingest", busy)
    response = post("DiagnosticReport", electrolytes(world.patient))
    assert outcome(response, 503)[0]["code"] == "transient" and response["Retry-After"]
    nothing_stored()


def test_a_deeply_nested_body_is_a_400(world):
    outcome(post("DiagnosticReport", "[" * 5000 + "]" * 5000), 400)
    outcome(post("DiagnosticReport", '{"a":' * 900 + "1" + "}" * 900), 400)
