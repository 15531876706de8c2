"""The scheduling API: free slots, book, cancel, reschedule, no-show and register, with field-level
errors in the project's format and nothing written on a refusal."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from yilian.scheduling.models import Booking, Registration, Slot
from yilian.scheduling.tests.clinics import slots_on
from yilian.testing import factories as f

BASE = "/api/v1/scheduling"


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def fields(resp) -> set[str]:
    return {e["field"] for e in resp.json()["errors"]}


@pytest.fixture
def desk(client_as, registrar):
    return client_as(registrar, language="en")


def test_free_slots_of_a_day(desk, net, clinic, owner, patient):
    day = slots_on(clinic, 3)
    post(desk, f"{BASE}/bookings", {"patient_id": patient.pk, "slot_id": day[0].pk})
    resp = desk.get(f"{BASE}/slots", {"institution_id": net.county.pk, "date": day[0].date.isoformat(),
                                      "doctor_id": owner.staff_id})
    assert resp.status_code == 200
    body = resp.json()
    assert [s["id"] for s in body] == [s.pk for s in day[1:]]  # the first slot's one ordinary place is gone
    assert {(s["free"], s["tier"], s["department_id"]) for s in body} == {(1, "ordinary", clinic.department_id)}
    referral = desk.get(f"{BASE}/slots", {"institution_id": net.county.pk, "date": day[0].date.isoformat(),
                                          "channel": "referral"}).json()
    assert [(s["id"], s["free"]) for s in referral][0] == (day[0].pk, 1)


def test_slot_filters_are_checked(desk, net, clinic):
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    resp = desk.get(f"{BASE}/slots", {"institution_id": net.county.pk, "date": past, "doctor_id": 999999})
    assert resp.status_code == 422
    assert fields(resp) == {"date", "doctor_id"}
    resp = desk.get(f"{BASE}/slots", {"institution_id": net.county.pk, "date": "2026-02-30"})
    assert resp.status_code == 422 and fields(resp) == {"date"}
    assert resp.json()["errors"][0]["message"] == "Must be a date like 2026-01-31."


def test_book_cancel_reschedule(desk, clinic, patient):
    first, later = slots_on(clinic, 3)[0], slots_on(clinic, 5)[2]
    resp = post(desk, f"{BASE}/bookings", {"patient_id": patient.pk, "slot_id": first.pk})
    assert resp.status_code == 201
    booking = resp.json()
    assert booking["number"].startswith(first.date.strftime("%Y%m%d")) and booking["status"] == "booked"
    moved = post(desk, f"{BASE}/bookings/{booking['id']}/reschedule", {"slot_id": later.pk})
    assert moved.status_code == 201 and moved.json()["slot_id"] == later.pk
    assert Booking.objects.get(pk=booking["id"]).status == "cancelled"
    cancelled = post(desk, f"{BASE}/bookings/{moved.json()['id']}/cancel", {"reason": "不来了"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert Slot.objects.get(pk=later.pk).booked == 0


def test_taken_slot_names_alternatives(desk, registrar, clinic, patient):
    slot = slots_on(clinic, 3)[0]
    post(desk, f"{BASE}/bookings", {"patient_id": f.register_patient(registrar).pk, "slot_id": slot.pk})
    resp = post(desk, f"{BASE}/bookings", {"patient_id": patient.pk, "slot_id": slot.pk})
    assert resp.status_code == 422
    [error] = resp.json()["errors"]
    assert error["field"] == "slot_id" and "Nearest free slots" in error["message"]
    assert not Booking.objects.filter(patient=patient).exists()


def test_bad_booking_input_is_field_level(desk, clinic, patient):
    resp = post(desk, f"{BASE}/bookings", {"patient_id": patient.pk, "slot_id": 0, "channel": "fax", "x": 1})
    assert resp.status_code == 422
    assert fields(resp) == {"slot_id", "channel", "x"}
    past = slots_on(clinic, 0)[0]
    Slot.objects.filter(pk=past.pk).update(start=timezone.now() - timedelta(minutes=5),
                                           end=timezone.now() + timedelta(minutes=25))
    resp = post(desk, f"{BASE}/bookings", {"patient_id": patient.pk, "slot_id": past.pk})
    assert resp.status_code == 422 and fields(resp) == {"slot_id"}
    assert not Booking.objects.exists()


def test_outsider_and_wrong_role(client_as, net, owner, clinic, patient):
    from yilian.network.roles import Role

    slot = slots_on(clinic, 3)[0]
    village_desk = client_as(f.make_membership(net.village, Role.REGISTRAR))
    resp = post(village_desk, f"{BASE}/bookings", {"patient_id": patient.pk, "slot_id": slot.pk})
    assert resp.status_code == 404 and f.leaked(resp.content, patient) == []
    resp = post(client_as(owner), f"{BASE}/bookings", {"patient_id": patient.pk, "slot_id": slot.pk})
    assert resp.status_code == 403
    assert not Booking.objects.exists()


@pytest.mark.usefixtures("fees")
def test_register_walk_in_then_reuse(desk, net, patient):
    body = {"patient_id": patient.pk, "department_id": net.department(net.county).pk}
    first = post(desk, f"{BASE}/registrations", body)
    assert first.status_code == 201
    assert (first.json()["fee"], first.json()["reused_from"], first.json()["waiver"]) == ("10.00", None, None)
    again = post(desk, f"{BASE}/registrations", body)
    assert again.json()["reused_from"] == first.json()["id"] and again.json()["fee"] == "0.00"


def test_register_a_booking(desk, clinic, patient):
    slot = slots_on(clinic, 3)[0]
    booking = post(desk, f"{BASE}/bookings", {"patient_id": patient.pk, "slot_id": slot.pk}).json()
    too_early = post(desk, f"{BASE}/registrations", {"booking_id": booking["id"]})
    assert too_early.status_code == 422 and fields(too_early) == {"booking_id"}
    Slot.objects.filter(pk=slot.pk).update(date=timezone.localdate())
    resp = post(desk, f"{BASE}/registrations", {"booking_id": booking["id"]})
    assert resp.status_code == 201
    assert Registration.objects.get(pk=resp.json()["id"]).booking_id == booking["id"]


def test_walk_in_without_department_is_a_field_error(desk, patient):
    resp = post(desk, f"{BASE}/registrations", {"patient_id": patient.pk})
    assert resp.status_code == 422 and fields(resp) == {"department_id"}
    assert not Registration.objects.exists()
