"""The queue endpoints (kiosks, clinic systems): check-in by booking number or resident ID, call-next,
a doctor's moves, the board with masked names only; roles and bad input answered with the field."""

import pytest

from yilian.access.models import AuditEvent
from yilian.network.roles import Role
from yilian.scheduling.models import QueueEntry, QueueStatus
from yilian.scheduling.tests.test_queue import today_booking
from yilian.testing import factories as f
from yilian.testing.checks import api_errors

pytestmark = pytest.mark.usefixtures("fees")

BASE = "/api/v1/scheduling/queue"


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def test_check_in_call_and_moves(client_as, registrar, owner, patient, clinic):
    booking = today_booking(registrar, patient, clinic)
    desk, doctor = client_as(registrar), client_as(owner)
    resp = post(desk, f"{BASE}/check-ins", {"code": booking.number})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["number"] == 1 and body["status"] == QueueStatus.WAITING and body["booked_at"]
    text = resp.content.decode()
    assert patient.name not in text and patient.resident_id not in text and patient.phone not in text
    again = post(desk, f"{BASE}/check-ins", {"code": booking.number})
    assert again.status_code == 422 and "code" in api_errors(again)

    called = post(doctor, f"{BASE}/call-next", {"department_id": clinic.department_id})
    assert called.status_code == 200 and called.json()["id"] == body["id"] and called.json()["called_at"]
    assert post(doctor, f"{BASE}/call-next", {"department_id": clinic.department_id}).status_code == 204
    board = doctor.get(f"{BASE}/board", {"department_id": clinic.department_id})
    assert board.status_code == 200
    assert board.json()["called"][0]["masked_name"] != patient.name
    assert patient.name not in board.content.decode()
    for move, status in (("start", QueueStatus.IN_ROOM), ("end", QueueStatus.DONE)):
        resp = post(doctor, f"{BASE}/entries/{body['id']}/{move}")
        assert resp.status_code == 200 and resp.json()["status"] == status
    entry = QueueEntry.objects.get(pk=body["id"])
    assert entry.checked_in_at <= entry.called_at <= entry.started_at <= entry.ended_at
    assert AuditEvent.objects.filter(object_id=str(entry.pk), patient_id=patient.pk).count() >= 4


def test_roles_and_bad_input(client_as, registrar, owner, patient, clinic, net):
    desk, doctor = client_as(registrar), client_as(owner)
    assert post(doctor, f"{BASE}/check-ins", {"code": patient.resident_id}).status_code == 403
    manager = client_as(f.make_membership(net.county, Role.MANAGER))
    assert post(manager, f"{BASE}/call-next", {"department_id": clinic.department_id}).status_code == 403
    assert manager.get(f"{BASE}/board", {"department_id": clinic.department_id}).status_code == 200
    walk_in = post(desk, f"{BASE}/check-ins", {"code": patient.resident_id})
    assert walk_in.status_code == 422 and "department_id" in api_errors(walk_in)
    for bad in ({"code": ""}, {"code": "x", "extra": 1}, {"code": "x", "department_id": 0}, {}):
        resp = post(desk, f"{BASE}/check-ins", bad)
        assert resp.status_code == 422, bad
    other = net.department(net.township)
    resp = post(doctor, f"{BASE}/call-next", {"department_id": other.pk})
    assert resp.status_code == 422 and "department_id" in api_errors(resp)
    assert post(doctor, f"{BASE}/entries/1/jump").status_code == 422
    assert post(doctor, f"{BASE}/entries/999999/start").status_code == 404
    assert not QueueEntry.objects.exists()


def test_a_walk_in_by_resident_id(client_as, registrar, patient, clinic):
    resp = post(client_as(registrar), f"{BASE}/check-ins",
                {"code": patient.resident_id, "department_id": clinic.department_id, "disabled": True})
    assert resp.status_code == 201 and resp.json()["booked_at"] is None and resp.json()["priority"] == 3
    assert f.leaked(resp.content.decode(), patient) == []


def test_an_outsider_gets_404_and_nothing_of_the_patient(client_as, registrar, owner, patient, clinic, net):
    booking = today_booking(registrar, patient, clinic)
    entry = post(client_as(registrar), f"{BASE}/check-ins", {"code": booking.number}).json()
    outsider = client_as(f.make_membership(net.township, Role.DOCTOR, department=net.department(net.township)))
    for move in ("start", "skip", "recall"):
        resp = post(outsider, f"{BASE}/entries/{entry['id']}/{move}")
        assert resp.status_code == 404 and f.leaked(resp.content.decode(), patient) == []
    assert QueueEntry.objects.get(pk=entry["id"]).status == QueueStatus.WAITING
    assert AuditEvent.objects.filter(object_id=str(entry["id"]), outcome="denied").count() == 3
