"""The emergency API: open, record, correct, read the timeline, 120 call / run / record, notice; field
errors as 422, a conflict as 409 with the value kept, missing and forbidden as the same 404."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from yilian.access.models import AuditEvent
from yilian.emergency.models import Case, EmsCall, NodeTime
from yilian.emergency.tests.conftest import ago
from yilian.testing import factories as f

BASE = "/api/v1/emergency"
PHONE = "13912345678"


def post(client, url, body):
    return client.post(url, data=json.dumps(body, default=str), content_type="application/json")


def fields(resp) -> set[str]:
    return {e["field"] for e in resp.json()["errors"]}


def iso(dt) -> str:
    return timezone.localtime(dt).isoformat()


@pytest.fixture
def ed(client_as, owner):
    return client_as(owner, language="en")


def test_open_record_correct_and_read_the_timeline(ed, owner, patient):
    resp = post(ed, f"{BASE}/cases", {"centre": "chest_pain", "arrival_mode": "self", "patient_id": patient.pk})
    assert resp.status_code == 201
    case_id = resp.json()["id"]
    door = post(ed, f"{BASE}/cases/{case_id}/nodes", {"node": "door", "at": iso(ago(50))})
    assert door.status_code == 201 and door.json()["name_zh"] == "到达医院大门"
    assert post(ed, f"{BASE}/cases/{case_id}/nodes", {"node": "wire_crossing", "at": iso(ago(10))}).status_code == 201
    fixed = post(ed, f"{BASE}/cases/{case_id}/corrections",
                 {"node": "door", "at": iso(ago(55)), "reason": "时钟错误", "supersedes_id": door.json()["id"]})
    assert fixed.status_code == 201 and fixed.json()["supersedes_id"] == door.json()["id"]
    body = ed.get(f"{BASE}/cases/{case_id}").json()
    timeline = {n["node"]: n for n in body["timeline"]}
    assert timeline["door"]["current"]["id"] == fixed.json()["id"]
    assert [h["id"] for h in timeline["door"]["history"]] == [door.json()["id"], fixed.json()["id"]]
    assert timeline["puncture"]["current"] is None and body["patient_id"] == patient.pk
    assert "name" not in body  # ids only: the patient's details are read through the patients API


def test_order_and_field_errors_are_422(ed, chest_case):
    post(ed, f"{BASE}/cases/{chest_case.pk}/nodes", {"node": "door", "at": iso(ago(30))})
    resp = post(ed, f"{BASE}/cases/{chest_case.pk}/nodes", {"node": "wire_crossing", "at": iso(ago(40))})
    assert resp.status_code == 422 and fields(resp) == {"at"}
    assert "Wire crossing" in resp.json()["errors"][0]["message"]
    resp = post(ed, f"{BASE}/cases/{chest_case.pk}/nodes", {"node": "door", "at": "2026-01-01T08:00:00", "x": 1})
    assert resp.status_code == 422 and fields(resp) == {"at", "x"}
    resp = post(ed, f"{BASE}/cases", {"centre": "burns", "arrival_mode": "ems", "provisional_age": -1})
    assert resp.status_code == 422 and fields(resp) == {"centre", "provisional_age"}


def test_a_second_recording_is_409_with_the_value_kept(ed, client_as, nurse, chest_case):
    first = post(ed, f"{BASE}/cases/{chest_case.pk}/nodes", {"node": "door", "at": iso(ago(30))}).json()
    resp = post(client_as(nurse), f"{BASE}/cases/{chest_case.pk}/nodes", {"node": "door", "at": iso(ago(29))})
    assert resp.status_code == 409
    assert resp.json()["kept"]["id"] == first["id"] and fields(resp) == {"node"}
    assert NodeTime.objects.filter(case=chest_case).count() == 1


def test_an_outsider_and_a_missing_case_get_the_same_404(client_as, outsider, chest_case, patient):
    client = client_as(outsider)
    for resp in (client.get(f"{BASE}/cases/{chest_case.pk}"), client.get(f"{BASE}/cases/999999"),
                 post(client, f"{BASE}/cases/{chest_case.pk}/nodes", {"node": "door", "at": iso(ago(1))})):
        assert resp.status_code == 404
        assert f.leaked(resp.content, patient) == []
        assert [e["field"] for e in resp.json()["errors"]] == [""]
    assert AuditEvent.objects.filter(membership_id=outsider.pk, outcome="denied").count() == 3
    assert not NodeTime.objects.exists()


def test_120_call_run_record_and_notice(client_as, crew, owner, net):
    station = client_as(crew, language="en")
    resp = post(station, f"{BASE}/calls", {"received_at": iso(ago(40)), "address": "东山村3组",
                                           "complaint": "胸痛2小时", "caller_phone": PHONE})
    assert resp.status_code == 201
    call = resp.json()
    assert call["caller_phone"] == "139****5678"
    assert PHONE not in json.dumps(call)
    assert EmsCall.objects.get(pk=call["id"]).caller_phone == PHONE
    resp = post(station, f"{BASE}/calls/{call['id']}/steps", {"kind": "dispatched", "at": iso(ago(39))})
    assert resp.status_code == 201 and [s["kind"] for s in resp.json()["steps"]] == ["dispatched"]
    resp = post(station, f"{BASE}/calls/{call['id']}/prehospital", {
        "systolic": 150, "heart_rate": 100, "gcs_eye": 4, "gcs_verbal": 5, "gcs_motor": 6,
        "be_fast": {"face": True}, "ecg_file": "ECG-1", "ecg_at": iso(ago(20)), "ecg_transmitted_at": iso(ago(19)),
        "working_diagnosis": "STEMI", "treatments": [{"what": "阿司匹林300mg", "at": iso(ago(18))}]})
    assert resp.status_code == 201 and resp.json()["gcs"] == 15 and resp.json()["be_fast"] == {"face": True}
    resp = post(station, f"{BASE}/notices", {"to_institution_id": net.county.pk, "centre": "chest_pain",
                                             "call_id": call["id"], "summary": "疑似STEMI"})
    assert resp.status_code == 201
    case_id = resp.json()["case_id"]
    body = client_as(owner).get(f"{BASE}/cases/{case_id}").json()  # the receiving team sees the crew's record
    assert body["call"]["record"]["working_diagnosis"] == "STEMI" and body["call"]["caller_phone"] == "139****5678"
    assert [n["summary"] for n in body["notices"]] == ["疑似STEMI"]
    bypass = post(client_as(owner), f"{BASE}/cases/{case_id}/bypass", {"to": "cath_lab"})
    assert bypass.status_code == 201 and bypass.json()["data"] == {"to": "cath_lab"}
    bad = post(station, f"{BASE}/calls/{call['id']}/prehospital", {"spo2": 120, "be_fast": {"legs": True}})
    assert bad.status_code == 422 and fields(bad) == {"spo2", "be_fast.legs"}


def test_identify_and_close(client_as, registrar, owner, crew, patient):
    case = Case.objects.get(pk=post(client_as(crew), f"{BASE}/cases",
                                    {"centre": "trauma", "arrival_mode": "ems"}).json()["id"])
    resp = post(client_as(registrar), f"{BASE}/cases/{case.pk}/identify", {"patient_id": patient.pk})
    assert resp.status_code == 200 and resp.json()["patient_id"] == patient.pk
    resp = post(client_as(owner), f"{BASE}/cases/{case.pk}/close", {"disposition": "icu"})
    assert resp.status_code == 200 and resp.json()["disposition"] == "icu"


def test_indicator_cohort_says_who_was_excluded(client_as, manager, owner, chest_case):
    post(client_as(owner), f"{BASE}/cases/{chest_case.pk}/nodes", {"node": "door", "at": iso(ago(60))})
    today = timezone.localdate()
    resp = client_as(manager).get(f"{BASE}/indicators/chest_pain.d2b",
                                  {"start": today.isoformat(), "end": (today + timedelta(days=1)).isoformat()})
    assert resp.status_code == 200
    assert resp.json()["value"] is None and resp.json()["excluded"] == {"not_stemi": 1}
    assert client_as(manager).get(f"{BASE}/indicators/nope", {"start": "2026-01-01",
                                                              "end": "2026-02-01"}).status_code == 404
    resp = client_as(manager).get(f"{BASE}/indicators/stroke.dnt", {"start": "2026-02-01", "end": "2026-01-01"})
    assert resp.status_code == 422
    assert client_as(manager).get(f"{BASE}/cases/{chest_case.pk}").status_code == 403


def test_a_stale_correction_is_409_with_the_value_now_kept(ed, client_as, nurse, chest_case):
    first = post(ed, f"{BASE}/cases/{chest_case.pk}/nodes", {"node": "door", "at": iso(ago(30))}).json()
    theirs = post(client_as(nurse), f"{BASE}/cases/{chest_case.pk}/corrections",
                  {"node": "door", "at": iso(ago(33)), "reason": "时钟错误", "supersedes_id": first["id"]}).json()
    resp = post(ed, f"{BASE}/cases/{chest_case.pk}/corrections",
                {"node": "door", "at": iso(ago(35)), "reason": "时钟错误", "supersedes_id": first["id"]})
    assert resp.status_code == 409 and resp.json()["kept"]["id"] == theirs["id"]
