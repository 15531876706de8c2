"""The consultation pages: the button on the patient's page, the request form, the worklist's claim
button, the desk's assign page, the detail with the opinion editor, sign, amend, confirm and cancel, MDT
contributions, the guided-operation form and list."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from yilian.consults import actions as a
from yilian.consults.models import Consultation, GuidedOperation, Opinion, Status
from yilian.consults.tests.conftest import ask
from yilian.testing import factories as f
from yilian.testing.checks import contains


def step(client, consultation, name, data=None, **kwargs):
    return client.post(reverse("consults:step", args=[consultation.pk, name]), data or {}, **kwargs)


def test_request_from_the_patient_page(client_as, net, township_doctor, expert, villager, township_desk):
    encounter = f.open_encounter(township_doctor, villager)
    client = client_as(township_doctor)
    patient_page = client.get(reverse("patients:detail", args=[villager.pk]))
    url = reverse("consults:new", args=[villager.pk])
    assert contains(patient_page, url) and contains(patient_page, 'data-testid="consult"')
    page = client.get(url)
    assert page.status_code == 200 and contains(page, villager.name)
    experts = [value for value, _label in page.context["form"].fields["to_expert"].choices if value]
    assert f"{expert.staff_id}:{net.county.pk}" in experts
    form = {"target": "expert", "to_expert": f"{expert.staff_id}:{net.county.pk}", "mode": "sync",
            "session_start": (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "session_minutes": "30", "urgency": "urgent", "question": "是否需要溶栓？", "summary": "右侧肢体无力2小时",
            "shared": [encounter.pk]}
    bad = client.post(url, form)  # no consent
    assert bad.status_code == 400 and "consent" in bad.context["form"].errors
    assert not Consultation.objects.exists()
    sent = client.post(url, {**form, "consent": "on"})
    consultation = Consultation.objects.get()
    assert sent.status_code == 302 and sent["Location"] == reverse("consults:detail", args=[consultation.pk])
    assert (consultation.to_staff_id, consultation.mode, consultation.session_minutes) == (expert.staff_id, "sync", 30)
    assert consultation.shared == [{"type": "encounter", "id": encounter.pk}]
    desk_page = client_as(township_desk).get(reverse("patients:detail", args=[villager.pk]))
    assert contains(desk_page, 'data-testid="consult"')  # registrars may ask too (capability record_visit)


def test_claim_write_sign_and_confirm_on_the_pages(client_as, township_doctor, expert, villager):
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    county = client_as(expert)
    assert contains(county.get(reverse("consults:boxes") + "?box=work"), f'data-testid="claim-{consultation.pk}"')
    claimed = step(county, consultation, "claim")
    assert claimed.status_code == 302 and claimed["Location"] == reverse("consults:detail", args=[consultation.pk])
    detail = county.get(claimed["Location"])
    assert contains(detail, 'data-testid="opinion-form"') and contains(detail, villager.name)
    assert contains(county.get(reverse("consults:boxes") + "?box=mine"), consultation.number)
    empty = step(county, consultation, "opinion", {"opinion": " "})
    assert empty.status_code == 400 and "opinion" in empty.context["opinion_form"].errors
    assert step(county, consultation, "opinion", {"opinion": "考虑脑梗死", "recommendation": "转上级"}).status_code == 302
    assert contains(county.get(claimed["Location"]), 'data-testid="sign"')
    assert step(county, consultation, "sign").status_code == 302
    amend = step(county, consultation, "amend", {"opinion": "考虑脑梗死（大血管）", "reason": ""})
    assert amend.status_code == 400 and "reason" in amend.context["amend_form"].errors
    township = client_as(township_doctor)
    page = township.get(reverse("consults:detail", args=[consultation.pk]))
    assert contains(page, 'data-testid="confirm"') and contains(page, "考虑脑梗死")
    assert contains(page, reverse("consults:operation_new", args=[villager.pk]))
    assert step(township, consultation, "confirm").status_code == 302
    consultation.refresh_from_db()
    assert consultation.status == Status.CONFIRMED
    assert contains(township.get(reverse("consults:boxes")), consultation.number)
    assert step(township, consultation, "explode").status_code == 404


def test_a_lost_claim_says_why(client_as, net, township_doctor, expert, expert2, villager):
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    a.do_claim(f.actor(expert), consultation.pk)
    resp = step(client_as(expert2), consultation, "claim", follow=True)
    assert resp.status_code == 200 and resp.context["messages"]
    assert resp.redirect_chain[-1][0] == reverse("consults:boxes") + "?box=work"
    consultation.refresh_from_db()
    assert consultation.expert_id == expert.staff_id


def test_the_desk_assigns(client_as, net, township_doctor, centre_desk, expert, villager):
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    desk = client_as(centre_desk)
    url = reverse("consults:assign", args=[consultation.pk])
    page = desk.get(url)
    assert page.status_code == 200 and f.leaked(page.content, villager) == []
    assert desk.post(url, {"expert": "999:999"}).status_code == 400
    assert desk.post(url, {"expert": f"{expert.staff_id}:{net.county.pk}"}).status_code == 302
    consultation.refresh_from_db()
    assert consultation.expert_id == expert.staff_id
    assert client_as(township_doctor).get(url).status_code == 404


def test_mdt_contributions_and_cancel(client_as, net, township_doctor, expert, expert2, villager):
    consultation = a.do_request(f.actor(township_doctor), ask(villager, mdt=True))
    a.do_claim(f.actor(expert), consultation.pk)
    lead = client_as(expert)
    page = lead.get(reverse("consults:detail", args=[consultation.pk]))
    assert contains(page, 'data-testid="add-expert"')
    assert step(lead, consultation, "add_expert", {"expert": f"{expert2.staff_id}:{net.county.pk}"}).status_code == 302
    member = client_as(expert2)
    page = member.get(reverse("consults:detail", args=[consultation.pk]))
    assert contains(page, 'data-testid="contribution-form"') and not contains(page, 'data-testid="opinion-form"')
    assert step(member, consultation, "contribute", {"text": "神经外科：暂不手术"}).status_code == 302
    assert contains(lead.get(reverse("consults:detail", args=[consultation.pk])), "神经外科：暂不手术")
    township = client_as(township_doctor)
    assert step(township, consultation, "cancel", {"reason": "患者转院"}).status_code == 302
    assert member.get(reverse("consults:detail", args=[consultation.pk])).status_code == 404
    assert not Opinion.objects.exists()


def test_guided_operation_form_and_list(client_as, net, township_doctor, partner_expert, villager):
    client = client_as(township_doctor)
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    url = reverse("consults:operation_new", args=[villager.pk]) + f"?consultation={consultation.pk}"
    page = client.get(url)
    assert page.status_code == 200 and page.context["form"].initial["consultation"] == consultation.pk
    form = {"procedure": "腹腔镜阑尾切除术", "performed_on": str(timezone.localdate()), "mode": "remote",
            "expert": f"{partner_expert.staff_id}:{partner_expert.institution_id}",
            "operator": township_doctor.staff_id, "outcome": "completed", "consultation": consultation.pk}
    bad = client.post(url, {**form, "expert": f"{township_doctor.staff_id}:{net.township.pk}"})
    assert bad.status_code == 400 and not GuidedOperation.objects.exists()
    assert client.post(url, form).status_code == 302
    listed = client.get(reverse("consults:operations"))
    assert contains(listed, "腹腔镜阑尾切除术") and contains(listed, villager.name)
    outsider = client_as(f.make_membership(net.village, "doctor"))
    assert not contains(outsider.get(reverse("consults:operations")), "腹腔镜阑尾切除术")
    assert outsider.get(reverse("consults:operation_new", args=[villager.pk])).status_code == 404
