"""The referral pages: the form from a patient, with the places offered once the institution is chosen;
the boxes; the detail with the receiving side's steps; the printable form with its QR code; the manager's
overdue list without patients."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from yilian.network.roles import Role
from yilian.referrals import actions as a
from yilian.referrals.models import Referral, Status
from yilian.referrals.tests.conftest import up
from yilian.testing import factories as f
from yilian.testing.checks import contains


def test_refer_from_the_form(client_as, net, township_doctor, villager, clinic):
    client = client_as(township_doctor)
    url = reverse("referrals:new", args=[villager.pk])
    page = client.get(url)
    assert page.status_code == 200 and contains(page, villager.name) and contains(page, 'id="icd10"')
    form = {"direction": "up", "setting": "outpatient", "urgency": "urgent", "to_institution": net.county.pk,
            "to_department": clinic.department_id, "diagnosis_code": "I63.9", "reason": "右侧肢体无力"}
    refreshed = client.post(url, {**form, "refresh": "1"})
    assert refreshed.status_code == 200
    offered = [c for c in refreshed.context["form"].fields["slot"].choices if c[0]]
    assert offered
    bad = client.post(url, {**form, "diagnosis_code": "ZZZ", "send": "1"})
    assert bad.status_code == 400 and "diagnosis_code" in bad.context["form"].errors
    assert not Referral.objects.exists()
    sent = client.post(url, {**form, "slot": offered[0][0], "send": "1"})
    referral = Referral.objects.get()
    assert sent.status_code == 302 and sent["Location"] == reverse("referrals:detail", args=[referral.pk])
    assert referral.booking_id and referral.diagnosis_code == "I63.9"


def test_receiving_side_steps_and_print(client_as, net, township_doctor, county_doctor, villager):
    referral = a.do_refer(f.actor(township_doctor), up(net, villager))
    county = client_as(county_doctor)
    inbox = county.get(reverse("referrals:boxes"))
    assert inbox.status_code == 200 and contains(inbox, referral.number) and contains(inbox, villager.name)
    detail = county.get(reverse("referrals:detail", args=[referral.pk]))
    assert contains(detail, 'data-testid="accept"')
    assert county.post(reverse("referrals:step", args=[referral.pk, "accept"])).status_code == 302
    assert county.post(reverse("referrals:step", args=[referral.pk, "arrive"])).status_code == 302
    referral.refresh_from_db()
    assert referral.status == Status.ARRIVED
    printed = county.get(reverse("referrals:print", args=[referral.pk]))
    assert printed.status_code == 200 and contains(printed, "<svg") and contains(printed, referral.number)
    assert county.post(reverse("referrals:step", args=[referral.pk, "explode"])).status_code == 404
    outsider = client_as(f.make_membership(net.village, Role.DOCTOR))
    assert outsider.get(reverse("referrals:detail", args=[referral.pk])).status_code == 404


def test_a_failed_step_says_why(client_as, net, township_doctor, county_doctor, villager):
    referral = a.do_refer(f.actor(township_doctor), up(net, villager))
    county = client_as(county_doctor)
    resp = county.post(reverse("referrals:step", args=[referral.pk, "reject"]), {"reason": ""}, follow=True)
    assert resp.status_code == 200 and resp.context["messages"]
    referral.refresh_from_db()
    assert referral.status == Status.SENT


def test_the_manager_sees_overdue_referrals_without_patients(client_as, net, township_doctor, villager):
    referral = a.do_refer(f.actor(township_doctor), up(net, villager, urgency="emergency"))
    a.do_escalate_overdue(timezone.now() + timedelta(hours=1))
    manager = client_as(f.make_membership(net.county, Role.MANAGER))
    page = manager.get(reverse("referrals:escalated"))
    assert page.status_code == 200 and contains(page, referral.number)
    assert f.leaked(page.content.decode(), villager) == []
    assert manager.get(reverse("referrals:boxes")).status_code == 403
