"""Registering and checking patients in: the checks, the rows written, and nothing half-written."""

from datetime import date, timedelta

import pytest
from django.utils import timezone, translation

from yilian.access.gate import decide
from yilian.access.models import AuditEvent, Basis, CareRelation
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.patients import residentid
from yilian.patients.actions import do_check_in, do_register_patient
from yilian.patients.models import Patient
from yilian.patients.queries import patient_id_for_break_glass, patients_for, unmask_patient
from yilian.testing import factories as f


def counts():
    return Patient.objects.count(), CareRelation.objects.count(), AuditEvent.objects.count()


def errors_of(data, registrar) -> dict[str, str]:
    before = counts()
    with pytest.raises(ActionError) as exc:
        do_register_patient(f.actor(registrar), data)
    assert counts() == before
    return exc.value.errors


def test_register_writes_patient_care_and_audit(registrar):
    data = f.new_patient(born=date(1985, 3, 14), sequence=123)
    patient = do_register_patient(f.actor(registrar), data)
    assert patient.birth_date == date(1985, 3, 14)
    assert patient.sex == "1"  # from the odd sequence number
    assert patient.registered_at_id == registrar.institution_id
    relation = CareRelation.objects.get(patient=patient)
    assert (relation.institution_id, relation.source_type) == (registrar.institution_id, "registration")
    row = AuditEvent.objects.get(patient_id=patient.pk)
    assert (row.action, row.outcome, row.basis, row.membership_id) == ("create", "success", "care", registrar.pk)
    assert decide(f.actor(registrar), patient.pk).basis == Basis.CARE


def test_register_without_resident_id_needs_birth_date_and_sex(registrar):
    errors = errors_of(f.new_patient(resident_id="", birth_date=None, sex=""), registrar)
    assert set(errors) == {"birth_date", "sex"}
    patient = do_register_patient(f.actor(registrar),
                                  f.new_patient(resident_id="", birth_date=date(2001, 2, 3), sex="2"))
    assert patient.resident_id is None


def test_two_patients_without_resident_id_may_coexist(registrar):
    for _ in range(2):
        do_register_patient(f.actor(registrar), f.new_patient(resident_id="", birth_date=date(2001, 2, 3), sex="2"))
    assert Patient.objects.filter(resident_id__isnull=True).count() == 2


@pytest.mark.parametrize(("overrides", "field"), [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "张三<script>"}, "name"),
    ({"name": "张" * 51}, "name"),
    ({"resident_id": "12345"}, "resident_id"),
    ({"resident_id": "110105194902300021"}, "resident_id"),
    ({"phone": "12345"}, "phone"),
    ({"phone": "１３９１２３４５６７８"}, "phone"),
    ({"address": "村" * 201}, "address"),
    ({"sex": "7", "resident_id": ""}, "sex"),
    ({"birth_date": date(1850, 1, 1), "resident_id": "", "sex": "1"}, "birth_date"),
])
def test_bad_fields_are_named(registrar, overrides, field):
    assert field in errors_of(f.new_patient(**overrides), registrar)


def test_a_mistyped_digit_is_reported_as_such(registrar):
    data = f.new_patient()
    rid = data.resident_id
    data.resident_id = rid[:15] + str((int(rid[15]) + 1) % 10) + rid[16:]  # a sequence digit
    data.birth_date = None
    with translation.override("en"):
        errors = errors_of(data, registrar)
    assert "check digit" in errors["resident_id"]


def test_birth_date_and_sex_must_agree_with_the_resident_id(registrar):
    data = f.new_patient(born=date(1990, 5, 6), sequence=11)
    data.birth_date, data.sex = date(1990, 5, 7), "2"
    assert set(errors_of(data, registrar)) == {"birth_date", "sex"}


def test_future_birth_date_is_refused(registrar):
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert "birth_date" in errors_of(f.new_patient(resident_id="", birth_date=tomorrow, sex="1"), registrar)
    assert "resident_id" in errors_of(f.new_patient(born=tomorrow), registrar)


def test_every_bad_field_is_reported_at_once(registrar):
    errors = errors_of(f.new_patient(name="", phone="1", resident_id="x"), registrar)
    assert {"name", "phone", "resident_id"} <= set(errors)


def test_duplicate_resident_id_is_a_field_error(registrar):
    first = f.register_patient(registrar)
    data = f.new_patient(resident_id=first.resident_id)
    assert set(errors_of(data, registrar)) == {"resident_id"}


def test_full_width_resident_id_is_the_same_person(registrar):
    first = f.register_patient(registrar)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in first.resident_id)
    assert set(errors_of(f.new_patient(resident_id=full_width), registrar)) == {"resident_id"}
    other = f.new_patient()
    other.resident_id = "".join(chr(ord(c) + 0xFEE0) for c in other.resident_id)
    other.birth_date = None
    stored = do_register_patient(f.actor(registrar), other)
    folded = stored.resident_id == residentid.normalise(other.resident_id)
    assert folded
    assert stored.resident_id.isascii()


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.REGISTRAR])
def test_only_registrars_register(net, role):
    membership = f.make_membership(net.county, role)
    errors = errors_of(f.new_patient(), membership)
    assert set(errors) == {"role"}


def test_check_in_creates_care_at_the_desk(net, patient):
    desk = f.make_membership(net.township, Role.REGISTRAR)
    doctor = f.make_membership(net.township, Role.DOCTOR)
    assert decide(f.actor(doctor), patient.pk) is None
    do_check_in(f.actor(desk), " " + patient.resident_id.lower() + " ")
    assert decide(f.actor(doctor), patient.pk).basis == Basis.CARE
    row = AuditEvent.objects.filter(patient_id=patient.pk).latest("pk")
    assert (row.action, row.reason, row.membership_id) == ("update", "check-in", desk.pk)
    do_check_in(f.actor(desk), patient.resident_id)  # twice is harmless: still one relationship
    assert CareRelation.objects.filter(patient=patient, institution=net.township).count() == 1


@pytest.mark.parametrize(("value", "field"), [("", "resident_id"), ("123", "resident_id"),
                                              ("11010519491231002X", "resident_id")])
def test_check_in_errors(net, registrar, value, field):
    before = counts()
    with pytest.raises(ActionError) as exc:
        do_check_in(f.actor(registrar), value)
    assert set(exc.value.errors) == {field}
    assert counts() == before


def test_check_in_needs_the_register_capability(owner, patient):
    with pytest.raises(ActionError) as exc:
        do_check_in(f.actor(owner), patient.resident_id)
    assert set(exc.value.errors) == {"role"}


def test_patients_for_is_scoped(owner, colleague, outsider, patient):
    assert list(patients_for(f.actor(owner))) == [patient]
    assert list(patients_for(f.actor(colleague))) == [patient]
    assert list(patients_for(f.actor(outsider))) == []


def test_unmask_needs_the_capability_and_is_audited(net, owner, patient):
    from django.core.exceptions import PermissionDenied

    nurse = f.make_membership(net.county, Role.NURSE)
    with pytest.raises(PermissionDenied):
        unmask_patient(f.actor(nurse), patient.pk)
    assert unmask_patient(f.actor(owner), patient.pk) == patient
    row = AuditEvent.objects.latest("pk")
    assert (row.action, row.patient_id, row.basis) == ("unmask", patient.pk, "care")


def test_break_glass_lookup_gives_an_id_only(patient):
    assert patient_id_for_break_glass(patient.resident_id) == patient.pk
    assert patient_id_for_break_glass("") is None
    assert patient_id_for_break_glass("11010519491231002X") is None


def test_a_bad_resident_id_is_the_only_error_when_it_was_to_give_birth_date_and_sex(registrar):
    data = f.new_patient()
    data.resident_id, data.birth_date, data.sex = data.resident_id[:17] + "Z", None, ""
    assert set(errors_of(data, registrar)) == {"resident_id"}
    data.resident_id = ""
    assert set(errors_of(data, registrar)) == {"birth_date", "sex"}
