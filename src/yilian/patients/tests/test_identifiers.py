"""Identifiers: what registration writes, linking and unlinking (each audited), the shapes checked, and
the backfill migration."""

import importlib
from datetime import date

import pytest
from django.apps import apps
from django.http import Http404
from django.utils import translation

from yilian.access.models import AuditEvent
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.patients import residentid
from yilian.patients.actions import do_register_patients
from yilian.patients.identifiers import (
    check_identifier,
    consortium_number,
    do_link_identifier,
    do_unlink_identifier,
    mod11_2,
)
from yilian.patients.models import Identifier, Patient, QrToken
from yilian.testing import factories as f


def idents(patient) -> set[tuple[str, str, str]]:
    return set(Identifier.objects.filter(patient=patient).values_list("type", "system", "value"))


def test_the_check_character_is_gb11643s():
    for first17 in ("11010519491231002", "13049919560302001", "00000000000000000"):
        assert mod11_2(first17) == residentid.check_char(first17)


def test_consortium_numbers_catch_a_mistyped_digit():
    number = consortium_number(1234)
    assert number[:10] == "0000001234" and len(number) == 11
    for i in range(10):
        for d in "0123456789":
            if d != number[i]:
                typo = number[:i] + d + number[i + 1:10]
                assert mod11_2(typo) != number[10]


def test_registration_writes_the_consortium_number_the_resident_id_and_a_qr_token(net, registrar):
    patient = f.register_patient(registrar)
    assert idents(patient) == {("consortium", "YL-330782", consortium_number(patient.pk)),
                               ("resident_id", "GB11643", patient.resident_id)}
    assert QrToken.objects.filter(patient=patient, revoked_at__isnull=True).count() == 1


def test_registration_writes_the_mrn_and_insurance_card_typed(net, registrar):
    patient = f.register_patient(registrar, resident_id="", birth_date=date(1990, 1, 2), sex="2",
                                 mrn="MZ-00123", insurance="１２３４５６７８９")  # full-width, as typed
    assert idents(patient) == {("consortium", "YL-330782", consortium_number(patient.pk)),
                               ("mrn", "T-H01", "MZ-00123"), ("insurance", "330782", "123456789")}


def test_a_taken_insurance_card_names_the_field_and_writes_nothing(net, registrar):
    f.register_patient(registrar, insurance="A12345678")
    before = Patient.objects.count(), Identifier.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ActionError) as exc:
        f.register_patient(registrar, insurance="a12345678")
    assert set(exc.value.errors) == {"insurance"}
    assert (Patient.objects.count(), Identifier.objects.count(), AuditEvent.objects.count()) == before


def test_batch_registration_writes_identifiers_for_each(net, registrar):
    patients = do_register_patients(f.actor(registrar), [f.new_patient(), f.new_patient(resident_id="",
                                                        birth_date=date(2000, 1, 1), sex="1", mrn="77")])
    assert [len(idents(p)) for p in patients] == [2, 2]
    assert QrToken.objects.filter(patient__in=patients).count() == 2
    with pytest.raises(ActionError) as exc:
        do_register_patients(f.actor(registrar), [f.new_patient(), f.new_patient(mrn="77")])
    assert set(exc.value.errors) == {"patients.1.mrn"}


# --- link and unlink ---------------------------------------------------------------------------------------

GOOD = [
    ("insurance", "A12345678", "", ("insurance", "330782", "A12345678")),
    ("insurance", "123456789012", "110105", ("insurance", "110105", "123456789012")),
    ("mrn", "ZY2026-0001", "ignored", ("mrn", "T-H01", "ZY2026-0001")),
    ("health_card", "0123456789abcdef" * 4, "", ("health_card", "EHC", "0123456789ABCDEF" * 4)),
    ("passport", "E12345678", "chn", ("passport", "CHN", "E12345678")),
    ("hkmo_permit", "H12345678", "", ("hkmo_permit", "CN-NIA", "H12345678")),
    ("tw_permit", "12345678", "", ("tw_permit", "CN-NIA", "12345678")),
]


@pytest.mark.parametrize(("kind", "value", "system", "stored"), GOOD, ids=[g[0] + g[2] for g in GOOD])
def test_link_each_kind(registrar, patient, kind, value, system, stored):
    mark = AuditEvent.objects.count()
    row = do_link_identifier(f.actor(registrar), patient.pk, kind, value, system)
    assert (row.type, row.system, row.value) == stored
    rows = list(AuditEvent.objects.order_by("pk")[mark:])
    assert [(r.patient_id, r.object_type, r.object_id, r.action, r.outcome, r.basis) for r in rows] == [
        (patient.pk, "identifier", str(row.pk), "create", "success", "care")]


BAD = [
    ("insurance", "12", "", "value", "6–20"),
    ("insurance", "A12345678", "1101", "system", "division code"),
    ("mrn", "病历号", "", "value", "1–30"),
    ("health_card", "short", "", "value", "8–64"),
    ("passport", "E12345678", "", "system", "three letters"),
    ("passport", "E1", "CHN", "value", "5–17"),
    ("hkmo_permit", "X12345678", "", "value", "H or M"),
    ("tw_permit", "1234", "", "value", "8 or 10"),
    ("consortium", "00000000011", "", "type", "listed types"),
    ("nickname", "x", "", "type", "listed types"),
    ("resident_id", "110105194912310021", "", "value", "check digit"),
    ("insurance", "   ", "", "value", "required"),
]


@pytest.mark.parametrize(("kind", "value", "system", "field", "english"), BAD, ids=[f"{b[0]}-{b[3]}" for b in BAD])
def test_link_bad_input_names_the_field(registrar, patient, kind, value, system, field, english):
    before = Identifier.objects.count(), AuditEvent.objects.count()
    with translation.override("en"), pytest.raises(ActionError) as exc:
        do_link_identifier(f.actor(registrar), patient.pk, kind, value, system)
    assert field in exc.value.errors
    assert english in exc.value.errors[field]
    assert (Identifier.objects.count(), AuditEvent.objects.count()) == before
    with translation.override("zh-hans"), pytest.raises(ActionError) as exc:
        do_link_identifier(f.actor(registrar), patient.pk, kind, value, system)
    assert exc.value.errors[field]


def test_linking_a_resident_id_fills_the_record_and_must_agree(registrar):
    born = date(1977, 7, 7)
    patient = f.register_patient(registrar, resident_id="", birth_date=born, sex="2")
    other_day = residentid.make("330782", date(1977, 7, 8), 124)
    man = residentid.make("330782", born, 125)
    with translation.override("en"), pytest.raises(ActionError, match="birth date"):
        do_link_identifier(f.actor(registrar), patient.pk, "resident_id", other_day)
    with translation.override("en"), pytest.raises(ActionError, match="sex"):
        do_link_identifier(f.actor(registrar), patient.pk, "resident_id", man)
    rid = residentid.make("330782", born, 124)
    do_link_identifier(f.actor(registrar), patient.pk, "resident_id", rid)
    patient.refresh_from_db()
    assert patient.resident_id == rid
    with pytest.raises(ActionError) as exc:
        do_link_identifier(f.actor(registrar), patient.pk, "resident_id", residentid.make("330782", born, 126))
    assert set(exc.value.errors) == {"type"}


def test_an_identifier_held_by_another_record_is_refused(registrar, patient):
    other = f.register_patient(registrar)
    do_link_identifier(f.actor(registrar), patient.pk, "insurance", "A12345678")
    with pytest.raises(ActionError) as exc:
        do_link_identifier(f.actor(registrar), other.pk, "insurance", "A12345678")
    assert set(exc.value.errors) == {"value"}


def test_an_outsider_gets_404_and_a_denied_row(net, patient):
    desk = f.make_membership(net.village, Role.REGISTRAR)
    mark = AuditEvent.objects.count()
    with pytest.raises(Http404):
        do_link_identifier(f.actor(desk), patient.pk, "insurance", "A12345678")
    row = AuditEvent.objects.order_by("pk")[mark]
    assert (row.outcome, row.object_type, row.patient_id) == ("denied", "identifier", patient.pk)
    assert not Identifier.objects.filter(type="insurance").exists()


def test_a_doctor_may_not_change_identifiers(owner, patient):
    with pytest.raises(ActionError) as exc:
        do_link_identifier(f.actor(owner), patient.pk, "insurance", "A12345678")
    assert set(exc.value.errors) == {"role"}


def test_unlink(net, registrar, patient):
    card = do_link_identifier(f.actor(registrar), patient.pk, "insurance", "A12345678")
    mark = AuditEvent.objects.count()
    do_unlink_identifier(f.actor(registrar), patient.pk, card.pk)
    assert not Identifier.objects.filter(pk=card.pk).exists()
    row = AuditEvent.objects.order_by("pk")[mark]
    assert (row.action, row.object_type, row.object_id) == ("delete", "identifier", str(card.pk))


def test_unlink_refusals(net, registrar, patient):
    own = {i.type: i.pk for i in Identifier.objects.filter(patient=patient)}
    for pk in (own["resident_id"], own["consortium"], 10**12, "x"):
        with pytest.raises(ActionError) as exc:
            do_unlink_identifier(f.actor(registrar), patient.pk, pk)
        assert set(exc.value.errors) == {"identifier_id"}
    township = f.make_membership(net.township, Role.REGISTRAR)
    f.grant(patient, to_institution=net.township)
    county_mrn = do_link_identifier(f.actor(registrar), patient.pk, "mrn", "MZ1")
    with translation.override("en"), pytest.raises(ActionError, match="issued"):
        do_unlink_identifier(f.actor(township), patient.pk, county_mrn.pk)
    assert Identifier.objects.filter(type__in=["resident_id", "consortium", "mrn"], patient=patient).count() == 3


def test_check_identifier_normalises(registrar):
    ident = check_identifier(f.actor(registrar), "hkmo_permit", " ｈ１２３４５６７８ ")
    assert ident.value == "H12345678"


def test_backfill_migration_is_idempotent(registrar, patient):
    other = f.register_patient(registrar, resident_id="", birth_date=date(2001, 1, 1), sex="1")
    expected = {p.pk: idents(p) for p in (patient, other)}
    Identifier.objects.all().delete()  # as before the migration (test scaffolding)
    QrToken.objects.all().delete()
    migration = importlib.import_module("yilian.patients.migrations.0003_backfill_identifiers_and_qr")
    for _ in range(2):
        migration.backfill(apps, None)
        assert {p.pk: idents(p) for p in (patient, other)} == expected
        assert QrToken.objects.filter(revoked_at__isnull=True).count() == 2
