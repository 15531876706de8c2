"""The booking window's pages: find the patient, see free slots (htmx), book by window or phone, the slot
taken with alternatives, cancel, reschedule and the printed slip; bad input answered 400 with the field's
message in both languages and nothing written; 403 for a role without `register`, 404 for a patient or a
booking the desk may not see."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from yilian.access.models import Action, AuditEvent, Basis, Outcome
from yilian.network.roles import Role
from yilian.patients.models import QrToken
from yilian.scheduling.actions import do_book, do_create_schedule, do_generate_slots
from yilian.scheduling.models import Booking, BookingStatus, Slot
from yilian.scheduling.tests.clinics import make_clinic, new_schedule, slots_on
from yilian.testing import factories as f
from yilian.testing.checks import LANGUAGES, contains, form_errors, is_english, marked_invalid, row_counts

pytestmark = pytest.mark.usefixtures("fees")
HTMX = {"HTTP_HX_REQUEST": "true"}
BOOKING_ROWS = ("scheduling.Booking", "scheduling.BookingEvent", "scheduling.Slot")


def book_url(patient) -> str:
    return reverse("scheduling:book_patient", args=[patient.pk])


def audit_rows_since(mark: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=mark).order_by("pk"))


def last_audit_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def booked_counts() -> tuple:
    return tuple(Slot.objects.order_by("pk").values_list("booked", flat=True))


@pytest.fixture
def village_desk(net):
    """A registrar of the village clinic: no care relationship or grant for the patient."""
    return f.make_membership(net.village, Role.REGISTRAR, username="village_desk")


# --- finding the patient --------------------------------------------------------------------------------------


def test_find_by_resident_id_qr_or_booking_number(client_as, registrar, township_desk, patient, slot):
    client = client_as(township_desk)
    page = client.get(reverse("scheduling:book"))
    assert page.status_code == 200
    assert contains(page, 'name="code"')
    resp = client.post(reverse("scheduling:book"), {"code": patient.resident_id.lower()})
    assert resp.status_code == 302 and resp["Location"] == book_url(patient)
    # Finding by card is a check-in at this desk: the township centre now cares for the patient.
    assert patient.care_relations.filter(institution_id=township_desk.institution_id).exists()
    token = QrToken.objects.get(patient=patient, revoked_at__isnull=True).token
    assert client.post(reverse("scheduling:book"), {"code": token})["Location"] == book_url(patient)
    booking = do_book(f.actor(registrar), patient.pk, slot.pk)
    mark = last_audit_id()
    assert client.post(reverse("scheduling:book"), {"code": booking.number})["Location"] == book_url(patient)
    [row] = audit_rows_since(mark)
    assert (row.object_type, row.object_id, row.action, row.outcome) == ("booking", str(booking.pk), Action.READ,
                                                                          Outcome.SUCCESS)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("code", "english"), [
    ("", "required"),
    ("1" * 65, "at most 64"),
    ("not-a-token!", "QR code is not valid"),
    ("20990101-1-001", "No booking with this number"),
    ("110105194912310021", "not a valid number"),
    ("11010519491231002x", "No patient with this resident ID"),
])
def test_find_bad_input(client_as, registrar, lang, code, english):
    client = client_as(registrar, **LANGUAGES[lang])
    before = row_counts("access.AuditEvent")
    resp = client.post(reverse("scheduling:book"), {"code": code})
    assert resp.status_code == 400
    errors = form_errors(resp)
    assert list(errors) == ["code"]
    assert marked_invalid(resp, "code")
    if lang == "en":
        assert english in " ".join(errors["code"])
        assert all(is_english(e) for e in errors["code"])
    assert row_counts("access.AuditEvent") == before


def test_a_booking_number_the_desk_may_not_see_is_404(client_as, registrar, village_desk, patient, slot):
    booking = do_book(f.actor(registrar), patient.pk, slot.pk)
    mark = last_audit_id()
    resp = client_as(village_desk).post(reverse("scheduling:book"), {"code": booking.number})
    assert resp.status_code == 404
    assert f.leaked(resp.content, patient) == []
    [row] = audit_rows_since(mark)
    assert (row.patient_id, row.outcome) == (patient.pk, Outcome.DENIED)


# --- the patient's page and the free slots ---------------------------------------------------------------------


def test_patient_page_shows_free_slots_and_is_one_audited_read(client_as, registrar, patient, clinic, slot):
    client = client_as(registrar)
    mark = last_audit_id()
    resp = client.get(book_url(patient), {"date": slot.date.isoformat()})
    assert resp.status_code == 200
    assert contains(resp, patient.name)
    assert contains(resp, f'data-testid="slot-{slot.pk}"')
    assert [r["left"] for r in resp.context["rows"]] == [1, 1, 1, 1]  # one ordinary place each, one for referral
    assert contains(resp, "¥10.00")
    [row] = audit_rows_since(mark)
    assert (row.patient_id, row.object_type, row.action, row.basis) == (patient.pk, "patient", Action.READ, Basis.CARE)


def test_slots_of_another_member_through_htmx(client_as, net, registrar, township_desk, patient):
    township = make_clinic(township_desk, net.department(net.township))
    day = slots_on(township, 2)[0]
    client = client_as(registrar)
    mark = last_audit_id()
    resp = client.get(reverse("scheduling:book_slots", args=[patient.pk]),
                      {"institution": net.township.pk, "date": day.date.isoformat()}, **HTMX)
    assert resp.status_code == 200
    assert "<html" not in resp.content.decode()
    assert contains(resp, f'data-testid="slot-{day.pk}"')
    assert f.leaked(resp.content, patient) == []  # the part shows nothing of the patient, and reads nothing
    assert audit_rows_since(mark) == []
    # The department and doctor choices follow the institution chosen.
    assert [c[0] for c in resp.context["search"].fields["department"].choices][1:] == [net.department(net.township).pk]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_bad_search_names_each_field(client_as, net, registrar, patient, lang):
    client = client_as(registrar, **LANGUAGES[lang])
    yesterday = timezone.localdate() - timedelta(days=1)
    resp = client.get(reverse("scheduling:book_slots", args=[patient.pk]),
                      {"institution": net.county.pk, "department": net.department(net.township).pk,
                       "doctor": 10**9, "date": yesterday.isoformat()}, **HTMX)
    assert resp.status_code == 400
    errors = {k: [str(e) for e in v] for k, v in resp.context["search"].errors.items()}
    assert set(errors) == {"department", "doctor", "date"}
    assert contains(resp, 'id="date-errors"')
    if lang == "en":
        assert "today or a later date" in errors["date"][0]
        assert all(is_english(e) for e in sum(errors.values(), []))
    outside = client.get(reverse("scheduling:book_slots", args=[patient.pk]), {"institution": 10**9}, **HTMX)
    assert outside.status_code == 400
    assert "institution" in outside.context["search"].errors


# --- booking --------------------------------------------------------------------------------------------------


def test_book_by_phone_and_print_the_slip(client_as, registrar, patient, slot):
    client = client_as(registrar)
    mark = last_audit_id()
    resp = client.post(book_url(patient), {"slot_id": slot.pk, "channel": "phone", "date": slot.date.isoformat()})
    assert resp.status_code == 302
    booking = Booking.objects.get()
    assert (booking.patient_id, booking.slot_id, booking.channel) == (patient.pk, slot.pk, "phone")
    [row] = audit_rows_since(mark)  # the booking's own row: one request, one row
    assert (row.object_type, row.action) == ("booking", Action.CREATE)
    page = client.get(resp["Location"])
    assert contains(page, f'data-testid="booking-number">{booking.number}<')
    assert contains(page, f'data-testid="booking-{booking.pk}"')
    slip = client.get(reverse("scheduling:booking_slip", args=[booking.pk]))
    assert slip.status_code == 200
    assert contains(slip, booking.number)
    assert f.leaked(slip.content, patient) == []  # the slip carries the masked name only
    assert contains(slip, "window.print()")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_slot_taken_offers_alternatives(client_as, registrar, patient, clinic, slot, lang):
    do_book(f.actor(registrar), f.register_patient(registrar).pk, slot.pk)  # the only ordinary place
    client = client_as(registrar, **LANGUAGES[lang])
    before = row_counts(*BOOKING_ROWS)
    resp = client.post(book_url(patient), {"slot_id": slot.pk, "channel": "window", "date": slot.date.isoformat()})
    assert resp.status_code == 400
    errors = form_errors(resp)
    assert list(errors) == ["slot_id"]
    assert marked_invalid(resp, "slot_id")
    assert contains(resp, 'data-testid="alternatives"')
    offered = [s.pk for s in resp.context["taken"]]
    assert offered and slot.pk not in offered
    for pk in offered:
        assert contains(resp, f'name="slot_id" value="{pk}"')
    if lang == "en":
        assert "This slot is taken" in errors["slot_id"][0] and is_english(errors["slot_id"][0])
    assert row_counts(*BOOKING_ROWS) == before
    # One of the alternatives can be had.
    assert client.post(book_url(patient), {"slot_id": offered[0], "channel": "window"}).status_code == 302


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("case", "field", "english"), [
    ("no slot", "slot_id", "Choose a slot"),
    ("not a number", "slot_id", "whole number"),
    ("no such slot", "slot_id", "no such slot"),
    ("past slot", "slot_id", "already started"),
    ("referral channel", "channel", "valid choice"),
    ("over the limit", "slot_id", "the most allowed"),
])
def test_bad_booking_is_400_and_writes_nothing(client_as, net, registrar, patient, clinic, slot, lang, case, field,
                                               english):
    data = {"slot_id": slot.pk, "channel": "window"}
    if case == "no slot":
        data.pop("slot_id")
    elif case == "not a number":
        data["slot_id"] = "abc"
    elif case == "no such slot":
        data["slot_id"] = 10**9
    elif case == "past slot":
        yesterday = timezone.localdate() - timedelta(days=1)
        old = do_create_schedule(f.actor(registrar), new_schedule(net.department(net.county),
                                                                  valid_from=yesterday))
        do_generate_slots(f.actor(registrar), old.pk, yesterday, yesterday)
        data["slot_id"] = Slot.objects.filter(schedule=old).first().pk
    elif case == "referral channel":
        data["channel"] = "referral"
    elif case == "over the limit":
        do_book(f.actor(registrar), patient.pk, slots_on(clinic, 3)[1].pk)  # one a day in a department
    client = client_as(registrar, **LANGUAGES[lang])
    before, places = row_counts(*BOOKING_ROWS), booked_counts()
    resp = client.post(book_url(patient), data)
    assert resp.status_code == 400
    errors = form_errors(resp)
    assert list(errors) == [field]
    assert marked_invalid(resp, field)
    if lang == "en":
        assert english in " ".join(errors[field])
        assert all(is_english(e) for e in errors[field])
    assert row_counts(*BOOKING_ROWS) == before
    assert booked_counts() == places


def test_a_patient_the_desk_may_not_see_is_404(client_as, village_desk, patient, slot):
    client = client_as(village_desk)
    for resp in (client.get(book_url(patient)),
                 client.post(book_url(patient), {"slot_id": slot.pk, "channel": "window"}),
                 client.get(reverse("scheduling:book_patient", args=[10**9]))):
        assert resp.status_code == 404
        assert f.leaked(resp.content, patient) == []
    assert not Booking.objects.exists()


def test_a_role_without_register_gets_403(client_as, owner, manager, patient, slot):
    for membership in (owner, manager):
        client = client_as(membership)
        assert client.get(reverse("scheduling:book")).status_code == 403
        assert client.get(book_url(patient)).status_code == 403
        assert client.post(book_url(patient), {"slot_id": slot.pk, "channel": "window"}).status_code == 403
        assert client.get(reverse("scheduling:book_slots", args=[patient.pk])).status_code == 403
    assert not Booking.objects.exists()


# --- cancel and reschedule -------------------------------------------------------------------------------------


def test_cancel_frees_the_place(client_as, registrar, patient, slot):
    booking = do_book(f.actor(registrar), patient.pk, slot.pk)
    client = client_as(registrar)
    resp = client.post(reverse("scheduling:booking_cancel", args=[booking.pk]), {"reason": "患者改期"})
    assert resp.status_code == 302 and resp["Location"] == book_url(patient)
    booking.refresh_from_db()
    slot.refresh_from_db()
    assert (booking.status, booking.reason, slot.booked) == (BookingStatus.CANCELLED, "患者改期", 0)
    again = client.post(reverse("scheduling:booking_cancel", args=[booking.pk]), {"reason": ""})
    assert again.status_code == 400
    assert contains(again, 'data-testid="cancel-error"')


@pytest.mark.parametrize("lang", LANGUAGES)
def test_cancel_reason_too_long_changes_nothing(client_as, registrar, patient, slot, lang):
    booking = do_book(f.actor(registrar), patient.pk, slot.pk)
    client = client_as(registrar, **LANGUAGES[lang])
    resp = client.post(reverse("scheduling:booking_cancel", args=[booking.pk]), {"reason": "长" * 201})
    assert resp.status_code == 400
    assert contains(resp, 'id="reason-errors"')
    if lang == "en":
        assert contains(resp, "at most 200 characters")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED


def test_reschedule_moves_the_booking(client_as, registrar, patient, clinic, slot):
    booking = do_book(f.actor(registrar), patient.pk, slot.pk)
    client = client_as(registrar)
    page = client.get(book_url(patient), {"reschedule": booking.pk})
    assert page.status_code == 200
    assert contains(page, reverse("scheduling:booking_reschedule", args=[booking.pk]))
    target = slots_on(clinic, 4)[0]
    resp = client.post(reverse("scheduling:booking_reschedule", args=[booking.pk]), {"slot_id": target.pk})
    assert resp.status_code == 302
    new = Booking.objects.get(status=BookingStatus.BOOKED)
    assert (new.slot_id, new.patient_id) == (target.pk, patient.pk)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED


@pytest.mark.parametrize("lang", LANGUAGES)
def test_bad_reschedule_keeps_the_booking(client_as, registrar, patient, clinic, slot, lang):
    booking = do_book(f.actor(registrar), patient.pk, slot.pk)
    full = slots_on(clinic, 4)[0]
    do_book(f.actor(registrar), f.register_patient(registrar).pk, full.pk)
    client = client_as(registrar, **LANGUAGES[lang])
    url = reverse("scheduling:booking_reschedule", args=[booking.pk])
    for data, english in (({"slot_id": slot.pk}, "different slot"), ({"slot_id": full.pk}, "This slot is taken"),
                          ({}, "Choose a slot")):
        before, places = row_counts(*BOOKING_ROWS), booked_counts()
        resp = client.post(url, data)
        assert resp.status_code == 400
        errors = form_errors(resp)
        assert list(errors) == ["slot_id"]
        assert marked_invalid(resp, "slot_id")
        assert resp.context["rescheduling"].pk == booking.pk
        if lang == "en":
            assert english in errors["slot_id"][0]
        assert row_counts(*BOOKING_ROWS) == before and booked_counts() == places
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED


def test_bookings_the_desk_may_not_see_are_404(client_as, registrar, village_desk, patient, clinic, slot):
    booking = do_book(f.actor(registrar), patient.pk, slot.pk)
    client = client_as(village_desk)
    target = slots_on(clinic, 4)[0]
    for resp in (client.post(reverse("scheduling:booking_cancel", args=[booking.pk]), {"reason": "x"}),
                 client.post(reverse("scheduling:booking_cancel", args=[booking.pk]), {"reason": "长" * 201}),
                 client.post(reverse("scheduling:booking_reschedule", args=[booking.pk]), {"slot_id": target.pk}),
                 client.post(reverse("scheduling:booking_reschedule", args=[booking.pk]), {}),
                 client.get(reverse("scheduling:booking_slip", args=[booking.pk])),
                 client.get(reverse("scheduling:booking_slip", args=[10**9])),
                 client.get(reverse("scheduling:booking_slip", args=[10**30]))):
        assert resp.status_code == 404
        assert f.leaked(resp.content, patient) == []
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED
    assert Booking.objects.count() == 1
