"""Real parallel connections on PostgreSQL: desks acting on one referral at once leave one step (run with
DATABASE_URL=postgres://… and `-m postgres`; on any other database these tests fail, never skip)."""

import pytest

from yilian.errors import ActionError
from yilian.referrals import actions as a
from yilian.referrals.models import Referral, ReferralEvent, Status
from yilian.referrals.tests.conftest import up
from yilian.testing import factories as f
from yilian.testing.parallel import in_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]



def test_desks_accepting_then_receiving_at_once_leave_one_step_each(net, township_doctor, county_doctor,
                                                                     villager):
    """Eight desks press accept at once: one step, seven told the referral moved on; then the same with
    arrival. (A rejection racing an acceptance may also answer 404 to the late desks: the rejection ends
    the grant that let them see the referral.)"""
    referral = a.do_refer(f.actor(township_doctor), up(net, villager))
    county = f.actor(county_doctor)
    n = 8
    for step, status in ((a.do_accept, Status.ACCEPTED), (a.do_arrive, Status.ARRIVED)):
        results = in_parallel(n, lambda i, step=step: step(county, referral.pk).status)
        won = [r for kind, r in results if kind == "ok"]
        lost = [e for kind, e in results if kind == "error"]
        assert won == [status] and len(lost) == n - 1
        assert all(isinstance(e, ActionError) and set(e.errors) == {"status"} for e in lost), lost
    referral.refresh_from_db()
    assert referral.status == Status.ARRIVED
    kinds = list(ReferralEvent.objects.filter(referral=referral).values_list("kind", flat=True))
    assert kinds == ["sent", "accepted", "arrived"]
    assert Referral.objects.count() == 1
