"""The demo's outpatient stage as built (the small demo of conftest): every outpatient encounter opened by
one registration, queue times in order, bookings that agree with their slots, reuses within the validity,
waivers naming their rule, the timetable (evening, weekend and the county experts' clinics at the township
centres), and indicators with something to show."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Exists, OuterRef
from django.utils import timezone

from yilian.access.models import Grant, GrantKind
from yilian.analytics.registry import Scope
from yilian.care.models import ChargeItem, Encounter
from yilian.demo.tests.conftest import SMALL
from yilian.network.models import InstitutionKind, Membership
from yilian.network.roles import Role
from yilian.patients.models import age_on
from yilian.scheduling import indicators as ind
from yilian.scheduling.models import (
    Booking,
    BookingEvent,
    FeePolicy,
    FreeRegistrationRule,
    OutpatientPolicy,
    QueueEntry,
    Registration,
    Schedule,
    Slot,
    Waiver,
)
from yilian.scheduling.policy import EXPERT_TITLES

pytestmark = pytest.mark.django_db
K = InstitutionKind


def test_each_outpatient_encounter_is_opened_by_one_registration(demo):
    outpatient = Encounter.objects.filter(klass="outpatient")
    opening = Registration.objects.filter(reused_from__isnull=True)
    assert outpatient.count() == opening.count() == demo["summary"]["encounters"] - demo["summary"]["emergencies"]
    assert not outpatient.filter(~Exists(opening.filter(encounter=OuterRef("pk")))).exists()
    assert not Encounter.objects.filter(klass="emergency").filter(
        Exists(Registration.objects.filter(encounter=OuterRef("pk")))).exists()
    fees = {(f.institution_id, f.tier): f.amount for f in FeePolicy.objects.all()}
    for reg in opening:
        charged = list(ChargeItem.objects.filter(encounter_id=reg.encounter_id, category="registration")
                       .values_list("amount", flat=True))
        assert charged == ([reg.fee] if reg.fee else [])
        assert reg.fee in (Decimal("0.00"), fees[(reg.institution_id, reg.tier)])


def test_queue_times_in_order(demo):
    entries = QueueEntry.objects.select_related("registration__booking__slot", "registration__encounter")
    assert entries.count() == Registration.objects.count() == demo["summary"]["outpatient.registrations"]
    for e in entries:
        assert e.status == "done" and e.calls == 1 and e.doctor_id
        assert e.arrived_at <= e.checked_in_at <= e.called_at <= e.started_at <= e.ended_at
        assert e.date == timezone.localdate(e.checked_in_at)
        booking = e.registration.booking
        assert e.booked_at == (booking.slot.start if booking else None)
        if e.registration.reused_from_id is None:
            assert e.registration.encounter.start == e.checked_in_at
            assert e.registration.encounter.end == e.ended_at
    waits = [(e.called_at - e.checked_in_at).total_seconds() / 60 for e in entries]
    assert 1 <= sum(waits) / len(waits) <= 6


def test_bookings_agree_with_their_slots(demo):
    bookings = Booking.objects.select_related("slot").exclude(channel="referral")  # referral places: after today
    assert bookings.exists()
    assert not bookings.filter(status="booked").exists()  # every past booking came, was cancelled or missed
    for slot in Slot.objects.filter(issued__gt=0):
        mine = Booking.objects.filter(slot=slot)
        assert slot.issued == mine.count()
        assert slot.booked == mine.exclude(status="cancelled").count() <= slot.capacity
    for b in bookings:
        assert b.created_at < b.slot.start
        kinds = list(BookingEvent.objects.filter(booking=b).order_by("at", "pk").values_list("kind", flat=True))
        assert kinds == ["booked", b.status]  # checked_in, cancelled or no_show
        if b.status == "checked_in":
            assert Registration.objects.filter(booking=b).exists()
        if b.status == "cancelled":
            assert b.reason
        if b.status == "no_show":
            assert BookingEvent.objects.get(booking=b, kind="no_show").at >= b.slot.end


def test_returns_within_validity_reuse_the_registration(demo):
    reused = Registration.objects.filter(reused_from__isnull=False).select_related("reused_from")
    assert reused.count() == demo["summary"]["outpatient.reuses"] > 0
    for reg in reused:
        first = reg.reused_from
        assert (reg.patient_id, reg.institution_id, reg.department_id, reg.encounter_id) == (
            first.patient_id, first.institution_id, first.department_id, first.encounter_id)
        assert first.registered_at < reg.registered_at
        assert timezone.localdate(reg.registered_at) <= first.valid_until == reg.valid_until
        assert reg.fee == 0
    for reg in Registration.objects.filter(reused_from__isnull=True):
        assert reg.valid_until == timezone.localdate(reg.registered_at) + timedelta(days=2)


def test_waivers_name_the_rule_that_waived(demo):
    waivers = Waiver.objects.select_related("registration__patient", "rule")
    assert waivers.exists()
    for w in waivers:
        reg, rule = w.registration, w.rule
        day = timezone.localdate(reg.registered_at)
        assert rule.institution_id == reg.institution_id and reg.fee == 0 and w.amount > 0
        if rule.kind == "age":
            assert age_on(reg.patient.birth_date, day) >= rule.min_age
        elif rule.kind == "department":
            assert rule.department_id == reg.department_id
        else:
            assert Grant.objects.filter(patient=reg.patient, kind=GrantKind.FAMILY_DOCTOR,
                                        valid_from__lte=reg.registered_at, valid_to__gt=reg.registered_at).exists()


def test_policies_and_timetable(demo):
    assert set(OutpatientPolicy.objects.values_list("registration_valid_days", flat=True)) == {3}
    fees = set(FeePolicy.objects.values_list("institution__kind", "tier", "amount"))
    assert (K.VILLAGE, "ordinary", Decimal("5.00")) in fees and (K.TOWNSHIP, "ordinary", Decimal("10.00")) in fees
    assert {(K.GENERAL_SECONDARY, t, Decimal(a)) for t, a in (("ordinary", 8), ("expert", 20), ("special", 50))} <= fees
    township_rules = set(FreeRegistrationRule.objects.filter(institution__kind=K.TOWNSHIP)
                         .values_list("kind", "min_age", "department__name"))
    assert township_rules == {("age", 65, None), ("contracted", None, None), ("department", None, "预防保健科")}
    county = Schedule.objects.filter(institution__kind=K.GENERAL_SECONDARY)
    assert county.filter(session="evening").exists()
    assert county.filter(session="weekend").exists() and county.filter(tier="special").exists()


def test_county_experts_hold_clinics_at_township_centres(demo):
    visiting = Schedule.objects.filter(institution__kind=K.TOWNSHIP, tier="expert",
                                       doctor__memberships__institution__kind=K.GENERAL_SECONDARY).distinct()
    assert visiting.values("institution").distinct().count() == 12
    assert len(set(visiting.values_list("valid_from", flat=True))) > 3  # opened one after another
    for schedule in visiting.select_related("doctor"):
        assert schedule.doctor.title in EXPERT_TITLES
        assert Membership.objects.filter(staff=schedule.doctor, institution_id=schedule.institution_id,
                                         role=Role.DOCTOR, active=True).exists()


def test_outpatient_indicators_have_something_to_show(demo):
    scope = Scope(start=SMALL.today - timedelta(days=40), end=SMALL.today)
    assert 0.15 <= ind.booking_rate(scope) <= 0.6
    assert 15 <= ind.wait_after_booking(scope) <= 40
    assert 1.5 <= ind.wait_check_in_to_call(scope) <= 5
    assert ind.expert_visits(scope) > 0
    assert ind.registrations_reused(scope) > 0 and ind.fees_waived_amount(scope) > 0
    assert ind.fees_waived_patients(scope) == demo["summary"]["registration.reuse_patients"]
