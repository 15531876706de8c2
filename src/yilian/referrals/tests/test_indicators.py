"""Referral indicators computed by hand on a small case: two down (one outpatient, one inpatient), one up
accepted after 30 minutes, one up accepted after 90, one cancelled, one rejected, one escalated."""

from datetime import timedelta
from decimal import Decimal

from django.core.management import call_command
from django.utils import timezone

from yilian.analytics.registry import REGISTRY, Scope
from yilian.referrals import actions as a
from yilian.referrals.models import Referral
from yilian.referrals.tests.conftest import up
from yilian.testing import factories as f


def test_counts_times_and_shares_by_hand(net, township_doctor, county_doctor, villager):
    township, county = f.actor(township_doctor), f.actor(county_doctor)
    f.grant(villager, to_institution=net.county)
    down = {"direction": "down", "to_institution_id": net.township.pk, "to_department_id": None,
            "diagnosis_code": "I10", "follow_up_plan": "随访"}
    a.do_refer(county, up(net, villager, setting="outpatient", **down))
    a.do_refer(county, up(net, villager, setting="inpatient", **down))
    fast, slow = a.do_refer(township, up(net, villager)), a.do_refer(township, up(net, villager))
    a.do_cancel(township, a.do_refer(township, up(net, villager)).pk, "不去了")
    a.do_reject(county, a.do_refer(township, up(net, villager)).pk, "建议本院处理")
    escalated = a.do_refer(township, up(net, villager, urgency="emergency"))
    a.do_accept(county, fast.pk)
    a.do_accept(county, slow.pk)
    sent = timezone.now() - timedelta(hours=3)
    Referral.objects.filter(pk=fast.pk).update(created_at=sent, accepted_at=sent + timedelta(minutes=30))
    Referral.objects.filter(pk=slow.pk).update(created_at=sent, accepted_at=sent + timedelta(minutes=90))
    call_command("referrals", "escalate", stdout=open("/dev/null", "w"))  # nothing overdue yet
    assert Referral.objects.filter(escalated_at__isnull=False).count() == 0
    Referral.objects.filter(pk=escalated.pk).update(deadline_at=timezone.now() - timedelta(minutes=1))
    assert a.do_escalate_overdue() == 1

    today = timezone.localdate()
    scope = Scope(start=today - timedelta(days=1), end=today + timedelta(days=1))
    assert REGISTRY["referral.down_outpatient"].compute(scope) == 1
    assert REGISTRY["referral.down_inpatient"].compute(scope) == 1
    assert REGISTRY["referral.down"].compute(scope) == 2
    assert REGISTRY["referral.up"].compute(scope) == 3  # fast, slow, escalated (cancelled and rejected out)
    assert REGISTRY["referral.acceptance_minutes"].compute(scope) == Decimal("60.00")  # (30 + 90) ÷ 2
    # 1 escalated ÷ 6 sent and not cancelled (2 down, fast, slow, rejected, escalated)
    assert REGISTRY["referral.escalated_share"].compute(scope) == Decimal("0.1667")
    township_only = Scope(scope.start, scope.end, frozenset({net.township.pk}))
    assert REGISTRY["referral.down_outpatient"].compute(township_only) == 0
    assert REGISTRY["referral.up"].compute(township_only) == 3
