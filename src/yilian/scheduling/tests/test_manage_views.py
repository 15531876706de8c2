"""The schedule pages: the list, a new schedule, slot generation, stopping a clinic (停诊) — a whole
session or one slot — with the patients told and the alternatives shown, and holidays. Bad input is 400
with the field's message in both languages and nothing written; another institution's schedule or holiday
is 404; a role without `schedule` gets 403."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from yilian.network.roles import Role
from yilian.scheduling.actions import do_add_holiday, do_book
from yilian.scheduling.models import BookingStatus, Holiday, Message, Schedule, Slot, SlotStatus
from yilian.scheduling.tests.clinics import slots_on
from yilian.testing import factories as f
from yilian.testing.checks import LANGUAGES, contains, form_errors, is_english, marked_invalid, row_counts

pytestmark = pytest.mark.usefixtures("fees")
STOP_ROWS = ("scheduling.Message", "scheduling.BookingEvent", "access.AuditEvent")


def schedule_data(department, **overrides) -> dict:
    today = timezone.localdate()
    data = {"department": department.pk, "doctor": "", "session": "evening", "start_time": "18:00",
            "end_time": "20:00", "slot_minutes": "20", "capacity": "3", "referral_reserved": "1",
            "release_hours": "24", "weekdays": ["1", "3", "5"], "valid_from": today.isoformat(),
            "valid_to": (today + timedelta(days=60)).isoformat()}
    data.update(overrides)
    return data


def stopped(schedule, day) -> int:
    return Slot.objects.filter(schedule=schedule, date=day, status=SlotStatus.STOPPED).count()


def test_list_create_and_generate(client_as, net, registrar, owner, clinic):
    client = client_as(registrar)
    listing = client.get(reverse("scheduling:schedules"))
    assert listing.status_code == 200
    assert contains(listing, reverse("scheduling:schedule", args=[clinic.pk]))
    assert client.get(reverse("scheduling:schedule_new")).status_code == 200
    resp = client.post(reverse("scheduling:schedule_new"),
                       schedule_data(net.department(net.county), doctor=str(owner.staff_id)))
    assert resp.status_code == 302
    schedule = Schedule.objects.exclude(pk=clinic.pk).get()
    assert (schedule.weekdays, schedule.session, schedule.doctor_id, schedule.tier) == (
        "135", "evening", owner.staff_id, "ordinary")
    assert resp["Location"] == reverse("scheduling:schedule", args=[schedule.pk])
    today = timezone.localdate()
    resp = client.post(reverse("scheduling:schedule_generate", args=[schedule.pk]),
                       {"date_from": today.isoformat(), "date_to": (today + timedelta(days=13)).isoformat()})
    assert resp.status_code == 302
    days = {d for d in (today + timedelta(days=n) for n in range(14)) if d.isoweekday() in (1, 3, 5)}
    assert Slot.objects.filter(schedule=schedule).count() == 6 * len(days)
    detail = client.get(resp["Location"])
    assert detail.status_code == 200
    assert len(detail.context["days"]) == len(days)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_bad_schedule_names_each_field(client_as, net, registrar, colleague, lang):
    client = client_as(registrar, **LANGUAGES[lang])
    before = row_counts("scheduling.Schedule")
    resp = client.post(reverse("scheduling:schedule_new"), schedule_data(
        net.department(net.county), start_time="20:00", end_time="18:00", slot_minutes="0", capacity="500",
        weekdays=[], valid_to=(timezone.localdate() - timedelta(days=1)).isoformat()))
    assert resp.status_code == 400
    errors = form_errors(resp)
    assert set(errors) == {"weekdays"}  # the form's own check first: a required field
    assert marked_invalid(resp, "weekdays")
    resp = client.post(reverse("scheduling:schedule_new"), schedule_data(
        net.department(net.county), start_time="20:00", end_time="18:00", slot_minutes="0", capacity="500",
        valid_to=(timezone.localdate() - timedelta(days=1)).isoformat()))
    assert resp.status_code == 400
    errors = form_errors(resp)
    assert set(errors) == {"end_time", "slot_minutes", "capacity", "valid_to"}
    for field in errors:
        assert marked_invalid(resp, field), field
    if lang == "en":
        assert "end after it starts" in errors["end_time"][0]
        assert all(is_english(e) for e in sum(errors.values(), []))
    other = client.post(reverse("scheduling:schedule_new"), schedule_data(
        net.department(net.township), doctor=str(colleague.staff_id)))
    assert other.status_code == 400
    assert set(form_errors(other)) == {"department", "doctor"}  # not of this institution: not a choice
    assert row_counts("scheduling.Schedule") == before


@pytest.mark.parametrize("lang", LANGUAGES)
def test_bad_generation_range(client_as, registrar, clinic, lang):
    client = client_as(registrar, **LANGUAGES[lang])
    today = timezone.localdate()
    before = row_counts("scheduling.Slot")
    for data, english in (({"date_from": today.isoformat(), "date_to": (today - timedelta(days=1)).isoformat()},
                           "end on or after"),
                          ({"date_from": today.isoformat(), "date_to": (today + timedelta(days=200)).isoformat()},
                           "at most 92 days"),
                          ({"date_from": today.isoformat(), "date_to": "2026-02-30"}, "valid date")):
        resp = client.post(reverse("scheduling:schedule_generate", args=[clinic.pk]), data)
        assert resp.status_code == 400
        errors = form_errors(resp)
        assert list(errors) == ["date_to"]
        assert marked_invalid(resp, "date_to")
        if lang == "en":
            assert english in errors["date_to"][0] and is_english(errors["date_to"][0])
    assert row_counts("scheduling.Slot") == before


def test_stop_a_whole_session(client_as, registrar, patient, clinic):
    day = slots_on(clinic, 3)
    other = f.register_patient(registrar)
    first, second = (do_book(f.actor(registrar), p.pk, s.pk) for p, s in ((patient, day[0]), (other, day[2])))
    client = client_as(registrar)
    page = client.get(reverse("scheduling:schedule_stop", args=[clinic.pk]), {"date": day[0].date.isoformat()})
    assert page.status_code == 200
    assert [c[0] for c in page.context["form"].fields["slot"].choices] == [""] + [s.pk for s in day]
    resp = client.post(reverse("scheduling:schedule_stop", args=[clinic.pk]),
                       {"date": day[0].date.isoformat(), "slot": "", "reason": "医生外出会诊"})
    assert resp.status_code == 200
    assert contains(resp, 'data-testid="notified">2<')
    assert stopped(clinic, day[0].date) == 4
    for booking in (first, second):
        booking.refresh_from_db()
        assert booking.status == BookingStatus.CANCELLED
    messages = list(Message.objects.order_by("pk"))
    assert len(messages) == 2
    for message in messages:
        assert contains(resp, message.text)
        assert contains(resp, message.booking.number)
    assert contains(resp, 'data-testid="offered"')
    for person in (patient, other):
        assert f.leaked(resp.content, person) == []  # booking numbers only, no names
    # The schedule's page lists the notices sent.
    detail = client.get(reverse("scheduling:schedule", args=[clinic.pk]))
    assert contains(detail, messages[0].text)


def test_stop_one_slot(client_as, registrar, patient, clinic):
    day = slots_on(clinic, 3)
    booking = do_book(f.actor(registrar), patient.pk, day[1].pk)
    resp = client_as(registrar).post(reverse("scheduling:schedule_stop", args=[clinic.pk]),
                                     {"date": day[1].date.isoformat(), "slot": str(day[1].pk), "reason": "设备检修"})
    assert resp.status_code == 200
    assert contains(resp, 'data-testid="notified">1<')
    assert stopped(clinic, day[1].date) == 1
    booking.refresh_from_db()
    assert (booking.status, booking.reason) == (BookingStatus.CANCELLED, "设备检修")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_bad_stop_changes_nothing(client_as, registrar, patient, clinic, lang):
    day = slots_on(clinic, 3)
    booking = do_book(f.actor(registrar), patient.pk, day[0].pk)
    client = client_as(registrar, **LANGUAGES[lang])
    yesterday = timezone.localdate() - timedelta(days=1)
    later = slots_on(clinic, 4)[0]
    cases = [
        ({"date": day[0].date.isoformat(), "reason": ""}, "reason", "required"),
        ({"date": day[0].date.isoformat(), "reason": "x"}, "reason", "Give the reason"),
        ({"date": yesterday.isoformat(), "reason": "停诊"}, "date", "not in the past"),
        ({"date": "not a day", "reason": "停诊"}, "date", "valid date"),
        ({"date": day[0].date.isoformat(), "slot": str(later.pk), "reason": "停诊"}, "slot", "valid choice"),
        ({"date": (timezone.localdate() + timedelta(days=300)).isoformat(), "reason": "停诊"}, "date",
         "no open slots"),
    ]
    for data, field, english in cases:
        before = row_counts(*STOP_ROWS)
        resp = client.post(reverse("scheduling:schedule_stop", args=[clinic.pk]), data)
        assert resp.status_code == 400, data
        errors = form_errors(resp)
        assert list(errors) == [field], data
        assert marked_invalid(resp, field)
        if lang == "en":
            assert english in errors[field][0] and is_english(errors[field][0]), errors
        assert row_counts(*STOP_ROWS) == before
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED
    assert not Slot.objects.filter(status=SlotStatus.STOPPED).exists()


def test_holidays_page(client_as, registrar, clinic):
    client = client_as(registrar)
    assert client.get(reverse("scheduling:holidays")).status_code == 200
    day = slots_on(clinic, 2)[0].date
    resp = client.post(reverse("scheduling:holidays"), {"date": day.isoformat(), "name": "调休"}, follow=True)
    assert resp.status_code == 200
    holiday = Holiday.objects.get()
    assert (holiday.date, holiday.name) == (day, "调休")
    assert contains(resp, 'data-testid="holidays"')
    assert any(m.level_tag == "warning" for m in resp.context["messages"])  # its slots are still open
    resp = client.post(reverse("scheduling:holiday_remove", args=[holiday.pk]))
    assert resp.status_code == 302
    assert not Holiday.objects.exists()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_bad_holiday(client_as, registrar, lang):
    client = client_as(registrar, **LANGUAGES[lang])
    today = timezone.localdate()
    do_add_holiday(f.actor(registrar), today, "")
    for data, field, english in (({"date": today.isoformat()}, "date", "already a holiday"),
                                 ({"date": ""}, "date", "required"),
                                 ({"date": today.isoformat(), "name": "节" * 51}, "name", "at most 50")):
        before = row_counts("scheduling.Holiday", "access.AuditEvent")
        resp = client.post(reverse("scheduling:holidays"), data)
        assert resp.status_code == 400
        errors = form_errors(resp)
        assert list(errors) == [field]
        assert marked_invalid(resp, field)
        if lang == "en":
            assert english in errors[field][0] and is_english(errors[field][0])
        assert row_counts("scheduling.Holiday", "access.AuditEvent") == before


def test_another_institutions_schedule_or_holiday_is_404(client_as, net, registrar, clinic):
    holiday = do_add_holiday(f.actor(registrar), timezone.localdate(), "")
    elsewhere = client_as(f.make_membership(net.township, Role.REGISTRAR))
    day = slots_on(clinic, 3)[0].date.isoformat()
    for resp in (elsewhere.get(reverse("scheduling:schedule", args=[clinic.pk])),
                 elsewhere.post(reverse("scheduling:schedule_generate", args=[clinic.pk]),
                                {"date_from": day, "date_to": day}),
                 elsewhere.get(reverse("scheduling:schedule_stop", args=[clinic.pk])),
                 elsewhere.post(reverse("scheduling:schedule_stop", args=[clinic.pk]), {"date": day, "reason": "停诊"}),
                 elsewhere.post(reverse("scheduling:holiday_remove", args=[holiday.pk]))):
        assert resp.status_code == 404
    assert not Slot.objects.filter(status=SlotStatus.STOPPED).exists()
    assert Holiday.objects.filter(pk=holiday.pk).exists()
    listing = elsewhere.get(reverse("scheduling:schedules"))
    assert not contains(listing, reverse("scheduling:schedule", args=[clinic.pk]))


def test_roles_without_schedule_get_403(client_as, owner, manager, nurse, clinic):
    today = timezone.localdate().isoformat()
    for membership in (owner, manager, nurse):
        client = client_as(membership)
        for resp in (client.get(reverse("scheduling:schedules")),
                     client.get(reverse("scheduling:schedule_new")),
                     client.post(reverse("scheduling:schedule_stop", args=[clinic.pk]),
                                 {"date": today, "reason": "停诊"}),
                     client.post(reverse("scheduling:holidays"), {"date": today})):
            assert resp.status_code == 403
    assert not Holiday.objects.exists()
    assert not Slot.objects.filter(status=SlotStatus.STOPPED).exists()
