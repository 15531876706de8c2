"""Search before create: exact identifier matches, scored candidates, what the registrar may see, the
audit of every search, and *this is the person*."""

import pytest
from django.http import Http404

from yilian.access.gate import decide
from yilian.access.models import AuditEvent, CareRelation
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.patients import matching
from yilian.patients.actions import NewPatient
from yilian.patients.identifiers import do_link_identifier
from yilian.patients.models import Identifier, Patient
from yilian.patients.registration import do_claim, do_claim_by_identifier, search_before_create
from yilian.testing import factories as f


def rows_since(mark: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.order_by("pk")[mark:])


def probe_of(patient, **overrides) -> NewPatient:
    data = {"name": patient.name, "sex": patient.sex, "birth_date": patient.birth_date, "resident_id": "",
            "phone": patient.phone, "address": patient.address}
    data.update(overrides)
    return NewPatient(**data)


@pytest.fixture
def village_desk(net):
    return f.make_membership(net.village, Role.REGISTRAR, username="village-desk")


@pytest.fixture
def township_desk(net):
    return f.make_membership(net.township, Role.REGISTRAR, username="township-desk")


def test_a_search_that_matches_nothing_leaves_one_row_without_a_patient(registrar):
    mark = AuditEvent.objects.count()
    result = search_before_create(f.actor(registrar), f.new_patient())
    assert result.nothing
    rows = rows_since(mark)
    assert [(r.patient_id, r.object_type, r.action, r.outcome) for r in rows] == [
        (None, "patient-search", "read", "success")]
    assert not Patient.objects.exists()


def test_an_exact_resident_id_match_the_registrar_may_see(registrar, patient):
    mark = AuditEvent.objects.count()
    result = search_before_create(f.actor(registrar), probe_of(patient, resident_id=patient.resident_id))
    assert result.exact.patient == patient and result.exact.exact
    assert patient.pk not in [c.patient.pk for c in result.candidates]
    first = rows_since(mark)[0]
    assert (first.patient_id, first.object_type, first.outcome, first.basis) == (
        patient.pk, "match-candidate", "success", "care")


def test_an_exact_match_held_elsewhere_shows_only_the_fact(township_desk, patient):
    mark = AuditEvent.objects.count()
    result = search_before_create(f.actor(township_desk), probe_of(patient, resident_id=patient.resident_id))
    assert result.exact is None and result.exact_elsewhere == "resident_id"
    assert patient.pk not in [c.patient.pk for c in result.candidates]
    rows = rows_since(mark)
    assert (rows[0].patient_id, rows[0].outcome, rows[0].basis) == (patient.pk, "denied", "none")
    assert all(r.outcome == "denied" or r.patient_id != patient.pk for r in rows)


def test_insurance_card_is_an_exact_identifier_too(registrar, township_desk, patient):
    do_link_identifier(f.actor(registrar), patient.pk, "insurance", "A12345678")
    probe = NewPatient(name="某人", sex="1", birth_date=patient.birth_date, insurance="a12345678")
    result = search_before_create(f.actor(township_desk), probe)
    assert result.exact_elsewhere == "insurance"


def test_look_alikes_held_elsewhere_are_counted_not_shown(registrar, village_desk):
    original = f.register_patient(village_desk)
    matching.do_index_patients([original.pk])
    mark = AuditEvent.objects.count()
    result = search_before_create(f.actor(registrar), probe_of(original, name="区" + original.name[1:]))
    assert result.candidates == [] and result.elsewhere == 1
    rows = rows_since(mark)
    assert [(r.patient_id, r.object_type, r.outcome) for r in rows] == [
        (original.pk, "match-candidate", "denied")]


def test_look_alikes_the_registrar_may_see_are_shown_with_why(registrar, village_desk):
    original = f.register_patient(village_desk)
    second = f.second_record(registrar, original)
    matching.do_index_patients([original.pk, second.pk])
    mark = AuditEvent.objects.count()
    result = search_before_create(f.actor(registrar), probe_of(original))
    assert [c.patient.pk for c in result.candidates] == [second.pk]
    shown = result.candidates[0]
    assert shown.agreement["birth_date"] == "exact" and 0 < shown.probability <= 1
    assert shown.band in ("link", "review")
    assert result.elsewhere == 1
    rows = {r.patient_id: r for r in rows_since(mark)}
    assert (rows[second.pk].outcome, rows[second.pk].basis) == ("success", "care")
    assert rows[original.pk].outcome == "denied"


def test_search_checks_the_details_first(registrar):
    mark = AuditEvent.objects.count()
    with pytest.raises(ActionError) as exc:
        search_before_create(f.actor(registrar), f.new_patient(resident_id="110105194912310021"))
    assert set(exc.value.errors) == {"resident_id"}
    with pytest.raises(ActionError) as exc:
        search_before_create(f.actor(registrar), f.new_patient(insurance="?"))
    assert set(exc.value.errors) == {"insurance"}
    assert rows_since(mark) == []


def test_claim_a_record_the_registrar_may_see(net, registrar, colleague, patient):
    desk = f.make_membership(net.township, Role.REGISTRAR)  # the township holds a grant (colleague fixture)
    mark = AuditEvent.objects.count()
    assert do_claim(f.actor(desk), patient.pk, mrn="WS-9") == patient
    assert CareRelation.objects.filter(patient=patient, institution=net.township).exists()
    assert Identifier.objects.filter(patient=patient, type="mrn", system="T-W01", value="WS-9").exists()
    rows = rows_since(mark)
    assert [(r.patient_id, r.action, r.basis, r.grant_id) for r in rows] == [
        (patient.pk, "update", "grant", colleague.grant.pk)]


def test_claim_of_a_record_held_elsewhere_needs_the_identifier(village_desk, patient):
    mark = AuditEvent.objects.count()
    with pytest.raises(Http404):
        do_claim(f.actor(village_desk), patient.pk)
    assert [(r.patient_id, r.outcome) for r in rows_since(mark)] == [(patient.pk, "denied")]
    assert decide(f.actor(village_desk), patient.pk) is None

    mark = AuditEvent.objects.count()
    assert do_claim_by_identifier(f.actor(village_desk), "resident_id", patient.resident_id, mrn="C-1") == patient
    assert decide(f.actor(village_desk), patient.pk).basis == "care"
    rows = rows_since(mark)
    assert [(r.patient_id, r.action, r.outcome, r.basis) for r in rows] == [(patient.pk, "update", "success", "care")]


def test_claim_by_insurance_card(registrar, village_desk, patient):
    do_link_identifier(f.actor(registrar), patient.pk, "insurance", "A12345678")
    assert do_claim_by_identifier(f.actor(village_desk), "insurance", "a12345678") == patient


@pytest.mark.parametrize(("kind", "value", "mrn", "fields"), [
    ("resident_id", "110105194912310021", "", {"value"}),
    ("resident_id", "11010519491231002X", "", {"value"}),  # valid, but nobody carries it
    ("passport", "E12345678", "", {"type"}),
    ("insurance", "A99999999", "病历", {"value", "mrn"}),
])
def test_claim_by_identifier_bad_input(village_desk, patient, kind, value, mrn, fields):
    before = CareRelation.objects.count(), AuditEvent.objects.count(), Identifier.objects.count()
    with pytest.raises(ActionError) as exc:
        do_claim_by_identifier(f.actor(village_desk), kind, value, mrn)
    assert set(exc.value.errors) == fields
    assert (CareRelation.objects.count(), AuditEvent.objects.count(), Identifier.objects.count()) == before


def test_a_claim_follows_a_merge(registrar, village_desk, patient):
    from yilian.patients.merging import do_merge

    second = f.second_record(registrar, patient)
    do_merge(f.actor(registrar), patient.pk, second.pk)
    assert do_claim_by_identifier(f.actor(village_desk), "resident_id", patient.resident_id) == patient
