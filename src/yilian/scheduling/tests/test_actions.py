"""Schedules, slot generation, booking, cancelling, rescheduling, no-shows and stopping a clinic, through
the actions: the rows written, each refusal naming its field, and nothing written on a refusal."""

import re
from datetime import UTC, date, time, timedelta
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from yilian.access.models import AuditEvent, CareRelation
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.patients.actions import do_check_in
from yilian.scheduling.actions import (
    SlotTaken,
    do_add_holiday,
    do_book,
    do_cancel,
    do_create_schedule,
    do_generate_slots,
    do_mark_no_show,
    do_reschedule,
    do_set_fee,
    do_set_policy,
    do_stop_clinic,
)
from yilian.scheduling.models import Booking, BookingStatus, FeePolicy, Message, Slot, SlotStatus
from yilian.scheduling.tests.clinics import make_clinic, new_schedule, slots_on
from yilian.testing import factories as f
from yilian.testing.checks import row_counts

COUNTED = ("scheduling.Booking", "scheduling.BookingEvent", "access.CareRelation", "access.AuditEvent")


def refused(call, *args, counted=COUNTED, **kwargs) -> dict[str, str]:
    before = row_counts(*counted)
    with pytest.raises(ActionError) as exc:
        call(*args, **kwargs)
    assert row_counts(*counted) == before
    return exc.value.errors


def book(desk, patient, slot, channel="window"):
    return do_book(f.actor(desk), patient.pk, slot.pk, channel)


# --- schedules and slots ---------------------------------------------------------------------------------


def test_schedule_tier_follows_the_doctor(net, registrar, owner, expert):
    desk, dept = f.actor(registrar), net.department(net.county)
    assert do_create_schedule(desk, new_schedule(dept, doctor_id=owner.staff_id)).tier == "ordinary"
    assert do_create_schedule(desk, new_schedule(dept, doctor_id=expert.staff_id)).tier == "expert"
    assert do_create_schedule(desk, new_schedule(dept)).tier == "ordinary"  # a general clinic
    assert do_create_schedule(desk, new_schedule(dept, doctor_id=expert.staff_id, special=True)).tier == "special"


def test_schedule_reports_every_bad_field(net, registrar, colleague):
    errors = refused(do_create_schedule, f.actor(registrar), new_schedule(
        net.department(net.township), doctor_id=colleague.staff_id, session="night", start_time=time(10),
        end_time=time(8), slot_minutes=0, capacity=3, referral_reserved=4, release_hours=500, weekdays="18",
        valid_to=timezone.localdate() - timedelta(days=1)), counted=("scheduling.Schedule",))
    assert set(errors) == {"department_id", "doctor_id", "session", "end_time", "slot_minutes",
                           "referral_reserved", "release_hours", "weekdays", "valid_to"}


def test_only_schedulers_manage_schedules(net, owner):
    errors = refused(do_create_schedule, f.actor(owner), new_schedule(net.department(net.county)),
                     counted=("scheduling.Schedule",))
    assert set(errors) == {"role"}


def test_slots_follow_weekdays_holidays_and_validity(net, registrar, fees):
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())  # next Monday
    holiday = monday + timedelta(days=2)
    do_add_holiday(f.actor(registrar), holiday, "调休")
    schedule = do_create_schedule(f.actor(registrar), new_schedule(
        net.department(net.county), weekdays="135", valid_from=monday, valid_to=monday + timedelta(days=9)))
    created = do_generate_slots(f.actor(registrar), schedule.pk, today, monday + timedelta(days=30))
    days = sorted(set(Slot.objects.filter(schedule=schedule).values_list("date", flat=True)))
    # Mon, (Wed is the holiday), Fri, Mon, Wed of the next week; nothing after valid_to.
    assert days == [monday, monday + timedelta(days=4), monday + timedelta(days=7), monday + timedelta(days=9)]
    assert created == 4 * len(days)
    first = Slot.objects.filter(schedule=schedule).order_by("start").first()
    assert timezone.localtime(first.start).time() == time(8) and first.start.astimezone(UTC).hour == 0
    assert first.end - first.start == timedelta(minutes=30)
    assert first.release_at == first.start - timedelta(hours=24)
    # Idempotent: a rerun adds nothing.
    assert do_generate_slots(f.actor(registrar), schedule.pk, today, monday + timedelta(days=30)) == 0
    assert Slot.objects.filter(schedule=schedule).count() == created


def test_generation_refuses_bad_ranges_and_foreign_schedules(net, registrar, clinic):
    today = timezone.localdate()
    assert set(refused(do_generate_slots, f.actor(registrar), clinic.pk, today, today - timedelta(days=1),
                       counted=("scheduling.Slot",))) == {"date_to"}
    assert set(refused(do_generate_slots, f.actor(registrar), clinic.pk, today, today + timedelta(days=200),
                       counted=("scheduling.Slot",))) == {"date_to"}
    elsewhere = f.make_membership(net.township, Role.REGISTRAR)
    assert set(refused(do_generate_slots, f.actor(elsewhere), clinic.pk, today, today,
                       counted=("scheduling.Slot",))) == {"schedule_id"}


def test_policy_rows_are_checked(net, registrar, owner):
    desk = f.actor(registrar)
    errors = refused(do_set_policy, desk, max_daily_bookings=0, registration_valid_days=99,
                     counted=("scheduling.OutpatientPolicy",))
    assert set(errors) == {"max_daily_bookings", "registration_valid_days"}
    assert set(refused(do_set_fee, desk, "vip", "10", counted=("scheduling.FeePolicy",))) == {"tier"}
    for bad in ("-1", "abc", "NaN", "100000"):
        assert set(refused(do_set_fee, desk, "ordinary", bad, counted=("scheduling.FeePolicy",))) == {"amount"}
    assert set(refused(do_set_fee, f.actor(owner), "ordinary", "5", counted=("scheduling.FeePolicy",))) == {"role"}
    do_set_fee(desk, "ordinary", "6")
    do_set_fee(desk, "ordinary", "8.5")  # a policy row is changed, not added
    assert list(FeePolicy.objects.values_list("tier", "amount")) == [("ordinary", Decimal("8.50"))]


# --- booking ---------------------------------------------------------------------------------------------


def test_book_claims_a_place_and_gives_the_clinic_a_care_relationship(net, registrar, township_desk, patient,
                                                                      slot):
    do_check_in(f.actor(township_desk), patient.resident_id)  # the patient stands at the township desk
    mark = AuditEvent.objects.count()
    booking = book(township_desk, patient, slot)
    slot.refresh_from_db()
    assert (slot.booked, slot.referral_booked, slot.issued) == (1, 0, 1)
    assert booking.status == "booked" and booking.serial == 1
    assert booking.number == f"{slot.date:%Y%m%d}-{slot.pk}-001"
    assert CareRelation.objects.filter(patient=patient, institution=net.county, source_type="booking",
                                       source_id=booking.pk).exists()
    rows = list(AuditEvent.objects.order_by("pk")[mark:])
    assert [(r.object_type, r.action, r.outcome, r.institution_id) for r in rows] == [
        ("booking", "create", "success", net.township.pk)]
    assert list(booking.events.values_list("kind", flat=True)) == ["booked"]


def test_booking_numbers_are_unique(registrar, patient, clinic):
    others = [f.register_patient(registrar) for _ in range(3)]
    bookings = [book(registrar, p, slots_on(clinic, 3)[i]) for i, p in enumerate([patient, *others])]
    assert len({b.number for b in bookings}) == 4


def test_an_unseen_patient_is_404_and_audited(outsider, net, patient, slot):
    village_desk = f.make_membership(net.village, Role.REGISTRAR)
    mark = AuditEvent.objects.count()
    with pytest.raises(Http404):
        book(village_desk, patient, slot)
    rows = list(AuditEvent.objects.order_by("pk")[mark:])
    assert [(r.object_type, r.outcome, r.patient_id) for r in rows] == [("booking", "denied", patient.pk)]
    assert not Booking.objects.exists()


def test_no_booking_in_the_past_or_in_a_stopped_clinic(registrar, patient, clinic, slot):
    started = slots_on(clinic, 0)[0]
    Slot.objects.filter(pk=started.pk).update(start=timezone.now() - timedelta(minutes=1),
                                              end=timezone.now() + timedelta(minutes=29))
    assert set(refused(book, registrar, patient, started)) == {"slot_id"}
    do_stop_clinic(f.actor(registrar), clinic.pk, slot.date, "医生外出会诊")
    assert set(refused(book, registrar, patient, slot)) == {"slot_id"}
    assert set(refused(do_book, f.actor(registrar), patient.pk, 10**9, "window")) == {"slot_id"}
    assert set(refused(do_book, f.actor(registrar), patient.pk, slot.pk, "fax")) == {"channel"}


def test_a_doctor_may_not_book(owner, patient, slot):
    assert set(refused(book, owner, patient, slot)) == {"role"}


def test_limit_per_patient_department_and_day(net, registrar, patient, clinic):
    first, second = slots_on(clinic, 3)[:2]
    book(registrar, patient, first)
    errors = refused(book, registrar, patient, second)
    assert set(errors) == {"patient_id"}
    # Another day is another count.
    book(registrar, patient, slots_on(clinic, 4)[0])
    # The institution's policy row raises the limit.
    do_set_policy(f.actor(registrar), max_daily_bookings=2, registration_valid_days=3)
    book(registrar, patient, second)
    assert set(refused(book, registrar, patient, slots_on(clinic, 3)[2])) == {"patient_id"}


def test_the_same_slot_twice_is_refused(net, registrar, patient, slot):
    do_set_policy(f.actor(registrar), max_daily_bookings=5, registration_valid_days=3)
    book(registrar, patient, slot)
    assert set(refused(book, registrar, patient, slot)) == {"slot_id"}


def test_referral_place_is_kept_until_released(net, registrar, township_desk, patient, clinic, slot):
    """Capacity 2, one reserved for referral 24 h before: three days ahead, the window gets one place."""
    other, third = f.register_patient(registrar), f.register_patient(registrar)
    book(registrar, patient, slot)
    with pytest.raises(SlotTaken) as exc:
        book(registrar, other, slot)
    assert set(exc.value.errors) == {"slot_id"}
    assert exc.value.alternatives and slot not in exc.value.alternatives
    assert all(s.schedule.department_id == clinic.department_id for s in exc.value.alternatives)
    nearest = exc.value.alternatives[0]
    assert f"#{nearest.pk}" in exc.value.errors["slot_id"]
    assert abs(nearest.start - slot.start) == timedelta(minutes=30)
    # A referral from the township takes the reserved place; the referral channel is for other institutions.
    do_check_in(f.actor(township_desk), other.resident_id)
    assert set(refused(book, registrar, other, slot, "referral")) == {"channel"}
    book(township_desk, other, slot, "referral")
    slot.refresh_from_db()
    assert (slot.booked, slot.referral_booked) == (2, 1)
    do_check_in(f.actor(township_desk), third.resident_id)
    with pytest.raises(SlotTaken):
        book(township_desk, third, slot, "referral")


def test_reserved_place_becomes_ordinary_after_the_cut_off(net, registrar, patient):
    clinic = make_clinic(registrar, net.department(net.county), release_hours=168)  # released a week before
    slot = slots_on(clinic, 3)[0]
    assert slot.release_at < timezone.now()
    other = f.register_patient(registrar)
    book(registrar, patient, slot)
    book(registrar, other, slot)
    slot.refresh_from_db()
    assert (slot.booked, slot.referral_booked) == (2, 0)


def test_referral_may_use_ordinary_places_too(net, registrar, township_desk, patient, slot):
    other = f.register_patient(registrar)
    for p in (patient, other):
        do_check_in(f.actor(township_desk), p.resident_id)
        book(township_desk, p, slot, "referral")
    slot.refresh_from_db()
    assert (slot.booked, slot.referral_booked) == (2, 2)


# --- cancel, reschedule, no-show -------------------------------------------------------------------------


def test_cancel_frees_the_place(registrar, patient, slot):
    booking = book(registrar, patient, slot)
    mark = AuditEvent.objects.count()
    do_cancel(f.actor(registrar), booking.pk, "患者改期")
    booking.refresh_from_db()
    slot.refresh_from_db()
    assert (booking.status, booking.reason, slot.booked) == ("cancelled", "患者改期", 0)
    assert list(booking.events.values_list("kind", flat=True)) == ["booked", "cancelled"]
    assert [(r.object_type, r.action) for r in AuditEvent.objects.order_by("pk")[mark:]] == [("booking", "update")]
    assert set(refused(do_cancel, f.actor(registrar), booking.pk)) == {"booking_id"}
    other = f.register_patient(registrar)
    book(registrar, other, slot)  # the place is free again


def test_cancel_by_someone_who_cannot_see_the_patient_is_404(net, registrar, patient, slot):
    booking = book(registrar, patient, slot)
    with pytest.raises(Http404):
        do_cancel(f.actor(f.make_membership(net.village, Role.REGISTRAR)), booking.pk)
    booking.refresh_from_db()
    assert booking.status == "booked"


def test_reschedule_moves_the_booking(registrar, patient, clinic, slot):
    booking = book(registrar, patient, slot)
    target = slots_on(clinic, 4)[1]
    new = do_reschedule(f.actor(registrar), booking.pk, target.pk)
    booking.refresh_from_db()
    slot.refresh_from_db()
    target.refresh_from_db()
    assert (booking.status, new.status, new.slot_id) == ("cancelled", "booked", target.pk)
    assert (slot.booked, target.booked) == (0, 1)
    assert new.events.get().data == {"channel": "window", "replaces": booking.pk}


def test_reschedule_to_a_full_slot_keeps_the_old_booking(registrar, patient, clinic, slot):
    booking = book(registrar, patient, slot)
    full = slots_on(clinic, 4)[0]
    book(registrar, f.register_patient(registrar), full)  # the one ordinary place is gone
    errors = refused(do_reschedule, f.actor(registrar), booking.pk, full.pk,
                     counted=COUNTED + ("scheduling.Slot",))
    assert set(errors) == {"slot_id"}
    booking.refresh_from_db()
    slot.refresh_from_db()
    full.refresh_from_db()
    assert (booking.status, slot.booked, full.booked) == ("booked", 1, 1)


def test_no_show_only_after_the_slot_ends(net, registrar, township_desk, patient, slot):
    booking = book(registrar, patient, slot)
    assert set(refused(do_mark_no_show, f.actor(registrar), booking.pk)) == {"booking_id"}
    Slot.objects.filter(pk=slot.pk).update(start=timezone.now() - timedelta(hours=2),
                                           end=timezone.now() - timedelta(hours=1))
    do_check_in(f.actor(township_desk), patient.resident_id)
    assert set(refused(do_mark_no_show, f.actor(township_desk), booking.pk)) == {"booking_id"}
    assert do_mark_no_show(f.actor(registrar), booking.pk).status == "no_show"
    assert set(refused(do_cancel, f.actor(registrar), booking.pk)) == {"booking_id"}


# --- stopping a clinic -------------------------------------------------------------------------------------


def test_stop_clinic_cancels_notifies_and_offers_alternatives(net, registrar, patient, clinic):
    do_set_policy(f.actor(registrar), max_daily_bookings=2, registration_valid_days=3)
    day = slots_on(clinic, 3)
    other = f.register_patient(registrar)
    b1, b2 = book(registrar, patient, day[0]), book(registrar, patient, day[1])
    b3 = book(registrar, other, day[2])
    untouched = book(registrar, other, slots_on(clinic, 4)[0])
    mark = AuditEvent.objects.count()
    messages = do_stop_clinic(f.actor(registrar), clinic.pk, day[0].date, "医生外出会诊")
    assert Slot.objects.filter(schedule=clinic, date=day[0].date, status=SlotStatus.STOPPED).count() == 4
    for b in (b1, b2, b3):
        b.refresh_from_db()
        assert (b.status, b.reason) == (BookingStatus.CANCELLED, "医生外出会诊")
    untouched.refresh_from_db()
    assert untouched.status == "booked"
    # One message per booked patient, each naming the nearest free slots (the day before or after).
    assert sorted(m.patient_id for m in messages) == sorted([patient.pk, other.pk])
    assert Message.objects.count() == 2
    alternatives = set(Slot.objects.filter(schedule=clinic, date__in=[day[0].date - timedelta(days=1),
                                                                      day[0].date + timedelta(days=1)],
                                           start__gt=timezone.now()).values_list("pk", flat=True))
    for message in messages:
        assert "停诊" in message.text or "stopped" in message.text
        named = {int(n) for n in re.findall(r"#(\d+)", message.text)}
        assert named and named <= alternatives
    rows = list(AuditEvent.objects.order_by("pk")[mark:])
    assert sorted((r.patient_id, r.reason) for r in rows) == sorted(
        [(patient.pk, "clinic stopped")] * 2 + [(other.pk, "clinic stopped")])
    assert set(refused(do_stop_clinic, f.actor(registrar), clinic.pk, day[0].date, "再次停诊")) == {"date"}


def test_stop_clinic_refusals(net, registrar, owner, clinic):
    today = timezone.localdate()
    assert set(refused(do_stop_clinic, f.actor(registrar), clinic.pk, today - timedelta(days=1), "停诊")) == {"date"}
    assert set(refused(do_stop_clinic, f.actor(registrar), clinic.pk, today, "")) == {"reason"}
    assert set(refused(do_stop_clinic, f.actor(owner), clinic.pk, today, "停诊")) == {"role"}
    assert set(refused(do_stop_clinic, f.actor(registrar), clinic.pk, date(2099, 1, 1), "停诊")) == {"date"}
