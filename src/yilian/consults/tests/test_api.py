"""The consultation endpoints: request, lists, the worklist, claim, assign, panel, opinion, sign, amend,
confirm, cancel, guided operations; 422 names the field, 404 for what the actor may not see, every read
audited."""

from datetime import timedelta

from django.utils import timezone

from yilian.access.models import AuditEvent
from yilian.consults.models import Consultation, GuidedOperation, Status
from yilian.testing import factories as f
from yilian.testing.checks import api_errors

BASE = "/api/v1/consults"


def post(client, url, body=None, method="post"):
    return getattr(client, method)(url, body or {}, content_type="application/json")


def body(patient, **overrides) -> dict:
    data = {"patient_id": patient.pk, "target": "centre", "mode": "async", "urgency": "routine",
            "question": "肺部结节性质？是否需要手术？", "summary": "体检发现右上肺结节8mm", "consent": True}
    data.update(overrides)
    return data


def test_request_claim_write_sign_confirm(client_as, township_doctor, expert, villager):
    township, county = client_as(township_doctor), client_as(expert)
    start = (timezone.now() + timedelta(days=2)).isoformat()
    sent = post(township, BASE, body(villager, mode="sync", session_start=start, session_minutes=30))
    assert sent.status_code == 201, sent.content
    consultation_id = sent.json()["id"]
    assert sent.json()["status"] == Status.REQUESTED and sent.json()["session_minutes"] == 30
    assert [c["id"] for c in township.get(BASE, {"box": "out"}).json()] == [consultation_id]
    work = county.get(f"{BASE}/worklist").json()
    assert [(w["id"], w["can_claim"]) for w in work] == [(consultation_id, True)]
    assert county.get(f"{BASE}/{consultation_id}").status_code == 404  # not before the claim
    claimed = post(county, f"{BASE}/{consultation_id}/claim")
    assert claimed.status_code == 200 and claimed.json()["expert_id"] == expert.staff_id
    again = post(county, f"{BASE}/{consultation_id}/claim")
    assert again.status_code == 422 and "status" in api_errors(again)
    assert [c["id"] for c in county.get(BASE, {"box": "mine", "status": "open"}).json()] == [consultation_id]
    draft = post(county, f"{BASE}/{consultation_id}/opinion", {"opinion": "倾向良性，建议3个月复查CT"}, "put")
    assert draft.status_code == 200 and draft.json()["version"] == 1 and draft.json()["signed_at"] is None
    signed = post(county, f"{BASE}/{consultation_id}/sign")
    assert signed.status_code == 200 and signed.json()["signed_at"]
    changed = post(county, f"{BASE}/{consultation_id}/opinion", {"opinion": "改"}, "put")
    assert changed.status_code == 422 and "status" in api_errors(changed)
    amended = post(county, f"{BASE}/{consultation_id}/amend", {"opinion": "建议2个月复查", "reason": "结节边缘毛刺"})
    assert amended.status_code == 201 and amended.json()["amends_version"] == 1
    mark = AuditEvent.objects.count()
    detail = township.get(f"{BASE}/{consultation_id}")
    assert detail.status_code == 200
    assert [o["version"] for o in detail.json()["opinions"]] == [1, 2]
    assert [e["kind"] for e in detail.json()["events"]] == ["requested", "claimed", "drafted", "signed", "amended"]
    row = AuditEvent.objects.order_by("pk")[mark:].get()
    assert (row.patient_id, row.object_type, row.action, row.basis) == (villager.pk, "consultation", "read", "care")
    confirmed = post(township, f"{BASE}/{consultation_id}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == Status.CONFIRMED


def test_assign_panel_and_contributions(client_as, net, township_doctor, centre_desk, expert, expert2, villager):
    township, desk = client_as(township_doctor), client_as(centre_desk)
    consultation_id = post(township, BASE, body(villager, mdt=True)).json()["id"]
    choices = desk.get(f"{BASE}/{consultation_id}/experts")
    assert choices.status_code == 200
    assert {(e["staff_id"], e["institution_id"]) for e in choices.json()} >= {(expert.staff_id, net.county.pk)}
    resp = post(desk, f"{BASE}/{consultation_id}/assign", {"staff_id": expert.staff_id, "institution_id": net.county.pk})
    assert resp.status_code == 200 and resp.json()["status"] == Status.ASSIGNED
    lead = client_as(expert)
    resp = post(lead, f"{BASE}/{consultation_id}/experts", {"staff_id": expert2.staff_id, "institution_id": net.county.pk})
    assert resp.status_code == 201 and resp.json()["lead"] is False
    resp = post(client_as(expert2), f"{BASE}/{consultation_id}/contribution", {"text": "同意手术"}, "put")
    assert resp.status_code == 200 and resp.json()["contributed_at"]
    detail = lead.get(f"{BASE}/{consultation_id}").json()
    assert [(p["staff_id"], p["lead"]) for p in detail["panel"]] == [(expert.staff_id, True), (expert2.staff_id, False)]
    assert client_as(f.make_membership(net.village, "doctor")).get(f"{BASE}/{consultation_id}/experts").status_code == 404
    assert client_as(f.make_membership(net.county, "nurse")).get(f"{BASE}/{consultation_id}/experts").status_code == 403
    assert client_as(township_doctor).get(f"{BASE}/{consultation_id}/experts").status_code == 404


def test_bad_input_and_outsiders(client_as, net, township_doctor, expert, villager):
    township = client_as(township_doctor)
    resp = post(township, BASE, body(villager, consent=False, target="department", to_institution_id=net.village.pk))
    assert resp.status_code == 422 and set(api_errors(resp)) == {"consent", "to_institution_id"}
    resp = post(township, BASE, body(villager, mode="sync", session_start="2030-01-01T08:00:00"))
    assert resp.status_code == 422 and "session_start" in api_errors(resp)  # no time zone
    resp = post(township, BASE, body(villager, question="", extra=1))
    assert resp.status_code == 422 and set(api_errors(resp)) == {"question", "extra"}
    assert not Consultation.objects.exists()
    consultation_id = post(township, BASE, body(villager)).json()["id"]
    outsider = client_as(f.make_membership(net.village, "doctor"))
    assert outsider.get(f"{BASE}/{consultation_id}").status_code == 404
    assert post(outsider, f"{BASE}/{consultation_id}/claim").status_code == 404
    assert post(outsider, f"{BASE}/{consultation_id}/cancel", {"reason": "x"}).status_code == 404
    resp = post(township, f"{BASE}/{consultation_id}/cancel", {"reason": ""})
    assert resp.status_code == 422 and "reason" in api_errors(resp)
    assert client_as(expert).get(f"{BASE}/{2**62}").status_code == 404


def test_guided_operations(client_as, net, township_doctor, partner_expert, villager):
    township = client_as(township_doctor)
    data = {"patient_id": villager.pk, "procedure": "经皮冠状动脉介入治疗", "performed_on": str(timezone.localdate()),
            "mode": "onsite", "expert_staff_id": partner_expert.staff_id,
            "expert_institution_id": partner_expert.institution_id, "operator_staff_id": township_doctor.staff_id,
            "outcome": "completed"}
    resp = post(township, f"{BASE}/guided-operations", data)
    assert resp.status_code == 201, resp.content
    resp = post(township, f"{BASE}/guided-operations", {**data, "outcome": "great", "performed_on": "soon"})
    assert resp.status_code == 422 and set(api_errors(resp)) == {"outcome", "performed_on"}
    listed = township.get(f"{BASE}/guided-operations")
    assert [o["procedure"] for o in listed.json()] == ["经皮冠状动脉介入治疗"]
    assert GuidedOperation.objects.count() == 1
    assert client_as(f.make_membership(net.village, "doctor")).get(f"{BASE}/guided-operations").json() == []
