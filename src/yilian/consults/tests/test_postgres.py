"""Real parallel connections on PostgreSQL: experts claiming one consultation at once — exactly one wins
(run with DATABASE_URL=postgres://… and `-m postgres`; on any other database these tests fail, never skip)."""

import pytest

from yilian.access.models import Grant
from yilian.consults import actions as a
from yilian.consults.models import Consultation, ConsultationEvent, ConsultationExpert, Status
from yilian.consults.tests.conftest import ask
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.testing import factories as f
from yilian.testing.parallel import in_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]



def test_eight_experts_claiming_at_once_leave_one_lead(net, township_doctor, villager):
    """Eight doctors of the consultation centre press *take it* at once: one holds the consultation and
    one grant; seven are told another expert has taken it, and hold nothing."""
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    n = 8
    experts = [f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county))
               for _ in range(n)]
    results = in_parallel(n, lambda i: a.do_claim(f.actor(experts[i]), consultation.pk).expert_id)
    won = [r for kind, r in results if kind == "ok"]
    lost = [e for kind, e in results if kind == "error"]
    assert len(won) == 1 and len(lost) == n - 1
    assert all(isinstance(e, ActionError) and set(e.errors) == {"status"} for e in lost), lost
    consultation.refresh_from_db()
    assert (consultation.status, consultation.expert_id) == (Status.ASSIGNED, won[0])
    panel = ConsultationExpert.objects.filter(consultation=consultation)
    assert [p.staff_id for p in panel] == won
    assert Grant.objects.filter(source_type="consultation", source_id=consultation.pk).count() == 1
    kinds = list(ConsultationEvent.objects.filter(consultation=consultation).values_list("kind", flat=True))
    assert kinds == ["requested", "claimed"]


def test_claims_racing_the_desk_leave_one_expert(net, township_doctor, registrar, villager):
    """The centre's desk assigns while four experts claim: whoever is first holds it, alone."""
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    experts = [f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county))
               for _ in range(5)]
    desk = f.actor(registrar)

    def work(i):
        if i == 0:
            return a.do_assign(desk, consultation.pk, experts[0].staff_id, net.county.pk).expert_id
        return a.do_claim(f.actor(experts[i]), consultation.pk).expert_id

    results = in_parallel(5, work)
    won = [r for kind, r in results if kind == "ok"]
    lost = [e for kind, e in results if kind == "error"]
    assert len(won) == 1 and all(isinstance(e, ActionError) and "status" in e.errors for e in lost), lost
    assert Consultation.objects.get(pk=consultation.pk).expert_id == won[0]
    assert ConsultationExpert.objects.filter(consultation=consultation, left_at__isnull=True).count() == 1
    assert Grant.objects.filter(source_type="consultation", source_id=consultation.pk,
                                revoked_at__isnull=True).count() == 1
