"""Patient endpoints: registration and check-in, and every kind of bad input (400/422 naming the field,
nothing written), in Chinese (the default) and English."""

import json

import pytest

from yilian.access.models import AuditEvent
from yilian.patients.models import Patient
from yilian.testing import factories as f
from yilian.testing.checks import LANGUAGES, api_errors, is_english, row_counts


def post(client, url, body, **extra):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **extra)


def payload(**overrides):
    data = f.new_patient()
    out = {"name": data.name, "resident_id": data.resident_id, "phone": data.phone, "address": data.address}
    out.update(overrides)
    return out


def test_register_returns_masked_identifiers_only(client_as, registrar):
    body = payload()
    resp = post(client_as(registrar), "/api/v1/patients", body)
    assert resp.status_code == 201
    patient = Patient.objects.get()
    out = resp.json()
    assert out["id"] == patient.pk
    masked_as_stored = (out["resident_id_masked"], out["phone_masked"]) == (patient.masked_resident_id,
                                                                          patient.masked_phone)
    assert masked_as_stored  # (compared outside the assert: a failure must not print identifiers)
    assert f.leaked(resp.content, patient) == ["name", "phone_masked", "resident_id_masked"]
    assert set(out) == {"id", "name", "sex", "birth_date", "resident_id_masked", "phone_masked", "address",
                        "registered_at_id", "consortium_number"}


def test_check_in(client_as, net, patient):
    desk = f.make_membership(net.township, "registrar")
    resp = post(client_as(desk), "/api/v1/patients/check-in", {"resident_id": patient.resident_id})
    assert resp.status_code == 200
    assert resp.json()["id"] == patient.pk


REGISTER_BAD = [
    ({"name": None}, 422, "name", "Invalid value"),
    ({"name": ""}, 422, "name", "Too short"),
    ({"name": "张" * 51}, 422, "name", "Too long"),
    ({"name": "<b>张</b>"}, 422, "name", "Name"),
    ({"resident_id": "110105194912310021"}, 422, "resident_id", "check digit"),
    ({"resident_id": "11010519491231002X1"}, 422, "resident_id", "Too long"),
    ({"resident_id": 110105}, 422, "resident_id", "Invalid value"),
    ({"resident_id": "", "birth_date": "1990-02-30", "sex": "1"}, 422, "birth_date", "date like"),
    ({"resident_id": "", "birth_date": "1990-01-01", "sex": "3"}, 422, "sex", "Sex"),
    ({"resident_id": "", "birth_date": "1990-01-01", "sex": "12"}, 422, "sex", "Too long"),
    ({"phone": "phone"}, 422, "phone", "Phone"),
    ({"address": "村" * 201}, 422, "address", "Too long"),
    ({"nickname": "小明"}, 422, "nickname", "Unknown field"),
]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("overrides", "status", "field", "english"), REGISTER_BAD)
def test_register_bad_input(client_as, registrar, lang, overrides, status, field, english):
    client = client_as(registrar, **LANGUAGES[lang])
    before = row_counts("access.AuditEvent")
    resp = post(client, "/api/v1/patients", payload(**overrides))
    assert resp.status_code == status
    errors = api_errors(resp)
    assert field in errors
    if lang == "en":
        assert english in errors[field]
        assert is_english(errors[field])
    assert row_counts("access.AuditEvent") == before


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("body", "status", "field"), [
    ("{not json", 400, "body"),
    ("", 422, "body"),
    ("[]", 422, "body"),
    ('"name"', 422, "body"),
    ("{}", 422, "name"),
])
def test_register_malformed_body(client_as, registrar, lang, body, status, field):
    before = row_counts("access.AuditEvent")
    resp = post(client_as(registrar, **LANGUAGES[lang]), "/api/v1/patients", body)
    assert resp.status_code == status
    errors = api_errors(resp)
    assert field in errors
    if lang == "en":
        assert is_english(errors[field])
    assert row_counts("access.AuditEvent") == before


def test_register_duplicate_resident_id(client_as, registrar, patient):
    before = row_counts("access.AuditEvent")
    resp = post(client_as(registrar), "/api/v1/patients", payload(resident_id=patient.resident_id))
    assert resp.status_code == 422
    assert list(api_errors(resp)) == ["resident_id"]
    assert row_counts("access.AuditEvent") == before


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("body", "field"), [({}, "resident_id"), ({"resident_id": ""}, "resident_id"),
                                             ({"resident_id": "123"}, "resident_id"),
                                             ({"resident_id": "11010519491231002X"}, "resident_id"),
                                             ({"resident_id": "1" * 19}, "resident_id"),
                                             ({"resident_id": "PATIENT", "extra": 1}, "extra")])
def test_check_in_bad_input(client_as, registrar, patient, lang, body, field):
    body = {k: (patient.resident_id if v == "PATIENT" else v) for k, v in body.items()}
    before = row_counts("access.AuditEvent")
    resp = post(client_as(registrar, **LANGUAGES[lang]), "/api/v1/patients/check-in", body)
    assert resp.status_code == 422
    errors = api_errors(resp)
    assert list(errors) == [field]
    if lang == "en":
        assert is_english(errors[field])
    assert row_counts("access.AuditEvent") == before


@pytest.mark.parametrize(("query", "field"), [("limit=0", "limit"), ("limit=201", "limit"), ("limit=ten", "limit"),
                                              ("offset=-1", "offset"), ("offset=1.5", "offset")])
def test_list_bad_paging(client_as, owner, patient, query, field):
    before = AuditEvent.objects.count()
    resp = client_as(owner).get(f"/api/v1/patients?{query}")
    assert resp.status_code == 422
    assert list(api_errors(resp)) == [field]
    assert AuditEvent.objects.count() == before


def test_list_paging(client_as, registrar, owner):
    patients = [f.register_patient(registrar) for _ in range(3)]
    client = client_as(owner)
    first = client.get("/api/v1/patients?limit=2").json()
    rest = client.get("/api/v1/patients?limit=2&offset=2").json()
    assert [p["id"] for p in first + rest] == [p.pk for p in reversed(patients)]
    assert client.get("/api/v1/patients?offset=1000000").json() == []


@pytest.mark.parametrize("url", ["/api/v1/patients/{big}", "/api/v1/patients/{big}/unmask",
                                 "/api/v1/encounters/{big}", "/api/v1/encounters/of-patient/{big}"])
@pytest.mark.parametrize("big", [0, 2**63 - 1, 2**63, 2**70])
def test_ids_beyond_any_row_are_404(client_as, owner, url, big):
    client = client_as(owner)
    before = AuditEvent.objects.count()
    target = url.format(big=big)
    resp = client.post(target, "{}", content_type="application/json") if "unmask" in url else client.get(target)
    assert resp.status_code == 404
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.latest("pk").outcome == "denied"


@pytest.mark.parametrize("big", [2**63, 2**70])
def test_page_ids_beyond_any_row_are_404(client_as, owner, big):
    client = client_as(owner)
    assert client.get(f"/patients/{big}/").status_code == 404
    assert client.post(f"/patients/{big}/unmask/").status_code == 404
