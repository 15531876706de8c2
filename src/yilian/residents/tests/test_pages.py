"""The residents' pages end to end with the test client: log in by code, find a clinic, book for a family
member, see the booking and the queue on the day, cancel; nothing of another family's is reachable; every
page showing a patient is audited with the basis `self`."""

import re
from datetime import timedelta

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from yilian.access.models import AuditEvent, Basis, Outcome
from yilian.errors import ActionError
from yilian.residents import actions
from yilian.residents.login import do_request_code, do_verify
from yilian.residents.tests.conftest import OTHER_PHONE, PHONE
from yilian.residents.views import _next
from yilian.scheduling.actions import do_book, do_stop_clinic
from yilian.scheduling.models import Booking, BookingEvent, BookingStatus, Channel, Message, QueueStatus, Slot
from yilian.scheduling.queue import CheckIn, do_call_next, do_queue_check_in
from yilian.scheduling.tests.clinics import slots_on
from yilian.testing import factories as f
from yilian.testing.checks import contains


def log_in(client, phone=PHONE):
    page = client.post(reverse("residents:login"), {"phone": phone, "step": "phone"})
    assert page.status_code == 200
    code = re.search(r'class="code-shown">(\d{6})<', page.content.decode()).group(1)
    done = client.post(reverse("residents:login"), {"phone": phone, "code": code, "step": "code"})
    assert done.status_code == 302
    return done


def test_pages_about_patients_ask_for_a_log_in_and_come_back(client, family, clinic):
    book = reverse("residents:book", args=[clinic.pk, (timezone.localdate() + timedelta(days=3)).isoformat()])
    for url in (reverse("residents:home"), book, reverse("residents:booking", args=[1])):
        resp = client.get(url)
        assert resp.status_code == 302 and resp["Location"].startswith(reverse("residents:login"))
    assert client.get(reverse("residents:find"), {"q": "内科"}).status_code == 200  # no patient data there
    page = client.post(reverse("residents:login"), {"phone": PHONE, "step": "phone", "next": book})
    code = re.search(r'class="code-shown">(\d{6})<', page.content.decode()).group(1)
    done = client.post(reverse("residents:login"), {"phone": PHONE, "code": code, "step": "code", "next": book})
    assert done["Location"] == book


def test_the_way_back_after_log_in_stays_on_the_residents_pages(rf):
    for target in ("https://evil.example/m/", "//evil.example/m/", "/patients/", ""):
        assert _next(rf.get("/m/login/", {"next": target})) == reverse("residents:home")
    assert _next(rf.get("/m/login/", {"next": "/m/find/?q=x"})) == "/m/find/?q=x"


def test_log_in_shows_the_family_and_audits_each_as_self(client, family, stranger):
    done = log_in(client)
    assert done["Location"] == reverse("residents:home")
    mark = AuditEvent.objects.count()
    home = client.get(reverse("residents:home"))
    assert home.status_code == 200
    mother, son = family
    assert contains(home, mother.name) and contains(home, son.name) and not contains(home, stranger.name)
    rows = list(AuditEvent.objects.order_by("pk")[mark:])
    assert {r.patient_id for r in rows} == {mother.pk, son.pk}
    assert {(r.basis, r.username, r.user_id, r.outcome) for r in rows} == {(Basis.SELF, "resident", None,
                                                                            Outcome.SUCCESS)}
    assert all(r.source.startswith("resident:") and PHONE not in r.source for r in rows)


def test_a_wrong_code_answers_400_with_the_field(client, family):
    client.post(reverse("residents:login"), {"phone": PHONE, "step": "phone"})
    resp = client.post(reverse("residents:login"), {"phone": PHONE, "code": "000000", "step": "code"})
    if resp.status_code == 302:  # the one-in-a-million right guess
        return
    assert resp.status_code == 400 and "code" in resp.context["form"].errors
    assert client.get(reverse("residents:home")).status_code == 302


def test_find_book_see_and_cancel(client, family, clinic):
    log_in(client)
    found = client.get(reverse("residents:find"), {"q": "内科"})
    assert found.status_code == 200
    day = timezone.localdate() + timedelta(days=3)
    link = reverse("residents:book", args=[clinic.pk, day.isoformat()])
    assert contains(found, link)
    page = client.get(link)
    assert page.status_code == 200
    slot = slots_on(clinic, 3)[0]
    mother, son = family
    resp = client.post(link, {"patient": son.pk, "slot": slot.pk})
    assert resp.status_code == 302
    booking = Booking.objects.get()
    assert (booking.patient_id, booking.slot_id, booking.channel) == (son.pk, slot.pk, Channel.SELF_SERVICE)
    assert resp["Location"] == reverse("residents:booking", args=[booking.pk])
    assert Slot.objects.get(pk=slot.pk).booked == 1
    event = BookingEvent.objects.get(booking=booking)
    assert (event.kind, event.user_id, event.membership_id) == ("booked", None, None)
    assert booking.number in Message.objects.get(booking=booking).text
    created = AuditEvent.objects.get(object_type="booking", action="create")
    assert (created.patient_id, created.basis) == (son.pk, Basis.SELF)

    shown = client.get(resp["Location"])
    assert shown.status_code == 200 and contains(shown, booking.number) and contains(shown, son.name)
    assert client.post(reverse("residents:cancel", args=[booking.pk])).status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert Slot.objects.get(pk=slot.pk).booked == 0


def test_bad_booking_input_answers_400_and_saves_nothing(client, family, stranger, clinic):
    log_in(client)
    day = timezone.localdate() + timedelta(days=3)
    link = reverse("residents:book", args=[clinic.pk, day.isoformat()])
    slot = slots_on(clinic, 3)[0]
    other_day_slot = slots_on(clinic, 4)[0]
    for data in ({"patient": stranger.pk, "slot": slot.pk}, {"patient": family[0].pk, "slot": other_day_slot.pk},
                 {"patient": family[0].pk}, {"patient": "x", "slot": slot.pk}):
        resp = client.post(link, data)
        assert resp.status_code == 400, data
    assert not Booking.objects.exists()
    for bad in (reverse("residents:book", args=[clinic.pk, "2026-02-30"]),
                reverse("residents:book", args=[999999, day.isoformat()])):
        resp = client.get(bad)
        assert resp.status_code == 302 and resp["Location"] == reverse("residents:find")


def test_a_taken_or_stopped_slot_is_refused_with_alternatives(family, clinic, registrar):
    slot = slots_on(clinic, 3)[0]
    for _n in range(slot.capacity):
        do_book(f.actor(registrar), f.register_patient(registrar).pk, slot.pk)
    account = do_verify_account()
    with pytest.raises(ActionError) as exc:
        actions.do_book(account, family[0].pk, slot.pk)
    assert exc.value.alternatives and "slot_id" in exc.value.errors
    later = slots_on(clinic, 5)[0]
    do_stop_clinic(f.actor(registrar), clinic.pk, later.date, "医生外出会诊")
    with pytest.raises(ActionError) as exc:
        actions.do_book(account, family[0].pk, later.pk)
    assert "slot_id" in exc.value.errors
    assert not Booking.objects.filter(patient_id=family[0].pk).exists()


def do_verify_account(phone=PHONE):
    """Logged in two minutes ago (so a page log-in now is not refused as a resend)."""
    return do_verify(phone, do_request_code(phone, now=timezone.now() - timedelta(minutes=2)).shown)


def test_another_familys_patient_and_booking_are_404_and_audited_denied(family, stranger, clinic, registrar):
    mine = do_verify_account()
    theirs = do_book(f.actor(registrar), stranger.pk, slots_on(clinic, 3)[0].pk)
    with pytest.raises(Http404):
        actions.do_book(mine, stranger.pk, slots_on(clinic, 3)[1].pk)
    with pytest.raises(Http404):
        actions.do_cancel(mine, theirs.pk)
    with pytest.raises(Http404):
        actions.own_booking(mine, 10**12)
    denied = AuditEvent.objects.filter(outcome=Outcome.DENIED, source=f"resident:{mine.pk}")
    assert denied.count() == 3
    theirs.refresh_from_db()
    assert theirs.status == BookingStatus.BOOKED


def test_booking_page_of_another_account_is_404(client, family, stranger, clinic, registrar):
    theirs = do_book(f.actor(registrar), stranger.pk, slots_on(clinic, 3)[0].pk)
    log_in(client)
    assert client.get(reverse("residents:booking", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("residents:cancel", args=[theirs.pk])).status_code == 404
    log_in(client, OTHER_PHONE)
    assert client.get(reverse("residents:booking", args=[theirs.pk])).status_code == 200


def test_queue_position_on_the_day(client, family, clinic, registrar, owner):
    """Booked by the resident, checked in at the desk: the page shows how many wait before, then the call."""
    mother, son = family
    account = do_verify_account()
    first = do_book(f.actor(registrar), f.register_patient(registrar).pk, slots_on(clinic, 3)[0].pk)
    mine = actions.do_book(account, son.pk, slots_on(clinic, 3)[1].pk)
    Slot.objects.filter(schedule=clinic, date=timezone.localdate() + timedelta(days=3)).update(
        date=timezone.localdate())
    desk = f.actor(registrar)
    do_queue_check_in(desk, CheckIn(code=first.number))
    do_queue_check_in(desk, CheckIn(code=mine.number))
    log_in(client)
    page = client.get(reverse("residents:booking", args=[mine.pk]))
    assert page.status_code == 200 and page.context["place"].ahead == 1
    assert contains(page, reverse("residents:queue", args=[mine.pk]))
    do_call_next(f.actor(owner), clinic.department_id)
    do_call_next(f.actor(owner), clinic.department_id)
    part = client.get(reverse("residents:queue", args=[mine.pk]))
    assert part.status_code == 200 and part.context["place"].status == QueueStatus.CALLED
    home = client.get(reverse("residents:home"))
    assert contains(home, 'data-testid="queue-line"')


def test_log_out(client, family):
    log_in(client)
    assert client.post(reverse("residents:logout")).status_code == 302
    assert client.get(reverse("residents:home")).status_code == 302


def test_the_demo_site_offers_a_family_number_and_a_real_site_does_not(client, family, stranger, settings):
    page = client.get(reverse("residents:login"))
    assert page.context["demo_phone"] == PHONE  # the number two records share
    settings.YILIAN_SMS_SHOW_CODES = False
    assert client.get(reverse("residents:login")).context["demo_phone"] is None
