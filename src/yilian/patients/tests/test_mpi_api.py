"""The master patient index endpoints: search, take over, identifiers, merge and unmerge, the QR token and
check-in by scan; a merged record's pointer. Errors are 422 with field names, in both languages."""

import json

import pytest

from yilian.access.models import AuditEvent, CareRelation
from yilian.network.roles import Role
from yilian.patients import matching
from yilian.patients.models import Identifier, Merge, Patient, QrToken
from yilian.testing import factories as f
from yilian.testing.checks import LANGUAGES, api_errors, is_english, row_counts

API = "/api/v1/patients"


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def village_desk(net):
    return f.make_membership(net.village, Role.REGISTRAR, username="village-desk")


def probe(patient, **overrides) -> dict:
    body = {"name": patient.name, "sex": patient.sex, "birth_date": patient.birth_date.isoformat(),
            "phone": patient.phone, "address": patient.address}
    body.update(overrides)
    return body


def test_search(client_as, registrar, village_desk):
    held = f.register_patient(village_desk)
    look_alike = "区" + held.name[1:]
    ours = f.second_record(registrar, held, name=look_alike, phone="13800000002")
    matching.do_index_patients([held.pk, ours.pk])
    resp = post(client_as(registrar), f"{API}/search", probe(held, name=look_alike, phone=""))
    assert resp.status_code == 200
    body = resp.json()
    assert body["exact"] is None and body["exact_elsewhere"] == "" and body["elsewhere"] == 1
    assert [c["patient_id"] for c in body["candidates"]] == [ours.pk]
    shown = body["candidates"][0]
    assert shown["name_masked"] == ours.masked_name and "name" not in shown
    assert shown["agreement"]["birth_date"] == "exact"
    assert f.leaked(resp.content, held) == []


def test_search_exact_elsewhere_and_take_over(client_as, village_desk, patient):
    client = client_as(village_desk)
    body = post(client, f"{API}/search", {"name": "某", "resident_id": patient.resident_id}).json()
    assert body["exact"] is None and body["exact_elsewhere"] == "resident_id"
    resp = post(client, f"{API}/claim", {"type": "resident_id", "value": patient.resident_id, "mrn": "C-9"})
    assert resp.status_code == 200 and resp.json()["id"] == patient.pk
    assert CareRelation.objects.filter(patient=patient, institution=village_desk.institution).exists()


def test_claim_a_visible_record(client_as, registrar, patient):
    resp = post(client_as(registrar), f"{API}/{patient.pk}/claim", {"mrn": "MZ-7"})
    assert resp.status_code == 200
    assert Identifier.objects.filter(patient=patient, type="mrn", value="MZ-7").exists()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("url", "body", "fields"), [
    ("/search", {"name": "张三", "resident_id": "110105194912310021"}, {"resident_id"}),
    ("/search", {"name": "张三", "birth_date": "1990-01-01", "sex": "1", "insurance": "?"}, {"insurance"}),
    ("/search", {"name": "张三", "nickname": "x"}, {"nickname"}),
    ("/claim", {"type": "passport", "value": "E12345678"}, {"type"}),
    ("/claim", {"type": "resident_id", "value": "11010519491231002X"}, {"value"}),
    ("/claim", {"type": "insurance", "value": "A1234567", "mrn": "?"}, {"value", "mrn"}),
    ("/{pk}/claim", {"mrn": "病历"}, {"mrn"}),
    ("/{pk}/identifiers", {"type": "insurance", "value": "1"}, {"value"}),
    ("/{pk}/identifiers", {"type": "consortium", "value": "1"}, {"type"}),
    ("/{pk}/identifiers", {"type": "passport", "value": "E12345678"}, {"system"}),
    ("/merges", {"survivor_id": "{pk}", "merged_id": "{pk}"}, {"merged_id"}),
    ("/merges", {"survivor_id": "{pk}", "merged_id": 2**62, "reason": "\x00"}, {"merged_id", "reason"}),
    ("/merges", {"survivor_id": "x", "merged_id": 1}, {"survivor_id"}),
    ("/qr/check-in", {"token": "unknown"}, {"token"}),
    ("/qr/check-in", {"token": ""}, {"token"}),
    ("/qr/check-in", {"token": "abc\x00def"}, {"token"}),
    ("/search", {"name": "张三", "birth_date": "1990-01-01", "sex": "1", "address": "东山村\x00"}, {"address"}),
])
def test_bad_input(client_as, registrar, patient, lang, url, body, fields):
    client = client_as(registrar, **LANGUAGES[lang])
    before = row_counts("patients.Identifier", "patients.Merge", "access.AuditEvent")
    body = {k: patient.pk if v == "{pk}" else v for k, v in body.items()}
    resp = post(client, API + url.format(pk=patient.pk), body)
    assert resp.status_code == 422
    errors = api_errors(resp)
    assert set(errors) == fields
    if lang == "en":
        assert all(is_english(m) for m in errors.values())
    assert row_counts("patients.Identifier", "patients.Merge", "access.AuditEvent") == before


def test_identifiers(client_as, registrar, patient):
    client = client_as(registrar)
    listed = client.get(f"{API}/{patient.pk}/identifiers")
    assert listed.status_code == 200
    assert {i["type"] for i in listed.json()} == {"resident_id", "consortium"}
    assert patient.resident_id not in listed.content.decode()
    created = post(client, f"{API}/{patient.pk}/identifiers", {"type": "passport", "value": "E12345678",
                                                               "system": "CHN"})
    assert created.status_code == 201 and created.json()["masked"] == "*****5678"
    gone = client.delete(f"{API}/{patient.pk}/identifiers/{created.json()['id']}")
    assert gone.status_code == 204
    assert not Identifier.objects.filter(type="passport").exists()
    refused = client.delete(f"{API}/{patient.pk}/identifiers/{listed.json()[0]['id']}")
    assert refused.status_code == 422 and set(api_errors(refused)) == {"identifier_id"}


def test_merge_unmerge_and_the_pointer(client_as, registrar, owner, outsider, patient):
    second = f.second_record(registrar, patient)
    client = client_as(registrar)
    resp = post(client, f"{API}/merges", {"survivor_id": patient.pk, "merged_id": second.pk, "reason": "同一人"})
    assert resp.status_code == 201
    merge = resp.json()
    assert merge["moved"]["access.CareRelation"] == 1 and merge["unmerged_at"] is None
    pointer = client_as(owner).get(f"{API}/{second.pk}")
    assert pointer.status_code == 200 and pointer.json() == {"id": second.pk, "merged_into": patient.pk}
    assert client_as(outsider).get(f"{API}/{second.pk}").status_code == 404
    undone = post(client, f"{API}/merges/{merge['id']}/unmerge", {})
    assert undone.status_code == 200 and undone.json()["unmerged_at"]
    assert client_as(owner).get(f"{API}/{second.pk}").json()["id"] == second.pk
    again = post(client, f"{API}/merges/{merge['id']}/unmerge", {})
    assert again.status_code == 422 and set(api_errors(again)) == {"merge_id"}


def test_merge_needs_the_desk(client_as, net, registrar, patient):
    second = f.second_record(registrar, patient)
    township = client_as(f.make_membership(net.township, Role.REGISTRAR))
    resp = post(township, f"{API}/merges", {"survivor_id": patient.pk, "merged_id": second.pk})
    assert resp.status_code == 422 and set(api_errors(resp)) == {"role"}
    assert not Merge.objects.exists()


def test_qr(client_as, net, registrar, patient):
    client = client_as(registrar)
    token = client.get(f"{API}/{patient.pk}/qr").json()["token"]
    assert token == QrToken.objects.get(patient=patient).token
    rotated = post(client, f"{API}/{patient.pk}/qr/rotate", {}).json()["token"]
    assert rotated != token
    desk = client_as(f.make_membership(net.township, Role.REGISTRAR))
    assert post(desk, f"{API}/qr/check-in", {"token": token}).status_code == 422
    resp = post(desk, f"{API}/qr/check-in", {"token": rotated})
    assert resp.status_code == 200 and resp.json()["id"] == patient.pk


def test_every_search_is_audited(client_as, registrar):
    mark = AuditEvent.objects.count()
    resp = post(client_as(registrar), f"{API}/search", {"name": "无此人", "birth_date": "1990-01-01", "sex": "2"})
    assert resp.status_code == 200 and resp.json()["candidates"] == []
    rows = list(AuditEvent.objects.order_by("pk")[mark:])
    assert [(r.object_type, r.patient_id) for r in rows] == [("patient-search", None)]
    assert not Patient.objects.exists()
