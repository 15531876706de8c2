"""The order endpoints: placing returns the candidates with their values and flags, one order read back,
accept / override / cancel, 422 naming the field, 403 for a role that may not order, and 404 with nothing
about the patient or their results for an actor who may not see the patient."""

from decimal import Decimal

import pytest

from yilian.access.models import AuditEvent
from yilian.network.roles import Role
from yilian.results.models import Order
from yilian.results.tests.ordering import make_world, report
from yilian.testing import factories as f
from yilian.testing.checks import api_errors

BASE = "/api/v1/results"


@pytest.fixture
def world(db):
    return make_world()


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def test_order_accept_and_read_back(client_as, world):
    earlier = report(world.patient, world.net.township, "ELEC", days_ago=1)
    doctor = client_as(world.county_doctor)
    placed = post(doctor, f"{BASE}/orders", {"patient_id": world.patient.pk, "item": "ELEC"})
    assert placed.status_code == 201, placed.content
    body = placed.json()
    assert (body["status"], body["offered"], body["item"], body["kind"], body["why_none"]) == (
        "open", 1, "ELEC", "panel", "")
    [candidate] = body["candidates"]
    assert (candidate["report_id"], candidate["source"], candidate["status"]) == (
        earlier.pk, world.net.township.short_name, "final")
    potassium = candidate["values"][0]
    assert (potassium["code"], potassium["value"], potassium["flag"], potassium["critical"]) == ("K", "6.8", "HH", True)
    assert candidate["collected_at"] and candidate["reported_at"]

    accepted = post(doctor, f"{BASE}/orders/{body['id']}/accept", {"report_id": earlier.pk})
    assert accepted.status_code == 200, accepted.content
    assert (accepted.json()["status"], accepted.json()["answered_by"]) == ("recognised", earlier.pk)
    assert Decimal(accepted.json()["saving"]) == Decimal("27.00")  # ELEC, grade II reference price
    again = post(doctor, f"{BASE}/orders/{body['id']}/accept", {"report_id": earlier.pk})
    assert again.status_code == 422 and set(api_errors(again)) == {"status"}

    mark = AuditEvent.objects.count()
    read = doctor.get(f"{BASE}/orders/{body['id']}")
    assert read.status_code == 200 and [c["report_id"] for c in read.json()["candidates"]] == [earlier.pk]
    row = AuditEvent.objects.order_by("pk")[mark:].get()
    assert (row.object_type, row.action, row.patient_id) == ("result_order", "read", world.patient.pk)
    listed = doctor.get(f"{BASE}/orders", {"patient_id": world.patient.pk})
    assert [o["id"] for o in listed.json()] == [body["id"]]


def test_override_cancel_and_bad_input(client_as, world):
    report(world.patient, world.net.township, days_ago=1)
    doctor = client_as(world.county_doctor, language="en")
    bad = post(doctor, f"{BASE}/orders", {"patient_id": world.patient.pk, "item": "CBC",
                                          "circumstances": ["acute_change"], "extra": 1})
    assert bad.status_code == 422 and set(api_errors(bad)) >= {"circumstances.0", "extra"}
    bad = post(doctor, f"{BASE}/orders", {"patient_id": world.patient.pk, "item": "NOPE"})
    assert bad.status_code == 422 and set(api_errors(bad)) == {"item"}
    excluded = post(doctor, f"{BASE}/orders", {"patient_id": world.patient.pk, "item": "CBC",
                                               "circumstances": ["emergency"]})
    assert excluded.json()["candidates"] == [] and "Emergency" in excluded.json()["why_none"]

    order_id = post(doctor, f"{BASE}/orders", {"patient_id": world.patient.pk, "item": "CBC"}).json()["id"]
    bad = post(doctor, f"{BASE}/orders/{order_id}/override", {"reason": "because"})
    assert bad.status_code == 422 and set(api_errors(bad)) == {"reason"}
    bad = post(doctor, f"{BASE}/orders/{order_id}/override", {"reason": "other"})
    assert bad.status_code == 422 and set(api_errors(bad)) == {"note"}
    done = post(doctor, f"{BASE}/orders/{order_id}/override", {"reason": "acute_change", "note": "发热加重"})
    assert done.status_code == 200 and (done.json()["status"], done.json()["override_reason"]) == (
        "overridden", "acute_change")
    assert done.json()["candidates"] == []
    assert post(doctor, f"{BASE}/orders/{excluded.json()['id']}/cancel").json()["status"] == "cancelled"


def test_outsiders_get_404_and_nothing_leaks(client_as, world):
    earlier = report(world.patient, world.net.township, days_ago=1)
    order_id = post(client_as(world.county_doctor), f"{BASE}/orders",
                    {"patient_id": world.patient.pk, "item": "CBC"}).json()["id"]
    outsider = client_as(f.make_membership(world.net.village, Role.DOCTOR))
    answers = [
        post(outsider, f"{BASE}/orders", {"patient_id": world.patient.pk, "item": "CBC"}),
        outsider.get(f"{BASE}/orders/{order_id}"),
        outsider.get(f"{BASE}/orders", {"patient_id": world.patient.pk}),
        post(outsider, f"{BASE}/orders/{order_id}/accept", {"report_id": earlier.pk}),
        post(outsider, f"{BASE}/orders/{order_id}/override", {"reason": "clinical_need"}),
        post(outsider, f"{BASE}/orders/{order_id}/cancel"),
        post(outsider, f"{BASE}/orders/{order_id + 1000}/cancel"),
    ]
    for resp in answers:
        assert resp.status_code == 404 and f.leaked(resp.content, world.patient) == []
        assert set(api_errors(resp)) == {""}  # "Not found." and nothing else
    assert Order.objects.count() == 1 and Order.objects.get().status == "open"
    nurse = client_as(f.make_membership(world.net.county, Role.NURSE))
    assert post(nurse, f"{BASE}/orders", {"patient_id": world.patient.pk, "item": "CBC"}).status_code == 403
    assert nurse.get(f"{BASE}/orders/{order_id}").status_code == 200  # a nurse of the caring institution reads
