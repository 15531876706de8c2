"""Registration (挂号): the encounter and its fee, reuse within the validity, waivers by rule, and check-in
of a booking. Refusals name their field and write nothing."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from yilian.access.models import AuditEvent, GrantKind
from yilian.care.models import ChargeItem, Encounter
from yilian.errors import ActionError
from yilian.network.models import Department
from yilian.network.roles import Role
from yilian.patients.actions import do_check_in
from yilian.scheduling.actions import do_add_free_rule, do_book, do_cancel, do_set_policy, do_stop_clinic
from yilian.scheduling.models import Registration, Slot, Waiver
from yilian.scheduling.registration import Visit, do_register_visit
from yilian.scheduling.tests.clinics import slots_on
from yilian.testing import factories as f
from yilian.testing.checks import row_counts

COUNTED = ("scheduling.Registration", "scheduling.Waiver", "care.Encounter", "care.ChargeItem",
           "scheduling.BookingEvent")


def refused(call, *args, **kwargs) -> dict[str, str]:
    before = row_counts(*COUNTED)
    with pytest.raises(ActionError) as exc:
        call(*args, **kwargs)
    assert row_counts(*COUNTED) == before
    return exc.value.errors


def walk_in(desk, patient, department, doctor=None) -> Registration:
    return do_register_visit(f.actor(desk), Visit(patient_id=patient.pk, department_id=department.pk,
                                                  doctor_id=doctor.staff_id if doctor else None))


def fees_of(registration) -> list[tuple[str, Decimal]]:
    return list(ChargeItem.objects.filter(encounter_id=registration.encounter_id)
                .values_list("category", "amount"))


@pytest.fixture
def internal(net):
    return net.department(net.county)


@pytest.fixture
def emergency(net):
    return Department.objects.get(institution=net.county, name="急诊科")


def today_booking(desk, patient, clinic):
    """A booking of a slot three days ahead, moved to today (test scaffolding: a booking cannot be made
    for a slot that has started, and check-in happens on the slot's day)."""
    slot = slots_on(clinic, 3)[0]
    booking = do_book(f.actor(desk), patient.pk, slot.pk, "window")
    Slot.objects.filter(pk=slot.pk).update(date=timezone.localdate())
    return booking


# --- walk-in ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fees")
def test_walk_in_opens_the_encounter_and_charges_by_tier(registrar, patient, internal, owner, expert):
    mark = AuditEvent.objects.count()
    reg = walk_in(registrar, patient, internal, owner)
    encounter = Encounter.objects.get(pk=reg.encounter_id)
    assert (encounter.klass, encounter.department_id, encounter.practitioner_id) == (
        "outpatient", internal.pk, owner.staff_id)
    assert fees_of(reg) == [("registration", Decimal("10.00"))]
    assert (reg.tier, reg.fee, reg.reused_from) == ("ordinary", Decimal("10.00"), None)
    assert reg.valid_until == timezone.localdate() + timedelta(days=2)  # 3 days counting today
    rows = [(r.object_type, r.action) for r in AuditEvent.objects.order_by("pk")[mark:]]
    assert rows == [("encounter", "create"), ("registration", "create")]
    other = f.register_patient(registrar)
    assert fees_of(walk_in(registrar, other, internal, expert)) == [("registration", Decimal("25.00"))]


@pytest.mark.usefixtures("fees")
def test_walk_in_refusals(net, registrar, patient, owner):
    township_dept = net.department(net.township)
    errors = refused(do_register_visit, f.actor(registrar), Visit(patient_id=patient.pk,
                                                                  department_id=township_dept.pk, doctor_id=10**6))
    assert set(errors) == {"department_id", "doctor_id"}
    assert set(refused(do_register_visit, f.actor(owner), Visit(patient_id=patient.pk))) == {"role"}
    with pytest.raises(Http404):
        walk_in(f.make_membership(net.village, Role.REGISTRAR), patient, net.department(net.village))


def test_no_fee_policy_is_a_clear_error(registrar, patient, internal):
    assert set(refused(walk_in, registrar, patient, internal)) == {"tier"}


# --- validity and reuse ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fees")
def test_return_visit_within_validity_reuses_without_fee(registrar, patient, internal):
    first = walk_in(registrar, patient, internal)
    again = walk_in(registrar, patient, internal)
    assert (again.reused_from_id, again.fee, again.encounter_id) == (first.pk, Decimal("0"), first.encounter_id)
    assert again.valid_until == first.valid_until
    assert ChargeItem.objects.filter(encounter_id=first.encounter_id).count() == 1
    assert Encounter.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="registration", reason="reused").count() == 1


@pytest.mark.usefixtures("fees")
def test_no_reuse_in_another_department_or_past_validity(registrar, patient, internal, emergency):
    first = walk_in(registrar, patient, internal)
    elsewhere = walk_in(registrar, patient, emergency)
    assert elsewhere.reused_from is None and elsewhere.fee == Decimal("10.00")
    # Three days later the first registration has lapsed (test scaffolding moves it back in time).
    Registration.objects.filter(pk=first.pk).update(registered_at=timezone.now() - timedelta(days=3),
                                                    valid_until=timezone.localdate() - timedelta(days=1))
    later = walk_in(registrar, patient, internal)
    assert later.reused_from is None and later.fee == Decimal("10.00")
    assert later.encounter_id != first.encounter_id


@pytest.mark.usefixtures("fees")
def test_validity_is_a_policy_row(net, registrar, patient, internal):
    do_set_policy(f.actor(registrar), max_daily_bookings=1, registration_valid_days=7)
    assert walk_in(registrar, patient, internal).valid_until == timezone.localdate() + timedelta(days=6)


# --- waivers -----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fees")
def test_aged_65_register_free(net, registrar, internal):
    today = timezone.localdate()
    rule = do_add_free_rule(f.actor(registrar), "age", min_age=65)
    old = f.register_patient(registrar, born=date(today.year - 66, 1, 1))
    young = f.register_patient(registrar, born=date(today.year - 40, 1, 1))
    reg = walk_in(registrar, old, internal)
    assert (reg.fee, fees_of(reg)) == (Decimal("0"), [])
    assert (reg.waiver.amount, reg.waiver.rule_id) == (Decimal("10.00"), rule.pk)
    assert walk_in(registrar, young, internal).fee == Decimal("10.00")
    assert Waiver.objects.count() == 1


@pytest.mark.usefixtures("fees")
def test_contracted_patients_and_free_departments(net, registrar, internal, emergency):
    contracted_rule = do_add_free_rule(f.actor(registrar), "contracted")
    department_rule = do_add_free_rule(f.actor(registrar), "department", department_id=emergency.pk)
    contracted, other = f.register_patient(registrar), f.register_patient(registrar)
    f.grant(contracted, to_institution=net.township, kind=GrantKind.FAMILY_DOCTOR)
    assert walk_in(registrar, contracted, internal).waiver.rule_id == contracted_rule.pk
    assert walk_in(registrar, other, internal).fee == Decimal("10.00")
    assert walk_in(registrar, other, emergency).waiver.rule_id == department_rule.pk


def test_free_rules_are_checked(net, registrar):
    desk = f.actor(registrar)
    assert set(refused(do_add_free_rule, desk, "poor")) == {"kind"}
    assert set(refused(do_add_free_rule, desk, "age")) == {"min_age"}
    assert set(refused(do_add_free_rule, desk, "department", department_id=net.department(net.township).pk)) == {
        "department_id"}


# --- check-in of a booking ---------------------------------------------------------------------------------


def test_check_in_registers_the_booking(registrar, patient, clinic, owner):
    booking = today_booking(registrar, patient, clinic)
    reg = do_register_visit(f.actor(registrar), Visit(booking_id=booking.pk))
    booking.refresh_from_db()
    assert booking.status == "checked_in" and reg.booking_id == booking.pk
    assert (reg.department_id, reg.tier) == (clinic.department_id, "ordinary")
    assert Encounter.objects.get(pk=reg.encounter_id).practitioner_id == owner.staff_id
    assert list(booking.events.values_list("kind", flat=True)) == ["booked", "checked_in"]
    assert set(refused(do_register_visit, f.actor(registrar), Visit(booking_id=booking.pk))) == {"booking_id"}


def test_cancelled_or_stopped_bookings_are_never_checked_in(registrar, patient, clinic):
    booking = today_booking(registrar, patient, clinic)
    do_cancel(f.actor(registrar), booking.pk)
    assert set(refused(do_register_visit, f.actor(registrar), Visit(booking_id=booking.pk))) == {"booking_id"}
    other = f.register_patient(registrar)
    slot = slots_on(clinic, 4)[0]
    stopped = do_book(f.actor(registrar), other.pk, slot.pk, "window")
    do_stop_clinic(f.actor(registrar), clinic.pk, slot.date, "医生外出")
    Slot.objects.filter(pk=slot.pk).update(date=timezone.localdate())
    assert set(refused(do_register_visit, f.actor(registrar), Visit(booking_id=stopped.pk))) == {"booking_id"}


def test_check_in_only_on_the_day_and_at_the_clinic(registrar, township_desk, patient, clinic):
    slot = slots_on(clinic, 3)[0]
    booking = do_book(f.actor(registrar), patient.pk, slot.pk, "window")
    assert set(refused(do_register_visit, f.actor(registrar), Visit(booking_id=booking.pk))) == {"booking_id"}
    Slot.objects.filter(pk=slot.pk).update(date=timezone.localdate())
    do_check_in(f.actor(township_desk), patient.resident_id)
    assert set(refused(do_register_visit, f.actor(township_desk), Visit(booking_id=booking.pk))) == {"booking_id"}
    other = f.register_patient(registrar)
    assert set(refused(do_register_visit, f.actor(registrar),
                       Visit(booking_id=booking.pk, patient_id=other.pk))) == {"patient_id"}
