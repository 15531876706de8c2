"""Encounter endpoints: open, charge, close, read; bad input answered 422 naming the field, nothing written."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from yilian.access.models import AuditEvent
from yilian.care.models import Encounter
from yilian.testing import factories as f
from yilian.testing.checks import LANGUAGES, api_errors, is_english, row_counts


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def open_body(net, patient, **overrides):
    body = {"patient_id": patient.pk, "department_id": net.department(net.county).pk,
            "start": (timezone.now() - timedelta(hours=1)).isoformat(), "klass": "outpatient",
            "charges": [{"category": "registration", "amount": "5.00"}]}
    body.update(overrides)
    return body


def test_open_charge_close_read(client_as, net, owner, patient):
    client = client_as(owner)
    resp = post(client, "/api/v1/encounters", open_body(net, patient))
    assert resp.status_code == 201
    enc = resp.json()
    assert (enc["patient_id"], enc["institution_id"], enc["end"]) == (patient.pk, owner.institution_id, None)
    assert [c["amount"] for c in enc["charges"]] == ["5.00"]

    resp = post(client, f"/api/v1/encounters/{enc['id']}/charges",
                {"charges": [{"category": "western_drug", "amount": "23.5"}, {"category": "lab", "amount": 40}]})
    assert resp.status_code == 201
    assert sorted(c["amount"] for c in resp.json()["charges"]) == ["23.50", "40.00", "5.00"]

    resp = post(client, f"/api/v1/encounters/{enc['id']}/close", {})
    assert resp.status_code == 200
    assert resp.json()["end"] is not None
    assert client.get(f"/api/v1/encounters/{enc['id']}").json()["end"] == resp.json()["end"]
    listing = client.get(f"/api/v1/encounters/of-patient/{patient.pk}").json()
    assert [e["id"] for e in listing] == [enc["id"]]


def test_open_for_a_patient_out_of_scope_is_not_found(client_as, net, outsider, patient):
    before = row_counts("access.AuditEvent")
    resp = post(client_as(outsider), "/api/v1/encounters",
                open_body(net, patient, department_id=net.department(net.village).pk))
    assert resp.status_code == 422
    assert list(api_errors(resp)) == ["patient_id"]
    assert f.leaked(resp.content, patient) == []
    assert row_counts() == {k: v for k, v in before.items() if k != "access.AuditEvent"}
    assert row_counts("access.AuditEvent")["access.AuditEvent"] == before["access.AuditEvent"] + 1
    assert AuditEvent.objects.get(outcome="denied").patient_id == patient.pk


OPEN_BAD = [
    ({"start": "2026-01-01T08:00:00"}, "start", "time zone"),
    ({"start": "yesterday"}, "start", "date and time"),
    ({"start": (timezone.now() + timedelta(days=1)).isoformat()}, "start", "future"),
    ({"end": "2000-01-01T08:00:00+08:00"}, "end", "before the start"),
    ({"klass": "spa"}, "klass", "allowed values"),
    ({"department_id": 0}, "department_id", "small"),
    ({"department_id": "内科"}, "department_id", "whole number"),
    ({"practitioner_id": 999999}, "practitioner_id", "Practitioner"),
    ({"patient_id": None}, "patient_id", "whole number"),
    ({"charges": [{"category": "caviar", "amount": "1"}]}, "charges.0.category", "allowed values"),
    ({"charges": [{"category": "lab", "amount": "0"}]}, "charges.0.amount", "small"),
    ({"charges": [{"category": "lab", "amount": "1.234"}]}, "charges.0.amount", "Invalid value"),
    ({"charges": [{"category": "lab", "amount": "NaN"}]}, "charges.0.amount", "Invalid value"),
    ({"charges": [{"category": "lab", "amount": "10000000"}]}, "charges.0.amount", "large"),
    ({"charges": [{"category": "lab"}]}, "charges.0.amount", "required"),
    ({"charges": "lab"}, "charges", "list"),
    ({"colour": "red"}, "colour", "Unknown field"),
]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("overrides", "field", "english"), OPEN_BAD)
def test_open_bad_input(client_as, net, owner, patient, lang, overrides, field, english):
    before = row_counts("access.AuditEvent")
    resp = post(client_as(owner, **LANGUAGES[lang]), "/api/v1/encounters", open_body(net, patient, **overrides))
    assert resp.status_code == 422
    errors = api_errors(resp)
    assert field in errors
    if lang == "en":
        assert english in errors[field]
        assert is_english(errors[field])
    assert row_counts("access.AuditEvent") == before


def test_open_without_start(client_as, net, owner, patient):
    body = open_body(net, patient)
    del body["start"]
    resp = post(client_as(owner), "/api/v1/encounters", body)
    assert resp.status_code == 422
    assert list(api_errors(resp)) == ["start"]


CHARGES_BAD = [
    ({"charges": []}, "charges"),
    ({}, "charges"),
    ({"charges": [{"category": "lab", "amount": "-3"}]}, "charges.0.amount"),
    ({"charges": [{"category": "lab", "amount": "3", "description": "药" * 101}]}, "charges.0.description"),
    ({"charges": [{"category": "lab", "amount": "3", "qty": 2}]}, "charges.0.qty"),
]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("body", "field"), CHARGES_BAD)
def test_charges_bad_input(client_as, owner, encounter, lang, body, field):
    before = row_counts("access.AuditEvent")
    resp = post(client_as(owner, **LANGUAGES[lang]), f"/api/v1/encounters/{encounter.pk}/charges", body)
    assert resp.status_code == 422
    errors = api_errors(resp)
    assert field in errors
    if lang == "en":
        assert is_english(errors[field])
    assert row_counts("access.AuditEvent") == before


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("end", "english"), [("2000-01-01T00:00:00+08:00", "before the start"),
                                              ("2026-01-01T00:00:00", "time zone"), ("soon", "date and time")])
def test_close_bad_input(client_as, owner, encounter, lang, end, english):
    before = row_counts("access.AuditEvent")
    resp = post(client_as(owner, **LANGUAGES[lang]), f"/api/v1/encounters/{encounter.pk}/close", {"end": end})
    assert resp.status_code == 422
    errors = api_errors(resp)
    assert list(errors) == ["end"]
    if lang == "en":
        assert english in errors["end"]
    assert row_counts("access.AuditEvent") == before
    assert Encounter.objects.get(pk=encounter.pk).end is None


def test_close_twice(client_as, owner, encounter):
    client = client_as(owner)
    assert post(client, f"/api/v1/encounters/{encounter.pk}/close", {}).status_code == 200
    rows = AuditEvent.objects.count()
    resp = post(client, f"/api/v1/encounters/{encounter.pk}/close", {})
    assert resp.status_code == 422
    assert list(api_errors(resp)) == ["end"]
    assert AuditEvent.objects.count() == rows
    assert encounter.events.filter(kind="closed").count() == 1
