"""Encounters and charges through the actions: the rows written, every check, all or nothing."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from yilian.access.models import AuditEvent, CareRelation
from yilian.care.actions import (
    Charge,
    Visit,
    do_add_charges,
    do_close_encounter,
    do_open_encounter,
    do_record_visits,
)
from yilian.care.models import ChargeItem, Encounter, EncounterEvent
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.testing import factories as f
from yilian.testing.checks import row_counts


def refused(call, *args, **kwargs) -> dict[str, str]:
    before = row_counts("access.AuditEvent")
    with pytest.raises(ActionError) as exc:
        call(*args, **kwargs)
    assert row_counts("access.AuditEvent") == before
    return exc.value.errors


def visit_for_id(net, patient_id: int) -> Visit:
    return Visit(patient_id=patient_id, department_id=net.department(net.village).pk,
                 start=timezone.now() - timedelta(hours=2))


def visit(net, patient, **overrides) -> Visit:
    data = {"patient_id": patient.pk, "department_id": net.department(net.county).pk,
            "start": timezone.now() - timedelta(hours=2)}
    data.update(overrides)
    return Visit(**data)


def test_open_encounter_writes_everything_it_should(net, owner, patient):
    encounter = do_open_encounter(f.actor(owner), visit(net, patient, practitioner_id=owner.staff_id, charges=[
        Charge("western_drug", "35.20", "阿莫西林"), Charge("lab", Decimal("12"))]))
    assert encounter.institution_id == owner.institution_id
    assert [e.kind for e in EncounterEvent.objects.filter(encounter=encounter)] == ["opened"]
    assert CareRelation.objects.filter(source_type="encounter", source_id=encounter.pk).count() == 1
    assert sorted(ChargeItem.objects.filter(encounter=encounter).values_list("amount", flat=True)) == [
        Decimal("12.00"), Decimal("35.20")]
    row = AuditEvent.objects.latest("pk")
    assert (row.object_type, row.object_id, row.action, row.basis, row.patient_id) == (
        "encounter", str(encounter.pk), "create", "care", patient.pk)


def test_a_finished_visit_has_both_events(net, owner, patient):
    start = timezone.now() - timedelta(hours=3)
    encounter = do_open_encounter(f.actor(owner), visit(net, patient, start=start, end=start + timedelta(hours=1)))
    assert list(encounter.events.values_list("kind", flat=True)) == ["opened", "closed"]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"klass": "spa"}, "klass"),
    ({"department_id": -1}, "department_id"),
    ({"practitioner_id": -1}, "practitioner_id"),
    ({"start": datetime(2026, 1, 1, 8, 0)}, "start"),  # naive
    ({"start": "2026-01-01T08:00:00+08:00"}, "start"),
    ({"start": timezone.now() + timedelta(hours=1)}, "start"),
    ({"end": timezone.now() - timedelta(days=1)}, "end"),
    ({"end": datetime(2030, 1, 1)}, "end"),
    ({"end": "tomorrow"}, "end"),
    ({"charges": [Charge("caviar", "1")]}, "charges.0.category"),
    ({"charges": [Charge("lab", "1"), Charge("lab", "0")]}, "charges.1.amount"),
    ({"charges": [Charge("lab", "-5")]}, "charges.0.amount"),
    ({"charges": [Charge("lab", "abc")]}, "charges.0.amount"),
    ({"charges": [Charge("lab", "NaN")]}, "charges.0.amount"),
    ({"charges": [Charge("lab", "Infinity")]}, "charges.0.amount"),
    ({"charges": [Charge("lab", "10000000")]}, "charges.0.amount"),
])
def test_open_encounter_bad_input(net, owner, patient, overrides, field):
    assert field in refused(do_open_encounter, f.actor(owner), visit(net, patient, **overrides))


def test_department_of_another_institution_is_refused(net, owner, patient):
    errors = refused(do_open_encounter, f.actor(owner),
                     visit(net, patient, department_id=net.department(net.township).pk))
    assert set(errors) == {"department_id"}


def test_patient_not_in_care_is_not_found_and_the_attempt_is_audited(net, outsider, patient):
    before = row_counts()
    with pytest.raises(ActionError) as exc:
        do_open_encounter(f.actor(outsider), visit(net, patient, department_id=net.department(net.village).pk))
    assert set(exc.value.errors) == {"patient_id"}
    assert row_counts() == before
    row = AuditEvent.objects.get(outcome="denied")
    assert (row.patient_id, row.object_type, row.action, row.membership_id) == (
        patient.pk, "encounter", "create", outsider.pk)


def test_missing_patient_answers_like_a_forbidden_one(net, outsider):
    with pytest.raises(ActionError) as exc:
        do_open_encounter(f.actor(outsider), visit_for_id(net, 10**12))
    assert set(exc.value.errors) == {"patient_id"}
    assert AuditEvent.objects.filter(outcome="denied", object_type="encounter").count() == 1


def test_colleague_with_grant_may_open_an_encounter_at_home(net, colleague, patient):
    encounter = do_open_encounter(f.actor(colleague),
                                  visit(net, patient, department_id=net.department(net.township).pk))
    assert encounter.institution_id == net.township.pk


@pytest.mark.parametrize("role", [Role.NURSE, Role.TECHNICIAN, Role.MANAGER, Role.AUDITOR, Role.PHARMACIST])
def test_roles_without_record_visit(net, patient, role):
    membership = f.make_membership(net.county, role)
    assert set(refused(do_open_encounter, f.actor(membership), visit(net, patient))) == {"role"}


def test_batch_is_all_or_nothing(net, owner, registrar, patient):
    other = f.register_patient(registrar)
    before = row_counts("access.AuditEvent")
    with pytest.raises(ActionError) as exc:
        do_record_visits(f.actor(owner), [visit(net, patient), visit(net, other, klass="spa")])
    assert set(exc.value.errors) == {"visits.1.klass"}
    assert row_counts("access.AuditEvent") == before
    encounters = do_record_visits(f.actor(owner), [visit(net, patient), visit(net, other)])
    assert [e.patient_id for e in encounters] == [patient.pk, other.pk]
    assert AuditEvent.objects.filter(object_type="encounter", action="create").count() == 2


def test_batch_refuses_a_patient_out_of_scope(net, owner, outsider, patient):
    stranger = f.register_patient(f.make_membership(net.village, Role.REGISTRAR))
    with pytest.raises(ActionError) as exc:
        do_record_visits(f.actor(owner), [visit(net, patient), visit(net, stranger)])
    assert set(exc.value.errors) == {"visits.1.patient_id"}
    assert AuditEvent.objects.filter(outcome="denied", patient_id=stranger.pk).count() == 1
    assert not Encounter.objects.exists()


def test_add_charges(owner, encounter):
    items = do_add_charges(f.actor(owner), encounter, [Charge("herbal", "8.8")])
    assert [i.amount for i in items] == [Decimal("8.80")]
    assert encounter.events.filter(kind="charged").count() == 1
    row = AuditEvent.objects.latest("pk")
    assert (row.object_type, row.object_id, row.action) == ("charge", str(items[0].pk), "create")


def test_add_charges_needs_at_least_one(owner, encounter):
    assert set(refused(do_add_charges, f.actor(owner), encounter, [])) == {"charges"}


def test_charges_at_another_institution_are_refused_and_audited(colleague, encounter):
    before = row_counts()
    audit_before = AuditEvent.objects.count()
    with pytest.raises(ActionError) as exc:
        do_add_charges(f.actor(colleague), encounter, [Charge("lab", "1")])
    assert set(exc.value.errors) == {"encounter"}
    assert row_counts() == before
    assert AuditEvent.objects.count() == audit_before + 1
    row = AuditEvent.objects.latest("pk")
    assert (row.outcome, row.action, row.patient_id, row.membership_id) == (
        "denied", "update", encounter.patient_id, colleague.pk)


def test_close_encounter_once(owner, encounter):
    do_close_encounter(f.actor(owner), encounter)
    encounter.refresh_from_db()
    assert encounter.end is not None
    assert encounter.events.filter(kind="closed").count() == 1
    assert set(refused(do_close_encounter, f.actor(owner), encounter)) == {"end"}


@pytest.mark.parametrize("end", [lambda e: e.start - timedelta(minutes=1), lambda e: datetime(2030, 1, 1),
                                 lambda e: "now"])
def test_close_encounter_bad_end(owner, encounter, end):
    assert set(refused(do_close_encounter, f.actor(owner), encounter, end(encounter))) == {"end"}
    encounter.refresh_from_db()
    assert encounter.end is None


def test_close_at_another_institution_is_refused(colleague, encounter):
    with pytest.raises(ActionError) as exc:
        do_close_encounter(f.actor(colleague), encounter)
    assert set(exc.value.errors) == {"encounter"}
    encounter.refresh_from_db()
    assert encounter.end is None
