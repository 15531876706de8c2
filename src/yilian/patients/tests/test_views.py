"""Patient pages: registration, check-in and break-glass forms, good and bad input, in both languages."""

import pytest
from django.urls import reverse

from yilian.access.models import AuditEvent, BreakGlass
from yilian.patients.models import Patient
from yilian.testing import factories as f
from yilian.testing.checks import LANGUAGES, contains, form_errors, is_english, marked_invalid, row_counts


def register_data(**overrides):
    data = f.new_patient()
    out = {"name": data.name, "resident_id": data.resident_id, "sex": "", "birth_date": "", "phone": data.phone,
           "address": data.address}
    out.update(overrides)
    return out


def test_register_page_registers(client_as, registrar):
    client = client_as(registrar)
    assert client.get(reverse("patients:register")).status_code == 200
    data = register_data()
    searched = client.post(reverse("patients:register"), data)  # search before create
    assert searched.status_code == 200
    assert contains(searched, 'data-testid="no-match"')
    assert not Patient.objects.exists()
    resp = client.post(reverse("patients:register"), {**data, "step": "new"})
    patient = Patient.objects.get()
    assert resp.status_code == 302
    assert resp["Location"] == reverse("patients:detail", args=[patient.pk])
    detail = client.get(resp["Location"])
    assert detail.status_code == 200
    assert f.leaked(detail.content, patient) == ["name", "phone_masked", "resident_id_masked"]


REGISTER_BAD = [
    ({"name": ""}, "name", "required"),
    ({"name": "张" * 51}, "name", "at most 50"),
    ({"name": "Robert'); DROP TABLE"}, "name", "Name"),
    ({"resident_id": "110105194912310021"}, "resident_id", "check digit"),
    ({"resident_id": "1101051949"}, "resident_id", "18 characters"),
    ({"resident_id": "1" * 19}, "resident_id", "at most 18"),
    ({"birth_date": "2026-02-30"}, "birth_date", "valid date"),
    ({"resident_id": "", "birth_date": "1990-01-01", "sex": "5"}, "sex", "valid choice"),
    ({"resident_id": "", "birth_date": "", "sex": "1"}, "birth_date", "Date of birth"),
    ({"phone": "call me"}, "phone", "Phone"),
    ({"address": "村" * 201}, "address", "at most 200"),
]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("overrides", "field", "english"), REGISTER_BAD)
def test_register_bad_input(client_as, registrar, lang, overrides, field, english):
    client = client_as(registrar, **LANGUAGES[lang])
    before = row_counts("access.AuditEvent")
    resp = client.post(reverse("patients:register"), register_data(**overrides))
    assert resp.status_code == 400
    errors = form_errors(resp)
    assert field in errors
    assert marked_invalid(resp, field)
    if lang == "en":
        assert english in " ".join(errors[field])
        assert all(is_english(e) for e in errors[field])
    assert row_counts("access.AuditEvent") == before


def test_register_duplicate_names_the_resident_id(client_as, registrar, patient):
    client = client_as(registrar)
    searched = client.post(reverse("patients:register"), register_data(resident_id=patient.resident_id))
    assert searched.status_code == 200
    assert searched.context["result"].exact.patient == patient
    assert not contains(searched, 'data-testid="new-person"')
    resp = client.post(reverse("patients:register"), register_data(resident_id=patient.resident_id, step="new"))
    assert resp.status_code == 400
    assert list(form_errors(resp)) == ["resident_id"]
    assert Patient.objects.count() == 1


def test_check_in_page(client_as, net, patient):
    desk = f.make_membership(net.township, "registrar")
    client = client_as(desk)
    resp = client.post(reverse("patients:check_in"), {"resident_id": patient.resident_id})
    assert resp.status_code == 302
    assert resp["Location"] == reverse("patients:detail", args=[patient.pk])


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("value", "english"), [("", "required"), ("123", "not a valid number"),
                                                ("11010519491231002X", "register them first"),
                                                ("1" * 19, "at most 18")])
def test_check_in_bad_input(client_as, registrar, patient, lang, value, english):
    client = client_as(registrar, **LANGUAGES[lang])
    before = row_counts()
    audit_before = AuditEvent.objects.exclude(action="read").count()
    resp = client.post(reverse("patients:check_in"), {"resident_id": value})
    assert resp.status_code == 400
    assert marked_invalid(resp, "resident_id")
    assert list(resp.context["check_in"].errors) == ["resident_id"]
    if lang == "en":
        assert english in " ".join(resp.context["check_in"].errors["resident_id"])
    assert row_counts() == before
    assert AuditEvent.objects.exclude(action="read").count() == audit_before


def test_break_glass_page_opens_access(client_as, outsider, patient):
    client = client_as(outsider)
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 404
    resp = client.post(reverse("patients:break_glass"),
                       {"resident_id": patient.resident_id, "reason": "车祸昏迷，需查过敏史"})
    assert resp.status_code == 302
    assert resp["Location"] == reverse("patients:detail", args=[patient.pk])
    glass = BreakGlass.objects.get()
    assert (glass.membership_id, glass.patient_id, glass.reason) == (outsider.pk, patient.pk, "车祸昏迷，需查过敏史")
    row = AuditEvent.objects.filter(object_type="break_glass").get()
    assert (row.basis, row.reason, row.patient_id) == ("break_glass", "车祸昏迷，需查过敏史", patient.pk)
    assert client.get(resp["Location"]).status_code == 200


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("data", "field", "english"), [
    ({"resident_id": "", "reason": "车祸昏迷"}, "resident_id", "required"),
    ({"resident_id": "11010519491231002X", "reason": "车祸昏迷"}, "resident_id", "No patient"),
    ({"resident_id": "PATIENT", "reason": "  急 "}, "reason", "at least 4"),
    ({"resident_id": "PATIENT", "reason": ""}, "reason", "required"),
    ({"resident_id": "PATIENT", "reason": "急" * 501}, "reason", "at most 500"),
])
def test_break_glass_bad_input(client_as, outsider, patient, lang, data, field, english):
    data = {k: (patient.resident_id if v == "PATIENT" else v) for k, v in data.items()}
    client = client_as(outsider, **LANGUAGES[lang])
    before = row_counts("access.AuditEvent")
    resp = client.post(reverse("patients:break_glass"), data)
    assert resp.status_code == 400
    assert field in form_errors(resp)
    assert marked_invalid(resp, field)
    if lang == "en":
        assert english in " ".join(form_errors(resp)[field])
    assert row_counts("access.AuditEvent") == before
    assert f.leaked(resp.content, patient) in ([], ["resident_id"])  # only what the user typed in comes back


def test_detail_shows_masked_identifiers_and_unmask_reveals(client_as, owner, patient, encounter):
    client = client_as(owner)
    detail = client.get(reverse("patients:detail", args=[patient.pk]))
    assert "resident_id" not in f.leaked(detail.content, patient)
    assert "phone" not in f.leaked(detail.content, patient)
    assert contains(detail, reverse("patients:unmask", args=[patient.pk]))
    assert client.get(reverse("patients:unmask", args=[patient.pk])).status_code == 405
    unmasked = client.post(reverse("patients:unmask", args=[patient.pk]))
    assert {"resident_id", "phone"} <= set(f.leaked(unmasked.content, patient))


def test_nurse_sees_no_unmask_button(client_as, net, patient):
    nurse = f.make_membership(net.county, "nurse")
    detail = client_as(nurse).get(reverse("patients:detail", args=[patient.pk]))
    assert detail.status_code == 200
    assert not contains(detail, reverse("patients:unmask", args=[patient.pk]))
