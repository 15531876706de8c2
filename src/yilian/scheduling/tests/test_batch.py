"""The batch actions (`scheduling.batch`): the rules of the single actions, at past times passed in, all or
nothing. The clinic: the county hospital's internal medicine with the `owner` doctor, 08:00–10:00 in
30-minute slots of two places (one reserved for referral until 24 hours before), held every day of the
past ten days; fees ordinary 10, expert 25, special 100 yuan."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from yilian.access.actions import do_grant
from yilian.access.models import AuditEvent, CareRelation, GrantKind
from yilian.care.actions import Charge
from yilian.care.models import ChargeItem, Encounter
from yilian.errors import ActionError
from yilian.network.acting import SYSTEM
from yilian.network.models import Department
from yilian.network.roles import Role
from yilian.scheduling.actions import do_add_free_rule, do_add_holiday, do_create_schedule, do_generate_slots
from yilian.scheduling.batch import (
    Cancellation,
    NewBooking,
    NoShow,
    do_book_many,
    do_cancel_many,
    do_generate_slots_many,
    do_mark_no_show_many,
)
from yilian.scheduling.batch_visits import PastVisit, Seen, do_check_in_visits, do_see_visits
from yilian.scheduling.models import Booking, BookingEvent, QueueEntry, Registration, Slot, Waiver
from yilian.scheduling.tests.clinics import new_schedule
from yilian.testing import factories as f
from yilian.testing.checks import row_counts

pytestmark = pytest.mark.django_db
MIN = timedelta(minutes=1)
COUNTED = ("scheduling.Booking", "scheduling.BookingEvent", "scheduling.Registration", "scheduling.Waiver",
           "scheduling.QueueEntry", "access.AuditEvent")


def refused(call, *args) -> dict[str, str]:
    before = row_counts(*COUNTED)
    slots_before = list(Slot.objects.order_by("pk").values_list("booked", "referral_booked", "issued"))
    with pytest.raises(ActionError) as exc:
        call(*args)
    after = row_counts(*COUNTED)
    denied = after.pop("access.AuditEvent") - before.pop("access.AuditEvent")
    assert after == before and denied in (0, 1)  # at most the audit row of a denial
    assert list(Slot.objects.order_by("pk").values_list("booked", "referral_booked", "issued")) == slots_before
    return exc.value.errors


@pytest.fixture
def past_clinic(net, registrar, owner, fees):
    today = timezone.localdate()
    desk = f.actor(registrar)
    schedule = do_create_schedule(desk, new_schedule(net.department(net.county), doctor_id=owner.staff_id,
                                                     valid_from=today - timedelta(days=10)))
    do_generate_slots(desk, schedule.pk, today - timedelta(days=10), today - timedelta(days=1))
    return schedule


def slot(schedule, days_ago: int, index: int = 0) -> Slot:
    return Slot.objects.filter(schedule=schedule, date=timezone.localdate() - timedelta(days=days_ago)) \
        .order_by("start")[index]


def local(days_ago: int, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    day = timezone.localdate() - timedelta(days=days_ago)
    return datetime.combine(day, time(h, m), tzinfo=timezone.get_default_timezone())


def book(desk, patient, s: Slot, before=timedelta(hours=2), channel="window") -> Booking:
    (booking,) = do_book_many(f.actor(desk), [NewBooking(patient.pk, s.pk, s.start - before, channel)])
    return booking


def walk_in(patient, department, at: datetime, **kw) -> PastVisit:
    return PastVisit(arrived_at=at, checked_in_at=at + 2 * MIN, patient_id=patient.pk, department_id=department.pk,
                     **kw)


# --- slots and booking ----------------------------------------------------------------------------------


def test_slots_of_many_schedules_at_once(net, registrar, owner, township_desk):
    desk = f.actor(registrar)
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday() + 14)
    first = do_create_schedule(desk, new_schedule(net.department(net.county), weekdays="135",
                                                  valid_from=monday - timedelta(days=30)))
    second = do_create_schedule(desk, new_schedule(net.department(net.county), weekdays="67", start_time=time(14),
                                                   end_time=time(15), valid_from=monday + timedelta(days=7)))
    do_add_holiday(desk, monday + timedelta(days=2), "test")
    made = do_generate_slots_many(desk, [first.pk, second.pk], monday, monday + timedelta(days=13))
    # first: Mon, Fri of week one (Wednesday a holiday), Mon, Wed, Fri of week two; second: week two's weekend
    assert made == 5 * 4 + 2 * 2
    assert do_generate_slots_many(desk, [first.pk, second.pk], monday, monday + timedelta(days=13)) == 0
    errors = refused(do_generate_slots_many, f.actor(township_desk), [first.pk], monday, monday)
    assert set(errors) == {"schedule_ids.0"}
    errors = refused(do_generate_slots_many, desk, [first.pk], monday, monday + timedelta(days=92))
    assert set(errors) == {"date_to"}


# --- booking --------------------------------------------------------------------------------------------


def test_books_at_past_times_with_events_care_and_audit(registrar, patient, past_clinic):
    s = slot(past_clinic, 5)
    other = f.register_patient(registrar)
    mark = AuditEvent.objects.count()
    bookings = do_book_many(f.actor(registrar), [NewBooking(other.pk, s.pk, s.start - timedelta(hours=3), "phone"),
                                                 NewBooking(patient.pk, s.pk, s.start - timedelta(hours=5))])
    assert [b.serial for b in bookings] == [2, 1]  # places are claimed in the order of the booking times
    assert bookings[1].number == f"{s.date:%Y%m%d}-{s.pk}-001"
    s.refresh_from_db()
    assert (s.booked, s.issued) == (2, 2)
    event = BookingEvent.objects.get(booking=bookings[0])
    assert (event.kind, event.at, event.data) == ("booked", s.start - timedelta(hours=3), {"channel": "phone"})
    assert CareRelation.objects.get(source_type="booking", source_id=bookings[0].pk).since == event.at
    rows = AuditEvent.objects.order_by("pk")[mark:]
    assert [(r.object_type, r.action, r.patient_id) for r in rows] == [
        ("booking", "create", other.pk), ("booking", "create", patient.pk)]


def test_reserved_place_holds_until_release_and_referral_takes_it(net, registrar, patient, past_clinic,
                                                                  township_desk):
    s = slot(past_clinic, 5)
    other = f.register_patient(registrar)
    early = s.start - timedelta(days=2)  # before the release 24 hours ahead: one ordinary place only
    errors = refused(do_book_many, f.actor(registrar), [NewBooking(patient.pk, s.pk, early),
                                                        NewBooking(other.pk, s.pk, early + MIN)])
    assert set(errors) == {"bookings.1.slot_id"}
    referred = f.register_patient(township_desk)
    do_book_many(f.actor(registrar), [NewBooking(patient.pk, s.pk, early)])
    (by_referral,) = do_book_many(f.actor(township_desk), [NewBooking(referred.pk, s.pk, early, "referral")])
    s.refresh_from_db()
    assert (s.booked, s.referral_booked, by_referral.channel) == (2, 1, "referral")
    late = refused(do_book_many, f.actor(registrar), [NewBooking(other.pk, s.pk, s.start - MIN)])
    assert set(late) == {"bookings.0.slot_id"}  # full


def test_one_booking_per_patient_department_and_day(registrar, patient, past_clinic):
    first, second = slot(past_clinic, 5, 0), slot(past_clinic, 5, 1)
    errors = refused(do_book_many, f.actor(registrar), [NewBooking(patient.pk, first.pk, first.start - 2 * MIN),
                                                        NewBooking(patient.pk, second.pk, first.start - MIN)])
    assert set(errors) == {"bookings.1.patient_id"}
    book(registrar, patient, first)
    assert set(refused(do_book_many, f.actor(registrar), [NewBooking(patient.pk, first.pk, first.start - MIN)])) \
        == {"bookings.0.slot_id"}
    other_day = slot(past_clinic, 4)
    assert book(registrar, patient, other_day).slot_id == other_day.pk


def test_booking_checks_time_channel_and_slot(registrar, patient, past_clinic):
    s = slot(past_clinic, 5)
    desk = f.actor(registrar)
    assert set(refused(do_book_many, desk, [NewBooking(patient.pk, s.pk, s.start)])) == {"bookings.0.slot_id"}
    future = timezone.now() + timedelta(hours=1)
    assert set(refused(do_book_many, desk, [NewBooking(patient.pk, s.pk, future)])) == {"bookings.0.at"}
    naive = datetime(2020, 1, 1, 8)
    assert set(refused(do_book_many, desk, [NewBooking(patient.pk, s.pk, naive)])) == {"bookings.0.at"}
    errors = refused(do_book_many, desk, [NewBooking(patient.pk, s.pk, s.start - MIN, "fax")])
    assert set(errors) == {"bookings.0.channel"}
    errors = refused(do_book_many, desk, [NewBooking(patient.pk, s.pk, s.start - MIN, "referral")])
    assert set(errors) == {"bookings.0.channel"}  # a referral books at another institution
    assert set(refused(do_book_many, desk, [NewBooking(patient.pk, 10**9, s.start - MIN)])) == {"bookings.0.slot_id"}


def test_booking_a_patient_out_of_sight_is_denied(net, registrar, past_clinic):
    stranger = f.register_patient(f.make_membership(net.village, Role.REGISTRAR))
    s = slot(past_clinic, 5)
    mark = AuditEvent.objects.count()
    errors = refused(do_book_many, f.actor(registrar), [NewBooking(stranger.pk, s.pk, s.start - MIN)])
    assert set(errors) == {"bookings.0.patient_id"}
    (row,) = AuditEvent.objects.order_by("pk")[mark:]
    assert (row.outcome, row.patient_id, row.object_type) == ("denied", stranger.pk, "booking")


def test_cancel_and_no_show(registrar, patient, past_clinic, township_desk):
    s = slot(past_clinic, 5)
    cancelled, kept = book(registrar, patient, s), book(registrar, f.register_patient(registrar), s)
    desk = f.actor(registrar)
    assert set(refused(do_cancel_many, desk, [Cancellation(cancelled.pk, s.start)])) == {"cancellations.0.booking_id"}
    before_booking = cancelled.created_at - MIN
    assert set(refused(do_cancel_many, desk, [Cancellation(cancelled.pk, before_booking)])) == {"cancellations.0.at"}
    do_cancel_many(desk, [Cancellation(cancelled.pk, s.start - MIN, " 改约 ")])
    cancelled.refresh_from_db()
    s.refresh_from_db()
    assert (cancelled.status, cancelled.reason, s.booked, s.issued) == ("cancelled", "改约", 1, 2)
    assert set(refused(do_cancel_many, desk, [Cancellation(cancelled.pk, s.start - MIN)])) == {
        "cancellations.0.booking_id"}  # no longer active
    assert set(refused(do_mark_no_show_many, desk, [NoShow(kept.pk, s.end - MIN)])) == {"no_shows.0.booking_id"}
    elsewhere = f.actor(f.make_membership(township_desk.institution, Role.REGISTRAR))
    assert set(refused(do_mark_no_show_many, elsewhere, [NoShow(kept.pk, s.end)])) == {"no_shows.0.booking_id"}
    do_mark_no_show_many(desk, [NoShow(kept.pk, s.end + timedelta(hours=2))])
    kept.refresh_from_db()
    assert kept.status == "no_show"
    assert list(BookingEvent.objects.filter(booking=kept).values_list("kind", flat=True)) == ["booked", "no_show"]


# --- registration and check-in --------------------------------------------------------------------------


def test_check_in_of_a_booking_opens_the_encounter_and_queues(registrar, owner, patient, past_clinic):
    s = slot(past_clinic, 5)
    booking = book(registrar, patient, s)
    arrived = s.start - 10 * MIN
    (entry,) = do_check_in_visits(f.actor(registrar), [PastVisit(
        arrived_at=arrived, checked_in_at=s.start + 5 * MIN, booking_id=booking.pk, end=s.start + 30 * MIN,
        charges=[Charge("western_drug", "36.50", "降压药")])])
    reg = entry.registration
    encounter = Encounter.objects.get(pk=reg.encounter_id)
    assert (encounter.start, encounter.end, encounter.practitioner_id) == (
        s.start + 5 * MIN, s.start + 30 * MIN, owner.staff_id)
    assert sorted(ChargeItem.objects.filter(encounter=encounter).values_list("category", "amount")) == [
        ("registration", Decimal("10.00")), ("western_drug", Decimal("36.50"))]
    assert (reg.booking_id, reg.tier, reg.fee, reg.valid_until) == (booking.pk, "ordinary", Decimal("10.00"),
                                                                     s.date + timedelta(days=2))
    assert (entry.number, entry.booked_at, entry.arrived_at, entry.date, entry.status) == (
        1, s.start, arrived, s.date, "waiting")
    booking.refresh_from_db()
    assert booking.status == "checked_in"
    assert BookingEvent.objects.get(booking=booking, kind="checked_in").at == s.start + 5 * MIN
    kinds = list(AuditEvent.objects.filter(patient_id=patient.pk, object_type__in=["encounter", "registration",
                                                                                   "queue"])
                 .order_by("pk").values_list("object_type", flat=True))
    assert kinds[-3:] == ["encounter", "registration", "queue"]


def test_booking_check_in_refusals(registrar, patient, past_clinic):
    s = slot(past_clinic, 5)
    booking = book(registrar, patient, s)
    desk = f.actor(registrar)
    next_day = s.start + timedelta(days=1)
    errors = refused(do_check_in_visits, desk, [PastVisit(next_day, next_day, booking_id=booking.pk)])
    assert set(errors) == {"visits.0.booking_id"}  # on the slot's day only
    errors = refused(do_check_in_visits, desk, [PastVisit(s.start, s.start - MIN, booking_id=booking.pk)])
    assert set(errors) == {"visits.0.checked_in_at"}  # not before the arrival
    twice = [PastVisit(s.start, s.start, booking_id=booking.pk), PastVisit(s.start, s.start, booking_id=booking.pk)]
    assert set(refused(do_check_in_visits, desk, twice)) == {"visits.1.booking_id"}
    do_cancel_many(desk, [Cancellation(booking.pk, s.start - MIN)])
    errors = refused(do_check_in_visits, desk, [PastVisit(s.start, s.start, booking_id=booking.pk)])
    assert set(errors) == {"visits.0.booking_id"}


def test_return_within_validity_reuses_the_registration(net, registrar, past_clinic):
    internal = net.department(net.county)
    surgery = Department.objects.create(institution=net.county, subject_code="04", name="外科")
    patient = f.register_patient(registrar, born=date(1990, 5, 5))
    first = local(6, "09:00")
    entries = do_check_in_visits(f.actor(registrar), [
        walk_in(patient, internal, first, charges=[Charge("lab", "20")], end=first + 20 * MIN),
        walk_in(patient, internal, local(4, "09:00")),  # day 3 of 3: reused
        walk_in(patient, surgery, local(4, "10:00")),  # another department: a new registration
        walk_in(patient, internal, local(3, "09:00")),  # day 4: a new registration
    ])
    regs = [e.registration for e in entries]
    assert regs[1].reused_from_id == regs[0].pk and regs[1].encounter_id == regs[0].encounter_id
    assert (regs[1].fee, regs[1].valid_until, entries[1].priority) == (Decimal("0.00"), regs[0].valid_until, 1)
    assert regs[2].reused_from_id is None and regs[2].encounter_id != regs[0].encounter_id
    assert regs[3].reused_from_id is None and regs[3].fee == Decimal("10.00")
    assert Encounter.objects.filter(patient=patient, klass="outpatient").count() == 3
    assert Registration.objects.filter(reused_from__isnull=False).count() == 1
    errors = refused(do_check_in_visits, f.actor(registrar), [walk_in(patient, internal, local(2, "09:00")),
                                                              walk_in(patient, internal, local(1, "09:00"),
                                                                      charges=[Charge("lab", "20")])])
    assert set(errors) == {"visits.1.charges"}  # a reuse opens no encounter to charge


def test_free_rules_waive_the_fee_and_name_the_rule(net, registrar, past_clinic):
    desk = f.actor(registrar)
    internal = net.department(net.county)
    age_rule = do_add_free_rule(desk, "age", min_age=65)
    contract_rule = do_add_free_rule(desk, "contracted")
    old = f.register_patient(registrar, born=date(1940, 3, 3))
    contracted = f.register_patient(registrar, born=date(1980, 3, 3))
    young = f.register_patient(registrar, born=date(1985, 3, 3))
    do_grant(SYSTEM, patient_id=contracted.pk, kind=GrantKind.FAMILY_DOCTOR, to_institution_id=net.county.pk,
             valid_from=local(5, "00:00"), valid_to=timezone.now() + timedelta(days=300))
    entries = do_check_in_visits(desk, [walk_in(old, internal, local(6, "09:00")),
                                        walk_in(contracted, internal, local(6, "09:10")),  # before the contract
                                        walk_in(young, internal, local(6, "09:20")),
                                        walk_in(contracted, internal, local(3, "09:10"))])
    regs = [e.registration for e in entries]
    waivers = {w.registration_id: w for w in Waiver.objects.all()}
    assert set(waivers) == {regs[0].pk, regs[3].pk}
    assert (regs[0].fee, waivers[regs[0].pk].rule_id, waivers[regs[0].pk].amount) == (0, age_rule.pk,
                                                                                      Decimal("10.00"))
    assert (regs[3].fee, waivers[regs[3].pk].rule_id) == (0, contract_rule.pk)
    assert regs[1].fee == regs[2].fee == Decimal("10.00")
    assert not ChargeItem.objects.filter(encounter_id=regs[0].encounter_id).exists()
    assert [e.priority for e in entries] == [2, 0, 0, 0]  # 70 and over first
    reasons = dict(AuditEvent.objects.filter(object_type="registration").values_list("object_id", "reason"))
    assert (reasons[str(regs[0].pk)], reasons[str(regs[1].pk)]) == ("waived", "")


def test_tier_follows_the_doctor_and_needs_a_fee(net, registrar, patient, expert):
    internal = net.department(net.county)
    desk = f.actor(registrar)
    errors = refused(do_check_in_visits, desk, [walk_in(patient, internal, local(2, "09:00"),
                                                        doctor_id=expert.staff_id)])
    assert set(errors) == {"visits.0.tier"}  # no fees set in this test
    errors = refused(do_check_in_visits, desk, [walk_in(patient, internal, local(2, "09:00"), doctor_id=10**9),
                                                PastVisit(local(2, "09:00"), local(2, "09:01"), patient_id=patient.pk)])
    assert set(errors) == {"visits.0.doctor_id"}


@pytest.mark.usefixtures("fees")
def test_expert_walk_in_and_queue_numbers(net, registrar, patient, expert):
    internal = net.department(net.county)
    other = f.register_patient(registrar)
    desk = f.actor(registrar)
    entries = do_check_in_visits(desk, [walk_in(other, internal, local(2, "09:30")),
                                        walk_in(patient, internal, local(2, "09:00"), doctor_id=expert.staff_id)])
    assert [e.number for e in entries] == [2, 1]  # numbered in the order of check-in
    assert (entries[1].registration.tier, entries[1].registration.fee) == ("expert", Decimal("25.00"))
    errors = refused(do_check_in_visits, desk, [walk_in(patient, internal, local(2, "11:00"))])
    assert set(errors) == {"visits.0.patient_id"}  # still in that queue today
    (third,) = do_check_in_visits(desk, [walk_in(f.register_patient(registrar), internal, local(2, "11:00"))])
    assert third.number == 3


def test_walk_in_of_a_patient_out_of_sight_is_denied(net, registrar, fees):
    stranger = f.register_patient(f.make_membership(net.village, Role.REGISTRAR))
    errors = refused(do_check_in_visits, f.actor(registrar), [walk_in(stranger, net.department(net.county),
                                                                      local(2, "09:00"))])
    assert set(errors) == {"visits.0.patient_id"}


# --- the doctor's calls ---------------------------------------------------------------------------------


def test_seen_in_order_with_an_audit_row(net, registrar, owner, patient, fees):
    internal = net.department(net.county)
    (entry,) = do_check_in_visits(f.actor(registrar), [walk_in(patient, internal, local(2, "09:00"))])
    doctor = f.actor(owner)
    checked = entry.checked_in_at
    errors = refused(do_see_visits, doctor, [Seen(entry.pk, checked - MIN, checked, checked)])
    assert set(errors) == {"seen.0.called_at"}
    errors = refused(do_see_visits, doctor, [Seen(entry.pk, checked + 3 * MIN, checked + 2 * MIN, checked)])
    assert set(errors) == {"seen.0.started_at"}
    errors = refused(do_see_visits, doctor, [Seen(entry.pk, checked, checked + MIN, checked)])
    assert set(errors) == {"seen.0.ended_at"}
    mark = AuditEvent.objects.count()
    do_see_visits(doctor, [Seen(entry.pk, checked + 3 * MIN, checked + 4 * MIN, checked + 15 * MIN)])
    entry.refresh_from_db()
    assert (entry.status, entry.calls, entry.doctor_id) == ("done", 1, owner.staff_id)
    assert entry.arrived_at <= entry.checked_in_at <= entry.called_at <= entry.started_at <= entry.ended_at
    assert list(AuditEvent.objects.order_by("pk")[mark:].values_list("object_type", "reason")) == [
        ("queue", "called, start, end")]
    errors = refused(do_see_visits, doctor, [Seen(entry.pk, checked + 3 * MIN, checked + 4 * MIN, checked + 5 * MIN)])
    assert set(errors) == {"seen.0.status"}


def test_seen_only_by_the_booked_doctor_of_the_institution(net, registrar, owner, patient, past_clinic, colleague):
    s = slot(past_clinic, 5)
    booking = book(registrar, patient, s)
    (entry,) = do_check_in_visits(f.actor(registrar), [PastVisit(s.start, s.start, booking_id=booking.pk)])
    assert entry.doctor_id == owner.staff_id
    other_doctor = f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county))
    times = (s.start + MIN, s.start + 2 * MIN, s.start + 9 * MIN)
    assert set(refused(do_see_visits, f.actor(other_doctor), [Seen(entry.pk, *times)])) == {"seen.0.entry_id"}
    assert set(refused(do_see_visits, f.actor(colleague), [Seen(entry.pk, *times)])) == {"seen.0.entry_id"}
    assert QueueEntry.objects.get(pk=entry.pk).status == "waiting"
