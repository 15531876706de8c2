"""Who sees a consultation: the requesting side through its care relationship, each expert through the
consultation's grant (named on the audit row), nobody else; revoked and expired grants answer 404 like a
missing id; the worklist shows waiting requests without the patient's identity, and audits them."""

import pytest
from django.urls import reverse

from yilian.access.models import AuditEvent
from yilian.consults import actions as a
from yilian.consults.models import ConsultationExpert
from yilian.consults.tests.conftest import ask
from yilian.network.roles import Role
from yilian.testing import factories as f
from yilian.testing.checks import contains


@pytest.fixture
def claimed(township_doctor, expert, villager):
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    a.do_claim(f.actor(expert), consultation.pk)
    return consultation


def last_row(mark: int) -> AuditEvent:
    return AuditEvent.objects.order_by("pk")[mark:].get()


def test_requester_and_expert_see_it_and_the_expert_read_names_the_grant(client_as, claimed, township_doctor,
                                                                        expert, villager):
    url = reverse("consults:detail", args=[claimed.pk])
    mark = AuditEvent.objects.count()
    page = client_as(township_doctor).get(url)
    assert page.status_code == 200 and contains(page, villager.name)
    row = last_row(mark)
    assert (row.object_type, row.action, row.outcome, row.basis) == ("consultation", "read", "success", "care")
    mark = AuditEvent.objects.count()
    page = client_as(expert).get(url)
    assert page.status_code == 200 and contains(page, villager.name) and contains(page, claimed.summary)
    row = last_row(mark)
    grant_id = ConsultationExpert.objects.get(consultation=claimed).grant_id
    assert (row.basis, row.grant_id, row.patient_id, row.username) == ("grant", grant_id, villager.pk, "expert")
    # The grant also opens the patient's page, audited with the same grant.
    mark = AuditEvent.objects.count()
    assert client_as(expert).get(reverse("patients:detail", args=[villager.pk])).status_code == 200
    assert last_row(mark).grant_id == grant_id


@pytest.mark.parametrize("who", ["outsider", "colleague_at_the_centre", "desk", "nurse_elsewhere"])
def test_anyone_else_gets_404_with_nothing_in_it(client_as, net, claimed, villager, centre_desk, who):
    membership = {
        "outsider": lambda: f.make_membership(net.village, Role.DOCTOR),
        "colleague_at_the_centre": lambda: f.make_membership(net.county, Role.DOCTOR,
                                                             department=net.department(net.county)),
        "desk": lambda: centre_desk,
        "nurse_elsewhere": lambda: f.make_membership(net.village, Role.NURSE),
    }[who]()
    mark = AuditEvent.objects.count()
    page = client_as(membership).get(reverse("consults:detail", args=[claimed.pk]))
    assert page.status_code == 404 and f.leaked(page.content, villager) == []
    row = last_row(mark)
    assert (row.outcome, row.object_type, row.object_id) == ("denied", "consultation", str(claimed.pk))
    missing = client_as(membership).get(reverse("consults:detail", args=[10**9]))
    assert missing.status_code == 404


def test_revoked_and_expired_grants_answer_404(client_as, net, township_doctor, expert, expert2, villager):
    doctor = f.actor(township_doctor)
    cancelled = a.do_request(doctor, ask(villager))
    a.do_claim(f.actor(expert), cancelled.pk)
    a.do_cancel(doctor, cancelled.pk, "患者拒绝")
    page = client_as(expert).get(reverse("consults:detail", args=[cancelled.pk]))
    assert page.status_code == 404 and f.leaked(page.content, villager) == []
    assert client_as(expert).get(reverse("patients:detail", args=[villager.pk])).status_code == 404

    expired = a.do_request(doctor, ask(villager))
    a.do_claim(f.actor(expert2), expired.pk)
    assert client_as(expert2).get(reverse("consults:detail", args=[expired.pk])).status_code == 200
    f.expire_grant(ConsultationExpert.objects.get(consultation=expired).grant)
    page = client_as(expert2).get(reverse("consults:detail", args=[expired.pk]))
    assert page.status_code == 404 and f.leaked(page.content, villager) == []
    assert client_as(expert2).get("/api/v1/consults/" + str(expired.pk)).status_code == 404


def test_the_worklist_is_de_identified_and_audited(client_as, township_doctor, expert, centre_desk, villager):
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    for membership in (expert, centre_desk):
        mark = AuditEvent.objects.count()
        page = client_as(membership).get(reverse("consults:boxes") + "?box=work")
        assert page.status_code == 200 and contains(page, consultation.number)
        assert f.leaked(page.content, villager) == []
        row = last_row(mark)
        assert (row.patient_id, row.basis, row.reason) == (villager.pk, "none", "consultation worklist (de-identified)")
    claim_button = f'data-testid="claim-{consultation.pk}"'
    assert contains(client_as(expert).get(reverse("consults:boxes") + "?box=work"), claim_button)
    # The desk assigns but does not claim (a registrar is no expert).
    desk_page = client_as(centre_desk).get(reverse("consults:boxes") + "?box=work")
    assert not contains(desk_page, claim_button) and contains(desk_page, reverse("consults:assign", args=[consultation.pk]))
    body = client_as(expert).get("/api/v1/consults/worklist")
    assert body.status_code == 200 and f.leaked(body.content, villager) == []
    assert [item["id"] for item in body.json()] == [consultation.pk] and "patient_id" not in body.json()[0]
