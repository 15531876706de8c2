"""The referral endpoints: send, the boxes, one referral with its history, steps; 422 names the field,
404 for what the institution may not see; every read audited."""

from datetime import timedelta

from yilian.access.models import AuditEvent
from yilian.referrals.models import Referral, Status
from yilian.scheduling.tests.clinics import slots_on
from yilian.testing import factories as f
from yilian.testing.checks import api_errors

BASE = "/api/v1/referrals"


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def body(net, patient, **overrides) -> dict:
    data = {"patient_id": patient.pk, "direction": "up", "setting": "outpatient", "urgency": "routine",
            "to_institution_id": net.county.pk, "diagnosis_code": "J44.1", "reason": "慢阻肺急性加重，需住院评估"}
    data.update(overrides)
    return data


def test_send_list_read_accept(client_as, net, township_doctor, county_doctor, villager, clinic):
    township, county = client_as(township_doctor), client_as(county_doctor)
    found = township.get(f"{BASE}/diagnoses", {"q": "慢性阻塞"})
    assert found.status_code == 200 and {"code": "J44.1", "name": "慢性阻塞性肺病伴有急性加重"} in found.json()
    offered = township.get(f"{BASE}/slots", {"institution_id": net.county.pk})
    assert offered.status_code == 200 and offered.json()
    sent = post(township, BASE, body(net, villager, slot_id=offered.json()[0]["id"]))
    assert sent.status_code == 201, sent.content
    referral_id = sent.json()["id"]
    assert sent.json()["booking_id"] and sent.json()["status"] == Status.SENT
    inbox = county.get(BASE, {"box": "in", "status": "open"})
    assert [r["id"] for r in inbox.json()] == [referral_id]
    assert township.get(BASE, {"box": "in"}).json() == []
    mark = AuditEvent.objects.count()
    detail = county.get(f"{BASE}/{referral_id}")
    assert detail.status_code == 200 and [e["kind"] for e in detail.json()["events"]] == ["sent"]
    row = AuditEvent.objects.order_by("pk")[mark:].get()
    # The reserved booking makes the county one that cares for the patient (a booking is a care relation).
    assert (row.patient_id, row.object_type, row.action, row.basis) == (villager.pk, "referral", "read", "care")
    accepted = post(county, f"{BASE}/{referral_id}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == Status.ACCEPTED
    again = post(county, f"{BASE}/{referral_id}/accept")
    assert again.status_code == 422 and "status" in api_errors(again)


def test_bad_input_and_outsiders(client_as, net, township_doctor, county_doctor, villager, registrar):
    township = client_as(township_doctor)
    resp = post(township, BASE, body(net, villager, diagnosis_code="NOPE", to_institution_id=net.village.pk))
    assert resp.status_code == 422 and set(api_errors(resp)) == {"diagnosis_code", "to_institution_id"}
    resp = post(township, BASE, body(net, villager, direction="left"))
    assert resp.status_code == 422 and "direction" in api_errors(resp)
    resp = post(township, BASE, body(net, villager, shared=[{"type": "encounter", "id": 5, "x": 1}]))
    assert resp.status_code == 422
    assert not Referral.objects.exists()
    sent = post(township, BASE, body(net, villager)).json()
    outsider = client_as(f.make_membership(net.village, "doctor"))
    assert outsider.get(f"{BASE}/{sent['id']}").status_code == 404
    assert post(outsider, f"{BASE}/{sent['id']}/accept").status_code == 404
    resp = post(client_as(county_doctor), f"{BASE}/{sent['id']}/reject", {"reason": ""})
    assert resp.status_code == 422 and "reason" in api_errors(resp)
    resp = post(client_as(county_doctor), f"{BASE}/{sent['id']}/reject", {"reason": "建议先在乡镇完善检查"})
    assert resp.status_code == 200 and resp.json()["status"] == Status.REJECTED
    # The grant has ended: the county no longer sees the referral.
    assert client_as(county_doctor).get(f"{BASE}/{sent['id']}").status_code == 404


def test_a_referral_for_tomorrow_reserves_a_referral_place(client_as, net, township_doctor, villager, clinic):
    slot = slots_on(clinic, 1)[0]
    resp = post(client_as(township_doctor), BASE, body(net, villager, slot_id=slot.pk,
                                                       to_department_id=clinic.department_id))
    assert resp.status_code == 201
    referral = Referral.objects.get()
    assert referral.booking.slot_id == slot.pk and referral.deadline_at - referral.created_at == timedelta(hours=24)
